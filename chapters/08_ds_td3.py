# %% [markdown]
# # Chapter 8: DS-TD3
#
# DS-TD3 (Sokar et al., IJCAI 2022) is the TD3 agent of chapter 7 with the sparse networks of
# chapters 1 to 5. Nothing in the TD3 update changes. Four things are added:
#
# 1. **sparse networks from the first step**: the first two weight layers of the actor and both
#    critics get an Erdős–Rényi topology; output layers and all biases stay dense;
# 2. **a topology update** (prune and regrow, chapter 5) of the actor and both critics every
#    1,000 training iterations (the paper's setting, Section 5);
# 3. **sparse target networks**: the Polyak average would mix two topologies, so each target is
#    trimmed back to its online network's connection count;
# 4. **FLOP accounting**: the cost of training, counted the paper's way, is what the sparsity buys.
#
# The paper's two baselines are built by the same code: **TD3** (every layer dense) and
# **Static-TD3** (the same sparse initial topology, never rewired). In minidst the three differ
# only in how `minidst.factory.build_agent` fills two arguments of `TD3`: the per-layer densities
# (`NetworkDensities`) and the rewiring schedule (`TopologySchedule`).
#
# We work at the sizes of the paper's HalfCheetah (17 observations, 6 actions), but we train on
# nothing more than random transitions: this chapter is about the mechanics. Chapter 9 runs the
# three agents on the task.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import copy
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minidst import count_parameters, soft_update, warmup
from minidst.config import TrainConfig
from minidst.envs import env_sizes, make_env, paper_lambdas
from minidst.factory import build_agent
from minidst.flops import layer_table
from minidst.layers import DenseLinear, SparseLinear
from minidst.plot import finish_figure
from minidst.replay import ReplayBuffer
from minidst.sparsity import erdos_renyi_density

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
warmup()  # compile (or load) the Numba kernels now, not inside the first update

seed = 0
rng = np.random.default_rng(seed)

# %% [markdown]
# ## Sparse from the first step
#
# `TrainConfig` holds every setting of a run, with the paper's values as defaults; `build_agent`
# turns it into a `TD3` agent for an environment's sizes. The paper's Erdős–Rényi lambdas depend
# on the environment: for HalfCheetah `lambda_1 = 7` (first layer) and `lambda_2 = 64` (second
# layer), the paper's Section 5.

# %%
env = make_env("HalfCheetah-v5")
obs_dim, act_dim, max_action = env_sizes(env)
lambda_1, lambda_2 = paper_lambdas("HalfCheetah-v5")
print(f"HalfCheetah-v5: {obs_dim} observations, {act_dim} actions, max action {max_action}")
print(f"paper's lambdas: lambda_1 = {lambda_1}, lambda_2 = {lambda_2}")

ds_config = TrainConfig(algo="ds-td3", env="HalfCheetah-v5")
agent = build_agent(ds_config, obs_dim, act_dim, max_action, rng)
print(agent.topology)


# %% [markdown]
# Every layer of the three online networks, with its shape, density, stored weights and forward
# FLOPs per sample (2 per stored weight, chapter 1):


# %%


print(layer_table(agent.named_layers()))

# %% [markdown]
# Now the check against the paper. The density of a layer is
# `lambda * (n_in + n_out) / (n_in * n_out)`: the actor's first layer reads 17 observations, a
# critic's first layer reads 17 + 6 = 23 numbers, and the second layers are 256 x 256. minidst
# draws exactly `round(density * n_in * n_out)` connections, so the stored densities agree with
# the formula to the third decimal. (The paper's code draws each connection independently and
# keeps whatever count comes out; the expected densities are the same.)

