# %% [markdown]
# # Chapter 9: Experiments
#
# The paper's main experiment trains three agents, **TD3** (dense), **Static-TD3** (sparse, never
# rewired) and **DS-TD3** (sparse, rewired every 1,000 iterations), on five MuJoCo tasks, for
# 1M environment steps each, with 5 seeds. On HalfCheetah it reports final returns between about
# 10,600 and 11,500 for the three, with DS-TD3 slightly ahead at half the parameters and FLOPs of
# TD3.
#
# This chapter has two halves. The first runs the three agents on HalfCheetah-v5 with the tools
# a real study uses: `TrainConfig` for the settings, `Trainer` for the runs (logs, checkpoints,
# evaluation), `plot_runs` for the curves and the `minidst` command line. Those runs are
# deliberately **tiny**: in full mode, 8,000 steps per agent, of which the first 2,000 are random,
# and one seed, so that the chapter runs in a couple of minutes. They check the whole pipeline and
# measure what does not need a long run (weights, FLOPs, speed); they say nothing about which
# method learns better.
#
# The second half is about comparing methods, which needs seeds. It reads runs that were made
# beforehand and kept in the repository: the three agents at the paper's settings for 200,000
# steps on HalfCheetah-v5, several seeds each (`results/paper200k/`). From them we compute the
# statistics the field now expects for a handful of seeds, the interquartile mean and a bootstrap
# confidence interval, and draw the curves. Chapter 10 reads those runs in depth; here we only
# learn to read an interval. The last section gives the commands for the full-length experiment.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import csv
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from minidst import count_parameters, rundir, stats, warmup
from minidst.cli import main as minidst_command
from minidst.config import RUN_SETTINGS, TrainConfig
from minidst.plot import plot_runs, read_run
from minidst.train import Trainer

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
RUNS = OUT / "runs"  # one directory per run; created by Trainer.start
warmup()  # compile (or load) the Numba kernels now, not inside the first run

# %% [markdown]
# ## The settings
#
# A `TrainConfig` holds every setting of a run; its defaults are the paper's (1M steps, 25,000
# random start steps, an evaluation of 10 episodes every 5,000 steps, batch 100, and so on),
# except for the few settings the paper has no word on, how minidst runs, logs and saves
# (`config.RUN_SETTINGS`: the update engine, `log_every`, `checkpoint_every`, the threads), whose
# defaults are minidst's own. We change only the length of the run, its random start, and how
# often it evaluates, logs and checkpoints; the cell prints each change beside the default it
# replaces, and whose default that is. Quick mode (`MINIDST_QUICK=1`) shrinks the run to a few
# hundred steps with one-episode evaluations, which only checks that everything runs.

# %%
env_id, seed = "HalfCheetah-v5", 0
if QUICK:
    schedule = dict(steps=300, start_steps=100, eval_every=100, eval_episodes=1, log_every=100)
else:
    schedule = dict(steps=8_000, start_steps=2_000, eval_every=1_000, eval_episodes=2)
    schedule["log_every"] = 1_000
configs = {
    algo: TrainConfig(algo=algo, env=env_id, seed=seed, checkpoint_every=10_000, **schedule)
    for algo in ("td3", "static-td3", "ds-td3")
}
paper_defaults = TrainConfig()
for field in dataclasses.fields(TrainConfig):
    ours = getattr(configs["ds-td3"], field.name)
    if ours != getattr(paper_defaults, field.name):
        default = getattr(paper_defaults, field.name)
        where = "minidst's default" if field.name in RUN_SETTINGS else "paper"
        print(f"{field.name:16s} {ours!s:>8}  ({where}: {default})")

# %% [markdown]
# Everything else, the network sizes, the learning rate, the Erdős–Rényi lambdas, the rewiring
# schedule, stays at the paper's values. The three configs differ only in `algo`.
#
# ## Three runs
#
# `Trainer.start(config, run_dir)` creates the run directory and writes `config.json`; `run()`
# trains to `config.steps`. With a file (not a terminal) as output it prints one progress line per
# evaluation: the step, the episodes so far, the latest evaluation return, and the speed in
# environment steps per second, with an estimate of the time left.
#
# All three runs use seed 0, so their environments start from the same states and their
# evaluations see the same episodes. Static-TD3 and DS-TD3 go further: same densities and same
# seed give them the very same initial networks and the same random start steps; they part ways
# once training begins (DS-TD3 first rewires at its second iteration). Dense TD3 draws its
# initial weights differently, so its random start actions differ too.


