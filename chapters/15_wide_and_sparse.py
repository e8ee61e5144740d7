# %% [markdown]
# # Chapter 15: Wide and sparse at a dense budget
#
# Chapter 12 raised the sparsity of a 256-wide network: every step up removed weights, so the
# network got smaller. This chapter asks the opposite question: hold the number of weights fixed
# and spend it on a **wider** network. A 1024-1024 actor at 93% sparsity stores as many weights
# as the dense 256-256 actor of the paper's TD3. Does the width buy anything, and what does it
# cost?
#
# 1. what later papers report about width and sparsity, and which of it is measured here (none);
# 2. how minidst turns `--hidden 1024,1024 --match-dense 256` into per-layer densities, checked
#    to the weight;
# 3. the equal-weights dense control: the small dense network with DS-TD3's weight count;
# 4. what an implementation that multiplies by a mask would pay for the same wide network;
# 5. the 200k-step HalfCheetah and Hopper runs kept in `results/`, read with the statistics of
#    chapters 9 and 10;
# 6. dormant units over training;
# 7. one forward and backward pass timed on your machine.
#
# As in chapter 10, runs are added to `results/` as they finish, so the prose never quotes a
# result: every number is printed from the data and every verdict is decided by the code. Read
# the printed output, not only the text.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from minidst import MLP, rundir, stats, warmup
from minidst.config import TrainConfig, group_label
from minidst.dormant import TAU
from minidst.envs import env_sizes, make_env
from minidst.factory import network_densities
from minidst.flops import TRAINING_MULTIPLIER, dense_forward_flops, training_flops
from minidst.layers import DenseLinear, SparseLinear
from minidst.machine import describe_machine
from minidst.plot import finish_figure, group_colours
from minidst.report import read_runs
from minidst.sparsity import budget_sparsity, dense_weight_count

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
chapter_start = time.perf_counter()
warmup()  # compile (or load) the Numba kernels now, not inside the first timed pass

seed = 0
ENV = "HalfCheetah-v5"
MATCH = 256  # the dense width whose weights the wide networks store: the paper's TD3
BATCH = 100  # the paper's minibatch

# %% [markdown]
# ## What the papers report
#
# Since the DS-TD3 paper (2022), the strongest results for sparse networks in deep RL have come
# from **width**: keep the weights few and make the layers wide.
#
# * **Graesser, Evci, Elsen and Castro** (ICML 2022, "The state of sparse training in deep
#   reinforcement learning") compared static sparse training, SET, RigL and pruning on MuJoCo
#   and Atari. At an equal number of parameters, a sparse network (wide, most connections
#   missing) beat a dense one (narrow, all connections there) up to about 80-90% sparsity.
# * **Obando-Ceron, Courville and Castro** (ICML 2024, "In value-based deep RL, a pruned network
#   is a good network") pruned value-based agents (DQN, Rainbow and others on Atari) gradually to
#   95% sparsity. As the base network was widened, the pruned agents kept improving while the
#   dense ones stalled or got worse. They also report fewer dormant neurons in the pruned
#   networks.
# * **Ma et al.** (ICML 2025, "Network sparsity unlocks the scaling potential of deep RL")
#   removed a fixed fraction of the weights at random, once, before training (static sparsity),
#   in SAC and DDPG agents with SimBa networks (residual blocks, layer normalisation) on DeepMind
#   Control. Past a certain size the dense networks degraded, while the sparse ones kept
#   improving with size. They attribute this to resistance to plasticity loss and gradient
#   interference.
#
# **None of this is measured here.** These are the papers' claims, on their tasks, algorithms
# and budgets (millions of steps and many seeds). The runs read below are one task, TD3, 200k
# steps and a handful of seeds. They can agree or disagree with the papers; they cannot confirm
# or refute them.
#
# **What width costs.** Sparse-training code like theirs usually *simulates* sparsity: a dense
# weight matrix times a 0/1 mask, multiplied with dense products (GPUs usually gain little from
# unstructured sparsity at these densities). Then a masked 1024-wide hidden layer costs what the
# dense 1024-wide layer costs: `1024² / 256² = 16` times the 256-wide one, and width is bought
# with compute. A FLOP count of the unmasked weights alone (RigL's convention, and the DS-TD3
# paper's) is what a genuinely sparse implementation would pay, not what a masked one pays.
#
# minidst's layers are genuinely sparse (chapters 1 to 4): a product costs `2 × nnz × batch`, so a
# 1024-wide network storing the weights of a dense 256-wide one costs, in counted FLOPs, what
# those weights cost. Not everything scales with the weights, though:
#
# * every hidden unit has a bias, an activation to compute, store and backpropagate, and a
#   bias gradient: `O(width × batch)` work, four times as much at 1024 as at 256;
# * a sparse FLOP is not a dense FLOP: chapter 4 measured the sparse kernels at a fraction of
#   BLAS's rate, so equal counted FLOPs need not mean equal time.
#
# So we count the FLOPs, then measure the time.
#
# ## The budget: `--match-dense 256`
#
# `minidst train --algo ds-td3 --hidden 1024,1024 --match-dense 256` builds each network (the
# actor and each critic) at the global sparsity where it stores as many weights as its dense
# twin of hidden width 256 (`minidst.sparsity.budget_sparsity`):
#
# `sparsity = 1 - fraction × W(dense, width 256) / W(dense, width 1024)`,
#
# where `W` counts the weights of a dense network of those sizes (`dense_weight_count`) and
# `fraction` is `--budget-fraction` (default 1; 0.5 stores half the budget). Then ERK spreads
# that budget over the layers (chapter 12): one Erdős–Rényi scale for every sparse layer, the
# output layer dense, and any layer whose density would come out above 1 made dense, with the
# scale solved again for the rest (RigL's loop). `minidst.factory.network_densities` does all of
# this from a `TrainConfig`.
#
# minidst draws exactly `round(density × n_in × n_out)` connections per sparse layer, so a
# network's stored count can miss its budget only by rounding: at most half a weight per sparse
# layer. We check that on HalfCheetah's sizes for widths 512 and 1024 and budget fractions 1 and
# 0.5: the actor is `17 -> h -> h -> 6`, a critic `23 -> h -> h -> 1` (it reads the observation
# and the action).

# %%
env = make_env(ENV)
obs_dim, act_dim, _ = env_sizes(env)
env.close()
assert (obs_dim, act_dim) == (17, 6)  # the sizes the text uses


def network_sizes(width: int, dims: tuple[int, int] | None = None) -> dict[str, list[int]]:
    """Layer sizes of TD3's actor and of one critic at hidden ``width``; ``dims``: the
    environment's ``(observations, actions)``, this chapter's ``ENV`` by default."""
    obs, act = dims or (obs_dim, act_dim)
    return {
        "actor": [obs, width, width, act],
        "critic": [obs + act, width, width, 1],
    }