# %%
stats = agent.layer_stats()
paper_densities = {
    "actor_l1": (0.439, erdos_renyi_density(obs_dim, 256, lambda_1)),
    "critic1_l1": (0.332, erdos_renyi_density(obs_dim + act_dim, 256, lambda_1)),
    "critic2_l1": (0.332, erdos_renyi_density(obs_dim + act_dim, 256, lambda_1)),
    "actor_l2": (0.500, erdos_renyi_density(256, 256, lambda_2)),
    "critic1_l2": (0.500, erdos_renyi_density(256, 256, lambda_2)),
    "critic2_l2": (0.500, erdos_renyi_density(256, 256, lambda_2)),
}
print(f"{'layer':<12}{'paper':>8}{'formula':>9}{'stored':>9}")
for layer_name, (paper, formula) in paper_densities.items():
    stored = stats[f"topology/{layer_name}_density"]
    print(f"{layer_name:<12}{paper:>8.3f}{formula:>9.4f}{stored:>9.4f}")
    assert round(stored, 3) == paper

# %% [markdown]
# The paper's headline (Section 5): over the weights of actor and both critics (biases and target
# networks not counted), 214,784 dense weights become about 106k, a sparsity of 51%.

# %%
counts = count_parameters(layer for _, layer in agent.named_layers())
sparsity = 1 - counts["weights"] / counts["dense_weights"]
print(f"dense weights {counts['dense_weights']:,}, stored {counts['weights']:,}")
print(f"sparsity over actor + critics: {sparsity:.1%} (library: {stats['topology/sparsity']:.1%})")
print(f"biases (dense, not counted): {counts['biases']:,}")
assert counts["dense_weights"] == 214_784
assert round(sparsity, 2) == 0.51

# %% [markdown]
# Only the first two layers of each network are sparse; the output layers are `DenseLinear`, and
# every bias is a dense vector. The target networks are deep copies, so they start with the same
# topology and the same count:

# %%
for name, net in agent.all_networks().items():
    kinds = ", ".join(type(layer).__name__ for layer in net.layers)
    print(f"{name:15s} {kinds:40s} weights {count_parameters(net.layers)['weights']:,}")
    assert isinstance(net.layers[-1], DenseLinear)

# %% [markdown]
# ## A topology update inside RL
#
# Inside `TD3.update`, the rewiring fires when the iteration counter (the number of updates so
# far, starting at 1) satisfies `iteration % rewire_every == 2`, with `rewire_every = 1000`: on
# iterations 2, 1002, 2002, and so on (`Agent.rewires_at`; for a `rewire_every` of 1 or 2 the
# remainder is `2 % rewire_every`, that is 0). The odd-looking 2 is simply the paper's code. The
# actor trains only on even iterations (`policy_delay = 2`), and with an even `rewire_every`, as
# 1000 is, every rewiring iteration `k * rewire_every + 2` is even, so all three networks are
# rewired on the same iteration. Any even remainder would do that (0 as well, rewiring at 1000,
# 2000, ...); 2 puts the first rewiring right after the first actor step. With an odd
# `rewire_every`, every other rewiring would fall on an odd iteration, and only the critics would
# be rewired there. The order within a rewiring iteration is:
#
# 1. TD target, critic loss, **critic Adam step**, then **prune and regrow both critics**;
# 2. actor loss through (the freshly rewired) critic 1, **actor Adam step**, then **prune and
#    regrow the actor**;
# 3. Polyak update of the three targets.
#
# So each network is rewired right after its own optimizer step. The drop fraction is
# `zeta = 0.05` (the paper's Section 5), pruned per sign (chapter 5), and as many connections are
# regrown at random with weight 0 and zero Adam moments.
#
# To watch it we need data in a replay buffer. Random actions on HalfCheetah will do: we are not
# trying to learn anything here. In quick mode we rewire every 100 iterations instead of 1,000,
# so that the run stays short; either way it lasts `2 * rewire_every` iterations and a bit more,
# so three topology updates fire (at iterations 2, `rewire_every + 2` and `2 * rewire_every + 2`).

# %%
rewire_every = 100 if QUICK else 1000
n_iterations = 2 * rewire_every + (60 if QUICK else 600)

