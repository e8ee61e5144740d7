"""Checks for chapters/13_sac.py's exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from minidst.exercises._shared import _as_floats, _run_student, _verdict


def _squashed_gaussian_reference(head: np.ndarray, eps: np.ndarray) -> dict[str, np.ndarray]:
    """``squashed_gaussian`` from first principles, in float64: scipy's Gaussian log-density of
    ``u`` minus the stable ``log(1 - tanh(u)^2)``. (Not the library's function, which an
    exercise replaces.)"""
    from scipy.stats import norm

    from minidst.sac import LOG_STD_MAX, LOG_STD_MIN

    head, eps = np.asarray(head, dtype=np.float64), np.asarray(eps, dtype=np.float64)
    n_act = head.shape[0] // 2
    mean, raw = head[:n_act], head[n_act:]
    std = np.exp(LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(raw) + 1) / 2)
    u = mean + std * eps
    log_one_minus_a2 = 2 * (math.log(2.0) - u - np.logaddexp(0.0, -2 * u))
    logp = np.sum(norm.logpdf(u, loc=mean, scale=std) - log_one_minus_a2, axis=0, keepdims=True)
    return {"a": np.tanh(u), "logp": logp, "u": u, "std": std, "eps": eps, "raw": raw}


def chapter13_exercise1(naive_squashed_gaussian: Callable) -> bool:
    """Your copy of ``squashed_gaussian(head, eps)`` with the naive correction
    ``np.log(1 - a**2)``: a drop-in replacement (the training run is yours)."""
    rng = np.random.default_rng(1301)
    n_act, batch = 3, 64
    # Moderate |u| in float64: there the naive form is accurate, so everything must agree.
    head = np.vstack([rng.normal(size=(n_act, batch)), 0.3 * rng.normal(size=(n_act, batch))])
    eps = rng.normal(size=(n_act, batch))
    expected = _squashed_gaussian_reference(head, eps)
    sample, error = _run_student(naive_squashed_gaussian, head.copy(), eps.copy())
    if error:
        return _verdict(False, "", error)
    if not isinstance(sample, dict) or not set(expected) <= set(sample):
        return _verdict(
            False,
            "",
            "return a dict with the same keys as the library's (" + ", ".join(expected) + "): "
            "the agent and squashed_gaussian_backward read them",
        )
    for key, value in expected.items():
        given = _as_floats(sample[key])
        if given is None or given.shape != value.shape:
            return _verdict(False, "", f"'{key}' should have shape {value.shape}")
        if not np.allclose(given, value, rtol=1e-9, atol=1e-12):
            return _verdict(
                False,
                "",
                f"'{key}' differs from the library's where |u| < 5, where the naive correction "
                "is still accurate: change only how log(1 - a^2) is computed",
            )
    # Saturated float32: a policy mean of 12 puts every |u| near 12, where tanh rounds to 1.
    saturated_head = np.vstack([np.full((1, 8), 12.0), np.full((1, 8), -3.0)]).astype(np.float32)
    saturated_eps = rng.normal(size=(1, 8)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sample, error = _run_student(naive_squashed_gaussian, saturated_head, saturated_eps)
    if error:
        return _verdict(False, "", "in float32 with |u| near 12, " + error)
    logp = np.asarray(sample["logp"])
    if logp.dtype != np.float32:
        return _verdict(
            False,
            "",
            f"a float32 head should give a float32 logp, not {logp.dtype}: the agent "
            "trains in float32, and that is where the naive form breaks",
        )
    if np.all(np.isfinite(logp)):
        return _verdict(
            False,
            "",
            "in float32 with |u| near 12 your logp is still finite: compute the correction "
            "the naive way, np.log(1 - a**2), so that the run shows what it breaks",
        )
    return _verdict(
        True,
        "your copy agrees with the library where |u| is moderate, and in float32 with |u| near "
        "12 its logp is +inf, because tanh(u) rounds to 1 and log(1 - 1) = -inf. One such "
        "sample makes the actor loss infinite or NaN.",
        "",
    )
