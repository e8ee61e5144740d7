"""minidst: dynamic sparse training for deep reinforcement learning, from scratch.

Sparse networks are ``scipy.sparse`` CSR matrices with hand-written backprop and Numba kernels;
the agents are TD3 and SAC in dense, static-sparse and dynamic-sparse variants.

The names below load on first use (PEP 562), so ``import minidst`` itself loads nothing heavy:
the ``minidst`` command can then set BLAS's thread count before NumPy starts (``--threads``).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: The public API and the module each name lives in.
_API = {
    "MLP": "minidst.nn",
    "mse_loss": "minidst.nn",
    "Adam": "minidst.optim",
    "DenseLinear": "minidst.layers",
    "SparseLinear": "minidst.layers",
    "count_parameters": "minidst.flops",
    "forward_flops": "minidst.flops",
    "training_flops": "minidst.flops",
    "erdos_renyi_density": "minidst.sparsity",
    "erk_densities": "minidst.sparsity",
    "uniform_densities": "minidst.sparsity",
    "evolve_layer": "minidst.topology",
    "soft_update": "minidst.target",
    "warmup": "minidst.kernels",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'minidst' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
