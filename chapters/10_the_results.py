# %% [markdown]
# # Chapter 10: The results
#
# Chapter 9 ran the paper's experiment for a few thousand steps to check the pipeline, and gave
# the commands for the real thing. This chapter reads the real thing: TD3, Static-TD3 and DS-TD3
# on HalfCheetah-v5, Hopper-v5 and Walker2d-v5, several seeds each, **200,000 environment steps**
# per run with every other setting at the paper's values. The runs were made with `minidst sweep`
# on a 2-core CPU machine and kept in the repository as their small files
# (`results/paper200k/<env>/<algo>/seed<k>/`: `config.json`, `evaluations.csv`,
# `progress.csv`; `results/README.md` says exactly how).
#
# Nothing is trained here: the chapter only reads files, so it runs in seconds. We ask the
# questions the paper answers, with the statistics of chapter 9 (IQM over seeds, bootstrap
# intervals) and a few more:
#
# 1. what did each algorithm score, and how sure are we;
# 2. how do the learning curves compare, with the published TD3 curves beside them;
# 3. across the three environments, normalised by dense TD3, does DS-TD3 match or beat it;
# 4. how likely is a DS-TD3 run to beat a TD3 run, or a Static-TD3 run;
# 5. which of the paper's claims do these runs reproduce, which not, and why that might be;
# 6. what did the sparsity buy: weights, FLOPs and measured speed.
#
# Runs are added to the folder as they finish, so the prose never quotes a result: every number
# is printed from the data, and every conclusion is decided by the code from the intervals. Read
# the printed output, not only the text.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import dataclasses
import json
import sys
from collections import defaultdict
from math import comb
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from minidst import random_policy, report, rundir, stats
from minidst.config import RUN_SETTINGS, TrainConfig
from minidst.envs import env_family
from minidst.plot import finish_figure, group_colours

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)

# Every interval of minidst.stats (and of minidst.report, which uses it) draws this many
# bootstrap resamples; quick mode draws fewer, which only makes the interval ends a little noisier.
RESAMPLES = 500 if QUICK else 2000
stats.RESAMPLES = RESAMPLES
SWEEP = "paper200k"
ALGOS = ("td3", "static-td3", "ds-td3")
NAME = {"td3": "TD3", "static-td3": "Static-TD3", "ds-td3": "DS-TD3"}
FINAL = report.FINAL_EVALUATIONS  # a run's score: the mean of its last 10 evaluations

# %% [markdown]
# ## Finding the runs
#
# The runs live in `results/paper200k` at the repository's root. A notebook has no `__file__`,
# and a script may be started from anywhere, so we look in the current directory and every
# folder above it, then beside this file, then beside the installed `minidst` package (an
# editable install sits in the repository). `MINIDST_RESULTS` overrides the search: point it at a
# `results` folder or directly at a folder of runs (`<env>/<algo>/seed<k>/`), e.g. your own
# sweep's.


# %%
def find_results(sweep: str = SWEEP) -> Path | None:
    """``rundir.find_results``: ``$MINIDST_RESULTS``, else ``results/<sweep>`` in or above the
    current directory, this file (a script; a notebook has no ``__file__``) or the package."""
    return rundir.find_results(
        sweep, near=Path(__file__).resolve().parent if "__file__" in globals() else None
    )


RESULTS = find_results()
if RESULTS is None:
    where = os.environ.get("MINIDST_RESULTS") or f"results/{SWEEP} (from {Path.cwd()} upwards)"
    print(f"No runs found in {where}. Set MINIDST_RESULTS to a folder of runs and run again.")
    sys.exit(0)
print("runs read from", RESULTS)

# %% [markdown]
# `minidst.report.read_runs` reads every run directory below a folder from its three small files.
# A run counts only once its last evaluation is at its configured step count; runs still in
# progress (or copied in half-way) are listed as unfinished and left out. We keep the TD3 family
# at the paper's settings (a run whose settings differ, say `--sparsity 0.9 --grow gradient`,
# gets its own label, `ds-td3 90% grow=gradient`, and belongs to chapter 12).

# %%
all_runs, unfinished, _ = report.read_runs(RESULTS)
runs = [run for run in all_runs if run.algo in ALGOS and run.label == run.algo]
if not runs:
    print(f"{RESULTS} holds no finished TD3, Static-TD3 or DS-TD3 run yet.")
    sys.exit(0)
groups = defaultdict(list)  # (env, algo) -> runs, by seed
for run in sorted(runs, key=lambda run: (run.env, ALGOS.index(run.algo), run.seed)):
    groups[run.env, run.algo].append(run)
ENVS = sorted({run.env for run in runs})

print(f"{len(runs)} finished runs, {len(unfinished)} unfinished (not counted)")
print(f"{'seeds':16s}" + "".join(f"{NAME[algo]:>20s}" for algo in ALGOS))
for env in ENVS:
    cells = [
        ",".join(str(run.seed) for run in groups.get((env, algo), [])) or "-" for algo in ALGOS
    ]
    print(f"{env:16s}" + "".join(f"{cell:>20s}" for cell in cells))
for path in unfinished:
    print("unfinished:", path)

# %% [markdown]
# Before comparing anything, check that the runs are comparable: every finished run reached
# 200,000 steps and evaluated on the same schedule. The settings that differ from the paper's
# defaults (`TrainConfig(algo=...).validate()`, the family defaults filled in) are printed: the
# step count should be the only one.