def stored_weights(sizes, densities) -> int:
    """What a network of ``sizes`` stores at ``densities`` (``None``: a dense layer): minidst's
    exact draw keeps ``round(density * n_in * n_out)`` connections per sparse layer."""
    return sum(
        n_in * n_out if d is None else round(d * n_in * n_out)
        for (n_in, n_out), d in zip(pairwise(sizes), densities)
    )


def agent_weights(width: int, densities=None, dims: tuple[int, int] | None = None) -> int:
    """The weights TD3 counts at hidden ``width``: the actor and two critics (targets and biases
    not counted); ``densities``: a ``NetworkDensities``, or None for dense networks."""
    sizes = network_sizes(width, dims)

    def one(name):
        return stored_weights(sizes[name], getattr(densities, name) if densities else [None] * 3)

    return one("actor") + 2 * one("critic")


def wide_config(width: int, fraction: float, algo: str = "ds-td3") -> TrainConfig:
    return TrainConfig(
        algo=algo,
        env=ENV,
        hidden=(width, width),
        match_dense=MATCH,
        budget_fraction=fraction,
    ).validate()


def density_text(densities) -> str:
    return " / ".join("dense" if d is None else f"{d:.4f}" for d in densities)


dense_budget = {name: dense_weight_count(s) for name, s in network_sizes(MATCH).items()}
print(
    f"dense {MATCH}-{MATCH}: actor {dense_budget['actor']:,} weights, critic "
    f"{dense_budget['critic']:,}, actor + two critics "
    f"{agent_weights(MATCH):,}\n"
)
print(
    f"{'width':>6}{'fraction':>9}  {'net':7s}{'sparsity':>9}  {'densities L1 / L2 / L3':26s}"
    f"{'stored':>9}{'budget':>11}{'stored - budget':>16}"
)
budgets = {}  # (width, fraction) -> the densities of both networks
for width in (512, 1024):
    for fraction in (1.0, 0.5):
        densities = network_densities(wide_config(width, fraction), obs_dim, act_dim)
        budgets[width, fraction] = densities
        for name, sizes in network_sizes(width).items():
            layer_densities = getattr(densities, name)
            sparsity = budget_sparsity(sizes, MATCH, fraction)
            budget = fraction * dense_budget[name]
            stored = stored_weights(sizes, layer_densities)
            print(
                f"{width:>6}{fraction:>9.1f}  {name:7s}{sparsity:>9.2%}  "
                f"{density_text(layer_densities):26s}{stored:>9,}{budget:>11,.1f}"
                f"{stored - budget:>+16.1f}"
            )
            # The identity: the stored count is the budget, up to rounding in each layer.
            assert abs(stored - budget) <= len(layer_densities)
            assert abs((1 - stored / dense_weight_count(sizes)) - sparsity) < 1e-4
        total = agent_weights(width, densities)
        print(f"{'':17s}actor + two critics: {total:,} stored, budget {fraction * 214_784:,.0f}")

# %% [markdown]
# Two things in the table are worth a second look.
#
# **The first layer comes out dense** in every row but one. ERK's density for a layer is
# proportional to `(n_in + n_out) / (n_in × n_out)`, about `1 / n_in` for a wide layer: with 17
# or 23 inputs the first layer asks for a density above 1, so it is made dense and the whole
# sparsity sits in the hidden-to-hidden layer. At 1024 that layer keeps under 5% of its
# connections: a unit of the second layer reads a few dozen of the 1024 units below it (printed
# below), where a unit of the dense 256 network reads all 256. Only the 1024-wide network at half
# the budget has too little left to keep its first layer dense.
#
# **Per-unit costs grow with the width, not with the weights.** The counts below are what the
# weight budget does not hold fixed: hidden units (each an activation per sample, stored for
# the backward pass) and biases.

# %%
for width, fraction in budgets:  # the first layer's density, from the table above
    densities = budgets[width, fraction]
    first_dense = densities.actor[0] is None and densities.critic[0] is None
    assert first_dense == ((width, fraction) != (1024, 0.5))  # ERK at these sizes, exactly
    if fraction == 1.0:
        for name in ("actor", "critic"):
            second = getattr(densities, name)[1]
            print(
                f"width {width}: {name} L2 density {second:.4f}, so a unit reads about "
                f"{second * width:.0f} of {width} inputs"
            )
print(f"\n{'width':>6}{'hidden units':>14}{'biases':>8}{'weights':>10}{'units / weights':>17}")
for width in (177, 256, 512, 1024):
    sizes = network_sizes(width)["actor"]
    weights = dense_budget["actor"] if width > MATCH else dense_weight_count(sizes)
    units, biases = 2 * width, sum(sizes[1:])
    print(f"{width:>6}{units:>14,}{biases:>8,}{weights:>10,}{units / weights:>17.2%}")

# %% [markdown]
# (The actor; the weights of the 512 and 1024 rows are the dense-256 budget.) Per sample, each
# hidden unit costs a few operations in each direction against two per stored weight, so at 1024
# these overheads are still a few percent of the counted FLOPs. In memory traffic they weigh
# more: every activation is written in the forward pass and read again in the backward pass.
#
# ## The equal-weights dense control
#
# A wide sparse network that beats dense 256 at the same weights answers one question. A sparse
# network that matches or beats dense 256 with *fewer* weights, as the DS-TD3 paper reports for
# its sparse networks, leaves another open: does it beat a dense network of its own size? That
# is Graesser et al.'s control. Dense TD3 at width `h` on HalfCheetah stores `3h² + 71h` weights
# (actor `17h + h² + 6h`, each critic `23h + h² + h`). We search for the `h` that comes closest
# to DS-TD3's weight count at the paper's densities, and to half the dense-256 budget (the wide
# networks at `--budget-fraction 0.5`). For the wide networks at the full budget, the control of
# equal weights is dense 256 itself.


# %%
def dense_td3_weights(width: int) -> int:
    return agent_weights(width)


widths = range(1, 1025)
assert all(dense_td3_weights(h) == 3 * h * h + 71 * h for h in widths)  # the formula above

