"""minidst.stats against hand computations, and the coverage of its intervals by simulation."""

import numpy as np
import pytest
from scipy.stats import t as student_t

from minidst import stats


def coverage(interval, n: int, trials: int, seed: int = 0) -> float:
    """How often ``interval(sample)`` holds the true mean 0 of standard normal samples of n."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        low, high = interval(rng.standard_normal(n))
        hits += low <= 0 <= high
    return hits / trials


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_t_interval_covers_95_percent_at_any_seed_count(n):
    # 4,000 trials: the standard error of a 95% coverage estimate is 0.34 points.
    assert coverage(stats.mean_interval, n, 4000) == pytest.approx(0.95, abs=0.015)


def test_the_percentile_bootstrap_undercovers_with_three_seeds(monkeypatch):
    """Why the t interval is the headline below 10 seeds: at n = 3 the bootstrap interval of
    the mean is about [min, max] and covers the true mean only ~75% of the time."""
    monkeypatch.setattr(stats, "RESAMPLES", 400)
    assert coverage(stats.iqm_interval, 3, 400) < 0.85
    assert coverage(stats.mean_interval, 3, 400) > 0.92


def test_mean_interval_by_hand():
    # mean 2, sd 1, t(0.975, 2 df) = 4.3027: 2 -+ 4.3027 / sqrt(3)
    low, high = stats.mean_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 4.302653 / 3**0.5, 2 + 4.302653 / 3**0.5))
    assert all(np.isnan(stats.mean_interval([5.0])))


def welch_by_hand(x, y, shift=0.0):
    """Welch's t statistic of mean(x) + shift - mean(y) and its Welch-Satterthwaite df."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    t = (x.mean() + shift - y.mean()) / np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    return t, df


def test_welch_and_equivalence_tests_by_hand():
    x, y = [105.0, 98.0, 110.0, 101.0, 96.0], [100.0, 90.0, 104.0, 95.0, 99.0]
    t, df = welch_by_hand(x, y)
    assert stats.welch_test(x, y) == pytest.approx(2 * student_t.sf(abs(t), df))
    # TOST at a 10% margin of y's mean (97.6): both one-sided p-values, the larger counts.
    delta = 0.1 * np.mean(y)
    t_low, df = welch_by_hand(x, y, shift=+delta)  # H0: diff <= -delta
    t_high, _ = welch_by_hand(x, y, shift=-delta)  # H0: diff >= +delta
    expected = max(student_t.sf(t_low, df), student_t.cdf(t_high, df))
    assert stats.equivalence_test(x, y) == pytest.approx(expected)


def test_difference_interval_by_hand_and_its_coverage():
    x, y = [105.0, 98.0, 110.0, 101.0, 96.0], [100.0, 90.0, 104.0, 95.0, 99.0]
    t, df = welch_by_hand(x, y)
    se = (np.mean(x) - np.mean(y)) / t
    half = student_t.ppf(0.975, df) * se
    expected = (np.mean(x) - np.mean(y) - half, np.mean(x) - np.mean(y) + half)
    assert stats.difference_interval(x, y) == pytest.approx(expected)
    assert all(np.isnan(stats.difference_interval([1.0], y)))
    # 3 seeds of a wide spread against 5 of a narrow one: Welch's interval still covers ~95%
    # (the pooled-variance interval would cover ~87%).
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(1000):
        low, high = stats.difference_interval(rng.normal(0, 3, 3), rng.normal(0, 1, 5))
        hits += low <= 0 <= high
    assert hits / 1000 == pytest.approx(0.95, abs=0.025)


def test_equivalence_is_shown_only_inside_the_margin():
    rng = np.random.default_rng(1)
    base = 1000 + 20 * rng.standard_normal(10)
    same = 1000 + 20 * rng.standard_normal(10)
    assert stats.equivalence_test(same, base) < 0.01
    assert stats.equivalence_test(same * 1.2, base) > 0.5  # 20% above: not equivalent
    assert stats.equivalence_test(same, base, margin=0.001) > 0.05  # too tight to show
    # Undecided is not equivalent: 3 noisy seeds that agree on average show nothing.
    assert stats.equivalence_test([700, 1000, 1300], [800, 1000, 1200]) > 0.05


