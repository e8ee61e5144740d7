"""What a benchmark ran on: CPU and its vector ISA, BLAS library and kernel, thread counts.
Printed by every benchmark first, so a figure always travels with the machine that made it.

Pitfall: some machines set ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``), which pins OpenBLAS
to an older kernel (e.g. Haswell's AVX2 on an AVX-512 CPU) and slows dense products ~2x. Dense
is the baseline of every ratio here, so measure it on the machine's best kernel::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/update.py
"""

from __future__ import annotations

import os

from minidst.machine import cpu_model_id, cpu_name, vector_isa


def blas_description() -> str:
    """The BLAS NumPy calls, its kernel and threads (threadpoolctl), or how to find out."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl, or the bench extra, to see it)"
    import numpy  # noqa: F401  (loads NumPy's BLAS so threadpoolctl can see it)

    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return "; ".join(
        f"{pool['internal_api']} {pool.get('version')} kernel {pool.get('architecture')}, "
        f"{pool['num_threads']} thread(s), {os.path.basename(pool['filepath'])}"
        for pool in pools
    )


def describe() -> str:
    """A few lines: CPU, BLAS, Numba threads, and a warning if the BLAS kernel is pinned."""
    import numba

    lines = [
        f"CPU: {cpu_name()} (family/model {cpu_model_id() or '?'}), vector ISA {vector_isa()}, "
        f"{os.cpu_count()} logical cores",
        f"BLAS: {blas_description()}",
        f"Numba: {numba.__version__}, {numba.get_num_threads()} thread(s)",
    ]
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if pinned:
        lines.append(
            f"WARNING: OPENBLAS_CORETYPE={pinned} pins the BLAS kernel, so "
            "dense runs below its best; rerun with env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
        )
    return "\n".join(lines)