paper_densities = network_densities(
    TrainConfig(algo="ds-td3", env=ENV).validate(), obs_dim, act_dim
)
ds_weights = agent_weights(MATCH, paper_densities)
print(
    f"DS-TD3 at the paper's densities (actor {density_text(paper_densities.actor)}, critic "
    f"{density_text(paper_densities.critic)}): {ds_weights:,} weights"
)
equal_width = {}
for target_name, target in (("DS-TD3", ds_weights), ("half the dense-256 budget", 214_784 // 2)):
    best = min(widths, key=lambda h: abs(dense_td3_weights(h) - target))
    equal_width[target_name] = best
    print(f"\nclosest dense TD3 to {target_name} ({target:,} weights): hidden {best}")
    for h in range(best - 2, best + 3):
        mark = "  <-" if h == best else ""
        print(
            f"  hidden {h}: {dense_td3_weights(h):>8,} "
            f"({dense_td3_weights(h) / target - 1:+.2%}){mark}"
        )
CONTROL_WIDTH = equal_width["DS-TD3"]
assert CONTROL_WIDTH == 177  # the width of results/equal_weights, and of the text below
assert abs(dense_td3_weights(CONTROL_WIDTH) / (214_784 / 2) - 1) < 0.01

# %% [markdown]
# Hidden 177 stores 0.4% more weights than DS-TD3; `results/equal_weights` holds dense TD3 runs at
# that width (`td3 --hidden 177,177`). It is also within 1% of half the dense-256 budget, close
# enough to serve as the control there too (`minidst report` pairs groups within 5%).
#
# ## What a mask would pay
#
# Training FLOPs of one step of the actor and of both critics, each a forward and backward pass
# over a minibatch of 100, counted as in `minidst.flops` (RigL's convention, chapter 1): a
# forward pass costs `2 × nnz × batch`, a training step 3 times that (the forward product, the
# input gradient and the weight gradient). The masked network is counted as what a dense product
# of its shape costs (`dense_forward_flops`): every position, stored or not. (TD3 trains the actor
# only every second iteration and also runs the target networks; `TD3.flops_per_iteration`
# counts that. The ratios barely move: each network's own ratio is about the same.)
#
# The networks here are built, not only counted: `MLP.build` with the densities above, so the
# count comes from the layers' own `nnz`.

# %%
build_rng = np.random.default_rng(seed)


def build_networks(width: int, densities=None) -> dict[str, MLP]:
    """The actor and one critic at hidden ``width`` (float32, ReLU, as the agents build them);
    ``densities``: a ``NetworkDensities``, or None for dense networks."""
    nets = {}
    for name, sizes in network_sizes(width).items():
        d = getattr(densities, name) if densities is not None else [None] * (len(sizes) - 1)
        nets[name] = MLP.build(sizes, d, build_rng)
    return nets


variants = {
    f"dense {CONTROL_WIDTH}": build_networks(CONTROL_WIDTH),
    f"dense {MATCH}": build_networks(MATCH),
    f"sparse 512 at the dense-{MATCH} budget": build_networks(512, budgets[512, 1.0]),
    f"sparse 1024 at the dense-{MATCH} budget": build_networks(1024, budgets[1024, 1.0]),
}
WIDE = f"sparse 1024 at the dense-{MATCH} budget"
for (width, fraction), densities in budgets.items():
    if fraction == 1.0:  # the built layers hold exactly the weights counted above
        nets = variants[f"sparse {width} at the dense-{MATCH} budget"]
        for name, net in nets.items():
            sizes = network_sizes(width)[name]
            counted = stored_weights(sizes, getattr(densities, name))
            assert sum(layer.nnz for layer in net.layers) == counted


def step_flops(nets: dict[str, MLP], masked: bool = False, critics: int = 2) -> int:
    """Training FLOPs of one step of the actor and ``critics`` critics at ``BATCH``; a masked
    network counts every position of its layers, stored or not."""
    per_net = {
        name: (
            TRAINING_MULTIPLIER * dense_forward_flops(net.layers, BATCH)
            if masked
            else training_flops(net.layers, BATCH)
        )
        for name, net in nets.items()
    }
    return per_net["actor"] + critics * per_net["critic"]


flop_rows = {name: step_flops(nets) for name, nets in variants.items()}
flop_rows["masked 512 (dense 512 products)"] = step_flops(
    variants[f"sparse 512 at the dense-{MATCH} budget"], masked=True
)
flop_rows["masked 1024 (dense 1024 products)"] = step_flops(variants[WIDE], masked=True)
reference_flops = flop_rows[f"dense {MATCH}"]
print(f"{'network (actor + two critics)':38s}{'MFLOP per step':>15}{'vs dense 256':>14}")
for name, flops in flop_rows.items():
    print(f"{name:38s}{flops / 1e6:>15,.1f}{flops / reference_flops:>14.2f}")
mask_ratio = flop_rows["masked 1024 (dense 1024 products)"] / flop_rows[WIDE]
for name, net in variants[WIDE].items():
    ratio = dense_forward_flops(net.layers) / sum(2 * layer.nnz for layer in net.layers)
    print(f"masked / sparse, {name} alone: {ratio:.2f}x")
print(f"\nthe masked 1024 network does {mask_ratio:.1f}x the genuinely sparse one's FLOPs")
# Identities: equal weights give equal counted FLOPs (to rounding), and the mask's price is
# between 4x (first and last layers) and 16x (the hidden layer).
assert abs(flop_rows[WIDE] / reference_flops - 1) < 1e-4
assert 14 < mask_ratio < 16
hidden_share = 1024 * 1024 / dense_weight_count(network_sizes(1024)["critic"])
print(f"the hidden layer holds {hidden_share:.0%} of a dense 1024 critic's weights")

# %% [markdown]
# The price of the mask is about 15x, not 16x: the hidden-to-hidden layer grows 16-fold from 256
# to 1024, the first and last layers only 4-fold. A masked implementation pays that on every
# minibatch; here the wide network's counted cost equals dense 256's.
#
# ## The runs
#
# The runs live in `results/` at the repository's root, found as in chapter 10: in or above the
# current directory, beside this file, or beside the installed `minidst` package;
# `MINIDST_RESULTS` overrides the search. We read the sweeps that hold the groups we compare,
# first on HalfCheetah-v5 and then, with the same code, on Hopper-v5:
#
# * `td3`, dense 256 (`results/paper200k`, and `halfcheetah_seeds5_9` when present);
# * `td3 hidden=177`, the equal-weights control (`results/equal_weights`; `hidden=180` on
#   Hopper, see below);
# * `ds-td3`, the paper's densities (`results/paper200k`);
# * every wide group in `results/wide`, e.g. `ds-td3 hidden=1024 match_dense=256`
#   (`wide/ds1024_dense256`), and whichever of `wide/ds512_dense256`,
#   `wide/ds1024_dense256_half` and `wide/static1024_dense256` have finished runs.
#
# A group's label is `minidst.config.group_label`: its algorithm and the settings that set it
# apart. Only runs that reached their 200,000 steps count. Everything an environment's runs need
# is gathered in one `EnvRuns` record, so that the tables below are functions of it.

# %%
BUDGET = 200_000
SWEEPS = ("paper200k", "halfcheetah_seeds5_9", "equal_weights", "wide")


def find_results() -> Path | None:
    """``rundir.find_results``: ``$MINIDST_RESULTS``, else ``results`` in or above the current
    directory, this file (a script; a notebook has no ``__file__``) or the minidst package."""
    return rundir.find_results(
        near=Path(__file__).resolve().parent if "__file__" in globals() else None
    )


@dataclass
class EnvRuns:
    """One environment's finished runs, by group label, and the labels the tables compare."""

    env: str
    groups: dict  # label -> its runs, by seed
    configs: dict  # run folder -> TrainConfig
    machines: dict  # run folder -> the machine record of its config.json (or None)
    dense: str  # dense TD3 at 256
    control: str  # dense TD3 at the equal-weights width
    paper: str  # DS-TD3 at the paper's densities
    wide: list  # the groups run with --match-dense
    shown: list  # the groups in the tables, references first


def read_env_runs(results: Path, env_id: str, control_width: int) -> EnvRuns:
    """``env_id``'s runs of ``BUDGET`` steps in ``results``' sweeps, each experiment once;
    prints where they came from and what was left out."""
    folders = [results / sweep for sweep in SWEEPS if (results / sweep).is_dir()] or [results]
    groups, configs, machines, seen = defaultdict(list), {}, {}, set()
    left_out = 0
    for folder in folders:
        finished, unfinished, _ = read_runs(folder)
        left_out += sum(run.env == env_id for run in unfinished)
        for run in finished:
            key = (run.env, run.label, run.seed, int(run.steps[-1]))
            if run.env != env_id or key in seen:
                continue
            if run.steps[-1] != BUDGET:
                left_out += 1
                continue
            seen.add(key)
            groups[run.label].append(run)
            configs[run.run_dir] = rundir.read_config(run.run_dir)
            record = json.loads((run.run_dir / rundir.CONFIG).read_text())
            machines[run.run_dir] = record.get("machine")
    for group in groups.values():
        group.sort(key=lambda run: run.seed)
    print(f"{env_id}: runs read from", ", ".join(str(folder) for folder in folders))
    if left_out:
        print(f"{left_out} unfinished {env_id} runs, or runs of another length, were left out")

    def label(algo: str, **settings) -> str:
        return group_label(TrainConfig(algo=algo, env=env_id, **settings).validate())

    dense, paper = label("td3"), label("ds-td3")
    control = label("td3", hidden=(control_width,) * 2)
    wide = sorted(
        {
            name
            for name, group in groups.items()
            if configs[group[0].run_dir].match_dense is not None
        }
    )
    references = [dense, control, paper]
    if any(configs[groups[name][0].run_dir].algo == "static-td3" for name in wide):
        references.append(label("static-td3"))
    shown = [name for name in [*references, *wide] if name in groups]
    if groups and not wide:
        print(f"no finished wide group (a run with --match-dense) on {env_id} yet")
    missing = [name for name in references[:3] if name not in groups]
    if groups and missing:
        print("groups not found:", ", ".join(missing))
    return EnvRuns(env_id, dict(groups), configs, machines, dense, control, paper, wide, shown)


RESULTS = find_results()
if RESULTS is None:
    where = os.environ.get("MINIDST_RESULTS") or f"results/ (from {Path.cwd()} upwards)"
    print(
        f"No runs found in {where}: the sections on the runs print nothing. Set MINIDST_RESULTS "
        "to a results folder and run again."
    )
    cheetah = EnvRuns(ENV, {}, {}, {}, "", "", "", [], [])
else:
    cheetah = read_env_runs(RESULTS, ENV, CONTROL_WIDTH)
# The HalfCheetah names the later sections use.
groups, configs, machines = cheetah.groups, cheetah.configs, cheetah.machines
DENSE, CONTROL, PAPER = cheetah.dense, cheetah.control, cheetah.paper
wide_labels, shown = cheetah.wide, cheetah.shown

# %% [markdown]
# ### Final returns
#
# A run's score is the mean of its last 10 evaluations (chapter 10). Over seeds we give the mean
# with its Student-t 95% interval (`stats.mean_interval`): with 3 to 5 seeds a bootstrap interval
# covers far less than its 95% (chapter 10 and `minidst.stats`), while the t interval is exact for
# normally spread scores at any number of seeds, and honest about how wide few seeds leave it.


# %%
def name_width(runs: EnvRuns) -> int:
    return max([len(label) for label in runs.shown] + [10]) + 2


def interval_text(low, high, digits=0):
    if not (np.isfinite(low) and np.isfinite(high)):
        return "(no interval: 1 seed)"
    return f"[{low:,.{digits}f}, {high:,.{digits}f}]"


def finals(label, runs: EnvRuns = cheetah):
    return [run.final for run in runs.groups.get(label, [])]


def print_final_returns(runs: EnvRuns) -> None:
    if not runs.shown:
        return
    width = name_width(runs)
    print(
        f"\n{'group':{width}s}{'seeds':>12s}  {'final return, mean':>18s} "
        f"{'95% t-interval':22s}per seed"
    )
    for label in runs.shown:
        scores = finals(label, runs)
        low, high = stats.mean_interval(scores)
        print(
            f"{label:{width}s}{','.join(str(run.seed) for run in runs.groups[label]):>12s}  "
            f"{np.mean(scores):>18,.0f} {interval_text(low, high):22s}"
            + ", ".join(f"{score:,.0f}" for score in scores)
        )
        if np.isfinite(low):
            assert low <= np.mean(scores) <= high


print_final_returns(cheetah)

# %% [markdown]
# ### Weights, counted FLOPs, dormant units
#
# From each run's last `progress.csv` row: the weights of the actor and both critics, the
# training FLOPs of the whole run (counted as in chapter 8, target networks included), and the
# fraction of dormant hidden units (explained below; the mean of the three networks, logged only
# by runs made recently).


# %%
def group_mean(label, field, runs: EnvRuns = cheetah):
    return float(np.mean([getattr(run, field) for run in runs.groups[label]]))


def print_weights_and_flops(runs: EnvRuns) -> None:
    if not runs.shown:
        return
    width = name_width(runs)
    dense_weights = group_mean(runs.dense, "weights", runs) if runs.dense in runs.groups else np.nan
    dense_flops = group_mean(runs.dense, "flops", runs) if runs.dense in runs.groups else np.nan
    print(
        f"\n{'group':{width}s}{'hidden':>11s}{'weights':>10s}{'vs td3':>8s}"
        f"{'training FLOPs':>16s}{'vs td3':>8s}{'dormant at the end':>20s}"
    )
    for label in runs.shown:
        config = runs.configs[runs.groups[label][0].run_dir]
        weights, flops = group_mean(label, "weights", runs), group_mean(label, "flops", runs)
        dormant_end = group_mean(label, "dormant", runs)
        print(
            f"{label:{width}s}{'-'.join(map(str, config.hidden)):>11s}"
            f"{weights:>10,.0f}{weights / dense_weights:>8.2f}"
            f"{flops:>16.3e}{flops / dense_flops:>8.2f}"
            f"{f'{dormant_end:.1%}' if np.isfinite(dormant_end) else 'not logged':>20s}"
        )


print_weights_and_flops(cheetah)

# %% [markdown]
# ### Speed, and where it was measured
#
# `Run.steps_per_s` is the median env-steps per second of a run's training rows. A speed
# belongs to its machine: every run's `config.json` names it (`machine`: CPU, family/model,
# vector ISA, cores), except the oldest runs, made before that entry existed (`results/README.md`
# says they came from a 2-core AVX-512 machine). The runs were made two at a time on 2-core
# machines also used for development work (tests, benchmarks), so the speeds are below an idle
# machine's and noisy. Compare speeds **only within one machine**. The last column is what 200k
# steps take at the median speed (evaluations not counted).


# %%
def machine_text(machine) -> str:
    if not machine:
        return "not recorded"
    return f"{machine.get('cpu')} {machine.get('family_model')} {machine.get('isa')}"


def group_speeds(runs: EnvRuns) -> dict:
    """label -> machine text -> the env-steps/s of the group's runs on that machine."""
    speeds = defaultdict(dict)
    for label in runs.shown:
        by_machine = defaultdict(list)
        for run in runs.groups[label]:
            by_machine[machine_text(runs.machines[run.run_dir])].append(run.steps_per_s)
        speeds[label] = dict(by_machine)
    return speeds


def print_speeds(runs: EnvRuns, speeds: dict) -> None:
    if not runs.shown:
        return
    width = name_width(runs)
    machine_width = max(len(m) for by in speeds.values() for m in by) + 2
    print(
        f"\n{'group':{width}s}{'machine':{machine_width}s}{'runs':>5s}"
        f"{'env-steps/s (median, range)':>30s}{'minutes / 200k':>16s}"
    )
    for label in runs.shown:
        for machine, rates in sorted(speeds[label].items()):
            median = float(np.median(rates))
            spread = f"{median:,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
            print(
                f"{label:{width}s}{machine:{machine_width}s}{len(rates):>5d}"
                f"{spread:>30s}{BUDGET / median / 60:>16,.0f}"
            )


speeds = group_speeds(cheetah)
print_speeds(cheetah, speeds)

# %% [markdown]
# ### Comparisons
#
# Each wide group against dense 256 (`td3`, the same weights) and against the equal-weights
# control (`td3 hidden=177`, half as many). For each pair: the difference of means with
# its Welch 95% interval (`stats.difference_interval`), the probability that a run of the wide
# group beats a run of the other (`stats.probability_of_improvement`), Welch's t-test
# (`stats.welch_test`), the exact Mann-Whitney test (`stats.exact_test`) and the equivalence test
# within ±10% of the other group's mean (`stats.equivalence_test`, two one-sided tests).
#
# The verdicts are decided by the code, from the numbers:
#
# * "**beats**" or "**falls short of**": Welch's test *and* the exact test give `p < 0.05`.
#   Welch's test assumes roughly normal scores, which 3 to 5 seeds cannot check; the exact test
#   assumes nothing about their shape, but cannot go below `2 / C(n + m, n)` with `n` and `m`
#   seeds (0.036 for 3 against 5; chapter 10);
# * "**matches**": the equivalence test gives `p < 0.05`: the difference is shown to be within
#   ±10%. Failing to find a difference is *not* this;
# * otherwise "**undecided**", with the number of seeds a side that the equivalence test would
#   need if the observed difference and spread were the truth (`stats.seeds_for_equivalence`).


# %%
def compare(x, y) -> dict:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    low, high = stats.difference_interval(x, y)
    return {
        "n": (len(x), len(y)),
        "difference": float(x.mean() - y.mean()),
        "low": low,
        "high": high,
        "p_improvement": stats.probability_of_improvement(x, y),
        "p_welch": stats.welch_test(x, y),
        "p_exact": stats.exact_test(x, y),
        "p_equivalence": stats.equivalence_test(x, y),
        "seeds_needed": stats.seeds_for_equivalence(x, y),
    }


def verdict(result: dict, name_x: str, name_y: str) -> str:
    """The strongest statement the numbers allow, in words."""
    if min(result["n"]) < 2:
        return "too few seeds to test (a side has one)"
    different = result["p_welch"] < 0.05 and result["p_exact"] < 0.05
    equivalent = result["p_equivalence"] < 0.05
    if different:
        word = "beats" if result["difference"] > 0 else "falls short of"
        text = f"{name_x} {word} {name_y} (both tests p < 0.05)"
        return text + (", by less than 10% (equivalence shown too)" if equivalent else "")
    if equivalent:
        return f"{name_x} matches {name_y} within ±10% (equivalence p < 0.05)"
    one_test = result["p_welch"] < 0.05 or result["p_exact"] < 0.05
    reason = "only one of the two tests gives p < 0.05" if one_test else "no difference shown"
    needed = result["seeds_needed"]
    if np.isfinite(needed):
        return (
            f"undecided: {reason}, and no equivalence shown (the equivalence test would need "
            f"about {needed:.0f} seeds a side)"
        )
    return (
        f"undecided: {reason}; equivalence within ±10% is out of reach at any number of "
        "seeds, since the observed difference is already outside that margin"
    )


def compare_wide(runs: EnvRuns) -> dict:
    """Each wide group against dense 256 and the equal-weights control, printed and returned
    by ``(wide label, other label)``."""
    results = {}
    for label in runs.wide:
        for other in (runs.dense, runs.control):
            if other not in runs.groups:
                continue
            result = results[label, other] = compare(finals(label, runs), finals(other, runs))
            n_x, n_y = result["n"]
            print(f"{label} ({n_x} seeds) vs {other} ({n_y} seeds)")
            print(
                f"  difference of means {result['difference']:+,.0f} "
                f"{interval_text(result['low'], result['high'])}; P(wide > other) = "
                f"{result['p_improvement']:.2f}; p: Welch {result['p_welch']:.3f}, exact "
                f"{result['p_exact']:.3f}, equivalence {result['p_equivalence']:.3f}"
            )
            print(f"  -> {verdict(result, label, other)}")
            if np.isfinite(result["low"]) and abs(result["p_welch"] - 0.05) > 1e-9:
                # The Welch interval excludes 0 exactly when the Welch test gives p < 0.05.
                assert (result["low"] > 0 or result["high"] < 0) == (result["p_welch"] < 0.05)
    return results


comparisons = compare_wide(cheetah)

# %% [markdown]
# How to read this. With 3 to 5 seeds a side, "undecided" is the expected verdict even where the
# groups truly differ, and the Welch interval says how large a difference the seeds leave open in
# either direction. The papers above report their effects at millions of steps; 200k steps on
# HalfCheetah is early, and a wider network may differ more in how fast it learns than in where
# it ends.
#
# Both controls matter. Against dense 256 a wide network at the full budget has the same weights
# and, counted, the same FLOPs: a win there is the papers' claim in miniature. Against dense 177
# it has twice the weights: losing there would say that its sparsity cost more than its weights
# bought. For the groups at half the budget it is the other way round: dense 177 is the control
# of equal weights, and dense 256 has twice theirs.
#
# ### The same runs on Hopper-v5
#
# One task can mislead, so the same groups were run on Hopper-v5. It has 11 observations and 3
# actions, so every count changes: dense TD3 at width `h` stores `3h² + 44h` weights (actor
# `11h + h² + 3h`, each critic `14h + h² + h`), and the equal-weights control comes from the same
# search on Hopper's sizes. A Hopper episode ends when the hopper falls, so its returns spread
# more between seeds than HalfCheetah's (chapter 10), and the same number of seeds decides less.

# %%
HOPPER = "Hopper-v5"
hopper_env = make_env(HOPPER)
hopper_dims = env_sizes(hopper_env)[:2]
hopper_env.close()
assert hopper_dims == (11, 3)  # the sizes the text uses
assert all(agent_weights(h, dims=hopper_dims) == 3 * h * h + 44 * h for h in widths)
hopper_paper = network_densities(TrainConfig(algo="ds-td3", env=HOPPER).validate(), *hopper_dims)
hopper_ds_weights = agent_weights(MATCH, hopper_paper, hopper_dims)
HOPPER_CONTROL_WIDTH = min(
    widths, key=lambda h: abs(agent_weights(h, dims=hopper_dims) - hopper_ds_weights)
)
control_weights = agent_weights(HOPPER_CONTROL_WIDTH, dims=hopper_dims)
hopper_half = agent_weights(MATCH, dims=hopper_dims) / 2
print(
    f"\nHopper: DS-TD3 at the paper's densities stores {hopper_ds_weights:,} weights; the closest "
    f"dense TD3 is hidden {HOPPER_CONTROL_WIDTH} with {control_weights:,} "
    f"({control_weights / hopper_ds_weights - 1:+.2%}; {control_weights / hopper_half - 1:+.2%} "
    "against half the dense-256 budget)"
)
assert HOPPER_CONTROL_WIDTH == 180  # the width of results/equal_weights' Hopper runs

if RESULTS is None:
    hopper = EnvRuns(HOPPER, {}, {}, {}, "", "", "", [], [])
else:
    hopper = read_env_runs(RESULTS, HOPPER, HOPPER_CONTROL_WIDTH)
print_final_returns(hopper)
print_weights_and_flops(hopper)
print_speeds(hopper, group_speeds(hopper))
print()
hopper_comparisons = compare_wide(hopper)

# %% [markdown]
# Read the two environments side by side: a wide group that beats dense 256 on one and is
# undecided on the other has not shown a general effect, and one that falls short on either has
# shown, on that task, a cost of spending the budget on width.
#
# ## Dormant units over training
#
# ReDo (Sokar, Agarwal, Castro and Evci, ICML 2023, "The dormant neuron phenomenon in deep RL")
# calls a hidden ReLU unit **dormant** on a batch when its mean absolute activation, divided by
# the mean of that over its layer's units, is at most `tau = 0.025` (`minidst.dormant`):
#
# `s_i = mean_b |h_i(x_b)| / ((1/n) sum_j mean_b |h_j(x_b)|) <= tau`.
#
# A dormant unit passes almost nothing on and, behind a ReLU, gets almost no gradient: that much
# of the network's width is idle. Sokar et al. found the fraction growing over training. Runs
# made recently log it in every `progress.csv` row, per network (`topology/dormant_actor`,
# `topology/dormant_critic1`, `topology/dormant_critic2`), over both hidden layers, on the
# minibatch of the last training iteration (100 samples, so each value is noisy). Below, the mean
# over seeds of each group that logged it.

# %%
DORMANT_NETS = ("actor", "critic1", "critic2")


def dormant_curves(run):
    """``(steps, fractions (n_rows, 3))`` of a run's logged dormant fractions, or None."""
    rows = [
        row for row in rundir.progress_log(run.run_dir).rows if row.get("topology/dormant_actor")
    ]
    if not rows:
        return None
    steps = np.array([int(row["step"]) for row in rows])
    values = np.array(
        [[float(row[f"topology/dormant_{net}"]) for net in DORMANT_NETS] for row in rows]
    )
    return steps, values


dormant = {}  # label -> (steps, mean over seeds (n_steps, 3), per seed (n_seeds, n_steps, 3))
for label in shown:
    curves = [dormant_curves(run) for run in groups[label]]
    curves = [curve for curve in curves if curve is not None]
    if not curves:
        continue
    steps = curves[0][0]
    for other_steps, _ in curves[1:]:
        steps = np.intersect1d(steps, other_steps)
    per_seed = np.array([values[np.isin(s, steps)] for s, values in curves])
    dormant[label] = (steps, per_seed.mean(axis=0), per_seed)

if dormant:
    colours = group_colours(list(dormant))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
    for i, (ax, net) in enumerate(zip(axes, DORMANT_NETS)):
        for label, (steps, mean, per_seed) in dormant.items():
            ax.plot(steps, mean[:, i], color=colours[label], label=f"{label} ({len(per_seed)})")
            ax.fill_between(
                steps, per_seed[:, :, i].min(axis=0), per_seed[:, :, i].max(axis=0),
                color=colours[label], alpha=0.15,
            )  # fmt: skip
        ax.set_title(net)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:.0f}k"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.0%}"))
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"dormant hidden units (tau = {TAU})")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{ENV}: mean over seeds (band: lowest to highest seed)", fontsize=10)
    fig.tight_layout()
    path = finish_figure(fig, OUT / "15_dormant.png")
    print("saved", path)
    print(
        f"\n{'group':{name_width(cheetah)}s}"
        + "".join(f"{net:>10s}" for net in DORMANT_NETS)
        + "   (last row)"
    )
    for label, (_, mean, _) in dormant.items():
        print(f"{label:{name_width(cheetah)}s}" + "".join(f"{value:>10.1%}" for value in mean[-1]))