# %%
BUDGET = 200_000
configs = {run.run_dir: rundir.read_config(run.run_dir) for run in runs}
assert all(config.steps == BUDGET for config in configs.values())
assert all(run.steps[-1] == BUDGET for run in runs)
eval_steps = runs[0].steps
assert all(np.array_equal(run.steps, eval_steps) for run in runs)
print(
    f"every run: {BUDGET:,} steps, {len(eval_steps)} evaluations, every "
    f"{eval_steps[1] - eval_steps[0]:,} steps from step {eval_steps[0]}"
)

differences = defaultdict(set)
for config in configs.values():
    paper = TrainConfig(algo=config.algo).validate()  # the defaults, family ones filled in
    for field in dataclasses.fields(TrainConfig):
        value = getattr(config, field.name)
        if field.name not in ("algo", "env", "seed") and value != getattr(paper, field.name):
            differences[field.name].add((value, getattr(paper, field.name)))
for name, values in sorted(differences.items()):
    where = "minidst's default" if name in RUN_SETTINGS else "paper"
    print(
        f"differs from the {where}: {name}: "
        + ", ".join(f"{ours} ({where}: {theirs})" for ours, theirs in sorted(values))
    )
start_steps = configs[runs[0].run_dir].start_steps
print(f"random start steps: {start_steps:,} of {BUDGET:,}")

# %% [markdown]
# One thing the configs record only indirectly: `results/README.md` says the first runs were
# made with the readable, layer-by-layer update and the later ones with the compiled update (the
# same algorithm; the numbers differ by float rounding). A run started with the readable update
# has no `update_engine` entry in its `config.json` (a setting added later; reading such a file
# fills in today's default). That matters for the speeds at the end of the chapter, not for the
# returns.


# %%
def started_readable(run) -> bool:
    record = json.loads((run.run_dir / rundir.CONFIG).read_text())["config"]
    return "update_engine" not in record


for algo in ALGOS:
    members = [run for run in runs if run.algo == algo]
    readable = sum(started_readable(run) for run in members)
    print(f"{NAME[algo]:11s} {readable} of {len(members)} runs started with the readable update")

# %% [markdown]
# ## Final returns
#
# The paper's score for a run is the mean of its last 10 evaluations (here steps 155k to 200k);
# over seeds we take the IQM with a 95% bootstrap interval, and the mean return over the whole of
# training (area under the curve / its length; the paper's Table 1 reports the same kind of
# number). Chapter 9 explained both statistics; `report.summarise` computes them per cell, the
# same numbers `minidst report` writes. A cell with one seed has no interval.

# %%
summary = {(row["env"], row["algo"]): row for row in report.summarise(runs)}


def interval_text(low, high, digits=0):
    if not (np.isfinite(low) and np.isfinite(high)):
        return "(no interval: 1 seed)"
    return f"[{low:,.{digits}f}, {high:,.{digits}f}]"


print(
    f"{'env':16s}{'algo':12s}{'n':>3s}  {'final IQM':>10s} {'95% interval':22s}"
    f"{'mean over training':>20s}   per seed"
)
for env in ENVS:
    for algo in ALGOS:
        if (env, algo) not in summary:
            continue
        row = summary[env, algo]
        finals = ", ".join(f"{run.final:,.0f}" for run in groups[env, algo])
        print(
            f"{env:16s}{NAME[algo]:12s}{row['seeds']:>3d}  {row['final_iqm']:>10,.0f} "
            f"{interval_text(row['final_ci_low'], row['final_ci_high']):22s}"
            f"{row['mean_over_training_iqm']:>20,.0f}   {finals}"
        )
        low, high = row["final_ci_low"], row["final_ci_high"]
        if np.isfinite(low):  # an interval contains its own estimate
            assert low - 1e-6 <= row["final_iqm"] <= high + 1e-6

# %% [markdown]
# Read the intervals before the IQMs. With two or three seeds a bootstrap interval is crude: it
# can only recombine the scores it has, so it is never wider than the range of the seeds and
# often narrower than the truth. And with fewer than four seeds the IQM trims nothing (a quarter
# of three seeds rounds down to none), so it is simply the mean. Overlapping intervals of two
# algorithms mean "not told apart by these seeds", not "equal".
#
# ## Learning curves
#
# Each panel shows the IQM over seeds at every evaluation with its 95% bootstrap band
# (`stats.iqm_with_band`), and, dashed, the TD3 curves Fujimoto et al. published with the TD3
# paper (10 seeds, gym's `-v1` tasks, read from the packaged CSV by
# `report.reference_curves`; more on them below).


# %%
def curves(group):
    """``(n_seeds, n_evaluations)`` returns of a cell (all runs share the evaluation steps)."""
    return np.array([run.returns for run in group])