def test_seeds_for_equivalence_by_hand():
    x, y = [100.0, 110.0, 90.0], [100.0, 95.0, 105.0]  # variances 100 and 25, diff 0
    z = 1.6448536 + 1.2815516  # z(0.95) + z(0.9): 80% power, split over two sides
    assert stats.seeds_for_equivalence(x, y) == np.ceil(z**2 * 125 / 10.0**2)
    assert stats.seeds_for_equivalence([120.0, 130.0], [100.0, 101.0]) == np.inf


def test_smoothing_and_steps_to_reach():
    assert np.allclose(stats.smoothed(np.array([0, 3, 6, 9, 0.0])), [0, 1.5, 3, 6, 5])
    steps = np.arange(0, 50_000, 5_000)
    # Every seed the same rising line 0..90: the 3-evaluation mean reaches 70 at step 40k
    # (mean of 60, 70, 80); the resamples all agree.
    line = np.tile(np.linspace(0, 90, 10), (4, 1))
    step, (low, high), never = stats.steps_to_reach(steps, line, [70.0, 70.0, 70.0])
    assert (step, low, high, never) == (40_000, 40_000, 40_000, 0.0)
    # One lucky evaluation: the raw curve "reaches" 90 at 10k, the smoothed one never does.
    spike = np.tile([0, 0, 100, 0, 0, 0, 0, 0, 0, 0.0], (3, 1))
    assert stats.first_step_reaching(steps, spike[0], 90) == 10_000
    step, (low, high), never = stats.steps_to_reach(steps, spike, [90.0, 90.0])
    assert step == np.inf and never == 1.0 and low == high == np.inf


def test_steps_to_reach_resamples_both_sides():
    steps = np.arange(0, 50_000, 5_000)
    curves = np.array([np.linspace(0, top, 10) for top in (60.0, 90.0, 120.0)])
    step, (low, high), never = stats.steps_to_reach(steps, curves, [60.0, 80.0, 100.0])
    assert low < step < high and 0 < never < 1  # the slowest seed alone never gets there
    # Identical seeds, a noisy baseline: all the spread comes from resampling the baseline.
    line = np.tile(np.linspace(0, 90, 10), (3, 1))
    step, (low, high), _ = stats.steps_to_reach(steps, line, [40.0, 60.0, 80.0])
    assert low < step < high


def test_normalised_scores_keep_better_higher_for_negative_returns():
    # Pendulum: DS-TD3 -1398 beats TD3 -1431; a random policy scores about -1500.
    ds, dense, random = -1398.0, -1431.0, -1500.0
    assert stats.normalised([ds], dense, random)[0] == pytest.approx(102 / 69)
    assert stats.normalised([ds], dense, random)[0] > 1 > ds / dense  # ratios flip the order
    assert stats.normalised([dense], dense, random)[0] == 1.0


def test_the_normalised_interval_carries_the_baselines_noise():
    group = [1000.0, 1000.0, 1000.0]
    baseline = [800.0, 1000.0, 1200.0]
    point, (low, high) = stats.normalised_iqm_interval([(group, baseline, 0.0)])
    assert point == 1.0 and low < 0.9 and high > 1.1  # a fixed normaliser gives [1, 1]
    fixed = stats.normalised(group, np.mean(baseline), 0.0)
    assert np.ptp(fixed) == 0


def test_performance_profile_by_hand():
    profile = stats.performance_profile([0.2, 0.5, 0.9, 1.3], np.array([0.0, 0.5, 1.0, 2.0]))
    assert profile.tolist() == [1.0, 0.5, 0.25, 0.0]  # strictly above each threshold