else:
    print("no run read here logged dormant units")

# %% [markdown]
# And each wide group's final dormant fraction (the mean of its three networks) against the
# equal-weights control's, decided as the returns were:

# %%
for label in wide_labels:
    if label not in dormant or CONTROL not in dormant:
        continue
    x = [run.dormant for run in groups[label] if np.isfinite(run.dormant)]
    y = [run.dormant for run in groups[CONTROL] if np.isfinite(run.dormant)]
    result = compare(x, y)
    width = configs[groups[label][0].run_dir].hidden[0]
    different = result["p_welch"] < 0.05 and result["p_exact"] < 0.05
    if min(result["n"]) < 2:
        reading = "too few seeds to test"
    elif different:
        reading = "higher than" if result["difference"] > 0 else "lower than"
    else:
        reading = "not told apart from"
    print(
        f"{label}: {np.mean(x):.1%} dormant at the end, {reading} {CONTROL}'s {np.mean(y):.1%} "
        f"(Welch p {result['p_welch']:.3f}, exact p {result['p_exact']:.3f}); "
        f"live units per {width}-wide layer, on average: {(1 - np.mean(x)) * width:.0f}"
    )

# %% [markdown]
# What a high dormant fraction in a wide sparse network means. At the full budget the second
# layer of the 1024-wide network is under 5% dense: each of its units sums a few dozen of the
# 1024 activations below it, where a unit of a dense network sums them all. A unit with few
# inputs is silent whenever those few are, and nothing else feeds it. Chapter 11 saw the
# feedback that rewiring adds: a unit that is never active gets no gradient for its incoming
# weights, only the weight decay's, so its weights shrink, are pruned first, and the
# connections regrown there do not grow. Units can hollow out. And ReDo's score is relative to
# its layer's mean: in a wide layer where a minority of units carries most of the activity, many
# units fall below 2.5% of the mean.
#
# So a "1024-wide" network with half of its units dormant computes with about 500 live units per
# layer: still more than 256, but the width it pays for in per-unit costs is not all at work.
# Obando-Ceron et al. report fewer dormant neurons in their pruned networks than in dense ones,
# and Ma et al. count the dormant ratio among the signs of plasticity that their sparse networks
# keep better; both in other agents, tasks and architectures. Whether the runs here agree is what
# the lines above print. The fraction over both hidden layers cannot say which layer the dormant
# units are in (the first layer of the wide network is dense); exercise 3 splits it.
#
# ## On your machine: one forward and backward pass
#
# Counted FLOPs are the same for dense 256 and the wide sparse network; time need not be. We
# time one forward and backward pass (all parameter gradients, batch 100, float32, one thread)
# of an actor and a critic of each variant built above, and of the **dense-masked** 1024
# network: the sparse one's weights copied into dense 1024 × 1024 matrices, zeros where no
# connection is stored, and multiplied densely, as a masked implementation would. Each time is
# the best of several passes, as in chapter 4.
#
# Sparse and masked products compute the same numbers on the same weights: the outputs agree, the
# input gradients agree, and the masked weight gradient, read at the stored positions, is the
# sparse one. (At the other positions the masked gradient is not zero: a masked implementation
# computes it and then throws it away.)