# %%
run_dirs, trainers, seconds = {}, {}, {}
for algo, config in configs.items():
    run_dirs[algo] = RUNS / f"{env_id}_{algo}_seed{seed}"
    print(f"--- {algo} -> {run_dirs[algo]}")
    trainers[algo] = Trainer.start(config, run_dirs[algo], overwrite=True, out=sys.stdout)
    start = time.perf_counter()
    status = trainers[algo].run()
    seconds[algo] = time.perf_counter() - start
    print(f"{status} in {seconds[algo]:.0f} s")
    assert status == "done"

# %% [markdown]
# ## Their learning curves
#
# `plot_runs` reads each run's `evaluations.csv` and draws one curve per (environment, algorithm).
# With several seeds per algorithm it draws their interquartile mean and a bootstrap confidence
# band (the second half of this chapter); with one seed, as here, a plain line.

# %%
path = plot_runs(list(run_dirs.values()), OUT / "09_short_runs.png")
print("saved", path)
for algo, run_dir in run_dirs.items():
    run = read_run(run_dir)
    print(
        f"{algo:11s} evaluations at steps {run['steps'].tolist()}\n"
        f"{'':11s} returns {np.round(run['returns'], 1).tolist()}"
    )

# %% [markdown]
# Same initial networks: every evaluation before training starts (the policy acts, nothing has
# been learned yet) gives Static-TD3 and DS-TD3 exactly the same returns.

# %%
static_record, ds_record = read_run(run_dirs["static-td3"]), read_run(run_dirs["ds-td3"])
before_training = static_record["steps"] <= configs["ds-td3"].start_steps
print("evaluations before training:", static_record["steps"][before_training].tolist())
assert np.array_equal(
    static_record["returns"][before_training], ds_record["returns"][before_training]
)

# %% [markdown]
# After that the curves are the first few percent of a learning curve, with one seed each. The
# second half of this chapter shows how far apart two seeds of the *same* algorithm end up after
# 200,000 steps; with one seed and a few thousand training steps, the order of these three curves
# says nothing about the methods.
#
# ## Parameters and FLOPs of the three agents
#
# What a short run does measure exactly is the cost. The agents of the three runs are still in
# memory. Their weights (actor and both critics, as the paper counts) and their training FLOPs per
# iteration (`TD3.flops_per_iteration`, which also counts the target networks' forward passes,
# chapter 8) come from the networks themselves. The run's total FLOPs and its speed come from the
# last row of its `progress.csv`.


# %%
def online_weights(agent):
    layers = [layer for net, _ in agent.online_networks().values() for layer in net.layers]
    return count_parameters(layers)


dense_flops = trainers["td3"].agent.flops_per_iteration(configs["td3"].batch_size)
header = (
    f"{'algo':<12}{'weights':>9}{'sparsity':>10}{'FLOPs/iter':>12}{'vs td3':>8}"
    f"{'total FLOPs':>13}{'steps/s':>9}{'topology updates':>18}"
)
print(header)
print("-" * len(header))
table = {}
for algo, trainer in trainers.items():
    agent = trainer.agent
    counts = online_weights(agent)
    flops = agent.flops_per_iteration(configs[algo].batch_size)
    row = rundir.last_progress_row(run_dirs[algo])
    topology = agent.topology
    rewirings = (
        sum(agent.rewires_at(i) for i in range(1, agent.iteration + 1))
        if topology is not None
        else 0
    )
    table[algo] = dict(weights=counts["weights"], flops=flops, rewirings=rewirings)
    print(
        f"{algo:<12}{counts['weights']:>9,}{1 - counts['weights'] / counts['dense_weights']:>10.1%}"
        f"{flops:>12.3e}{flops / dense_flops:>8.2f}"
        f"{float(row['flops/training_cumulative']):>13.3e}{float(row['time/steps_per_s']):>9.0f}"
        f"{rewirings:>18}"
    )
assert table["static-td3"]["weights"] == table["ds-td3"]["weights"]
assert table["static-td3"]["flops"] == table["ds-td3"]["flops"]
assert table["static-td3"]["rewirings"] == 0 < table["ds-td3"]["rewirings"]

