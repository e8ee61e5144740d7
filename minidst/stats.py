"""Statistics across runs, as Agarwal et al. recommend for deep RL with few seeds ("Deep RL at
the Edge of the Statistical Precipice", NeurIPS 2021).

* **IQM**, the interquartile mean: the mean of the middle 50% of the scores
  (``scipy.stats.trim_mean(x, 0.25)``). Robust to one lucky or unlucky seed, like the median,
  but it uses half the data instead of one or two points, so it is far less noisy.
* **Bootstrap confidence intervals**: resample the seeds with replacement many times, recompute
  the statistic each time, and take the middle 95% of those values (the percentile method).
  With several environments the resampling is *stratified*: seeds are resampled within each
  environment, never across, so every resample still covers every environment.
* **Probability of improvement** ``P(X > Y)``: the chance that a run of algorithm X scores
  above a run of Y (ties count half), i.e. the Mann-Whitney U statistic over ``n_x * n_y``.
  0.5 means no difference; unlike a difference of means it does not care about the scale of
  the returns.
* **The exact test** of ``P(X > Y) = 0.5`` (Mann-Whitney U, two-sided, exact distribution): with
  a handful of seeds the bootstrap interval of ``P(X > Y)`` collapses to ``[1, 1]`` as soon as
  every run of X beats every run of Y, which looks certain and is not. The exact p-value knows
  the sample size: 3 seeds against 3 can never get below 0.1, 5 against 5 can reach 0.008.

Every interval needs at least two seeds; with one, the functions return NaN bounds rather than a
made-up interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap, mannwhitneyu, trim_mean

LEVEL = 0.95  #: confidence level of every interval
RESAMPLES = 2000  #: bootstrap resamples


def iqm(scores: np.ndarray, axis: int = 0) -> np.ndarray | float:
    """Interquartile mean along ``axis``."""
    return trim_mean(scores, 0.25, axis=axis)


def iqm_interval(scores: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the IQM of ``scores`` (one per seed)."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) < 2:
        return (np.nan, np.nan)
    result = bootstrap(
        (scores,),
        lambda x, axis: iqm(x, axis=axis),
        n_resamples=RESAMPLES,
        confidence_level=LEVEL,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def stratified_iqm_interval(groups: Sequence[Sequence[float]], seed: int = 0) -> tuple:
    """IQM of all ``groups`` pooled (e.g. normalised scores, one group per environment) and its
    stratified bootstrap interval: each group's seeds are resampled within that group."""
    groups = [np.asarray(group, dtype=float) for group in groups]
    pooled = float(iqm(np.concatenate(groups)))
    if min(len(group) for group in groups) < 2:
        return pooled, (np.nan, np.nan)

    def pooled_iqm(*samples, axis):
        return iqm(np.concatenate(samples, axis=axis), axis=axis)

    result = bootstrap(
        tuple(groups),
        pooled_iqm,
        n_resamples=RESAMPLES,
        confidence_level=LEVEL,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return pooled, (float(interval.low), float(interval.high))


def probability_of_improvement(x: Sequence[float], y: Sequence[float]) -> float:
    """``P(X > Y) + P(X = Y) / 2`` over every pair of a run of X and a run of Y."""
    x, y = np.asarray(x, dtype=float)[:, None], np.asarray(y, dtype=float)[None, :]
    return float(np.mean((x > y) + 0.5 * (x == y)))


def exact_test(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of "a run of X is as likely to beat a run of Y as to lose to it"
    (Mann-Whitney U with its exact distribution; NaN without a run on either side)."""
    if min(len(x), len(y)) < 1:
        return float("nan")
    return float(mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue)


def probability_of_improvement_interval(
    x: Sequence[float], y: Sequence[float], seed: int = 0
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of :func:`probability_of_improvement` (the runs of X
    and of Y resampled independently)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if min(len(x), len(y)) < 2:
        return (np.nan, np.nan)

    def statistic(a, b, axis):
        a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
        pairs = (a[..., :, None] > b[..., None, :]) + 0.5 * (a[..., :, None] == b[..., None, :])
        return pairs.mean(axis=(-2, -1))

    result = bootstrap(
        (x, y),
        statistic,
        n_resamples=RESAMPLES,
        confidence_level=LEVEL,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mean_over_training(steps: np.ndarray, returns: np.ndarray) -> float:
    """The area under an evaluation curve divided by its length: the average return over
    training (trapezoidal rule; robust to uneven evaluation steps)."""
    steps, returns = np.asarray(steps, dtype=float), np.asarray(returns, dtype=float)
    if len(steps) < 2:
        return float(returns.mean())
    area = np.sum((returns[1:] + returns[:-1]) / 2 * np.diff(steps))
    return float(area / (steps[-1] - steps[0]))


def first_step_reaching(steps: np.ndarray, curve: np.ndarray, threshold: float) -> int | None:
    """The first evaluation step at which ``curve`` reaches ``threshold`` (None if never)."""
    reached = np.flatnonzero(np.asarray(curve) >= threshold)
    return int(np.asarray(steps)[reached[0]]) if len(reached) else None


def iqm_with_band(
    returns: np.ndarray, rng: np.random.Generator, resamples: int = 2000, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM over seeds and its bootstrap confidence band.

    ``returns``: ``(n_seeds, n_steps)``. Returns ``(iqm, low, high)``, each ``(n_steps,)``.
    """
    middle = iqm(returns, axis=0)
    n_seeds = returns.shape[0]
    picks = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    boot = iqm(returns[picks], axis=1)  # (resamples, n_steps)
    tail = (1 - level) / 2
    low, high = np.quantile(boot, [tail, 1 - tail], axis=0)
    return middle, low, high