THOUSANDS = FuncFormatter(lambda x, _: f"{x / 1000:.0f}k")
COLOURS = group_colours(ALGOS)  # each algorithm in the colour it has in every figure
rng = np.random.default_rng(0)
fig, axes = plt.subplots(1, len(ENVS), figsize=(5.2 * len(ENVS), 4.2), squeeze=False)
for ax, env in zip(axes[0], ENVS):
    for algo in ALGOS:
        group = groups.get((env, algo))
        if not group:
            continue
        if len(group) == 1:
            ax.plot(eval_steps, group[0].returns, color=COLOURS[algo],
                    label=f"{NAME[algo]} (1 seed)")  # fmt: skip
            continue
        middle, low, high = stats.iqm_with_band(curves(group), rng, resamples=RESAMPLES)
        ax.plot(eval_steps, middle, color=COLOURS[algo],
                label=f"{NAME[algo]} (IQM of {len(group)})")  # fmt: skip
        ax.fill_between(eval_steps, low, high, color=COLOURS[algo], alpha=0.2)
    reference = report.reference_curves(env)
    if reference is not None:
        ref_steps, ref_curves = reference
        shown = ref_steps <= BUDGET
        middle = stats.iqm(ref_curves[:, shown], axis=0)
        ax.plot(
            ref_steps[shown],
            middle,
            "k--",
            lw=1,
            label=f"TD3 as published (gym v1, IQM of {len(ref_curves)})",
        )
    ax.set_title(env)
    ax.xaxis.set_major_formatter(THOUSANDS)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("evaluation return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
fig.suptitle("Evaluation return, IQM over seeds, 95% bootstrap band", fontsize=10)
fig.tight_layout()
path = finish_figure(fig, OUT / "10_learning_curves.png")
print("saved", path)

# %% [markdown]
# Three things to look for: whether the curves are still rising at 200k (then the final score
# measures speed of learning as much as the level reached); how wide the bands are compared with
# the gaps between the curves; and where the published TD3 curve sits relative to ours.
#
# ## Across environments: normalised by dense TD3
#
# Returns have different scales per task (compare the y-axes above), so to pool the tasks we
# normalise each run's final score **in its environment** as `(x - random) / (dense - random)`,
# where `dense` is dense TD3's mean final score there and `random` a uniform-random policy's
# (`minidst.random_policy`): 1.0 means "as good as dense TD3", 0 "no better than random", and
# higher is better even for negative returns (a plain ratio `x / dense` would flip there). The
# pooled IQM over all seeds of all environments gets a **stratified**
# bootstrap interval (seeds resampled within each environment, so every resample still has every
# environment; `stats.stratified_iqm_interval`, used by `report.across_environments`). It needs
# at least two seeds in every environment.

# %%
normalised = {row["algo"]: row for row in report.across_environments(runs)}
for algo in ALGOS:
    if algo not in normalised:
        continue
    row = normalised[algo]
    low, high = row["ci_low"], row["ci_high"]
    if not np.isfinite(low):
        verdict = "no interval: some environment has a single seed"
    elif low > 1:
        verdict = "above dense TD3: the whole interval is above 1"
    elif high < 1:
        verdict = "below dense TD3: the whole interval is below 1"
    else:
        verdict = "not told apart from dense TD3: the interval contains 1"
    print(
        f"{NAME[algo]:11s} {row['envs']} envs  normalised IQM {row['normalised_final_iqm']:.2f} "
        f"{interval_text(low, high, 2)}  -> {verdict}"
    )
    if np.isfinite(low):
        assert low - 1e-9 <= row["normalised_final_iqm"] <= high + 1e-9

# %% [markdown]
# The interval of TD3 itself is not [1, 1]: dense TD3 is normalised by its own mean, and its seeds
# still scatter around it. Its width is a yardstick for how much any algorithm's normalised score
# can move through seed luck alone.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
markers = dict(zip(ENVS, "osD^v"))
for position, algo in enumerate(ALGOS):
    for shift, env in enumerate(ENVS):
        group, dense = groups.get((env, algo)), groups.get((env, "td3"))
        if not group or not dense:
            continue
        baseline = float(np.mean([run.final for run in dense]))
        random_score = random_policy.random_score(env)
        values = list(stats.normalised([run.final for run in group], baseline, random_score))
        x = position + 0.12 * (shift - (len(ENVS) - 1) / 2)
        ax.plot(
            [x] * len(values),
            values,
            markers[env],
            color=f"C{shift}",
            alpha=0.7,
            label=env if position == 0 else None,
        )
    if algo in normalised:
        row = normalised[algo]
        ax.hlines(row["normalised_final_iqm"], position - 0.3, position + 0.3, color="k")
        if np.isfinite(row["ci_low"]):
            ax.fill_between(
                [position - 0.3, position + 0.3],
                row["ci_low"],
                row["ci_high"],
                color="k",
                alpha=0.12,
            )
ax.axhline(1.0, color="grey", lw=0.8, ls=":")
ax.set_xticks(range(len(ALGOS)), [NAME[algo] for algo in ALGOS])
ax.set_ylabel("(final - random) / (dense TD3 - random)")
ax.set_title("Normalised final returns: seeds (markers), pooled IQM and 95% interval (bar)")
ax.legend(fontsize=8)
fig.tight_layout()
path = finish_figure(fig, OUT / "10_normalised_scores.png")
print("saved", path)

# %% [markdown]
# ## Probability of improvement
#
# `stats.probability_of_improvement(x, y)` is the chance that a run of X scores above a run of Y,
# counted over every pair of seeds (Agarwal et al. 2021): 0.5 means no difference, whatever the
# scale of the returns. Its bootstrap interval resamples the runs of X and of Y.
#
# One weakness matters with so few seeds. If every DS-TD3 seed beats every TD3 seed, every
# bootstrap resample does too, and the interval collapses to [1, 1], which looks certain and
# is not. So we add an exact test that knows the sample size: the **Mann-Whitney U test**
# (`stats.exact_test`: SciPy's `mannwhitneyu(..., method="exact")`) is built on the same
# pairwise count, and its exact p-value asks how often a split of the pooled seeds at random
# would look as lopsided. With
# n and m seeds, a clean sweep has the smallest possible two-sided p-value, 2 / C(n+m, n):

# %%
for n in (2, 3, 5, 10):
    print(f"{n} vs {n} seeds: smallest possible two-sided p = {min(1, 2 / comb(2 * n, n)):.2g}")

# %% [markdown]
# With 2 seeds a side no outcome reaches p < 0.05, and with 3 a side none does either: those
# seeds cannot establish a difference at that level, however the returns fall. Five a side can.
# Below, a difference counts as shown only when the interval of P excludes 0.5 **and** the exact
# test gives p < 0.05.


# %%
def compare(x, y) -> dict:
    """P(X > Y) with its bootstrap interval, the exact two-sided Mann-Whitney p-value, and a
    verdict that needs both."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    p_improvement = stats.probability_of_improvement(x, y)
    low, high = stats.probability_of_improvement_interval(x, y)
    p_value = stats.exact_test(x, y)
    smallest = min(1.0, 2 / comb(len(x) + len(y), len(x)))
    if min(len(x), len(y)) < 2:
        verdict = "too few seeds (one side has 1)"
    elif low > 0.5 and p_value < 0.05:
        verdict = "higher, shown"
    elif high < 0.5 and p_value < 0.05:
        verdict = "lower, shown"
    elif smallest >= 0.05:
        verdict = f"not shown: {len(x)} vs {len(y)} seeds cannot give p < 0.05"
    else:
        verdict = "not shown: no clear difference"
    return {"p": p_improvement, "low": low, "high": high, "p_value": p_value, "verdict": verdict}


def finals(env, algo):
    return [run.final for run in groups.get((env, algo), [])]


comparisons = {}
for other in ("td3", "static-td3"):
    print(f"P(DS-TD3 > {NAME[other]})")
    for env in ENVS:
        x, y = finals(env, "ds-td3"), finals(env, other)
        if not x or not y:
            continue
        result = comparisons[env, other] = compare(x, y)
        print(
            f"  {env:16s} {len(x)} vs {len(y)} seeds  P = {result['p']:.2f} "
            f"{interval_text(result['low'], result['high'], 2):22s} exact p = "
            f"{result['p_value']:.3f}  -> {result['verdict']}"
        )
        assert 0 <= result["p"] <= 1

# %% [markdown]
# Averaged over environments (the mean of the per-environment P, each environment counting once,
# as Agarwal et al. aggregate it), with a stratified bootstrap interval: in each resample, the
# seeds of each algorithm are redrawn within each environment.


# %%
def average_improvement(pairs, seed=0):
    """Mean over environments of P(X > Y), ``pairs`` = [(x scores, y scores) per env], and its
    stratified 95% bootstrap interval (NaN if some env has fewer than 2 seeds on a side)."""
    middle = float(np.mean([stats.probability_of_improvement(x, y) for x, y in pairs]))
    if min(min(len(x), len(y)) for x, y in pairs) < 2:
        return middle, (np.nan, np.nan)
    generator = np.random.default_rng(seed)
    total = np.zeros(RESAMPLES)
    for x, y in pairs:
        x, y = np.asarray(x), np.asarray(y)
        xs = x[generator.integers(0, len(x), (RESAMPLES, len(x)))][:, :, None]
        ys = y[generator.integers(0, len(y), (RESAMPLES, len(y)))][:, None, :]
        total += ((xs > ys) + 0.5 * (xs == ys)).mean(axis=(1, 2))
    low, high = np.quantile(total / len(pairs), [0.025, 0.975])
    return middle, (float(low), float(high))


for other in ("td3", "static-td3"):
    pairs = [(finals(env, "ds-td3"), finals(env, other)) for env in ENVS]
    pairs = [(x, y) for x, y in pairs if x and y]
    if not pairs:
        continue
    middle, (low, high) = average_improvement(pairs)
    if not np.isfinite(low):
        verdict = "no interval"
    elif low > 0.5:
        verdict = "the interval is above 0.5"
    elif high < 0.5:
        verdict = "the interval is below 0.5"
    else:
        verdict = "the interval contains 0.5: no difference shown"
    print(
        f"average P(DS-TD3 > {NAME[other]}) over {len(pairs)} envs: {middle:.2f} "
        f"{interval_text(low, high, 2)} -> {verdict}"
    )

# %% [markdown]
# ## Does DS-TD3 get there sooner?
#
# The paper says DS-TD3 reaches dense TD3's final return after 40-50% of the steps (read off its
# 1M-step curves). Our version of that question: at which evaluation does a cell's IQM curve first
# reach dense TD3's final IQM (`steps to dense final` in `minidst report`)? Dense TD3's own
# crossing is printed too: its final score is a mean of ten evaluations, so its own curve crosses
# it somewhere inside that window, and a single noisy evaluation can cross early. Treat a
# difference of one or two evaluations (5,000 steps each) as noise.

# %%
for env in ENVS:
    if (env, "td3") not in groups:
        print(f"{env:16s} no dense TD3 run yet")
        continue
    parts = []
    for algo in ALGOS:
        if (env, algo) not in summary:
            continue
        step = summary[env, algo]["steps_to_dense_final"]
        text = "never" if step is None else f"{step:,} ({step / BUDGET:.0%})"
        parts.append(f"{NAME[algo]} {text}")
    print(f"{env:16s} " + " | ".join(parts))

# %% [markdown]
# ## The paper's claims against these runs
#
# The paper (Sokar et al. 2022; its numbers, and where each comes from, are in
# `chapters/paper_facts.md`) claims, for 1M steps, 5 seeds, gym `-v3`:
#
# * **Table 2**: DS-TD3's final return matches or beats dense TD3's on every task, with about 50%
#   of the weights and FLOPs, and beats Static-TD3;
# * **Table 1**: a larger learning-curve area (mean return over training) than TD3's;
# * **the learning curves**: DS-TD3 reaches TD3's final return after 40-50% of the steps.
#
# We cannot compare final returns at 1M: our runs stop at 200k. We can compare with what the
# paper's curves show **at 200k** (read off its figures, about ±300-500, in
# `chapters/paper_facts.md`), and with the direction of each claim. Our value at 200k is the
# IQM over seeds of each seed's mean of its last three evaluations (190k-200k): a little
# smoothing, as a plotted curve has.

# %%
# The paper's curves read off at 200k and its Table 2 (1M steps, mean of 5 seeds), as in
# chapters/paper_facts.md.
PAPER_AT_200K = {
    "HalfCheetah": {"td3": 8000, "ds-td3": 9500},
    "Walker2d": {"td3": 800, "ds-td3": 1400},
    "Hopper": {"td3": 2000, "ds-td3": 2500},  # DS-TD3 read as 2,000-3,000
}
READING_ERROR = 500
PAPER_TABLE2 = {
    "HalfCheetah": {"td3": 11153, "static-td3": 10584, "ds-td3": 11460},
    "Walker2d": {"td3": 4042, "static-td3": 3951, "ds-td3": 4871},
    "Hopper": {"td3": 2185, "static-td3": 3571, "ds-td3": 3587},
}


def at_budget(group):
    return float(stats.iqm(np.array([run.returns[-3:].mean() for run in group])))


print(
    f"{'env':16s}{'algo':12s}{'paper @200k':>12s}{'ours @200k':>12s}   "
    f"{'comparison':28s}{'paper @1M (Table 2)':>20s}"
)
for env in ENVS:
    family = env_family(env)
    for algo in ALGOS:
        group = groups.get((env, algo))
        if not group:
            continue
        ours = at_budget(group)
        paper = PAPER_AT_200K.get(family, {}).get(algo)
        if paper is None:
            shown, verdict = "-", "(not read off)"
        else:
            shown = f"{paper:,}"
            if abs(ours - paper) <= READING_ERROR:
                verdict = "within the reading error"
            else:
                verdict = "above the paper" if ours > paper else "below the paper"
        table2 = PAPER_TABLE2.get(family, {}).get(algo)
        print(
            f"{env:16s}{NAME[algo]:12s}{shown:>12s}{ours:>12,.0f}   {verdict:28s}"
            f"{table2 if table2 is not None else '-':>20}"
        )

# %% [markdown]
# And the claims, one by one, decided from the numbers above:

# %%
claims = []
for env in ENVS:
    family = env_family(env)
    if (env, "td3") in groups and (env, "ds-td3") in groups:
        ours = at_budget(groups[env, "ds-td3"]) / at_budget(groups[env, "td3"])
        paper = PAPER_AT_200K[family]["ds-td3"] / PAPER_AT_200K[family]["td3"]
        same = (ours > 1) == (paper > 1)
        print(
            f"{env:16s} DS-TD3 / TD3 at 200k: paper about {paper:.2f}, ours {ours:.2f} -> "
            f"{'same direction' if same else 'opposite direction'}"
        )
        areas = [summary[env, algo]["mean_over_training_iqm"] for algo in ("ds-td3", "td3")]
        print(
            f"{'':16s} mean return over training, DS-TD3 / TD3: {areas[0] / areas[1]:.2f} "
            "(paper's Table 1, at 1M: above 1 on every task)"
        )
        claims.append(comparisons[env, "td3"]["verdict"])
shown_better = sum(verdict.startswith("higher") for verdict in claims)
shown_worse = sum(verdict.startswith("lower") for verdict in claims)
print(
    f"\nDS-TD3 vs TD3, final return: shown higher in {shown_better}, shown lower in "
    f"{shown_worse}, not told apart in {len(claims) - shown_better - shown_worse} of "
    f"{len(claims)} environments"
)
if "ds-td3" in normalised:
    row = normalised["ds-td3"]
    if not np.isfinite(row["ci_low"]):
        print("pooled over environments: no interval yet (an environment has a single seed)")
    elif row["ci_low"] > 1:
        print("pooled over environments: DS-TD3 beats dense TD3 (interval above 1)")
    elif row["ci_high"] < 1:
        print("pooled over environments: DS-TD3 falls short of dense TD3 (interval below 1)")
    else:
        print(
            f"pooled over environments: consistent with matching dense TD3, but the interval "
            f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}] also allows real differences"
        )

# %% [markdown]
# How to read this. "Not told apart" is **not** "matches": it only says these seeds cannot
# separate the two, and the interval says how large a difference they leave open. The paper's
# claim is itself of that kind at 5 seeds: its Table 2 gives means ± standard deviations that
# overlap on HalfCheetah.
#
# Where our runs and the paper differ, there are several candidate reasons. None of them is
# measured here, so each is a hypothesis to test, not an explanation:
#
# * **budget**: 200k of the paper's 1M steps, of which the first 25,000 are random. The paper's
#   advantages are read at 1M; a difference that grows late is invisible at 200k, and a curve
#   still climbing steeply makes the final score sensitive to small shifts in learning speed;
# * **seeds**: a handful per cell (counted at the top); one seed of Hopper or Walker2d that falls
#   over early, or gets stuck standing still, moves an IQM of two or three seeds a lot;
# * **environment versions**: gymnasium's `-v5` tasks on the `mujoco` bindings, against gym's
#   `-v3` on `mujoco-py` in the paper: different simulator versions, and each version changed
#   details of some tasks (gymnasium's version notes list them), so returns compare only roughly;
# * **implementation details** that differ from the paper's code (e.g. regrown connections start
#   with zero Adam moments here, chapter 8, while the paper's dense Adam keeps their old state);
# * **reading error**: the paper's 200k numbers are read off small plots.
#
# Exercise 4 turns one of these into a measurement.
#
# ## Two controls: dense with as many weights, and the paper code's initial network
#
# Matching dense TD3 with half its weights says little until we know what a *dense* network with
# that half does: if a smaller dense network scores as well, sparsity bought nothing that width
# did not. Every sparse-training paper since Graesser et al. (ICML 2022) reports this control.
# Dense TD3 stores `3h² + 71h` weights at width `h` on HalfCheetah (`3h² + 44h` on Hopper):
# hidden 177 stores 106,554, DS-TD3 at the paper's densities 106,169. Those runs are in
# `results/equal_weights`, labelled `td3 hidden=177`. Every comparison with dense TD3 above was
# with the 256-256 network, which has about twice the weights; the cell below says, per
# environment, whether the results hold a dense network of the sparse agents' weights at all.
# Where they do not, a sparse score cannot be credited to sparsity rather than to size.
#
# The second control asks whether minidst's own choices for the initial network (each sparse
# unit's weights drawn with its *actual* fan-in, an exact-count topology draw) explain part of
# the HalfCheetah gap to the paper: `results/beyond/dense_fan_in_init` holds the same agents
# with the paper code's init (`--init dense-fan-in`).
#
# `report.comparisons` pairs each sparse group with a dense group of about its weights, and each
# sparse group with settings of its own with its algorithm at the defaults; per pair, the
# difference of means with Welch's 95% interval (it excludes 0 exactly when Welch's p < 0.05)
# and the exact test of the probability-of-improvement section.


# %%
verdict = report.pair_verdict  # higher / lower where Welch's p < 0.05, else not told apart


everything = RESULTS.parent if RESULTS.name == SWEEP else RESULTS
controls = [
    pair
    for pair in report.comparisons(report.read_runs(everything)[0])
    if pair["control"] == "equal weights" or "init=" in pair["algo"]
]
if not controls:
    print(f"no control runs under {everything} (results/equal_weights, results/beyond/...)")
for env in ENVS:
    matched = {p["against"] for p in controls if (p["env"], p["control"]) == (env, "equal weights")}
    if matched:
        print(f"{env}: dense with as many weights: {', '.join(sorted(matched))}")
    else:
        print(f"{env}: no dense run with the sparse agents' weights in these results")
for pair in controls:
    low, high = pair["difference_low"], pair["difference_high"]
    print(
        f"{pair['env']:15s} {pair['algo']:40s} vs {pair['against']:15s} "
        f"{pair['seeds']}/{pair['seeds_against']} seeds: {pair['final_mean']:7,.0f} vs "
        f"{pair['against_mean']:7,.0f}, difference {pair['difference']:+7,.0f} "
        f"[{low:+,.0f}, {high:+,.0f}], exact p = {pair['p_exact']:.3f}, "
        f"Welch p = {pair['p_welch']:.3f}: {verdict(pair)}"
    )

# %% [markdown]
# Read the rows in pairs. Against `td3 hidden=177`, "higher" means the sparse agent beats a dense
# network with as many weights; "not told apart" leaves open whether sparsity or simply the
# smaller size set its score. Against its own defaults, an `init=dense-fan-in` row says whether
# the paper code's init changes the agent; README's Results section states what the committed
# seeds decide and which default minidst keeps (the paper's way stays `--init dense-fan-in`).
#
# ## Our TD3 against the published TD3 curves
#
# `minidst/data/td3_fujimoto2018_curves.csv` holds the learning curves Fujimoto et al. released
# with the TD3 paper (sfujim/TD3, `learning_curves/`, converted from `.npy` to CSV; its README is
# beside it): 10 seeds, an evaluation of 10 episodes every 5,000 steps, on gym's `-v1` tasks.
# `report.reference_curves(env)` picks the rows of the matching task family (HalfCheetah-v5 ->
# HalfCheetah). We score those seeds **exactly as ours**: the mean of the evaluations at 155k to
# 200k, then the IQM over seeds, and compare with our dense TD3 by the probability of improvement.

# %%
for env in ENVS:
    reference = report.reference_curves(env)
    ours = finals(env, "td3")
    if reference is None or not ours:
        continue
    ref_steps, ref_curves = reference
    window = (ref_steps > BUDGET - FINAL * 5000) & (ref_steps <= BUDGET)
    assert window.sum() == FINAL  # the same 10 evaluations as our final score
    published = ref_curves[:, window].mean(axis=1)
    low, high = stats.iqm_interval(published)
    result = compare(ours, published)
    print(
        f"{env:16s} published TD3 ({len(published)} seeds) {stats.iqm(published):7,.0f} "
        f"{interval_text(low, high)}   ours ({len(ours)}) {stats.iqm(np.array(ours)):7,.0f}   "
        f"P(ours > published) = {result['p']:.2f}, exact p = {result['p_value']:.3f} -> "
        f"{result['verdict']}"
    )

# %% [markdown]
# Both are TD3, yet the settings differ beyond the environment version. The learning-curve
# figure already shows one difference: the published curves leave zero before step 25,000, while
# ours still act at random there. The published curves come from 400-300 networks and the TD3
# paper's own start-up and noise settings; ours from the DS-TD3 paper's 256-256 networks with
# weight decay and 25,000 random start steps. Where ours lags, the long random phase is the first
# hypothesis to test, and on Hopper and Walker2d, whose episodes end when the body falls, so is
# each version's health check; where ours is ahead, remember that MuJoCo and the task definitions
# changed between gym `-v1` and gymnasium `-v5`, so the returns are only roughly comparable.
#
# ## What the sparsity bought: weights, FLOPs and speed
#
# From the last row of each run's `progress.csv`: the weights of the actor and both critics
# (`topology/weights`), the training FLOPs of all iterations (`flops/training_cumulative`, counted
# as in chapter 8: it includes the target networks' passes, so it is larger than the paper's
# convention), and the env-steps per second (`time/steps_per_s`, the median over the training
# phase, then over seeds). The rewiring never changes a count, so each DS-TD3 run has the same
# number of weights in every row.

# %%
for run in runs:
    if run.algo == "ds-td3":
        rows = rundir.progress_log(run.run_dir).rows
        counts = {row["topology/weights"] for row in rows if row.get("topology/weights")}
        assert len(counts) == 1, (run.run_dir, counts)

print(
    f"{'env':16s}{'algo':12s}{'weights':>9s}{'vs TD3':>8s}{'training FLOPs':>16s}"
    f"{'vs TD3':>8s}{'steps/s':>9s}{'vs TD3':>8s}"
)
speed_ratios = defaultdict(list)
for env in ENVS:
    dense = groups.get((env, "td3"))
    for algo in ALGOS:
        group = groups.get((env, algo))
        if not group:
            continue
        weights = np.mean([run.weights for run in group])
        flops = np.mean([run.flops for run in group])
        speed = float(np.median([run.steps_per_s for run in group]))
        if dense:
            dense_weights = np.mean([run.weights for run in dense])
            dense_flops = np.mean([run.flops for run in dense])
            dense_speed = float(np.median([run.steps_per_s for run in dense]))
            ratios = weights / dense_weights, flops / dense_flops, speed / dense_speed
            speed_ratios[algo].append(ratios[2])
            if algo != "td3":  # the paper's ~50% of the weights and FLOPs
                assert flops < dense_flops and 0.4 < ratios[0] < 0.6 and 0.4 < ratios[1] < 0.6
        else:
            ratios = (np.nan,) * 3
        print(
            f"{env:16s}{NAME[algo]:12s}{weights:>9,.0f}{ratios[0]:>8.2f}{flops:>16.3e}"
            f"{ratios[1]:>8.2f}{speed:>9.0f}{ratios[2]:>8.2f}"
        )

# %% [markdown]
# The FLOP ratio is the paper's claim made exact: about half of dense TD3's (its HalfCheetah figure
# is 0.49x). The speed is a different matter, and here it is measured, not counted:

# %%
for algo in ("static-td3", "ds-td3"):
    if speed_ratios[algo]:
        ratio = float(np.median(speed_ratios[algo]))
        word = "faster" if ratio > 1 else "slower"
        print(f"{NAME[algo]}: {ratio:.2f}x dense TD3's env-steps/s (median over envs): {word}")

# %% [markdown]
# Half the FLOPs did not have to mean twice the speed, and the table says how it went on this
# machine. Chapter 4 measured why: the second layers sit at density 0.5, where sparse kernels lose
# to dense BLAS, and the first layers are small. Two more cautions, both from
# `results/README.md`: the runs shared a 2-core machine with other runs, tests and benchmarks, so
# their speeds are lower than an idle machine's and noisy; and early runs used the readable update,
# later ones the compiled one (counted above). A careful speed comparison is a benchmark on an
# idle machine, not a by-product of training runs.
#
# FLOPs also give the curves a fairer x-axis. Plotted against the training FLOPs spent so far
# (from `progress.csv`), the sparse curves move left, to half the cost:


# %%
def flops_at_evaluations(group):
    """Training FLOPs spent by each evaluation step, averaged over the seeds of a cell."""
    spent = []
    for run in group:
        rows = rundir.progress_log(run.run_dir).rows
        steps = np.array([int(row["step"]) for row in rows])
        cumulative = np.array([float(row["flops/training_cumulative"] or 0) for row in rows])
        spent.append(np.interp(eval_steps, steps, cumulative))
    return np.mean(spent, axis=0)


fig, axes = plt.subplots(1, len(ENVS), figsize=(5.2 * len(ENVS), 4.0), squeeze=False)
for ax, env in zip(axes[0], ENVS):
    for algo in ALGOS:
        group = groups.get((env, algo))
        if not group:
            continue
        middle = stats.iqm(curves(group), axis=0)
        ax.plot(flops_at_evaluations(group), middle, label=f"{NAME[algo]} ({len(group)} seeds)")
    ax.set_title(env)
    ax.set_xlabel("training FLOPs spent")
    ax.set_ylabel("evaluation return (IQM over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
fig.tight_layout()
path = finish_figure(fig, OUT / "10_return_vs_flops.png")
print("saved", path)

# %% [markdown]
# At equal cost: where was dense TD3's IQM curve when it had spent as many FLOPs as DS-TD3 spent
# in its whole run? (Single evaluations, interpolated between the two nearest: noisy.)

# %%
for env in ENVS:
    if (env, "td3") not in groups or (env, "ds-td3") not in groups:
        continue
    dense, sparse = groups[env, "td3"], groups[env, "ds-td3"]
    sparse_total = flops_at_evaluations(sparse)[-1]
    dense_curve = stats.iqm(curves(dense), axis=0)
    dense_then = float(np.interp(sparse_total, flops_at_evaluations(dense), dense_curve))
    print(
        f"{env:16s} at {sparse_total:.2e} FLOPs: TD3 {dense_then:7,.0f}, "
        f"DS-TD3 {at_budget(sparse):7,.0f} (its last three evaluations)"
    )

# %% [markdown]
# ## Running the same sweep yourself
#
# The whole grid is one command. `minidst sweep` runs every algorithm x environment x seed in its
# own run directory (`<sweep-dir>/<env>/<algo>/seed<k>/`), `--jobs` at a time in separate
# processes, each with one BLAS thread; run it again and it skips finished runs and resumes the
# others from their checkpoints:
#
# ```bash
# minidst sweep --algo td3 static-td3 ds-td3 \
#     --env HalfCheetah-v5 Hopper-v5 Walker2d-v5 --seeds 0-4 --steps 200000 \
#     --sweep-dir paper200k --jobs 2
# minidst report paper200k     # report.md, summary.csv/json and curves.png in that folder
# ```
#
# Any other `minidst train` option given to `minidst sweep` is shared by every run (e.g.
# `--sparsity 0.9`); the sweep records its grid in `sweep.json` and refuses to mix settings unless
# told `--allow-changes`. Then point this chapter at your folder with `MINIDST_RESULTS=paper200k`.
# For the paper's budget use `--steps 1000000` (in a new sweep directory: `results/` keeps no
# checkpoints to resume from). What that costs on one core, from the median speeds measured above:
# a rough guide, pessimistic because the machine was busy, optimistic because the median leaves out
# most of the evaluation time.

# %%
for algo in ALGOS:
    rates = [run.steps_per_s for run in runs if run.algo == algo]
    if rates:
        hours = 1_000_000 / float(np.median(rates)) / 3600
        print(
            f"{NAME[algo]:11s} about {hours:.1f} h per 1M-step run, {5 * len(ENVS)} runs per "
            f"algorithm for 5 seeds x {len(ENVS)} environments"
        )

# %% [markdown]
# What lies beyond the paper's settings (DS-TD3 at 90% and 95% sparsity, SET against RigL, n-step
# returns) is the subject of chapter 12.

# %% [markdown]
# ## Summary
#
# * The results are read from the runs' small files (`report.read_runs`); only runs that reached
#   their step count count, and every number in this chapter is printed from them.
# * Per environment: final score = mean of the last 10 evaluations, IQM over seeds with a 95%
#   bootstrap interval; across environments: scores normalised by dense TD3's IQM in the same
#   environment, pooled IQM with a stratified interval.
# * The probability of improvement says how often one algorithm's run beats another's; with two
#   or three seeds its bootstrap interval can collapse, and an exact Mann-Whitney test shows that
#   no outcome of 3 vs 3 seeds can reach p < 0.05. Five seeds a side can.
# * The paper's claims were checked in the direction they make at the budget we have: what
#   reproduces and what does not is printed above, with budget, seeds, environment versions and
#   implementation details as hypotheses for the differences.
# * DS-TD3 and Static-TD3 train with about half the weights and FLOPs of dense TD3, exactly.
#   Whether that buys wall-clock speed is a measurement, printed above; chapter 4 explains why
#   on a CPU at density 0.5 it may not.
# * Matching dense TD3 at 256-256 is not beating a dense network of the same size. The control is
#   dense TD3 with as many weights (`td3 hidden=177` on HalfCheetah); the controls section prints
#   which environments have one in the results and what it decides.
# * `minidst sweep` reproduces the grid, `minidst report` summarises it, and `MINIDST_RESULTS`
#   points this chapter at any folder of runs.

# %% [markdown]
# ## Exercises
#
# 1. Run `minidst report results/paper200k --out /tmp/report` and compare its table with this
#    chapter's output; they must agree. Then run the chapter with `MINIDST_QUICK=1` (fewer
#    bootstrap resamples): which numbers change, and which cannot?
# 2. Change the final score to the mean of the last 5, then the last 20 evaluations. Do any of the
#    verdicts above change? What does that say about conclusions drawn from curves still rising?
# 3. Leave one seed out of each cell in turn (a jackknife) and recompute the normalised IQM of
#    DS-TD3. How far does it move, compared with the width of its bootstrap interval?
# 4. *(3 runs of 200,000 steps: on the order of half an hour of one core of the reference machine,
#    less with `--jobs 2`)* Turn a hypothesis into a measurement: run dense TD3 on Hopper-v5 with
#    `--start-steps 10000` for 3 seeds and 200k steps (`minidst sweep ... --start-steps 10000`), and
#    compare its final IQM with ours and with the published curves'.
# 5. The paper's Hopper result has Static-TD3 far above dense TD3 (Table 2). Compute
#    P(Static-TD3 > TD3) per environment with `compare`. What do our runs say, and with how many
#    seeds could they say it at p < 0.05?
# 6. Normalise by the published TD3 curves at 200k instead of our TD3. Does the pooled
#    normalised score of DS-TD3 change its verdict? Which normalisation answers the paper's
#    question?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(10)
# For example: exercises.chapter10_exercise5([p_halfcheetah, p_hopper, p_walker2d], seeds)
