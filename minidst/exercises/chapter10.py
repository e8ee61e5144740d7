"""Checks for chapters/10_the_results.py's exercises.

The checks read the runs kept in the repository (``results/paper200k``, or ``$MINIDST_RESULTS``,
found as the chapter finds them) with ``minidst.report``, so their answers follow the runs that
are there when they are called. Scores are the chapter's: a run's final score is the mean of its
last 10 evaluations, and a pooled normalised score is ``report.across_environments``'s,
``(x - random) / (mean baseline - random)`` in each environment, IQM over all runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from minidst.exercises._shared import _NO_RUNS, _as_floats, _find_runs, _one_word, _verdict

_ALGOS = ("td3", "static-td3", "ds-td3")


def _paper_runs() -> list | None:
    """The finished TD3, Static-TD3 and DS-TD3 runs at the paper's settings, as the chapter
    keeps them; ``None`` without runs."""
    from minidst import report

    folder = _find_runs()
    if folder is None:
        return None
    runs = [run for run in report.read_runs(folder)[0] if run.algo in _ALGOS]
    return [run for run in runs if run.label == run.algo] or None


def _finals(runs: list, env: str, algo: str) -> list[float]:
    return [run.final for run in runs if run.env == env and run.algo == algo]


def _pooled_score(groups: Sequence[tuple[Sequence[float], Sequence[float], float]]) -> float:
    """The IQM of every run's normalised score, pooled over environments: the point estimate of
    :func:`minidst.stats.normalised_iqm_interval`, without its bootstrap."""
    from minidst import stats

    pooled = [stats.normalised(x, np.mean(baseline), r) for x, baseline, r in groups]
    return float(stats.iqm(np.concatenate(pooled)))


def _ds_groups(runs: list) -> list:
    """DS-TD3's ``(finals, dense TD3 finals, random score)`` per environment."""
    from minidst import report

    return list(report.normalised_finals(runs).get("ds-td3", {}).values())


def chapter10_exercise3(largest_move: float, share: float | None = None) -> bool:
    """The jackknife of DS-TD3's pooled normalised IQM: the largest change (in absolute value)
    when one seed is left out of one cell; optionally that change as a fraction of the width of
    the pooled score's 95% bootstrap interval."""
    from minidst import report

    runs = _paper_runs()
    if runs is None or not _ds_groups(runs):
        return _verdict(False, "", _NO_RUNS + ", with DS-TD3 and TD3 runs")
    full = _pooled_score(_ds_groups(runs))
    moves = []  # (change, the run left out)
    for left_out in runs:
        cell = [run for run in runs if (run.env, run.algo) == (left_out.env, left_out.algo)]
        if left_out.algo == "static-td3" or len(cell) < 2:
            continue  # Static-TD3 does not enter DS-TD3's score; a cell of one cannot lose it
        rest = [run for run in runs if run is not left_out]
        moves.append((abs(_pooled_score(_ds_groups(rest)) - full), left_out))
    if not moves:
        return _verdict(False, "", "every cell has a single seed: there is nothing to leave out")
    largest, where = max(moves, key=lambda item: item[0])
    largest_ds = max(move for move, run in moves if run.algo == "ds-td3")
    answer = _as_floats(largest_move)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the largest change of the normalised IQM")
    if not any(math.isclose(abs(answer), value, abs_tol=0.005) for value in (largest, largest_ds)):
        return _verdict(
            False,
            "",
            "leave out each seed of each DS-TD3 cell (and, since they set the normaliser, of "
            "each TD3 cell) in turn, recompute the pooled score of report.across_environments "
            "on the other runs, and keep the largest |change| from the score with every seed",
        )
    (row,) = [row for row in report.across_environments(runs) if row["algo"] == "ds-td3"]
    width = row["ci_high"] - row["ci_low"]
    # Left out of DS-TD3's cells only, or of TD3's too: either reading of "each cell" counts.
    given = largest if math.isclose(abs(answer), largest, abs_tol=0.005) else largest_ds
    if share is not None:
        fraction = _as_floats(share)
        if not math.isfinite(width):
            return _verdict(
                False, "", "the move is right; this copy of the runs has no interval to compare"
            )
        if fraction is None or fraction.shape != ():
            return _verdict(False, "", "the move is right; give the share as one number")
        if not math.isclose(fraction, given / width, rel_tol=0.03, abs_tol=0.005):
            return _verdict(
                False,
                "",
                "the move is right; divide it by the width (high - low) of DS-TD3's interval "
                "from report.across_environments",
            )
    against_width = (
        f"; its 95% interval is {width:.3f} wide, so that is {given / width:.0%} of it"
        if math.isfinite(width)
        else ""
    )
    return _verdict(
        True,
        f"one seed moves DS-TD3's {full:.3f} by up to {given:.3f} (the largest move of all, "
        f"{largest:.3f}, leaves out {where.env} {where.algo} seed {where.seed}){against_width}. "
        "With a handful of seeds, a single run is a sizeable part of the estimate.",
        "",
    )


