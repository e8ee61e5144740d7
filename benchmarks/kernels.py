"""Sparse layer step versus the dense NumPy layer step, measured side by side.

A layer step is what training does to one layer per batch: forward ``Z = W X + b``, input
gradient ``dX = W.T dZ`` and weight gradient (dense: ``dZ X.T``; sparse: only at stored entries).
FLOPs follow minidst's convention (``minidst/flops.py``): 2 per stored weight per sample per
product, so a step is ``6 * nnz * batch`` (sparse) or ``6 * n_out * n_in * batch`` (dense).

Usage::

    python benchmarks/kernels.py              # one thread for BLAS and Numba
    python benchmarks/kernels.py --threads 2  # two BLAS threads and the parallel kernels

Each time is the median of ``--repeats`` blocks of ``--steps`` steps, after a warm-up; the ratio
column is sparse time / dense time (below 1: sparse wins).
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and Numba threads")
    parser.add_argument("--steps", type=int, default=20, help="layer steps per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks (median is reported)")
    parser.add_argument("--widths", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 256])
    parser.add_argument("--densities", type=float, nargs="+", default=[0.5, 0.2, 0.1, 0.05, 0.02])
    return parser.parse_args()


ARGS = parse_args()
# Thread counts must be fixed before NumPy and Numba are imported.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from machine import describe  # noqa: E402

from minidst import DenseLinear, SparseLinear, warmup  # noqa: E402


def time_layer_step(layer, X: np.ndarray, dZ: np.ndarray) -> float:
    """Median seconds of one forward + backward (with input gradient) of ``layer``."""

    def step():
        layer.forward(X)
        layer.backward(dZ, input_grad=True)

    for _ in range(3):
        step()
    blocks = []
    for _ in range(ARGS.repeats):
        start = time.perf_counter()
        for _ in range(ARGS.steps):
            step()
        blocks.append((time.perf_counter() - start) / ARGS.steps)
    return statistics.median(blocks)


def main() -> None:
    print(describe())
    warmup()
    rng = np.random.default_rng(0)
    print(
        f"minidst kernel benchmark: float32, {ARGS.threads} thread(s), "
        f"median of {ARGS.repeats} x {ARGS.steps} layer steps"
    )
    header = (
        f"{'width':>6}{'batch':>6}{'density':>8}{'sparse ms':>11}{'dense ms':>10}"
        f"{'ratio':>7}{'sparse GF/s':>13}{'dense GF/s':>12}{'sparse/dense rate':>19}"
    )
    print(header)
    print("-" * len(header))
    for width in ARGS.widths:
        for batch in ARGS.batches:
            X = rng.standard_normal((width, batch)).astype(np.float32)
            dZ = rng.standard_normal((width, batch)).astype(np.float32)
            dense = DenseLinear(width, width, rng)
            dense_s = time_layer_step(dense, X, dZ)
            dense_rate = 6 * width * width * batch / dense_s / 1e9
            for density in ARGS.densities:
                sparse = SparseLinear(width, width, density, rng, parallel=ARGS.threads > 1)
                sparse_s = time_layer_step(sparse, X, dZ)
                sparse_rate = 6 * sparse.nnz * batch / sparse_s / 1e9
                print(
                    f"{width:>6}{batch:>6}{density:>8.2f}{sparse_s * 1e3:>11.3f}"
                    f"{dense_s * 1e3:>10.3f}{sparse_s / dense_s:>7.2f}{sparse_rate:>13.1f}"
                    f"{dense_rate:>12.1f}{sparse_rate / dense_rate:>19.2f}"
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
