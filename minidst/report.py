"""``minidst report``: what a sweep found, as a Markdown report, PNG figures and a summary a
script can read.

Every run under the sweep directory is read from its small files (``config.json``,
``evaluations.csv``, ``progress.csv``); runs are grouped by environment and algorithm, and each
sparse algorithm is compared with its family's dense one (DS-TD3 and Static-TD3 with TD3, DS-SAC
and Static-SAC with SAC). Per group:

* **final return**: each seed's mean of its last 10 evaluations (the paper's score; never the
  untrained step-0 evaluation), summarised as the mean over seeds with its Student-t 95%
  interval (right at any seed count), and as the IQM with a 95% percentile-bootstrap interval,
  shown from :data:`~minidst.stats.BOOTSTRAP_MIN_SEEDS` seeds on (:mod:`minidst.stats`);
* **mean return over training**: the area under each seed's curve divided by its length (how
  fast it learned, not only where it ended), IQM over seeds;
* **steps to dense**: the first evaluation step at which the group's mean curve, smoothed over 3
  evaluations, reaches the dense baseline's mean final return, with a bootstrap interval and the
  fraction of resamples that never reach it (:func:`minidst.stats.steps_to_reach`);
* **tests against dense**: the probability of improvement with the exact Mann-Whitney p-value
  (:func:`minidst.stats.exact_test`), Welch's t-test of equal means, and the equivalence test
  (TOST) within 10% of dense's mean, with the seeds per group it would need when not met;
* **weights, training FLOPs** relative to dense, and the **env-steps/s** measured in the runs
  (median over each run's training rows, then over seeds).

Controls (:func:`comparisons`): each sparse group against a dense network of its family with as
many weights (dense TD3 at hidden 177 for DS-TD3), and each sparse group with settings of its own
against its algorithm at the defaults, with the difference of means and its Welch interval.

Across environments, final returns are normalised as ``(x - random) / (dense - random)``
(:mod:`minidst.random_policy`), so 1 is dense and higher is always better, and their IQM gets a
stratified bootstrap interval that resamples the dense baseline too.

Only finished runs count; unfinished ones are listed. Figures: one learning-curve panel per
environment (IQM with its 95% bootstrap band, every group of that environment in a colour of its
own), with the published TD3 curves of Fujimoto et al. (2018) beside them where the environment
matches (gym v1 there, gymnasium v5 here: the figure says so); and a performance profile of the
normalised scores (``profile.png``: the fraction of runs above each score).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minidst import random_policy, rundir, stats
from minidst.config import group_label
from minidst.envs import env_family
from minidst.plot import group_colours

#: The published TD3 learning curves (sfujim/TD3, MIT licence): env, seed, step, return.
REFERENCE_CURVES = Path(__file__).parent / "data" / "td3_fujimoto2018_curves.csv"
FINAL_EVALUATIONS = 10  #: a run's score: the mean of its last this-many evaluations
DENSE = {"td3": "td3", "static-td3": "td3", "ds-td3": "td3",
         "sac": "sac", "static-sac": "sac", "ds-sac": "sac"}  # fmt: skip
ORDER = ("td3", "static-td3", "ds-td3", "sac", "static-sac", "ds-sac")


@dataclass
class Run:
    """One finished run, as its small files tell it."""

    run_dir: Path
    algo: str
    env: str
    seed: int
    steps: np.ndarray  # evaluation steps
    returns: np.ndarray  # mean evaluation return at each step
    weights: float  # weights of actor and critics at the end
    flops: float  # training FLOPs, all iterations
    steps_per_s: float  # median of the training phase's progress rows
    dormant: float  # fraction of dormant hidden units at the end, averaged over the networks
    label: str  # algo, plus the settings that set it apart in its sweep (e.g. sparsity)

    @property
    def final(self) -> float:
        """The mean of the last :data:`FINAL_EVALUATIONS` evaluations after step 0 (a run with
        fewer has all of its trained ones averaged; the untrained policy never counts)."""
        trained = self.returns[self.steps > 0]
        return float(trained[-FINAL_EVALUATIONS:].mean()) if len(trained) else math.nan


def read_runs(sweep_dir: str | Path) -> tuple[list[Run], list[Path], list[tuple[Path, Path]]]:
    """Every finished run under ``sweep_dir``, the directories of unfinished ones, and
    ``(duplicate, original)`` pairs: a finished run with the env, group, seed and length of one
    already read (a copied directory) is the same experiment and is not counted twice."""
    finished, unfinished, duplicates = [], [], []
    seen: dict[tuple, Path] = {}
    for config_path in sorted(Path(sweep_dir).rglob(rundir.CONFIG)):
        run_dir = config_path.parent
        config = rundir.read_config(run_dir)
        steps, returns = rundir.read_evaluations(run_dir)
        progress = rundir.progress_log(run_dir).rows
        if not len(steps) or steps[-1] != config.steps or not progress:
            unfinished.append(run_dir)
            continue
        key = (config.env, group_label(config), config.seed, config.steps)
        if key in seen:
            duplicates.append((run_dir, seen[key]))
            continue
        seen[key] = run_dir
        rates = [
            float(row["time/steps_per_s"])
            for row in progress
            if int(row["step"]) > config.start_steps and row.get("time/steps_per_s")
        ]
        finished.append(
            Run(
                run_dir=run_dir,
                algo=config.algo,
                env=config.env,
                seed=config.seed,
                steps=steps,
                returns=returns,
                weights=float(progress[-1].get("topology/weights") or math.nan),
                flops=float(progress[-1].get("flops/training_cumulative") or math.nan),
                steps_per_s=float(np.median(rates)) if rates else math.nan,
                dormant=_final_dormant_fraction(progress[-1]),
                label=group_label(config),
            )
        )
    return finished, unfinished, duplicates


def _final_dormant_fraction(row: dict[str, str]) -> float:
    """The mean of a progress row's ``topology/dormant_*`` columns (ReDo's dormant units, one
    column per network); NaN for runs made before they were logged."""
    values = [float(v) for k, v in row.items() if k.startswith("topology/dormant_") and v]
    return float(np.mean(values)) if values else math.nan


def _group_order(label: str) -> tuple:
    algo, _, rest = label.partition(" ")
    return (ORDER.index(algo) if algo in ORDER else len(ORDER), rest)


def summarise(runs: list[Run]) -> list[dict]:
    """One row per (env, label): the statistics of the module docstring."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.env, run.label].append(run)
    rows = []
    for env in sorted({env for env, _ in groups}):
        labels = sorted((label for e, label in groups if e == env), key=_group_order)
        for label in labels:
            group = sorted(groups[env, label], key=lambda run: run.seed)
            dense = groups.get((env, DENSE.get(group[0].algo, "")), [])
            rows.append(_summary_row(env, label, group, dense))
    return rows