# %% [markdown]
# Static-TD3 and DS-TD3 have the same number of weights and the same FLOPs per iteration
# (asserted): they start from the same Erdős–Rényi densities, and rewiring never changes a count.
# Whether fewer FLOPs also mean more steps per second depends on the kernels and the layer shapes
# (chapter 4): the second layers are at density 0.5, where chapter 4 found sparse products about
# twice as slow as dense BLAS on its best kernel (on the machine the course was first run on;
# chapter 4 measures yours), and an environment step and the Python around it cost the same for
# all three. Compare the `steps/s` column on your machine.
#
# ## What a run directory holds
#
# Everything about a run is in its directory, in plain files:

# %%
ds_run = run_dirs["ds-td3"]
for path in sorted(ds_run.iterdir()):
    print(f"{path.name:18s} {path.stat().st_size:>10,} bytes")
with open(ds_run / "progress.csv", newline="") as file:
    columns = next(csv.reader(file))
print(f"progress.csv has {len(columns)} columns:")
groups = {}
for column in columns:
    groups.setdefault(column.split("/")[0] if "/" in column else "counters", []).append(column)
for group, members in groups.items():
    print(f"  {group:9s} {len(members):3d}, e.g. {', '.join(members[:3])}")

# %% [markdown]
# * `config.json`: every setting and the library versions, so a run can be repeated;
# * `progress.csv`: a row every `log_every` steps with losses, Q values, per-layer densities, the
#   number of connections pruned at the latest topology update, cumulative FLOPs and speed;
# * `evaluations.csv`: a row per evaluation (mean, std, min and max return);
# * `checkpoint.npz`: the full training state (networks and targets with their topologies, Adam
#   moments, replay buffer, random generators, counters), written at the end of an episode, so
#   a resumed run continues exactly as if it had never stopped. (A HalfCheetah episode is 1,000
#   steps, so a run shorter than that has no checkpoint.);
# * `policy.npz`: the latest actor, all that `minidst evaluate` needs;
# * `curve.png`: the run's own learning curve.
#
# The first three are small text files, and they alone say what a run was and what it scored:
# they are what the second half of this chapter reads, from runs kept in the repository.
#
# The command line works on these directories. Here it evaluates the DS-TD3 policy (one episode,
# to keep it short) and redraws the three curves, exactly as it would in a terminal:

# %%
assert minidst_command(["evaluate", str(ds_run), "--episodes", "1"]) == 0
cli_plot = OUT / "09_curves_from_cli.png"
assert minidst_command(["plot", *map(str, run_dirs.values()), "--out", str(cli_plot)]) == 0

# %% [markdown]
# ## Comparing methods needs seeds
#
# Two runs of the same algorithm with different seeds (other initial weights, other random
# actions, other episodes) can end far apart. To compare algorithms we need several seeds of
# each, and a summary of them that says how sure it is. Two statistics the field now expects for a
# handful of seeds (Agarwal et al., NeurIPS 2021), both in `minidst.stats`:
#
# * the **interquartile mean (IQM)**: sort the seeds' scores, drop the lowest and highest
#   quarter, average the rest (`scipy.stats.trim_mean(x, 0.25)`). One lucky or unlucky seed
#   barely moves it (unlike the mean), yet it uses half the data (unlike the median, which uses
#   one or two scores);
# * a **bootstrap confidence interval**: draw as many scores as there are seeds, with
#   replacement, from the seeds' scores; take the IQM of that resample; repeat a few thousand
#   times. The middle 95% of those IQMs is the 95% interval: how much the IQM could move had other
#   seeds been run.
#
# A worked example with made-up final returns of five seeds:

# %%
scores = np.array([4100.0, 5200.0, 5350.0, 5600.0, 9000.0])  # one lucky seed
resamples = np.random.default_rng(0).choice(scores, size=(5000, scores.size))
iqms = stats.iqm(resamples, axis=1)
low, high = np.quantile(iqms, [0.025, 0.975])
print(f"mean {scores.mean():.0f}, median {np.median(scores):.0f}, IQM {stats.iqm(scores):.0f}")
print(f"95% bootstrap interval of the IQM, by hand:            [{low:.0f}, {high:.0f}]")
print(
    "the same from stats.iqm_interval (scipy's bootstrap):  [{:.0f}, {:.0f}]".format(
        *stats.iqm_interval(scores)
    )
)
assert stats.iqm(scores) == np.mean([5200.0, 5350.0, 5600.0])  # the middle three of the five
assert scores.mean() - stats.iqm(scores) > 300
assert np.allclose((low, high), stats.iqm_interval(scores), atol=0.05 * (high - low))