agent = build_agent(
    TrainConfig(algo="ds-td3", env="HalfCheetah-v5", rewire_every=rewire_every),
    obs_dim,
    act_dim,
    max_action,
    rng,
)
buffer = ReplayBuffer(obs_dim, act_dim, capacity=2000)
obs, _ = env.reset(seed=seed)
for _ in range(buffer.capacity):
    action = rng.uniform(-max_action, max_action)
    next_obs, reward, terminated, truncated, _ = env.step(action)
    buffer.add(obs, action, reward, next_obs, terminated)
    obs = next_obs if not (terminated or truncated) else env.reset()[0]
print(f"{len(buffer)} random transitions; rewiring at iteration % {rewire_every} == 2")

# %% [markdown]
# We record, for every sparse layer, its connection count after every iteration, for the online
# network and its target, and how much of the online topology the target holds (more on that in
# the next section). The layers are addressed as `(network, index)`.

# %%
sparse_layers = {
    f"{name} L{i + 1}": (name, i)
    for name, (net, _) in agent.online_networks().items()
    for i, layer in enumerate(net.layers)
    if isinstance(layer, SparseLinear)
}
target_of = {"actor": "actor_target", "critic1": "critic1_target", "critic2": "critic2_target"}
initial_nnz = {
    key: agent.online_networks()[name][0].layers[i].nnz for key, (name, i) in sparse_layers.items()
}


def online_and_target(td3, name, i):
    networks = td3.all_networks()
    return networks[name].layers[i], networks[target_of[name]].layers[i]


def fraction_in_target(td3, name, i):
    """Fraction of the online layer's connections that its target also holds."""
    online, target = online_and_target(td3, name, i)
    return float(np.isin(online.positions(), target.positions(), assume_unique=True).mean())


print(initial_nnz)

# %% [markdown]
# Now the training iterations. After each one we assert the invariant that makes the whole method
# honest: every sparse layer, online and target, still holds exactly its initial number of
# connections. On a rewiring iteration we also look at the new connections: they should still be
# **exactly zero** when `update` returns (no optimizer step came after the rewiring) and so should
# their Adam moments.

# %%
rewired_at = []
overlap = {key: [] for key in sparse_layers}
for _ in range(n_iterations):
    metrics = agent.update(buffer.sample(100, rng))
    for key, (name, i) in sparse_layers.items():
        online, target = online_and_target(agent, name, i)
        assert online.nnz == target.nnz == initial_nnz[key]
        overlap[key].append(fraction_in_target(agent, name, i))
    if "topology/drop_fraction" not in metrics:
        continue
    rewired_at.append(agent.iteration)
    fraction = metrics["topology/drop_fraction"]
    print(f"iteration {agent.iteration}: topology update, drop fraction {fraction}")
    for key, (name, i) in sparse_layers.items():
        net, optimizer = agent.online_networks()[name]
        layer = net.layers[i]
        grown = int(metrics[f"topology/{name}_l{i + 1}_pruned"])
        zero = layer.weight.data == 0
        first_moment = optimizer.m[optimizer.layers.index(layer)][0]
        print(
            f"  {key:11s} pruned and regrown {grown:5d} of {layer.nnz:6d}; "
            f"exact zeros now {int(zero.sum()):5d}; their Adam moments all zero: "
            f"{bool(np.all(first_moment[zero] == 0))}"
        )
        assert zero.sum() == grown
        assert np.all(first_moment[zero] == 0)
print("iterations with a topology update:", rewired_at)
assert rewired_at == [i for i in range(1, n_iterations + 1) if i % rewire_every == 2]
assert rewired_at == [2, rewire_every + 2, 2 * rewire_every + 2]  # three updates

