"""Checks for chapters/09_experiments.py's exercises.

The check reads the HalfCheetah runs kept in the repository (``results/paper200k``) as the
chapter's statistics section does, so its answer follows the runs that are there when it is
called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from minidst.exercises._shared import _NO_RUNS, _as_floats, _find_runs, _verdict

_ALGOS = ("td3", "static-td3", "ds-td3")
_PAIRS = (("td3", "static-td3"), ("td3", "ds-td3"), ("static-td3", "ds-td3"))


def _halfcheetah_curves() -> dict[str, list[tuple[np.ndarray, np.ndarray]]] | None:
    """Per algorithm, ``(steps, returns)`` of every finished HalfCheetah-v5 run, in the order of
    the chapter's table (seed directories sorted by name); ``None`` without runs."""
    from minidst import rundir

    folder = _find_runs()
    if folder is None:
        return None
    curves = {}
    for algo in _ALGOS:
        curves[algo] = []
        for run_dir in sorted((folder / "HalfCheetah-v5" / algo).glob("seed*")):
            steps, returns = rundir.read_evaluations(run_dir)
            if len(steps) and steps[-1] == rundir.read_config(run_dir).steps:
                curves[algo].append((steps, returns))
    return curves if all(len(runs) >= 2 for runs in curves.values()) else None


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two intervals share a point, as the chapter's ``overlap``."""
    return max(a[0], b[0]) <= min(a[1], b[1])


def chapter9_exercise4(
    scores: Mapping[str, Sequence[float]], overlaps: Sequence[bool] | None = None
) -> bool:
    """Each HalfCheetah seed's mean return over training, ``{"td3": [...], "static-td3": [...],
    "ds-td3": [...]}``; optionally whether the IQM intervals overlap, three booleans for
    (TD3, Static-TD3), (TD3, DS-TD3), (Static-TD3, DS-TD3)."""
    from minidst import stats

    curves = _halfcheetah_curves()
    if curves is None:
        return _verdict(False, "", _NO_RUNS + ", with at least two finished seeds per algorithm")
    expected = {
        algo: np.array([stats.mean_over_training(s, r) for s, r in runs])
        for algo, runs in curves.items()
    }
    last_ten = {algo: np.array([r[-10:].mean() for _, r in runs]) for algo, runs in curves.items()}
    if not isinstance(scores, Mapping) or set(scores) != set(_ALGOS):
        return _verdict(
            False,
            "",
            'give a dict with one list of scores per algorithm: "td3", "static-td3", "ds-td3"',
        )
    for algo in _ALGOS:
        given = _as_floats(scores[algo], len(expected[algo]))
        if given is None:
            return _verdict(
                False,
                "",
                f"{algo}: give one score per finished seed ({len(expected[algo])} of them)",
            )
        given = np.sort(given)  # the seeds in any order
        if np.allclose(given, np.sort(expected[algo]), rtol=0, atol=0.5):
            continue
        if np.allclose(given, np.sort(last_ten[algo]), rtol=0, atol=0.5):
            hint = "those are the means of the last 10 evaluations, the chapter's score"
        else:
            hint = (
                "stats.mean_over_training(steps, returns) over each seed's whole evaluation "
                "curve, step 0 included: the area under it divided by its length"
            )
        return _verdict(False, "", f"{algo}'s scores are not right: {hint}")
    intervals = {algo: stats.iqm_interval(values) for algo, values in expected.items()}
    before = {algo: stats.iqm_interval(values) for algo, values in last_ten.items()}
    expected_overlaps = [_overlap(intervals[a], intervals[b]) for a, b in _PAIRS]
    overlaps_before = [_overlap(before[a], before[b]) for a, b in _PAIRS]

    def words(verdicts):
        return ", ".join(
            f"{a} / {b} {'overlap' if ok else 'apart'}" for (a, b), ok in zip(_PAIRS, verdicts)
        )

    if overlaps is not None:
        flags = [] if isinstance(overlaps, (str, bytes)) else list(overlaps)
        if len(flags) != 3 or not all(isinstance(x, (bool, np.bool_)) for x in flags):
            return _verdict(
                False,
                "",
                "scores right; give the overlaps as three booleans, in the order "
                "(td3, static-td3), (td3, ds-td3), (static-td3, ds-td3)",
            )
        if [bool(x) for x in flags] != expected_overlaps:
            return _verdict(
                False,
                "",
                "scores right, overlaps not: take stats.iqm_interval of each algorithm's new "
                "scores, and two intervals overlap when the larger low end is at most the "
                "smaller high end",
            )
    return _verdict(
        True,
        "intervals of the mean over training: "
        + ", ".join(f"{a} [{lo:.0f}, {hi:.0f}]" for a, (lo, hi) in intervals.items())
        + f"; {words(expected_overlaps)} (with the last 10 evaluations: "
        f"{words(overlaps_before)}). The two scores answer different questions (how fast, "
        "where it ended); picking one after seeing which separates the methods lets chance "
        "choose the conclusion.",
        "",
    )
