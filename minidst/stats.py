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

* **Intervals that mean 95% at few seeds.** The percentile bootstrap of a statistic of ``n``
  seeds can only return values the resamples produce: at ``n = 3`` its 95% interval of the mean
  or IQM is essentially ``[lowest seed, highest seed]``, which covers the true mean about 76% of
  the time for normal data (84% at ``n = 5``, 90% at ``n = 10``; ``tests/test_report.py``
  simulates it). So a group's headline is its **mean with Student's t interval**
  (:func:`mean_interval`), exact for normal scores at any ``n >= 2``; the IQM and its bootstrap
  interval are given beside it, to be trusted from :data:`BOOTSTRAP_MIN_SEEDS` seeds on.
* **Tests of difference and of equivalence.** Welch's t-test (:func:`welch_test`) for "X beats
  Y"; for "X matches Y", two one-sided Welch tests (TOST, :func:`equivalence_test`) that the
  difference of means lies within a stated margin (by default 10% of Y's mean), and the seeds
  per group such a test would need (:func:`seeds_for_equivalence`) when it is not met. Failing
  to find a difference is not evidence of equivalence.

Every interval needs at least two seeds; with one, the functions return NaN bounds rather than a
made-up interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap, mannwhitneyu, norm, trim_mean, ttest_ind
from scipy.stats import t as student_t

LEVEL = 0.95  #: confidence level of every interval
RESAMPLES = 2000  #: bootstrap resamples
#: From this many seeds on, a percentile-bootstrap interval covers close to its 95% (90% at 10
#: normal seeds, rising with n); below it, use :func:`mean_interval`.
BOOTSTRAP_MIN_SEEDS = 10
EQUIVALENCE_MARGIN = 0.10  #: "matches": means within this fraction of the baseline's mean


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


def mean_interval(scores: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """Student's t interval of the mean of ``scores``: ``mean +- t_(n-1) * sd / sqrt(n)``.

    Its coverage is exactly ``level`` for normal scores at any ``n >= 2`` (the t quantile widens
    it for few seeds: 4.30 standard errors at n = 3, 2.78 at n = 5, 2.26 at n = 10).
    """
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    if n < 2:
        return (np.nan, np.nan)
    half = student_t.ppf(0.5 + level / 2, n - 1) * scores.std(ddof=1) / np.sqrt(n)
    return float(scores.mean() - half), float(scores.mean() + half)


def _untestable(x: Sequence[float], y: Sequence[float]) -> bool:
    """Fewer than two runs on a side, or no spread at all: a t statistic is undefined."""
    return min(len(x), len(y)) < 2 or (np.ptp(x) == 0 and np.ptp(y) == 0)


def welch_test(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of "X and Y have the same mean" (Welch's t-test, unequal variances);
    NaN with fewer than two runs on either side, or none of them spread."""
    if _untestable(x, y):
        return float("nan")
    return float(ttest_ind(x, y, equal_var=False).pvalue)


def difference_interval(
    x: Sequence[float], y: Sequence[float], level: float = LEVEL
) -> tuple[float, float]:
    """Welch's interval of ``mean(X) - mean(Y)``: ``diff +- t_df * sqrt(var_x/n_x + var_y/n_y)``
    with the Welch-Satterthwaite degrees of freedom (unequal variances, as
    :func:`welch_test`); NaN where that test is undefined. It excludes 0 exactly when the
    two-sided Welch test gives ``p < 1 - level``."""
    if _untestable(x, y):
        return (np.nan, np.nan)
    interval = ttest_ind(x, y, equal_var=False).confidence_interval(level)
    return float(interval.low), float(interval.high)


def equivalence_test(
    x: Sequence[float], y: Sequence[float], margin: float = EQUIVALENCE_MARGIN
) -> float:
    """p-value of "X's mean lies within ``margin * |mean(Y)|`` of Y's" (TOST: two one-sided
    Welch tests, at the distances ``-delta`` and ``+delta``; the larger p-value is the test's).

    ``p < 0.05`` means equivalence is shown at the 5% level: the 90% interval of the difference
    lies inside ``[-delta, +delta]``. The margin is held fixed at the observed baseline mean (a
    stated number, not a random one).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if _untestable(x, y):
        return float("nan")
    delta = margin * abs(y.mean())
    above = ttest_ind(x + delta, y, equal_var=False, alternative="greater").pvalue
    below = ttest_ind(x - delta, y, equal_var=False, alternative="less").pvalue
    return float(max(above, below))


def seeds_for_equivalence(
    x: Sequence[float],
    y: Sequence[float],
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Seeds per group that :func:`equivalence_test` would need to show equivalence with
    probability ``power``, if the true difference and spread were the ones observed.

    The normal approximation ``n = (z_(1-alpha) + z_(1-beta/2))^2 * (s_x^2 + s_y^2) /
    (delta - |diff|)^2`` (exact when the difference is 0; conservative otherwise); infinity when
    the observed difference is already outside the margin: more seeds would only confirm it.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if min(len(x), len(y)) < 2:
        return float("nan")
    delta = margin * abs(y.mean())
    room = delta - abs(x.mean() - y.mean())
    if room <= 0:
        return float("inf")
    z = norm.ppf(1 - alpha) + norm.ppf(1 - (1 - power) / 2)
    return float(np.ceil(z**2 * (x.var(ddof=1) + y.var(ddof=1)) / room**2))


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


def smoothed(curve: np.ndarray, window: int = 3) -> np.ndarray:
    """Trailing running mean over ``window`` evaluations along the last axis (the first
    ``window - 1`` points average what there is): a single lucky evaluation no longer counts
    as having reached a level."""
    curve = np.asarray(curve, dtype=float)
    total = np.cumsum(curve, axis=-1)
    shifted = np.zeros_like(total)
    shifted[..., window:] = total[..., :-window]
    counts = np.minimum(np.arange(1, curve.shape[-1] + 1), window)
    return (total - shifted) / counts


def _first_reaching(steps: np.ndarray, curves: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row of ``curves (B, T)``, the first step at which it reaches its threshold ``(B,)``;
    ``inf`` where it never does."""
    reached = curves >= thresholds[:, None]
    first = np.argmax(reached, axis=1)
    return np.where(reached.any(axis=1), np.asarray(steps, dtype=float)[first], np.inf)


def steps_to_reach(
    steps: np.ndarray,
    curves: np.ndarray,
    baseline_finals: Sequence[float],
    window: int = 3,
    seed: int = 0,
) -> tuple[float, tuple[float, float], float]:
    """When a group's learning curve reaches the baseline's final score, with its uncertainty.

    ``curves``: ``(n_seeds, n_steps)`` evaluation returns at ``steps``; ``baseline_finals``: the
    baseline's final score per seed. The group's curve is its mean over seeds, smoothed by
    :func:`smoothed`; the level is the mean of ``baseline_finals``. The bootstrap resamples both
    the group's seeds and the baseline's. Returns ``(step, (low, high), never)``: the first step
    (``inf`` if never), the 95% percentile interval of that step over resamples (a bound is
    ``inf`` when more than 2.5% of the resamples never get there), and the fraction of resamples
    that never reach it.
    """
    curves = np.asarray(curves, dtype=float)
    baseline = np.asarray(baseline_finals, dtype=float)
    point = _first_reaching(
        steps, smoothed(curves.mean(axis=0), window)[None], np.array([baseline.mean()])
    )[0]
    if len(curves) < 2 or len(baseline) < 2:
        return float(point), (np.nan, np.nan), np.nan
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(curves), size=(RESAMPLES, len(curves)))
    levels = baseline[rng.integers(0, len(baseline), size=(RESAMPLES, len(baseline)))]
    boot = _first_reaching(steps, smoothed(curves[picks].mean(axis=1), window), levels.mean(axis=1))
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(boot, [tail, 1 - tail], method="lower")
    return float(point), (float(low), float(high)), float(np.mean(np.isinf(boot)))


def normalised(scores: Sequence[float], baseline_mean: float, random_score: float) -> np.ndarray:
    """``(score - random) / (baseline - random)``: 0 is a uniform-random policy, 1 the baseline,
    and higher is always better, also for negative returns (Pendulum), where dividing by the
    baseline would flip the order."""
    return (np.asarray(scores, dtype=float) - random_score) / (baseline_mean - random_score)


def normalised_iqm_interval(
    groups: Sequence[tuple[Sequence[float], Sequence[float], float]], seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """IQM of normalised scores pooled over environments, and its 95% stratified bootstrap
    interval that resamples the **baseline** too.

    ``groups``: per environment ``(scores, baseline_scores, random_score)``; each score is
    normalised by :func:`normalised` against the mean of that environment's baseline scores.
    Each resample draws every environment's scores and its baseline scores with replacement,
    within that environment, so the interval carries the baseline's seed noise as well as the
    group's (holding the normaliser fixed would understate it).
    """
    groups = [(np.asarray(x, float), np.asarray(b, float), float(r)) for x, b, r in groups]
    point = float(iqm(np.concatenate([normalised(x, b.mean(), r) for x, b, r in groups])))
    if min(min(len(x), len(b)) for x, b, _ in groups) < 2:
        return point, (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    pooled = []
    for x, b, r in groups:
        xs = x[rng.integers(0, len(x), size=(RESAMPLES, len(x)))]
        bs = b[rng.integers(0, len(b), size=(RESAMPLES, len(b)))].mean(axis=1, keepdims=True)
        pooled.append((xs - r) / (bs - r))
    boot = iqm(np.concatenate(pooled, axis=1), axis=1)
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    return point, (float(low), float(high))


def performance_profile(scores: Sequence[float], thresholds: np.ndarray) -> np.ndarray:
    """The fraction of runs whose (normalised) score is above each threshold (Agarwal et al.
    2021): a whole distribution in one curve, ``(len(thresholds),)``, falling from 1 to 0."""
    scores = np.asarray(scores, dtype=float)
    return (scores[None, :] > np.asarray(thresholds, dtype=float)[:, None]).mean(axis=1)


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
