"""Checking hand-written gradients against central differences.

``d f / d x[i] ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)`` has error ``O(h^2)``; in float64 with
``h = 1e-6`` it agrees with a correct analytic gradient to ~1e-8 relative. Always check in float64:
in float32 the rounding error of ``f`` divided by ``2h`` swamps the difference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_difference(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Numerical gradient of the scalar ``f()`` with respect to the array ``x`` (same shape).

    ``f`` takes no arguments and reads ``x``, which is perturbed in place one entry at a time
    and restored afterwards.
    """
    if x.dtype != np.float64:
        raise TypeError(f"check gradients in float64, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = f()
        flat[i] = original - h
        f_minus = f()
        flat[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def assert_gradient_close(
    name: str, analytic: np.ndarray, numeric: np.ndarray, rtol: float = 1e-6, atol: float = 1e-8
) -> None:
    """Raise an AssertionError naming ``name`` and the worst entry if the gradients disagree."""
    if analytic.shape != numeric.shape:
        raise AssertionError(f"{name}: gradient shape {analytic.shape} != {numeric.shape}")
    error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if np.any(error > 0):
        worst = np.unravel_index(np.argmax(error), analytic.shape)
        raise AssertionError(
            f"{name}: gradient mismatch at entry {tuple(int(i) for i in worst)}: analytic "
            f"{analytic[worst]:.10g} vs central difference {numeric[worst]:.10g} "
            f"({int(np.sum(error > 0))} of {analytic.size} entries off)"
        )