# %%
def masked_copy(net: MLP) -> MLP:
    """The same network with every layer dense: a sparse layer's weights become a dense matrix,
    zeros where no connection is stored (a dense weight times its 0/1 mask)."""
    layers = []
    for layer in net.layers:
        dense = DenseLinear(layer.in_features, layer.out_features, np.random.default_rng(0))
        weight = layer.weight.toarray() if isinstance(layer, SparseLinear) else layer.weight
        dense.load_state_dict({"weight": weight, "bias": layer.bias})
        layers.append(dense)
    return MLP(layers, [activation.name for activation in net.activations])


def close(a, b) -> bool:
    """Equal up to float32 rounding of sums taken in a different order."""
    return np.allclose(a, b, rtol=1e-4, atol=1e-4 * float(np.abs(b).max()))


MASKED = "dense-masked 1024"
variants[MASKED] = {name: masked_copy(net) for name, net in variants[WIDE].items()}
data_rng = np.random.default_rng(seed + 1)
inputs = {
    name: data_rng.standard_normal((sizes[0], BATCH)).astype(np.float32)
    for name, sizes in network_sizes(MATCH).items()
}
output_grads = {
    name: data_rng.standard_normal((sizes[-1], BATCH)).astype(np.float32)
    for name, sizes in network_sizes(MATCH).items()
}