def chapter10_exercise5(
    probabilities: Mapping[str, float] | Sequence[float], seeds: int | None = None
) -> bool:
    """P(Static-TD3 > TD3) of the final scores per environment (a dict by environment, or a
    list in the chapter's order, environments sorted by name); optionally the fewest seeds a
    side, the same number on both, with which some outcome reaches exact p < 0.05."""
    from minidst import stats
    from minidst.envs import env_family

    runs = _paper_runs() or []
    envs = sorted(
        {run.env for run in runs if run.algo == "static-td3"}
        & {run.env for run in runs if run.algo == "td3"}
    )
    if not envs:
        return _verdict(False, "", _NO_RUNS + ", with Static-TD3 and TD3 runs")
    pairs = {env: (_finals(runs, env, "static-td3"), _finals(runs, env, "td3")) for env in envs}
    expected = np.array([stats.probability_of_improvement(x, y) for x, y in pairs.values()])
    if isinstance(probabilities, Mapping):
        by_name = {str(key): value for key, value in probabilities.items()}
        values = [by_name.get(env, by_name.get(env_family(env))) for env in envs]
        given = None if any(v is None for v in values) else _as_floats(values, len(envs))
    else:
        given = _as_floats(probabilities, len(envs))
    if given is None:
        return _verdict(
            False, "", f"give one probability per environment: {', '.join(envs)}, in that order"
        )
    if not np.allclose(given, expected, atol=0.005):
        hint = (
            "that is P(TD3 > Static-TD3): put Static-TD3's scores first"
            if np.allclose(given, 1 - expected, atol=0.005)
            else "compare(finals(env, 'static-td3'), finals(env, 'td3'))['p'] for each "
            "environment: the share of (Static-TD3 run, TD3 run) pairs won, ties counting half"
        )
        return _verdict(False, "", hint)
    # The smallest possible exact p-value is a clean sweep's: every run of one above the other.
    fewest = next(
        n for n in range(1, 20) if stats.exact_test(np.arange(n, 2 * n), np.arange(n)) < 0.05
    )
    if seeds is not None:
        answer = _as_floats(seeds)
        if answer is None or answer.shape != ():
            return _verdict(False, "", "the probabilities are right; give the seeds as one number")
        if answer != fewest:
            hint = (
                f"{answer:g} a side can, but can fewer? A clean sweep's two-sided p is "
                "2 / C(2n, n): try each n"
                if answer > fewest
                else f"no outcome of {answer:g} seeds a side reaches p < 0.05: a clean sweep's "
                "two-sided p, 2 / C(2n, n), is the smallest possible"
            )
            return _verdict(False, "", "the probabilities are right; " + hint)
    exact = {env: stats.exact_test(x, y) for env, (x, y) in pairs.items()}
    return _verdict(
        True,
        "; ".join(
            f"{env} P = {p:.2f} ({len(pairs[env][0])} vs {len(pairs[env][1])} seeds, exact "
            f"p = {exact[env]:.3f})"
            for env, p in zip(envs, expected)
        )
        + f". From {fewest} seeds a side a clean sweep gives p = "
        f"{2 / math.comb(2 * fewest, fewest):.3f} < 0.05; with 3 a side no outcome can.",
        "",
    )


