"""Wide sparse agents at a dense budget: what a training update costs, genuinely sparse against
what a mask-based implementation computes, side by side in one run.

A mask-based implementation (most sparse-RL code: a dense weight tensor multiplied by a 0/1
mask) does the dense product of the full width whatever the mask holds, so its update costs at
least what the dense agent of that width costs. minidst stores and multiplies only the kept
weights. For TD3 at HalfCheetah sizes, batch 100, compiled engine, one thread:

* dense TD3 at 256 (the baseline of every ratio), at 177 (about DS-TD3's weights) and at 512 and
  1024 (the lower bound of a masked network of that width);
* DS-TD3 at the paper's densities, and at 512 and 1024 wide storing the weights of dense 256
  (``--match-dense 256``; about 80% and 93% sparse), and 1024 wide at half that budget.

Each row: milliseconds per update (rewiring and sparse targets included at their real
frequency, after ``--settle`` untimed updates), the ratio to dense 256, the stored weights, the
update's FLOPs and the FLOP rate it ran at. Dense is only an honest base on the machine's best
BLAS kernel (see ``machine.py``)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/wide.py
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and Numba threads")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--settle", type=int, default=1100, help="untimed updates first")
    parser.add_argument("--updates", type=int, default=300, help="timed updates per agent")
    return parser.parse_args()


ARGS = parse_args()
# Thread counts must be fixed before NumPy and Numba are imported.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)

import agents  # noqa: E402
from machine import describe  # noqa: E402

from minidst import warmup  # noqa: E402

BUDGET = {"match_dense": 256}
AGENTS = {
    "td3 256": {"algo": "td3"},
    "td3 177": {"algo": "td3", "hidden": (177, 177)},
    "ds-td3 paper": {"algo": "ds-td3"},
    "ds-td3 512 @256": {"algo": "ds-td3", "hidden": (512, 512), **BUDGET},
    "td3 512": {"algo": "td3", "hidden": (512, 512)},
    "ds-td3 1024 @256": {"algo": "ds-td3", "hidden": (1024, 1024), **BUDGET},
    "ds-td3 1024 @half": {
        "algo": "ds-td3",
        "hidden": (1024, 1024),
        "budget_fraction": 0.5,
        **BUDGET,
    },
    "td3 1024": {"algo": "td3", "hidden": (1024, 1024)},
}


def main() -> int:
    print(describe())
    warmup()
    print(
        f"\nTD3 updates at HalfCheetah sizes, batch {ARGS.batch}, compiled engine, "
        f"{ARGS.threads} thread(s), {ARGS.updates} timed updates each"
    )
    print("x td3 256: against dense TD3 at 256-256, measured in this run")
    print(f"{'agent':<20}{'ms':>9}{'x td3 256':>11}{'weights':>11}{'MFLOP':>9}{'GFLOP/s':>9}")
    base = None
    for name, settings in AGENTS.items():
        settle = ARGS.settle if settings["algo"] != "td3" else 20  # dense: nothing to rewire
        ms, flops, weights = agents.time_updates(
            settings, ARGS.batch, "compiled", settle, ARGS.updates
        )
        base = base or ms
        print(
            f"{name:<20}{ms:>9.2f}{ms / base:>11.2f}{weights:>11,.0f}{flops / 1e6:>9.1f}"
            f"{flops / (ms * 1e6):>9.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