thrown_away = []
for name, sparse_net in variants[WIDE].items():
    masked_net = variants[MASKED][name]
    assert close(sparse_net.forward(inputs[name]), masked_net.forward(inputs[name]))
    sparse_input_grad = sparse_net.backward(output_grads[name], input_grad=True)
    assert close(sparse_input_grad, masked_net.backward(output_grads[name], input_grad=True))
    for sparse_layer, masked_layer in zip(sparse_net.layers, masked_net.layers):
        assert close(sparse_layer.bias_grad, masked_layer.bias_grad)
        if isinstance(sparse_layer, SparseLinear):
            W = sparse_layer.weight
            rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
            stored = masked_layer.weight_grad[rows, W.indices]
            assert close(sparse_layer.weight_grad, stored)
            thrown_away.append(1 - sparse_layer.nnz / masked_layer.weight_grad.size)
        else:
            assert close(sparse_layer.weight_grad, masked_layer.weight_grad)
print(
    "sparse and dense-masked passes agree (outputs, input and parameter gradients); the masked "
    f"pass computes, then discards, {np.mean(thrown_away):.1%} of its hidden-layer weight gradient"
)


def one_pass(net: MLP, X, dY) -> float:
    start = time.perf_counter()
    net.forward(X)
    net.backward(dY)
    return time.perf_counter() - start