# %% [markdown]
# The lucky seed pulls the mean up by more than 300 (asserted); the IQM, the mean of the middle
# three, ignores it. The two intervals differ a little (asserted: by less than 5% of the
# interval's width) because each is drawn from its own random resamples; `minidst report` and
# `minidst plot` use `minidst.stats`.
#
# ## Seeds at 200,000 steps: runs kept in the repository
#
# `results/paper200k/` holds the small files (`config.json`, `evaluations.csv`, `progress.csv`) of
# runs of the three agents at the paper's settings for 200,000 steps (20% of the paper's budget),
# one directory per run, `<env>/<algo>/seed<k>/`. They were made with `minidst train` and
# `minidst sweep` (last section). We read the HalfCheetah ones, keep the finished runs, and score
# each seed as the paper does: the mean of its last 10 evaluations.

# %%
try:
    REPOSITORY = Path(__file__).resolve().parent.parent
except NameError:  # a notebook has no __file__; Jupyter runs it in chapters/
    REPOSITORY = Path.cwd().parent
SWEEP = REPOSITORY / "results" / "paper200k" / env_id
FINAL_EVALUATIONS = 10

sweep_runs, finals = {}, {}
for algo in configs:
    sweep_runs[algo], finals[algo] = [], []
    for run_dir in sorted((SWEEP / algo).glob("seed*")):
        steps, returns = rundir.read_evaluations(run_dir)
        if len(steps) == 0 or steps[-1] != rundir.read_config(run_dir).steps:
            continue  # still running when the results were kept
        sweep_runs[algo].append(run_dir)
        finals[algo].append(float(returns[-FINAL_EVALUATIONS:].mean()))
    finals[algo] = np.array(finals[algo])
    assert len(finals[algo]) >= 2, f"{SWEEP / algo} holds fewer than two finished runs"

intervals = {algo: stats.iqm_interval(scores) for algo, scores in finals.items()}
print(f"{'algo':<12}{'seeds':>6}{'IQM':>8}{'95% interval':>18}   final return of each seed")
for algo, scores in finals.items():
    low, high = intervals[algo]
    seeds = [run_dir.name for run_dir in sweep_runs[algo]]
    print(
        f"{algo:<12}{len(scores):>6}{stats.iqm(scores):>8.0f}{f'[{low:.0f}, {high:.0f}]':>18}   "
        + ", ".join(f"{name} {score:.0f}" for name, score in zip(seeds, scores))
    )

# %% [markdown]
# Two things to see in this table.
#
# **With few seeds, the IQM and its interval are coarse.** `trim_mean` drops `int(n / 4)` scores
# from each end, so with fewer than 4 seeds it drops none and the IQM is the plain mean. And the
# bootstrap can only recombine the seeds it has: with 3 seeds, a resample is all three copies of
# the lowest seed with probability `1 / 27`, about 3.7%, more than the 2.5% cut at either end, so
# the 95% interval runs exactly from the lowest seed's score to the highest's (asserted below for
# every algorithm with 3 seeds or fewer). The interval is then just the range of the seeds.
#
# **Seeds can spread more than methods differ.** The paper's final returns on HalfCheetah (1M
# steps, 5 seeds, gym's `-v3`) are TD3 11153, Static-TD3 10584 and DS-TD3 11460: the largest gap
# between two of the methods is 876. Here, at 200,000 steps, the seeds of a single algorithm can
# spread over more than that (asserted for the widest spread):

# %%
paper = {"td3": 11153.0, "static-td3": 10584.0, "ds-td3": 11460.0}
largest_paper_gap = max(paper.values()) - min(paper.values())
spreads = {algo: float(np.ptp(scores)) for algo, scores in finals.items()}
for algo, scores in finals.items():
    print(f"{algo:<12} seeds spread over {spreads[algo]:6.0f}")
    if len(scores) <= 3:
        assert stats.iqm(scores) == scores.mean()
        assert np.allclose(intervals[algo], (scores.min(), scores.max()))