# %% [markdown]
# The rewiring fired exactly on the iterations `iteration % rewire_every == 2`, and each layer's
# count of exact zeros equals the number of connections it regrew: the newcomers start at 0, and
# the printout confirms they also start with zero Adam moments. The count of each layer, checked
# after every single iteration, never changed.
#
# ## Sparse target networks: Polyak on the union, then top-k
#
# A target layer follows its online layer by Polyak averaging,
# `theta' <- tau * theta + (1 - tau) * theta'`. With sparse layers the two topologies differ as
# soon as the online one is rewired: the online layer has new connections the target lacks, and
# the target still holds connections the online layer just pruned. Averaging over the **union** of
# the two patterns would leave more than `k = online.nnz` entries, and after a few rewirings the
# target would be dense. The paper "maintains sparsity": after averaging on the union, the target
# keeps its `k` entries of largest magnitude (`minidst.target.soft_update` with `rule="topk"`).
#
# Consequence: the target's topology **lags** the online one, and for longer than one might
# guess. A new online connection enters the union with the value `tau * theta`, tiny. If that does
# not make the cut, the target keeps nothing for it, so at the next Polyak step it starts again from
# `tau * theta`: it cannot build up its average until it is in. It gets in only once `tau * theta`
# alone beats the weakest entry the target keeps. The weakest are usually the **leftovers**, the
# connections the online layer pruned: nothing pulls their target values any more, so they decay
# by a factor `(1 - tau)` per Polyak step. The catch-up time is how long the leftovers take to
# decay below `tau * |theta|`. (The paper's code behaves the same way: it sets the dropped target
# entries to zero.)
#
# We measure it twice. During the training iterations above we recorded, for each sparse layer,
# the fraction of the online layer's connections that its target holds. And after the last
# iteration we freeze the online networks and apply only Polyak steps (`soft_update`, top-k rule)
# to copies of the targets: that isolates the catch-up time of the rule itself.

# %%
polyak_steps = 500 if QUICK else 4000
record_every = 10
frozen_overlap = {key: [] for key in sparse_layers}
for key, (name, i) in sparse_layers.items():
    online, target = online_and_target(agent, name, i)
    target = copy.deepcopy(target)  # leave the agent's own target as it is
    online_positions = online.positions()
    for step in range(polyak_steps + 1):
        if step % record_every == 0:
            held = np.isin(online_positions, target.positions(), assume_unique=True).mean()
            frozen_overlap[key].append(float(held))
        soft_update(target, online, agent.config.tau, rule="topk")
        assert target.nnz == online.nnz

# %%
fig, (ax_train, ax_frozen) = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
iterations = np.arange(1, n_iterations + 1)
for key, fractions in overlap.items():
    ax_train.plot(iterations, fractions, label=key)
for i, iteration in enumerate(rewired_at):
    ax_train.axvline(iteration, color="gray", ls=":", label="topology update" if i == 0 else None)
ax_train.set_xlabel("training iteration")
ax_train.set_ylabel("online connections held by the target")
ax_train.set_title("During training")
ax_train.legend(fontsize=8, ncol=2)
steps_recorded = np.arange(0, polyak_steps + 1, record_every)
for key, fractions in frozen_overlap.items():
    ax_frozen.plot(steps_recorded, fractions, label=key)
ax_frozen.set_xlabel("Polyak steps after the last training iteration")
ax_frozen.set_title("Online networks frozen, Polyak steps only")
for ax in (ax_train, ax_frozen):
    ax.grid(alpha=0.3)
fig.suptitle(f"Sparse targets lag the online topology (tau = {agent.config.tau}, top-k rule)")
fig.tight_layout()
path = OUT / "08_target_lag.png"
finish_figure(fig, path)
print("saved", path)

# %% [markdown]
# The same numbers in two tables: the fraction held at a few distances from the last topology
# update during training, and how many Polyak steps the frozen copy needed to hold 99% of the
# online connections.

# %%
last = rewired_at[-1]
distances = [d for d in (0, 10, 50, 100, 200, 400, 600) if last + d <= n_iterations]
print("during training, iterations after the last topology update:")
print(f"{'layer':<13}" + "".join(f"{f'+{d}':>9}" for d in distances))
for key, fractions in overlap.items():
    print(f"{key:<13}" + "".join(f"{fractions[last + d - 1]:>9.3f}" for d in distances))