# Round robin: every repeat times each variant once, so a burst of load from another process
# slows all of them alike; the best repeat is the least disturbed (chapter 4).
repeats = 15 if QUICK else 100
for nets in variants.values():  # once untimed: a sparse layer builds its transposed index
    for name, net in nets.items():
        one_pass(net, inputs[name], output_grads[name])
best = defaultdict(lambda: np.inf)
for _ in range(repeats):
    for variant, nets in variants.items():
        for name, net in nets.items():
            seconds = one_pass(net, inputs[name], output_grads[name])
            best[variant, name] = min(best[variant, name], seconds)
timings = {
    variant: (
        sum(best[variant, name] for name in nets),
        step_flops(nets, masked=variant == MASKED, critics=1),
    )
    for variant, nets in variants.items()
}

here = describe_machine()
print(f"\nthis machine: {machine_text(here)}, {here['cores']} cores; best of {repeats} passes each")
base_seconds = timings[f"dense {MATCH}"][0]
print(
    f"{'actor + critic, batch 100':36s}{'MFLOP':>9s}{'ms':>9s}{'GFLOP/s':>9s}"
    f"{'time vs dense 256':>19s}"
)
for variant, (seconds, counted) in timings.items():
    print(
        f"{variant:36s}{counted / 1e6:>9.1f}{seconds * 1e3:>9.2f}{counted / seconds / 1e9:>9.1f}"
        f"{seconds / base_seconds:>19.2f}"
    )
for variant in (f"dense {MATCH}", MASKED):
    ratio = timings[WIDE][0] / timings[variant][0]
    word = "longer than" if ratio > 1 else "less than"
    print(f"the wide sparse pass took {ratio:.2f}x the time of {variant}'s: {word} it, here")