print(f"largest gap between two methods in the paper: {largest_paper_gap:.0f}")
assert max(spreads.values()) > largest_paper_gap


def overlap(a, b):
    return max(intervals[a][0], intervals[b][0]) <= min(intervals[a][1], intervals[b][1])


for a, b in [("td3", "static-td3"), ("td3", "ds-td3"), ("static-td3", "ds-td3")]:
    print(f"{a} and {b}: intervals {'overlap' if overlap(a, b) else 'apart'}")
# Runs are added to results/ as they finish, so the verdict is decided here, not written down.
apart = [other for other in ("td3", "static-td3") if not overlap(other, "ds-td3")]
if not apart:
    print("DS-TD3's interval overlaps both others: these seeds cannot rank it at 200k steps.")
for other in apart:
    ds, them = finals["ds-td3"], finals[other]
    side = "above" if intervals["ds-td3"][0] > intervals[other][1] else "below"
    separated = ds.min() > them.max() or ds.max() < them.min()
    print(
        f"DS-TD3's interval lies {side} {other}'s ({len(ds)} and {len(them)} seeds); "
        f"every seed of one above every seed of the other: {'yes' if separated else 'no'}"
    )

# %% [markdown]
# Where DS-TD3's interval overlaps both others, these runs cannot rank DS-TD3 against TD3 or
# Static-TD3 at 200,000 steps, let alone check the paper's ordering at 1M. And with this few
# seeds, two intervals that do not overlap mean little more than that every seed of one algorithm
# scored above every seed of the other. More seeds narrow the intervals; chapter 10 reads these
# runs more closely, with all three environments and the probability of improvement.
#
# The curves: `plot_runs` given several seeds per algorithm draws, at each evaluation step, the
# IQM over seeds and its 95% bootstrap band.

# %%
all_sweep_runs = [run_dir for runs in sweep_runs.values() for run_dir in runs]
path = plot_runs(all_sweep_runs, OUT / "09_paper200k_curves.png")
print("saved", path)

# %% [markdown]
# ## The full-length version from the command line
#
# The paper's experiment is 3 algorithms x 5 seeds x 1M steps on each task. Each run is a single
# process; with `minidst train` the settings are the paper's by default, so a run needs only the
# algorithm, the environment, the seed and a directory:
#
# ```bash
# for seed in 0 1 2 3 4; do
#   for algo in td3 static-td3 ds-td3; do
#     minidst train --algo $algo --env HalfCheetah-v5 --seed $seed \
#       --run-dir runs/HalfCheetah-v5_${algo}_seed${seed}
#   done
# done
# minidst plot runs/*HalfCheetah* --out curves.png
# ```
#
# `minidst plot` groups the 15 directories by algorithm and draws, for each, the IQM over the 5
# seeds with a 95% bootstrap band, as above. The runs are independent: the loop above runs them
# one after another, but you can run as many at once as you have cores (set
# `OPENBLAS_NUM_THREADS=1` so that dense TD3's matrix products keep to one core each).
# `minidst sweep` does that bookkeeping for a whole grid, and `minidst report` summarises it; the
# runs read above were made with
#
# ```bash
# minidst sweep --algo td3 static-td3 ds-td3 --env HalfCheetah-v5 Hopper-v5 Walker2d-v5 \
#   --seeds 0-4 --steps 200000 --sweep-dir paper200k --jobs 2
# minidst report paper200k
# ```
#
# A run that stops (Ctrl-C finishes the current episode and writes a checkpoint; a crash keeps the
# last one) continues from its checkpoint, with the same numbers as an uninterrupted run:
#
# ```bash
# minidst train --resume runs/HalfCheetah-v5_ds-td3_seed0
# minidst train --resume runs/HalfCheetah-v5_ds-td3_seed0 --steps 2000000   # or extend it
# minidst evaluate runs/HalfCheetah-v5_ds-td3_seed0          # 10 episodes of the saved policy
# ```
#
# The paper's code also stops rewiring 50,000 steps before the end, after one last prune;
# `--freeze-last 50000` does the same, and it is off by default.
#
# **How long does it take?** Do not trust a figure from someone else's machine: measure it. The
# progress line of `minidst train` shows the speed and the time left,
#
# `step 12,000/1,000,000 | episodes 12 | eval 1234.5 @ 10,000 | 341 steps/s | ETA 48m`
#
# (that line is the format's example, not a measurement), and `progress.csv` records
# `time/steps_per_s` for every row. The short runs of this chapter give a first estimate for this
# machine:

