"""Training updates and training speed, dense versus sparse, at HalfCheetah sizes.

For each family, four agents of the same shape (HalfCheetah-v5: 17 observations, 6 actions,
256-256 hidden), each with both engines (``reference``: the readable layer-by-layer update;
``compiled``: each network pass in one kernel call, ``minidst/compiled.py``):

* ``td3`` / ``sac``  dense layers; the faster of its two engines is the base of every ratio;
* ``ds paper``       the dynamic sparse agent at the paper's Erdős–Rényi densities (DS-TD3: ~51%
  sparsity over the weights; DS-SAC: the appendix's lambdas);
* ``ds 90%``, ``ds 95%``  the dynamic sparse agent with ERK densities at that sparsity.

Each agent first runs ``--settle`` updates so that its topology has been rewired and its target
networks lag the online ones, as they do for most of a real run; the timed updates then include
the rewiring every 1,000 iterations and the sparse target update, i.e. the real per-step cost.
Batches come from a fixed pool of random data (sampling is not part of the update).

Then real training on HalfCheetah-v5 (``minidst train``'s loop, compiled engine): env-steps/s of
each family's dense agent and its dynamic sparse agent at the paper's densities and at 90%
sparsity, each at its family's default batch (TD3 100, SAC 256) and each the median of the
progress rows after ``--env-steps`` of training past a short random start.

Dense is only an honest base on the machine's best BLAS kernel (see ``machine.py``)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/update.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/update.py --threads 2
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and Numba threads")
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 256])
    parser.add_argument("--families", nargs="+", default=["td3", "sac"], choices=["td3", "sac"])
    parser.add_argument("--settle", type=int, default=1100, help="untimed updates first")
    parser.add_argument("--updates", type=int, default=1000, help="timed updates per agent")
    parser.add_argument(
        "--env-steps", type=int, default=3000, help="timed training steps (0: skip)"
    )
    return parser.parse_args()


ARGS = parse_args()
# Thread counts must be fixed before NumPy and Numba are imported.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import agents  # noqa: E402
import numpy as np  # noqa: E402
from machine import describe  # noqa: E402

from minidst import warmup  # noqa: E402
from minidst.config import TrainConfig  # noqa: E402
from minidst.train import Trainer  # noqa: E402

AGENTS = {
    family: {
        family: {"algo": family},
        "ds paper": {"algo": f"ds-{family}"},
        "ds 90%": {"algo": f"ds-{family}", "sparsity": 0.9},
        "ds 95%": {"algo": f"ds-{family}", "sparsity": 0.95},
    }
    for family in ("td3", "sac")
}
ENGINES = ("reference", "compiled")


def time_updates(settings: dict, batch: int, engine: str) -> tuple[float, float]:
    """Milliseconds per update and the update's FLOPs, for one agent configuration."""
    milliseconds, flops, _ = agents.time_updates(settings, batch, engine, ARGS.settle, ARGS.updates)
    return milliseconds, flops


def training_speed(settings: dict) -> float:
    """Env-steps/s of training on HalfCheetah-v5 (paper config otherwise), after warm-up."""
    start_steps = 1000
    config = TrainConfig(
        env="HalfCheetah-v5",
        steps=start_steps + ARGS.env_steps,
        start_steps=start_steps,
        eval_every=10 * (start_steps + ARGS.env_steps),
        eval_episodes=1,
        log_every=500,
        buffer_size=start_steps + ARGS.env_steps,
        **settings,
    )
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer.start(config, Path(folder) / "run", out=None)
        trainer.run()
        rows = trainer.progress.rows
    # Rows after the random-action warm-up and the first update.
    rates = [float(row["time/steps_per_s"]) for row in rows if int(row["step"]) > start_steps + 500]
    return float(np.median(rates))


def main() -> int:
    print(describe())
    warmup()
    print(f"\nUpdates at HalfCheetah sizes, {ARGS.threads} thread(s), {ARGS.updates} updates each")
    print("x dense: against the faster engine of the dense agent, measured in this run")
    header = f"{'agent':<14}{'batch':>6}"
    for engine in ENGINES:
        header += f"{engine + ' ms':>14}{'x dense':>9}"
    print(f"{header}{'MFLOP':>8}{'GFLOP/s':>9}")
    for family in ARGS.families:
        for batch in ARGS.batches:
            base = None
            for name, settings in AGENTS[family].items():
                times = {}
                for engine in ENGINES:
                    times[engine], flops = time_updates(settings, batch, engine)
                base = base or min(times.values())
                label = name if name == family else f"{family} {name}"
                row = f"{label:<14}{batch:>6}"
                for engine in ENGINES:
                    row += f"{times[engine]:>14.2f}{times[engine] / base:>9.2f}"
                best = min(times.values())
                print(f"{row}{flops / 1e6:>8.1f}{flops / (best * 1e6):>9.1f}", flush=True)
    if ARGS.env_steps:
        print(
            f"\nTraining on HalfCheetah-v5 (compiled engine, each family's default batch: "
            f"TD3 100, SAC 256), {ARGS.env_steps} steps"
        )
        for family in ARGS.families:
            base = None
            for name, settings in AGENTS[family].items():
                if name == "ds 95%":
                    continue
                rate = training_speed(settings)
                base = base or rate
                label = name if name == family else f"{family} {name}"
                print(f"{label:<14}{rate:>8.0f} env-steps/s{rate / base:>7.2f} x dense", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
