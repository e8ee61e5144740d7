"""One TD3 and one SAC update, dense versus sparse, at HalfCheetah sizes; training env-steps/s.

For each family, three agents of the same shape (HalfCheetah-v5: 17 observations, 6 actions,
256-256 hidden):

* ``td3`` / ``sac``  dense layers (NumPy matmuls): the base of that family's ratios;
* ``ds paper``       the dynamic sparse agent at the paper's Erdős–Rényi densities (DS-TD3: ~51%
  sparsity over the weights; DS-SAC: the appendix's lambdas);
* ``ds 90%``         the dynamic sparse agent with ERK densities at 90% sparsity.

Each sparse agent first runs ``--settle`` updates so that its topology has been rewired and its
target networks lag the online ones, as they do for most of a real run; the timed updates then
include the rewiring every 1,000 iterations and the sparse target update, i.e. the real per-step
cost. Batches are drawn from a fixed pool of random data (sampling is not part of the update).

Then ``--env-steps`` steps of real training (DS-TD3, paper config, batch 100) on HalfCheetah-v5,
reporting env-steps/s as the progress line does: acting, env step, buffer, update, all included.

Usage::

    python benchmarks/update.py               # one BLAS / Numba thread
    python benchmarks/update.py --threads 2
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and Numba threads")
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 256])
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
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from minidst import warmup  # noqa: E402
from minidst.config import TrainConfig  # noqa: E402
from minidst.factory import build_agent  # noqa: E402
from minidst.train import Trainer  # noqa: E402

OBS, ACT = 17, 6  # HalfCheetah-v5
AGENTS = {
    "td3": {
        "td3": {"algo": "td3"},
        "ds paper": {"algo": "ds-td3"},
        "ds 90%": {"algo": "ds-td3", "sparsity": 0.9},
    },
    "sac": {
        "sac": {"algo": "sac"},
        "ds paper": {"algo": "ds-sac"},
        "ds 90%": {"algo": "ds-sac", "sparsity": 0.9},
    },
}


def batch_pool(rng: np.random.Generator, batch: int, count: int = 32) -> list[dict]:
    def block(rows: int) -> np.ndarray:
        return rng.standard_normal((rows, batch)).astype(np.float32)

    return [
        {
            "obs": block(OBS),
            "action": np.tanh(block(ACT)),
            "reward": block(1),
            "next_obs": block(OBS),
            "terminated": np.zeros((1, batch), dtype=np.float32),
        }
        for _ in range(count)
    ]


def time_updates(settings: dict, batch: int) -> tuple[float, float]:
    """Milliseconds per update and the update's FLOPs, for one agent configuration."""
    config = TrainConfig(env="HalfCheetah-v5", batch_size=batch, **settings).validate()
    rng = np.random.default_rng(0)
    agent = build_agent(config, OBS, ACT, np.ones(ACT), rng)
    pool = batch_pool(rng, batch)
    for i in range(ARGS.settle):
        agent.update(pool[i % len(pool)])
    start = time.perf_counter()
    for i in range(ARGS.updates):
        agent.update(pool[i % len(pool)])
    seconds = time.perf_counter() - start
    return 1e3 * seconds / ARGS.updates, agent.flops_per_iteration(batch)


def training_speed() -> float:
    """Env-steps/s of DS-TD3 training on HalfCheetah-v5 (paper config), after warm-up."""
    start_steps = 1000
    config = TrainConfig(
        env="HalfCheetah-v5",
        steps=start_steps + ARGS.env_steps,
        start_steps=start_steps,
        eval_every=10 * (start_steps + ARGS.env_steps),
        eval_episodes=1,
        log_every=500,
        buffer_size=start_steps + ARGS.env_steps,
    )
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer.start(config, Path(folder) / "run", out=None)
        trainer.run()
        rows = trainer.progress.rows
    # Rows after the random-action warm-up and the first update's compilation.
    rates = [float(row["time/steps_per_s"]) for row in rows if int(row["step"]) > start_steps + 500]
    return float(np.median(rates))


def main() -> int:
    warmup()
    print(f"Updates at HalfCheetah sizes, {ARGS.threads} thread(s), {ARGS.updates} updates each")
    print(f"{'agent':<14}{'batch':>6}{'ms/update':>11}{'x dense':>9}{'MFLOP':>8}{'GFLOP/s':>9}")
    for family, agents in AGENTS.items():
        for batch in ARGS.batches:
            base = None
            for name, settings in agents.items():
                ms, flops = time_updates(settings, batch)
                base = base or ms
                label = name if name == family else f"{family} {name}"
                row = f"{label:<14}{batch:>6}{ms:>11.2f}{ms / base:>9.2f}"
                print(f"{row}{flops / 1e6:>8.1f}{flops / (ms * 1e6):>9.1f}")
    if ARGS.env_steps:
        rate = training_speed()
        print(
            f"DS-TD3 training on HalfCheetah-v5 (paper config, batch 100): {rate:.0f} env-steps/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