# %%
for algo, run_dir in run_dirs.items():
    rate = float(rundir.last_progress_row(run_dir)["time/steps_per_s"])
    hours = 1_000_000 / rate / 3600
    print(
        f"{algo:11s} {rate:6.0f} steps/s in the last logged stretch -> {hours:.1f} h for 1M steps"
    )

# %% [markdown]
# A rate measured over a short run is only a first estimate. Evaluations are included in it, and
# this chapter evaluates far more often for its length than the paper's settings do (10 episodes
# of 1,000 steps every 5,000 steps); a machine busy with other runs is slower. The `ETA` on a long
# run's progress line is the number to plan with.

# %% [markdown]
# ## Summary
#
# * A run is a `TrainConfig` (paper defaults, change only what you mean to change) and a run
#   directory; `Trainer.start(config, run_dir).run()` trains, evaluates, logs and checkpoints.
# * TD3, Static-TD3 and DS-TD3 differ only in `algo`. Static-TD3 and DS-TD3 have the same weight
#   and FLOP counts, about half of TD3's; DS-TD3's counts stay constant through every rewiring.
#   A short run measures these costs exactly; it does not compare the methods.
# * Comparing methods needs seeds. Score each seed (the paper: the mean of its last 10
#   evaluations), summarise the seeds by their IQM, and give a 95% bootstrap interval. With 3
#   seeds the IQM is the mean and the bootstrap interval is about the range of the seeds, which
#   covers the mean only ~76% of the time: `minidst report` leads with Student's t interval.
# * At 200,000 steps on HalfCheetah, the seeds of a single algorithm can spread as much as the
#   paper's methods differ at 1M (the table above shows how far the intervals overlap on the
#   committed runs): a few seeds cannot settle differences of a few percent.
# * From the command line: `minidst train --algo ALGO --env ENV --seed SEED --run-dir DIR`,
#   `minidst train --resume DIR`, `minidst evaluate DIR`, `minidst plot DIRS --out FILE`,
#   `minidst sweep` and `minidst report` for grids. Measure the time with the progress line's
#   steps/s and ETA.

# %% [markdown]
# ## Exercises
#
# 1. *(9 runs of 100,000 steps: on the order of an hour of one core of the reference machine, where
#    a 200,000-step run takes about a quarter of an hour; `--jobs 2` halves the wait)* Run the three
#    agents with 3 seeds each for 100,000 steps (`minidst sweep ... --seeds 0-2 --steps 100000`).
#    Plot them with `minidst plot`. How wide are the confidence bands, and can you tell the three
#    methods apart?
# 2. *(no new run: one of exercise 1's)* Compare one of your curves at 100,000 steps with the
#    reference TD3 return on HalfCheetah at that budget (about 5,500, the mean of the 10 seeds of
#    Fujimoto et al.'s published curves, `minidst.report.reference_curves("HalfCheetah-v5")`). What
#    could explain a difference (think of gymnasium's `-v5` against the paper's `-v3`, the number of
#    seeds, the start steps)?
# 3. *(minutes: two runs of a few thousand steps)* Interrupt a run with Ctrl-C, resume it with
#    `minidst train --resume`, and check that its `evaluations.csv` matches a run of the same seed
#    that was never interrupted.
# 4. In the statistics section, score each seed by its mean return over training
#    (`stats.mean_over_training`) instead of its last 10 evaluations. Do the intervals still
#    overlap? Which score would you report, and why decide before looking?
# 5. *(two runs: about a quarter of an hour per 200,000 steps on one core of the reference machine)*
#    Run DS-TD3 at 80% sparsity (`--sparsity 0.8`, ERK densities) and at 25% (`--sparsity 0.25`).
#    The paper found that 80% fails to learn on HalfCheetah while 25% is slightly better than dense.
#    What do you see within your budget?
# 6. *(two runs, as long as exercise 5's)* Try `--rewire-every 200` and `--rewire-every 2000`. The
#    paper found 200 and 500 worse than 1,000. Look at `progress.csv`: how does the critic loss
#    behave right after each topology update?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(9)
# For example: exercises.chapter9_exercise4({"td3": [...], "static-td3": [...], "ds-td3": [...]})