polyak_between_updates = rewire_every // agent.config.policy_delay
print(f"\nPolyak steps between two topology updates: {polyak_between_updates}")
print("online frozen, Polyak steps until the target holds 99% of the online connections:")
for key, fractions in frozen_overlap.items():
    reached = np.flatnonzero(np.array(fractions) >= 0.99)
    steps = f"{steps_recorded[reached[0]]}" if len(reached) else f"more than {polyak_steps}"
    print(f"  {key:<13}{steps:>20}   (holds {fractions[0]:.3f} at the start)")

# %% [markdown]
# Read the two together. The frozen copies show the top-k rule's catch-up time. If it is longer
# than the number of Polyak steps between two topology updates (printed above), then a target
# cannot catch up before the online layer is rewired again: during training the gap left by one
# update is still partly open at the next, and the gaps add up, as the left panel shows. The
# target then runs on a topology that differs from the online one by a few percent or more of its
# connections (the tables above give the fraction for this run). The
# connections involved are the weakest on both sides, yet how much the gap moves the TD target
# is a question to measure, not to assume (exercise 6); it is worth knowing when you read "the
# target follows the online network". And a connection whose online weight stays at or very near
# 0 (an input that is never active, say) may not get in at all: `tau * theta` is then too small to
# beat anything.
#
# The alternative rule `"copy"` (RLx2, Tan et al. 2023) gives the target the online topology at
# once, starting new entries at `tau * theta`. Either way the target keeps exactly `k` entries.
#
# ## FLOPs: what the sparsity buys
#
# The paper counts FLOPs as RigL does (chapter 1): a forward pass costs 2 FLOPs per stored weight
# per sample, and a training step (forward, input gradient, weight gradient) 3 times that. Biases
# and activations are not counted, and neither are the target networks. For one TD3 iteration on a
# batch of `B` samples this gives
#
# `B * (2 critics x 3 x forward(critic) + 3 x forward(actor) / policy_delay)`,
#
# the actor term halved because the actor trains every second iteration.
#
# `TD3.flops_per_iteration` counts more of what an iteration actually does: it adds the target
# networks' forward passes (target actor and both target critics, every iteration) and the pass
# through critic 1 inside the actor loss (forward and input gradient). We compute both, for dense
# TD3 and DS-TD3.


# %%
batch_size = ds_config.batch_size
dense_agent = build_agent(
    TrainConfig(algo="td3", env="HalfCheetah-v5"), obs_dim, act_dim, max_action, rng
)
ds_agent = build_agent(ds_config, obs_dim, act_dim, max_action, rng)
print(f"per training iteration, batch {batch_size}:")
print(f"{'':24s}{'dense TD3':>12}{'DS-TD3':>12}{'ratio':>8}")
for label, method in [
    ("paper's convention", "paper_flops_per_iteration"),
    ("TD3.flops_per_iteration", "flops_per_iteration"),
]:
    dense = getattr(dense_agent, method)(batch_size)
    sparse = getattr(ds_agent, method)(batch_size)
    print(f"{label:24s}{dense:>12.3e}{sparse:>12.3e}{sparse / dense:>8.3f}")
    assert 0.45 < sparse / dense < 0.55

# %% [markdown]
# Both conventions give DS-TD3 about half the cost of dense TD3, in line with the paper's 0.49x
# (Section 5):
# the FLOP ratio follows the weight ratio, because both count stored weights. The topology updates
# themselves are not in either count; they happen once per 1,000 iterations and cost about a sort
# of each layer's connections, which is negligible next to 1,000 training iterations.
#
# ### Where the paper's 1.07e14 comes from
#
# The paper reports 1.07e14 FLOPs for training dense TD3 on HalfCheetah (Section 5). A run has 1M
# environment steps (the paper's Table 2 scores agents at 1M), one training iteration per step
# after the 25,000 random start steps, so about 975k iterations. Multiply by the per-iteration
# count above:

# %%
start_steps, total_steps = ds_config.start_steps, ds_config.steps
dense_per_iteration = dense_agent.paper_flops_per_iteration(batch_size)
for label, iterations_counted in [
    (
        f"{total_steps - start_steps:,} iterations (after the start steps)",
        total_steps - start_steps,
    ),
    (f"{total_steps:,} iterations (one per environment step)", total_steps),
]:
    print(f"dense TD3, {label}: {dense_per_iteration * iterations_counted:.3e} FLOPs")