def chapter10_exercise6(normalised_iqm: float, verdict: str | None = None) -> bool:
    """DS-TD3's pooled normalised IQM with the published TD3 curves (their mean of the
    evaluations at 155k-200k) as the baseline in place of our TD3; optionally its interval's
    verdict: ``"above"`` 1, ``"below"`` 1, or ``"contains"`` 1."""
    from minidst import random_policy, report, stats

    runs = _paper_runs() or []
    groups, plain = {}, []
    for env in sorted({run.env for run in runs if run.algo == "ds-td3"}):
        reference = report.reference_curves(env)
        if reference is None:
            continue
        steps, curves = reference
        window = (steps > 200_000 - report.FINAL_EVALUATIONS * 5000) & (steps <= 200_000)
        published = curves[:, window].mean(axis=1)
        finals = _finals(runs, env, "ds-td3")
        groups[env] = (finals, published, random_policy.random_score(env))
        plain.append(np.array(finals) / stats.iqm(published))
    if not groups:
        return _verdict(False, "", _NO_RUNS + ", with DS-TD3 runs")
    expected, (low, high) = stats.normalised_iqm_interval(list(groups.values()))
    answer = _as_floats(normalised_iqm)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the pooled normalised IQM")
    if not math.isclose(answer, expected, abs_tol=0.005):
        ours = _ds_groups(runs)
        if ours and math.isclose(answer, _pooled_score(ours), abs_tol=0.005):
            hint = "that is the chapter's score, normalised by our TD3; use the published seeds"
        elif math.isclose(answer, float(stats.iqm(np.concatenate(plain))), abs_tol=0.005):
            hint = (
                "that divides by the published IQM; the pooled score of "
                "report.across_environments is (x - random) / (mean baseline - random), with "
                "random_policy.random_score(env)"
            )
        else:
            hint = (
                "per environment, the published seeds' mean of their evaluations at 155k-200k "
                "is the baseline: stats.normalised_iqm_interval([(ds_finals, published, "
                "random_policy.random_score(env)), ...])"
            )
        return _verdict(False, "", hint)

    def reading(low: float, high: float) -> str:
        return "above" if low > 1 else "below" if high < 1 else "contains"

    phrase = {"above": "lies above", "below": "lies below", "contains": "contains"}
    expected_verdict = reading(low, high)
    if verdict is not None:
        words = _one_word(verdict).split()  # "above", or "above 1"
        answer_word = words[0] if words else ""
        answer_word = {"includes": "contains", "within": "contains"}.get(answer_word, answer_word)
        if answer_word != expected_verdict:
            return _verdict(
                False,
                "",
                "the score is right; the verdict is whether its interval (from "
                'stats.normalised_iqm_interval) lies "above" 1, "below" 1, or "contains" 1',
            )
    rows = [row for row in report.across_environments(runs) if row["algo"] == "ds-td3"]
    before = (
        f"; normalised by our TD3 it was {rows[0]['normalised_final_iqm']:.2f}, whose interval "
        f"{phrase[reading(rows[0]['ci_low'], rows[0]['ci_high'])]} 1"
        if rows and math.isfinite(rows[0]["ci_low"])
        else ""
    )
    return _verdict(
        True,
        f"{expected:.2f}, interval [{low:.2f}, {high:.2f}], which {phrase[expected_verdict]} 1"
        f"{before}. "
        "Our TD3 answers the paper's question (sparse against dense, the same code and task "
        "version); the published curves mix in the differences between the two TD3s.",
        "",
    )