def _common_curve(group: list[Run]) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, returns (n_seeds, n_steps))`` at the evaluation steps all seeds share."""
    steps = group[0].steps
    for run in group[1:]:
        steps = np.intersect1d(steps, run.steps)
    return steps, np.array([run.returns[np.isin(run.steps, steps)] for run in group])


def _summary_row(env: str, label: str, group: list[Run], dense: list[Run]) -> dict:
    finals = [run.final for run in group]
    mean_low, mean_high = stats.mean_interval(finals)
    low, high = stats.iqm_interval(finals)
    steps, curves = _common_curve(group)
    row = {
        "env": env,
        "algo": label,
        "seeds": len(group),
        "final_mean": float(np.mean(finals)),
        "final_mean_low": mean_low,
        "final_mean_high": mean_high,
        "final_iqm": float(stats.iqm(np.array(finals))),
        "final_ci_low": low,
        "final_ci_high": high,
        "mean_over_training_iqm": float(
            stats.iqm(np.array([stats.mean_over_training(r.steps, r.returns) for r in group]))
        ),
        "steps": int(steps[-1]),
        "steps_per_s": float(np.median([run.steps_per_s for run in group])),
        "dormant_final": float(np.mean([run.dormant for run in group])),
        "steps_to_dense_final": None,
        "steps_to_dense_low": math.nan,
        "steps_to_dense_high": math.nan,
        "steps_to_dense_never": math.nan,
        "p_improvement": math.nan,
        "p_improvement_low": math.nan,
        "p_improvement_high": math.nan,
        "p_exact": math.nan,
        "p_welch": math.nan,
        "p_equivalence": math.nan,
        "seeds_for_equivalence": math.nan,
        "weights_vs_dense": math.nan,
        "flops_vs_dense": math.nan,
    }
    if dense:
        dense_finals = [run.final for run in dense]
        step, (step_low, step_high), never = stats.steps_to_reach(steps, curves, dense_finals)
        row["steps_to_dense_final"] = int(step) if math.isfinite(step) else None
        row["steps_to_dense_low"], row["steps_to_dense_high"] = step_low, step_high
        row["steps_to_dense_never"] = never
        row["weights_vs_dense"] = np.mean([r.weights for r in group]) / np.mean(
            [r.weights for r in dense]
        )
        row["flops_vs_dense"] = np.mean([r.flops for r in group]) / np.mean(
            [r.flops for r in dense]
        )
        if group[0].label != dense[0].label:
            row["p_improvement"] = stats.probability_of_improvement(finals, dense_finals)
            interval = stats.probability_of_improvement_interval(finals, dense_finals)
            row["p_improvement_low"], row["p_improvement_high"] = interval
            row["p_exact"] = stats.exact_test(finals, dense_finals)
            row["p_welch"] = stats.welch_test(finals, dense_finals)
            row["p_equivalence"] = stats.equivalence_test(finals, dense_finals)
            row["seeds_for_equivalence"] = stats.seeds_for_equivalence(finals, dense_finals)
    return row


EQUAL_WEIGHTS_TOLERANCE = 0.05  #: "equal weights": mean weight counts within this fraction


def comparisons(runs: list[Run]) -> list[dict]:
    """The two controls a sparse result needs beside dense of the default width, one row per
    pair of groups of one environment:

    * **equal weights**: each sparse group against each other dense group of its family whose
      weights are within :data:`EQUAL_WEIGHTS_TOLERANCE` of its own (dense TD3 at hidden 177
      stores about DS-TD3's weights): does sparse beat simply smaller? (Graesser et al. 2022);
    * **defaults**: each sparse group with settings of its own (``ds-td3 init=dense-fan-in``)
      against its algorithm at the defaults (``ds-td3``): what the setting changes.

    Per pair: both means, the difference of means with Welch's 95% interval, P(X > Y) and the
    exact and Welch p-values (:mod:`minidst.stats`)."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.env, run.label].append(run)
    pairs = []
    for (env, label), group in sorted(groups.items(), key=lambda item: (item[0][0],
                                      _group_order(item[0][1]))):  # fmt: skip
        algo = group[0].algo
        if algo == DENSE.get(algo):
            continue
        weights = np.mean([run.weights for run in group])
        for (other_env, other), against in groups.items():
            other_algo = against[0].algo
            if other_env != env or other_algo != DENSE[algo] or other == other_algo:
                continue  # dense of the default width is the main table's comparison
            ratio = weights / np.mean([run.weights for run in against])
            if abs(ratio - 1) <= EQUAL_WEIGHTS_TOLERANCE:
                pairs.append(_compare(env, label, group, other, against, "equal weights"))
        if label != algo and (env, algo) in groups:
            pairs.append(_compare(env, label, group, algo, groups[env, algo], "defaults"))
    return pairs


def _compare(env: str, label: str, group: list[Run], other: str, against: list[Run],
             control: str) -> dict:  # fmt: skip
    x, y = [run.final for run in group], [run.final for run in against]
    low, high = stats.difference_interval(x, y)
    return {
        "env": env, "algo": label, "against": other, "control": control,
        "seeds": len(x), "seeds_against": len(y),
        "final_mean": float(np.mean(x)), "against_mean": float(np.mean(y)),
        "difference": float(np.mean(x) - np.mean(y)), "difference_low": low,
        "difference_high": high, "p_improvement": stats.probability_of_improvement(x, y),
        "p_exact": stats.exact_test(x, y), "p_welch": stats.welch_test(x, y),
    }  # fmt: skip


def pair_verdict(pair: dict) -> str:
    """What a row of :func:`comparisons` shows, at the strength its seeds allow: higher or lower
    where Welch's p < 0.05 (its interval then excludes 0), else not told apart (which is not
    "equal")."""
    if not math.isfinite(pair["p_welch"]):
        return "untestable (a group has fewer than 2 seeds)"
    if pair["p_welch"] < 0.05:
        return "higher (Welch p < 0.05)" if pair["difference"] > 0 else "lower (Welch p < 0.05)"
    return "not told apart"


def comparisons_table(pairs: list[dict]) -> str:
    header = (
        "| env | algo | against | control | seeds | final return, mean: algo / against | "
        "difference [95% Welch interval] | P(algo > against) | p, exact test | p, Welch |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for pair in pairs:
        lines.append(
            f"| {pair['env']} | {pair['algo']} | {pair['against']} | {pair['control']} | "
            f"{pair['seeds']} / {pair['seeds_against']} | {_number(pair['final_mean'])} / "
            f"{_number(pair['against_mean'])} | {_number(pair['difference'])} "
            f"{_interval(pair['difference_low'], pair['difference_high'])} | "
            f"{_number(pair['p_improvement'], 2)} | {_number(pair['p_exact'], 3)} | "
            f"{_number(pair['p_welch'], 3)} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Writing the report
# --------------------------------------------------------------------------------------------
def normalised_finals(runs: list[Run]) -> dict[str, dict[str, tuple[list, list, float]]]:
    """``label -> env -> (finals, dense finals, random score)`` for every env where the label's
    family has its dense baseline: what normalised scores are made of."""
    finals: dict[tuple[str, str], list[float]] = defaultdict(list)
    algos = {}
    for run in runs:
        finals[run.env, run.label].append(run.final)
        algos[run.label] = run.algo
    envs = sorted({env for env, _ in finals})
    out: dict[str, dict[str, tuple[list, list, float]]] = {}
    for label in sorted({label for _, label in finals}, key=_group_order):
        for env in envs:
            dense = finals.get((env, DENSE.get(algos[label], "")))
            if (env, label) in finals and dense:
                random = random_policy.random_score(env)
                out.setdefault(label, {})[env] = (finals[env, label], dense, random)
    return out


def across_environments(runs: list[Run]) -> list[dict]:
    """Per algo label, over every env that has its family's dense baseline: the IQM of the
    final returns normalised as ``(x - random) / (mean dense - random)`` in each env (1 = dense,
    0 = a uniform-random policy), with a 95% bootstrap interval stratified by env that resamples
    the dense seeds too (:func:`minidst.stats.normalised_iqm_interval`)."""
    rows = []
    for label, by_env in normalised_finals(runs).items():
        middle, (low, high) = stats.normalised_iqm_interval(list(by_env.values()))
        rows.append({"algo": label, "envs": len(by_env), "normalised_final_iqm": middle,
                     "ci_low": low, "ci_high": high})  # fmt: skip
    return rows


def _number(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _percent(value: float) -> str:
    return f"{value:.1%}" if math.isfinite(value) else "–"


def _interval(low, high, digits: int = 0) -> str:
    return f"[{_number(low, digits)}, {_number(high, digits)}]"


def _steps_to_dense(row: dict) -> str:
    if not math.isfinite(row["steps_to_dense_never"]):
        return "–"
    step = row["steps_to_dense_final"]
    low, high = row["steps_to_dense_low"], row["steps_to_dense_high"]
    text = f"{_number(step) if step is not None else 'never'} "
    text += f"[{_number(low) if math.isfinite(low) else 'never'}, "
    text += f"{_number(high) if math.isfinite(high) else 'never'}]"
    return text + f" ({row['steps_to_dense_never']:.0%} never)"


def _equivalence(row: dict) -> str:
    p, needed = row["p_equivalence"], row["seeds_for_equivalence"]
    if not math.isfinite(p):
        return "–"
    if p < 0.05:
        return f"{p:.3f}"
    return f"{p:.2f} (needs {'∞' if needed == math.inf else _number(needed)})"


def markdown_table(rows: list[dict]) -> str:
    header = (
        "| env | algo | seeds | final return, mean [95% t-interval] | IQM [95% bootstrap] | "
        "mean return over training | steps to dense [95% CI] | P(> dense) | p, exact test | "
        "p, Welch | p, equivalent ±10% (seeds needed) | weights vs dense | FLOPs vs dense | "
        "env-steps/s | dormant units at the end |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for row in rows:
        iqm = _number(row["final_iqm"])
        if row["seeds"] >= stats.BOOTSTRAP_MIN_SEEDS:
            iqm += " " + _interval(row["final_ci_low"], row["final_ci_high"])
        lines.append(
            f"| {row['env']} | {row['algo']} | {row['seeds']} | {_number(row['final_mean'])} "
            f"{_interval(row['final_mean_low'], row['final_mean_high'])} | {iqm} | "
            f"{_number(row['mean_over_training_iqm'])} | {_steps_to_dense(row)} | "
            f"{_number(row['p_improvement'], 2)} | {_number(row['p_exact'], 3)} | "
            f"{_number(row['p_welch'], 3)} | {_equivalence(row)} | "
            f"{_number(row['weights_vs_dense'], 2)} | {_number(row['flops_vs_dense'], 2)} | "
            f"{_number(row['steps_per_s'])} | {_percent(row['dormant_final'])} |"
        )
    return "\n".join(lines)


def reference_curves(env: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The published TD3 curves of ``env``'s family: ``(steps, returns (seeds, steps))``."""
    if not REFERENCE_CURVES.is_file():
        return None
    by_seed: dict[int, list[tuple[int, float]]] = defaultdict(list)
    with open(REFERENCE_CURVES, newline="") as file:
        for row in csv.DictReader(file):
            if row["env"] == env_family(env):
                by_seed[int(row["seed"])].append((int(row["step"]), float(row["return"])))
    if not by_seed:
        return None
    curves = [sorted(points) for _, points in sorted(by_seed.items())]
    steps = np.array([step for step, _ in curves[0]])
    return steps, np.array([[value for _, value in points] for points in curves])


def plot_curves(runs: list[Run], out: Path) -> Path:
    """One panel per env: IQM and 95% bootstrap band per algo, the published TD3 curves beside."""
    from matplotlib.figure import Figure  # not pyplot: no backend is chosen or changed

    envs = sorted({run.env for run in runs})
    fig = Figure(figsize=(6 * len(envs), 4.2))
    axes = fig.subplots(1, len(envs), squeeze=False)
    rng = np.random.default_rng(0)
    colours = group_colours({run.label for run in runs})
    for ax, env in zip(axes[0], envs):
        labels = sorted({run.label for run in runs if run.env == env}, key=_group_order)
        longest = 0
        for label in labels:
            group = [run for run in runs if run.env == env and run.label == label]
            steps, curves = _common_curve(group)
            longest = max(longest, steps[-1])
            colour = colours[label]
            if len(group) == 1:
                ax.plot(steps, curves[0], color=colour, label=f"{label} (1 seed)")
                continue
            middle, low, high = stats.iqm_with_band(curves, rng)
            ax.plot(steps, middle, color=colour, label=f"{label}: IQM of {len(group)} seeds")
            ax.fill_between(steps, low, high, color=colour, alpha=0.2)
        reference = reference_curves(env)
        if reference is not None:
            ref_steps, ref_curves = reference
            shown = ref_steps <= longest
            middle, low, high = stats.iqm_with_band(ref_curves[:, shown], rng)
            ax.plot(ref_steps[shown], middle, "k--", lw=1,
                    label=f"TD3 as published (gym v1, {len(ref_curves)} seeds)")  # fmt: skip
            ax.fill_between(ref_steps[shown], low, high, color="k", alpha=0.08)
        _label_axes(ax, f"{env} (bands: 95% bootstrap CI of the IQM)", "environment steps",
                    "evaluation return")  # fmt: skip
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def _label_axes(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_profile(runs: list[Run], out: Path) -> Path | None:
    """The performance profile of every group's normalised final returns, pooled over envs
    (Agarwal et al. 2021): the fraction of runs scoring above each normalised score."""
    from matplotlib.figure import Figure

    by_label = normalised_finals(runs)
    if not by_label:
        return None
    scores = {
        label: np.concatenate([stats.normalised(x, np.mean(b), r) for x, b, r in envs.values()])
        for label, envs in by_label.items()
    }
    everything = np.concatenate(list(scores.values()))
    thresholds = np.linspace(min(0.0, everything.min()), max(1.5, everything.max()), 301)
    colours = group_colours(scores)
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    for label, values in scores.items():
        ax.step(thresholds, stats.performance_profile(values, thresholds), where="post",
                color=colours[label], label=f"{label} ({len(values)} runs)")  # fmt: skip
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    _label_axes(ax, "Performance profile, all environments pooled",
                "normalised final return τ: (x − random) / (dense − random)",
                "fraction of runs scoring above τ")  # fmt: skip
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def write_report(sweep_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write ``report.md``, ``summary.csv``, ``summary.json``, ``comparisons.csv`` (where
    there is a control to compare with), ``curves.png`` and ``profile.png`` into ``out_dir``
    (default: the sweep directory); returns the report's path."""
    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir) if out_dir is not None else sweep_dir
    runs, unfinished, duplicates = read_runs(sweep_dir)
    if not runs:
        raise ValueError(f"{sweep_dir} holds no finished run")
    rows = summarise(runs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "summary.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (out_dir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
        pairs = comparisons(runs)
        if pairs:
            with open(out_dir / "comparisons.csv", "w", newline="") as file:
                writer = csv.DictWriter(file, list(pairs[0]))
                writer.writeheader()
                writer.writerows(pairs)
        plot_curves(runs, out_dir / "curves.png")
        profile = plot_profile(runs, out_dir / "profile.png")
    except OSError as error:
        raise ValueError(f"cannot write the report to {out_dir}: {error.strerror}") from None
    lines = [
        f"# Sweep report: {sweep_dir}",
        "",
        f"{len(runs)} finished runs"
        + (f", {len(unfinished)} unfinished (not counted)" if unfinished else "")
        + ". **Final return**: each seed's mean of its last "
        f"{FINAL_EVALUATIONS} evaluations after step 0. Its mean over seeds with a Student-t "
        "95% interval, which covers 95% for normal scores at any seed count; the IQM "
        "(interquartile mean), with its 95% percentile-bootstrap interval only from "
        f"{stats.BOOTSTRAP_MIN_SEEDS} seeds on (below that the bootstrap interval is about "
        "[lowest, highest seed] and covers the mean ~76% of the time at 3 seeds, 84% at 5). "
        "**Mean return over training**: area under the curve / its length, IQM over seeds. "
        "**Steps to dense**: first evaluation at which the group's mean curve, smoothed over 3 "
        "evaluations, reaches dense's mean final return, with a 95% bootstrap interval "
        "(group and dense seeds resampled) and the share of resamples that never reach it. "
        "**Tests against dense** (same env and family): P(> dense), the probability that a "
        "run scores above a dense run (Agarwal et al. 2021), with the exact two-sided "
        "Mann-Whitney p-value of no difference (3 seeds against 3 can never go below 0.1, 5 "
        "against 5 can reach 0.008); Welch's t-test of equal means (two-sided); and the "
        "equivalence test (two one-sided Welch tests) that the means lie within ±10% of "
        "dense's: p < 0.05 shows 'matches', and otherwise the seeds per group it would need "
        "for 80% power at the observed difference and spread (∞: the difference is already "
        "outside the margin). A large p of the difference tests is no evidence of "
        "equivalence. **Weights and training FLOPs**: actor and critics, relative to dense. "
        "**Env-steps/s**: median over the training phase, as measured in these runs (their "
        "machines are in each run's config.json). **Dormant units**: the share of hidden ReLU "
        "units whose mean |activation| on the last training batch is at most 2.5% of their "
        "layer's mean (ReDo, Sokar et al. 2023), averaged over the networks and seeds at the "
        "last progress row; – for runs made before it was logged.",
        "",
        markdown_table(rows),
        "",
    ]
    if pairs:
        lines += [
            "Controls (also in `comparisons.csv`): each sparse group against a dense network "
            f"with as many weights (within {EQUAL_WEIGHTS_TOLERANCE:.0%}: does sparse beat "
            "simply smaller?), and each sparse group with settings of its own against its "
            "algorithm at the defaults (what the setting changes). The difference of means "
            "has Welch's 95% interval, which excludes 0 exactly when Welch's p < 0.05.",
            "",
            comparisons_table(pairs),
            "",
        ]
    lines += [
        "Across environments: final returns normalised as (x − random) / (dense − random) in "
        "each environment (1.00 = dense's mean, 0 = a uniform-random policy, higher is "
        "better also for negative returns), IQM over all seeds of all environments, with a "
        "95% bootstrap interval stratified by environment that resamples the dense seeds "
        "too.",
        "",
        "| algo | envs | normalised final return, IQM [95% CI] |",
        "|---|---|---|",
        *(
            f"| {row['algo']} | {row['envs']} | {_number(row['normalised_final_iqm'], 2)} "
            f"[{_number(row['ci_low'], 2)}, {_number(row['ci_high'], 2)}] |"
            for row in across_environments(runs)
        ),
        "",
        "![learning curves](curves.png)",
        "",
    ]
    if profile is not None:
        lines += ["![performance profile](profile.png)", ""]
    if unfinished:
        lines += ["Unfinished runs:", ""] + [f"- `{path}`" for path in unfinished] + [""]
    if duplicates:
        lines += ["Not counted, the same run (settings and seed) as one already counted:", ""]
        lines += [f"- `{copy}` (as `{original}`)" for copy, original in duplicates] + [""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines))
    return report