ds_per_iteration = ds_agent.paper_flops_per_iteration(batch_size)
print(f"DS-TD3, {total_steps:,} iterations: {ds_per_iteration * total_steps:.3e} FLOPs")
assert f"{dense_per_iteration * total_steps:.2e}" == "1.07e+14"

# %% [markdown]
# The count is the paper's figure to within a few percent either way. It lands exactly on 1.07e14
# when one iteration is counted for every one of the 1M environment steps (the assert checks
# this), so the paper most likely counted that way, start steps included; the 975k iterations
# actually trained come out slightly lower. DS-TD3's count is about half of it, and it is exact:
# a topology update never changes the number of connections, so the cost per iteration is the
# same for the whole run.

# %% [markdown]
# ## Summary
#
# * DS-TD3 is TD3 with sparse actor and critics: the first two weight layers Erdős–Rényi sparse
#   (HalfCheetah: `lambda_1 = 7`, `lambda_2 = 64`, densities 0.439, 0.332 and 0.5), output layers
#   and biases dense, 51% sparsity over actor + critics weights (the paper's Section 5).
# * `build_agent` makes all three of the paper's agents from a `TrainConfig`; they differ only in
#   the densities and in the rewiring schedule.
# * Rewiring fires at `iteration % 1000 == 2`, an actor iteration, and each network is pruned and
#   regrown right after its own Adam step. New connections start at weight 0 with zero moments,
#   and every layer's count stays exactly the same.
# * Sparse targets: Polyak averaging on the union of the two topologies, then keep the `k` largest
#   magnitudes. A new online connection enters the target only once `tau * theta` alone beats the
#   weakest target entry, so the target's topology lags the online one; compare its catch-up time
#   with the interval between topology updates to see whether it ever fully catches up. The
#   connection count of every target stays exactly `k`.
# * FLOPs, the paper's way: `B * (2 x 3 x forward(critic) + 3 x forward(actor) / 2)` per iteration,
#   targets not counted. Over 1M iterations that is the paper's 1.07e14 (Section 5) for dense TD3
#   on HalfCheetah, and about half for DS-TD3.

# %% [markdown]
# ## Exercises
#
# 1. Build the agents for Humanoid-v5 (`paper_lambdas` gives the paper's `lambda_1 = 61`, from
#    its experimental settings in Section 5). Print the density table. Which layers are densest,
#    and what is the overall sparsity (a fraction)? Why did the paper choose a much larger
#    `lambda_1` for Humanoid than for HalfCheetah?
# 2. Change `target_rule` to `"copy"` in the `TrainConfig` and redraw the lag figure. What does
#    the target do with a connection the online layer just pruned?
# 3. Move the rewiring *before* the optimizer step (edit a copy of `TD3.update`). How many of the
#    new connections are still exactly zero when `update` returns? Why does that matter for the
#    next topology update, given that the per-sign rule prunes exact zeros first?
# 4. With the paper's `rewire_every = 1000` and `tau = 0.005` (its settings, Section 5), estimate
#    from the lag curves how many iterations a target needs to hold 99% of the online connections.
#    Repeat with `tau = 0.02`.
#    What would go wrong if `rewire_every` were shorter than that?
# 5. `TD3.flops_per_iteration` counts the target networks (and the pass through critic 1 in the
#    actor loss); the paper does not. Over a 1M-step run, by what factor does counting them raise
#    the dense TD3 total? Give the DS-TD3 / TD3 ratio under both counts (to 3 decimals): does it
#    change?
# 6. Measure what the lag costs the TD target: after a topology update, compute the targets `y`
#    of one batch with the agent's lagging targets, and again with copies brought onto the online
#    topology by `soft_update(..., rule="copy")`. How large is the difference, relative to the
#    spread of `y`, and how does it shrink over the next few hundred Polyak steps?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(8)
# For example: exercises.chapter8_exercise5(your_factor, (paper_ratio, library_ratio))