# %% [markdown]
# The GFLOP/s column is the counted FLOPs divided by the time: for the masked network, the dense
# product's FLOPs. Where the sparse kernels run below BLAS's rate (about a quarter of it or less
# in minidst's kernel benchmarks; chapter 4 shows why), equal counted FLOPs take longer sparse than
# dense, while the masked network pays its 15x in FLOPs at BLAS's rate. Which effect wins, and by
# how much, is the time column of your table; the two lines under it say it in words.
#
# Beside these, the speeds the runs measured on the reference machine, for the groups these
# variants stand for. An env-step of a run is more than one pass: it trains the actor every
# second iteration and both critics every iteration, updates the targets, runs Adam, steps the
# simulator, and rewires every 1,000 iterations. So compare ratios, and only within one machine.

# %%
stands_for = {
    f"dense {CONTROL_WIDTH}": CONTROL,
    f"dense {MATCH}": DENSE,
    WIDE: group_label(wide_config(1024, 1.0)),
    f"sparse 512 at the dense-{MATCH} budget": group_label(wide_config(512, 1.0)),
}
for variant, label in stands_for.items():
    seconds = timings[variant][0]
    measured = "; ".join(
        f"{np.median(rates):,.0f} env-steps/s on {machine} ({len(rates)} runs)"
        for machine, rates in sorted(speeds.get(label, {}).items())
    )
    print(f"{variant:36s} {seconds * 1e3:6.2f} ms here | {label}: {measured or 'no runs read'}")

wide_label = stands_for[WIDE]
for variant in (f"dense {CONTROL_WIDTH}", f"dense {MATCH}"):
    label = stands_for[variant]
    common = set(speeds.get(label, {})) & set(speeds.get(wide_label, {}))
    common.discard("not recorded")
    time_ratio = timings[WIDE][0] / timings[variant][0]
    for machine in sorted(common):
        speed_ratio = np.median(speeds[label][machine]) / np.median(speeds[wide_label][machine])
        print(
            f"{wide_label} vs {label} on {machine}: the runs took {speed_ratio:.1f}x as long per "
            f"env-step; one pass here takes {time_ratio:.1f}x as long"
        )
    if not common and label in speeds and wide_label in speeds:
        print(f"{wide_label} and {label}: no machine in common, so no speed ratio")
print(f"\nthe whole chapter took {time.perf_counter() - chapter_start:.0f} s")

# %% [markdown]
# ## Summary
#
# * **The papers' claim**: at an equal number of weights, wide sparse networks beat narrow dense
#   ones in deep RL, and they keep improving with width where dense ones stall (Graesser et al.
#   2022, Obando-Ceron et al. 2024, Ma et al. 2025). That is their claim, from their
#   experiments; it is not measured here.
# * **The budget** (`--match-dense 256`, `--budget-fraction`): each network gets the global
#   sparsity at which it stores the dense-256 network's weights (times the fraction), spread by
#   ERK with a dense output layer. The stored count equals the budget up to rounding, checked
#   above for widths 512 and 1024. At the full budget ERK leaves the narrow first layer dense and
#   puts all the sparsity in the hidden-to-hidden layer, under 5% dense at 1024.
# * **The equal-weights control** for DS-TD3 at the paper's densities is dense TD3 at hidden 177
#   (`3h² + 71h` weights), found by a search.
# * **The price of a mask**: counted the RigL way, a masked 1024-wide TD3 does about 15x the
#   FLOPs of the genuinely sparse one, which does what dense 256 does. Per-unit work (biases,
#   activations) is outside the count and grows with the width.
# * **The runs**: final returns with t intervals, weights, FLOPs, speeds per machine and dormant
#   fractions are printed from `results/`; each wide group is compared with dense 256 and with
#   dense 177, and the verdict ("beats", "matches", "undecided") is decided by the tests. With a
#   handful of seeds, "undecided" is the common answer, and it is not "matches".
#   The same tables follow for Hopper-v5, whose equal-weights control is dense 180.
# * **Dormant units**: ReDo's fraction of near-silent units, logged over training, plotted per
#   group. In a wide layer at 5% density each unit has few inputs, and rewiring can hollow out
#   the silent ones (chapter 11).
# * **Time**: sparse and dense-masked passes give the same numbers (checked). Equal counted FLOPs
#   are not equal time: the sparse kernels' FLOP rate against BLAS's decides it, and the timing
#   on your machine prints it beside the speeds the runs measured on theirs.

# %% [markdown]
# ## Exercises
#
# 1. *(seconds)* Widen further: compute the actor's densities at the dense-256 budget for hidden
#    1536, 2048 and 4096 (`network_densities(wide_config(width, 1.0), obs_dim, act_dim)`). At
#    which width does the first layer first come out sparse? Estimate it from ERK's rule
#    `(n_in + n_out) / (n_in × n_out)` before you look. At which width is the budget
#    unreachable, because the dense output layer alone exceeds it?
# 2. *(seconds, no training)* Take the wide group's comparison with dense 177 (`comparisons`).
#    How many seeds a side would the equivalence test need if the spread of the scores halved?
#    If the difference of means were zero? Why is the answer infinite once the difference is
#    outside ±10%? (`stats.seeds_for_equivalence` on made-up scores.)
# 3. *(about 10 minutes on one core)* Which layer holds the dormant units? Train
#    `TrainConfig(algo="ds-td3", env="HalfCheetah-v5", hidden=(1024, 1024), match_dense=256,
#    steps=30_000, start_steps=5_000)` with `Trainer.start(...).run()` (chapter 12 shows how), then
#    call `minidst.dormant.unit_scores` on the trained actor and critics (`trainer.agent`) with a
#    replay batch, and count the dormant units per layer. Compare their in-degrees (chapter 11)
#    with the live units'.
# 4. *(a minute)* Where does the mask stop costing more? Time the sparse and the dense-masked
#    1024 × 1024 layer at densities 0.2, 0.1, 0.05 and 0.02, at batch 100 and 256, as in
#    `benchmarks/kernels.py`. At which density does sparse break even on your machine?
# 5. *(seconds)* Spread the wide budget with `density_rule="er"` (the paper's lambda ratio
#    7 : 64) instead of ERK: is the first layer still dense, and how dense is the hidden layer?
# 6. *(about 2 hours on 2 cores)* Run a wide group yourself, e.g.
#    `minidst sweep --algo ds-td3 --env HalfCheetah-v5 --hidden 512,512 --match-dense 256
#    --seeds 0-2 --steps 200000 --sweep-dir results/wide/ds512_dense256 --jobs 2`. The speed table
#    above gives the minutes per 200k steps of the 1024-wide runs, two at a time on the reference
#    machine (a 512-wide run does the same counted FLOPs with half the hidden units). Run this
#    chapter again: the new group is read, tabulated and compared without a change to the code.
