# %% [markdown]
# # Chapter 14: DS-SAC
#
# The DS-TD3 paper's appendix repeats its experiment with SAC (chapter 13) and calls the dynamic
# sparse version **DS-SAC**. It is built from the same four parts as DS-TD3 (chapter 8): an
# Erdős–Rényi sparse initialisation, a topology update every 1,000 iterations, SET's prune and
# random regrowth, and target networks kept as sparse as their online networks. Nothing in the SAC
# update of chapter 13 changes.
#
# What is new is in the details: the appendix's own settings and Erdős–Rényi lambdas, and a
# **hard** target update, which with sparse networks behaves quite differently from chapter 8's
# Polyak-and-top-k targets. This chapter looks at DS-SAC's settings and at its densities,
# parameters and FLOPs at HalfCheetah sizes; watches it rewire with the hard target update,
# checking every count; and last runs dense SAC against DS-SAC on Pendulum-v1.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import sys
import time
from pathlib import Path

import numpy as np

from minidst import count_parameters, rundir, warmup
from minidst.config import TrainConfig
from minidst.envs import paper_lambdas
from minidst.factory import build_agent
from minidst.flops import layer_table
from minidst.layers import SparseLinear
from minidst.plot import plot_runs, read_run
from minidst.replay import ReplayBuffer
from minidst.sparsity import erdos_renyi_density
from minidst.train import Trainer

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
RUNS = OUT / "runs"  # one directory per training run; created by Trainer.start
warmup()  # compile (or load) the Numba kernels now, not inside the first update

seed = 0
rng = np.random.default_rng(seed)

# %% [markdown]
# ## The appendix's settings
#
# DS-SAC's settings differ from DS-TD3's in a few places:
#
# * SAC `256-256`, learning rate `3e-4`, batch 256, no weight decay, `alpha = 0.2` fixed;
# * drop fraction `zeta = 0.1` instead of 0.05;
# * its own Erdős–Rényi lambdas per environment (below);
# * a **hard** target update every 1,000 steps. minidst's default is SAC's usual Polyak averaging
#   with `tau = 0.005`; `target_update_every=1000` (`--target-update-every 1000`) gives the
#   appendix's choice.
#
# `TrainConfig` fills in the SAC family's defaults when `algo` ends in `sac`:

# %%
ds_config = TrainConfig(algo="ds-sac", env="HalfCheetah-v5").validate()
for name in ("hidden", "lr", "batch_size", "weight_decay", "alpha", "entropy", "tau"):
    print(f"{name:20s} {getattr(ds_config, name)}")
for name in ("target_update_every", "rewire_every", "drop_fraction", "target_rule"):
    print(f"{name:20s} {getattr(ds_config, name)}")
print("\nErdős–Rényi lambdas (first layer, hidden layer):")
for task in ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5"):
    print(f"  {task:15s} DS-SAC {paper_lambdas(task, 'sac')}   DS-TD3 {paper_lambdas(task)}")

# %% [markdown]
# ## Densities, parameters and FLOPs at HalfCheetah sizes
#
# HalfCheetah has 17 observations and 6 actions, all in `[-1, 1]`. We only need those sizes to
# build the agents, not the simulator. Note the actor's output layer: it has `2 * 6 = 12` rows (a
# mean and a raw log-std per action), and, as in DS-TD3, output layers and biases stay dense.

# %%
cheetah_obs, cheetah_act, cheetah_max = 17, 6, np.ones(6)
cheetah_agents = {
    algo: build_agent(
        TrainConfig(algo=algo, env="HalfCheetah-v5"), cheetah_obs, cheetah_act, cheetah_max, rng
    )
    for algo in ("sac", "static-sac", "ds-sac")
}


print(layer_table(cheetah_agents["ds-sac"].named_layers()))

# %% [markdown]
# The stored densities follow the Erdős–Rényi formula `lambda * (n_in + n_out) / (n_in * n_out)`
# with the appendix's HalfCheetah lambdas, to within one connection:

# %%
lambda_1, lambda_2 = paper_lambdas("HalfCheetah-v5", "sac")
expected_density = {
    "actor_l1": erdos_renyi_density(cheetah_obs, 256, lambda_1),
    "critic1_l1": erdos_renyi_density(cheetah_obs + cheetah_act, 256, lambda_1),
    "actor_l2": erdos_renyi_density(256, 256, lambda_2),
    "critic1_l2": erdos_renyi_density(256, 256, lambda_2),
}
ds_stats = cheetah_agents["ds-sac"].layer_stats()
layer_sizes = {
    "actor_l1": 17 * 256,
    "critic1_l1": 23 * 256,
    "actor_l2": 256**2,
    "critic1_l2": 256**2,
}
for layer_name, formula in expected_density.items():
    stored = ds_stats[f"topology/{layer_name}_density"]
    print(f"{layer_name:11s} formula {formula:.4f}  stored {stored:.4f}")
    assert abs(stored - formula) <= 1 / layer_sizes[layer_name]

# %% [markdown]
# And the totals for the three agents, next to DS-TD3 at the same sizes (chapter 8). Weights are
# counted over actor and both critics (biases and targets not counted), as the paper does; FLOPs
# per training iteration are `SAC.flops_per_iteration` at batch 256, which counts every pass an
# iteration makes (chapter 13).

# %%
batch_256 = ds_config.batch_size
dense_flops = cheetah_agents["sac"].flops_per_iteration(batch_256)
sparsity = {}
print(f"{'algo':<12}{'weights':>10}{'dense':>10}{'sparsity':>10}{'FLOPs/iter':>12}{'vs sac':>8}")
for algo, sac_agent in cheetah_agents.items():
    counts = count_parameters(layer for _, layer in sac_agent.named_layers())
    flops = sac_agent.flops_per_iteration(batch_256)
    print(
        f"{algo:<12}{counts['weights']:>10,}{counts['dense_weights']:>10,}"
        f"{1 - counts['weights'] / counts['dense_weights']:>10.1%}{flops:>12.3e}"
        f"{flops / dense_flops:>8.2f}"
    )
    sparsity[algo] = 1 - counts["weights"] / counts["dense_weights"]
ds_td3 = build_agent(
    TrainConfig(algo="ds-td3", env="HalfCheetah-v5"), cheetah_obs, cheetah_act, cheetah_max, rng
)
td3_counts = count_parameters(layer for _, layer in ds_td3.named_layers())
sparsity["ds-td3"] = 1 - td3_counts["weights"] / td3_counts["dense_weights"]
print(f"{'ds-td3':<12}{td3_counts['weights']:>10,}{td3_counts['dense_weights']:>10,}")
print(f"{'':<12}{sparsity['ds-td3']:>30.1%}  (chapter 8)")
assert all(
    sac_lambda > td3_lambda
    for sac_lambda, td3_lambda in zip(
        paper_lambdas("HalfCheetah-v5", "sac"), paper_lambdas("HalfCheetah-v5")
    )
)
assert sparsity["static-sac"] == sparsity["ds-sac"] < sparsity["ds-td3"]

# %% [markdown]
# The appendix's lambdas for HalfCheetah (12 and 80) are larger than DS-TD3's (7 and 64), so the
# layers are denser and the saving is smaller than DS-TD3's (asserted): read it off the
# `sparsity` and `vs sac` columns. The FLOP ratio is close to the weight ratio, because every pass
# costs 2 FLOPs per stored weight; the two differ a little because actor and critics do not run
# the same number of passes per iteration, so their layers weigh differently in the FLOP count.
#
# ## Rewiring with exact counts, and the hard target update
#
# Now we watch DS-SAC rewire, with the appendix's hard target update. As in DS-TD3, the topology
# update fires on iterations where `iteration % rewire_every == 2`, so the first one comes on
# iteration 2. SAC has no policy delay, so the 2 has no special meaning here; it keeps the two
# agents on the same schedule. The critics are rewired right after the critic Adam step, the actor
# right after the actor Adam step, and the target critics (SAC has no target actor) are hard copies
# of the online critics, taken every `target_update_every` iterations.
#
# The agent trains on random transitions at HalfCheetah sizes, without the simulator: the
# mechanics do not need meaningful data. In full mode the interval is the appendix's 1,000
# iterations, both for the topology and for the hard copy; quick mode shrinks it to 10. After every
# iteration we assert that every sparse layer, online and target, still holds exactly its initial
# number of connections, and we record how much of the online critics' topology their targets hold.

# %%
interval = 10 if QUICK else 1000
n_iterations = interval + 5  # rewirings at 2 and interval + 2, a hard copy at interval
hard_config = TrainConfig(
    algo="ds-sac", env="HalfCheetah-v5", rewire_every=interval, target_update_every=interval
)
ds_agent = build_agent(hard_config, cheetah_obs, cheetah_act, cheetah_max, rng)
random_buffer = ReplayBuffer(cheetah_obs, cheetah_act, capacity=5000)
for _ in range(random_buffer.capacity):
    random_buffer.add(
        rng.normal(size=cheetah_obs),
        rng.uniform(-1, 1, cheetah_act),
        rng.normal(),
        rng.normal(size=cheetah_obs),
        False,
    )

sparse_layers = {
    f"{name} L{i + 1}": (name, i)
    for name, (net, _) in ds_agent.online_networks().items()
    for i, layer in enumerate(net.layers)
    if isinstance(layer, SparseLinear)
}
initial_nnz = {
    key: ds_agent.online_networks()[name][0].layers[i].nnz
    for key, (name, i) in sparse_layers.items()
}
print(initial_nnz)


def held_by_target(sac, critic_index, layer_index):
    """Fraction of an online critic layer's connections that its target also holds."""
    online = sac.critics[critic_index].layers[layer_index]
    target = sac.critic_targets[critic_index].layers[layer_index]
    return float(np.isin(online.positions(), target.positions(), assume_unique=True).mean())


def same_layer(a, b):
    """True if two layers hold the same topology (if sparse) and the same values."""
    return all(
        np.array_equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values())
    )


# %% [markdown]
# The training iterations. On a rewiring iteration we also check that the newcomers are still
# exactly zero when `update` returns (no optimizer step came after their network's rewiring), as
# in chapter 8.

# %%
rewired_at, hard_copies_at, held = [], [], []
start_time = time.perf_counter()
for _ in range(n_iterations):
    metrics = ds_agent.update(random_buffer.sample(hard_config.batch_size, rng))
    for key, (name, i) in sparse_layers.items():
        assert ds_agent.online_networks()[name][0].layers[i].nnz == initial_nnz[key]
    for critic, target in zip(ds_agent.critics, ds_agent.critic_targets):
        for online_layer, target_layer in zip(critic.layers, target.layers):
            assert online_layer.nnz == target_layer.nnz
    held.append(held_by_target(ds_agent, 0, 1))  # critic 1, hidden layer
    if ds_agent.iteration % interval == 0:
        hard_copies_at.append(ds_agent.iteration)
        assert all(
            same_layer(online, target)
            for critic, target_net in zip(ds_agent.critics, ds_agent.critic_targets)
            for online, target in zip(critic.layers, target_net.layers)
        )
    if "topology/drop_fraction" in metrics:
        rewired_at.append(ds_agent.iteration)
        print(f"iteration {ds_agent.iteration}: drop fraction {metrics['topology/drop_fraction']}")
        for key, (name, i) in sparse_layers.items():
            layer = ds_agent.online_networks()[name][0].layers[i]
            regrown = int(metrics[f"topology/{name}_l{i + 1}_pruned"])
            print(f"  {key:11s} pruned and regrown {regrown:6d} of {layer.nnz:6d}")
            assert np.sum(layer.weight.data == 0) == regrown
print(f"{n_iterations} iterations in {time.perf_counter() - start_time:.1f} s")
print("topology updates at iterations", rewired_at, "| hard target copies at", hard_copies_at)
assert rewired_at == [2, interval + 2] and hard_copies_at == [interval]

# %% [markdown]
# Every count stayed exactly the same through both rewirings, and the number of exact zeros in each
# layer equals what it regrew. With a hard update the target's topology behaves quite differently
# from chapter 8's Polyak-and-top-k target. It does not follow the online network gradually: it
# stays frozen, holding the connections the online critic pruned, until the next copy makes it
# identical (topology and values, asserted above), and the following rewiring opens the gap again:

# %%
print(f"{'iteration':>10}{'online connections held by target (critic1 L2)':>50}")
for iteration in sorted(
    {1, 2, 3, interval - 1, interval, interval + 1, interval + 2, n_iterations}
):
    print(f"{iteration:>10}{held[iteration - 1]:>50.4f}")
assert held[interval - 1] == 1.0 and held[interval + 1] < 1.0
assert min(held) >= 1 - hard_config.drop_fraction

# %% [markdown]
# After a rewiring the target misses the online layer's newcomers: up to the drop fraction
# `zeta = 0.1` of its connections, a little less in practice, because random regrowth may pick a
# position that was just pruned, and the target still holds those. Between copies the target
# network is simply the online critic as it was at the last copy, which is the point of a hard
# update, and with sparse layers it needs no rule for mixing two topologies at all.

# %% [markdown]
# ## Dense SAC against DS-SAC on Pendulum
#
# A short run of both agents through `TrainConfig` and `Trainer`, as in chapters 9 and 13. In full
# mode each runs 5,000 steps on Pendulum-v1: 1,000 random start steps, then one update per step,
# with an evaluation of 5 deterministic episodes every 1,000 steps. Everything else is the
# appendix's SAC setting, with minidst's default Polyak target update. The paper did not run
# Pendulum, so DS-SAC gets minidst's default lambdas for an unknown environment (`paper_lambdas`
# returns them). With only 3 observations, the first layers then have a formula density above 1
# and are built dense, and only the 256 x 256 hidden layers are sparse; the table after the runs
# shows the resulting counts.
#
# Quick mode shrinks the runs to a few hundred steps with one-episode evaluations and hidden layers
# of 32; at that width the Erdős–Rényi formula would make every layer dense, so DS-SAC gets 70%
# sparsity with ERK densities (`sparsity=0.7`) and rewires every 100 iterations. Quick mode checks
# that everything runs; it is far too short to learn the task.

# %%
env_id = "Pendulum-v1"
if QUICK:
    schedule = dict(steps=300, start_steps=50, eval_every=100, eval_episodes=1, log_every=100)
    network = dict(hidden=(32, 32))
    sparse_only = dict(sparsity=0.7, rewire_every=100)
else:
    schedule = dict(steps=5_000, start_steps=1_000, eval_every=1_000, eval_episodes=5)
    network = {}
    sparse_only = {}
configs = {
    "sac": TrainConfig(algo="sac", env=env_id, seed=seed, **schedule, **network),
    "ds-sac": TrainConfig(
        algo="ds-sac", env=env_id, seed=seed, **schedule, **network, **sparse_only
    ),
}

print(f"Erdős–Rényi lambdas for {env_id}: {paper_lambdas(env_id, 'sac')}")

run_dirs, trainers, seconds = {}, {}, {}
for algo, run_config in configs.items():
    run_dirs[algo] = RUNS / f"{env_id}_{algo}_seed{seed}"
    print(f"--- {algo} -> {run_dirs[algo]}")
    trainers[algo] = Trainer.start(run_config, run_dirs[algo], overwrite=True, out=sys.stdout)
    start_time = time.perf_counter()
    status = trainers[algo].run()
    seconds[algo] = time.perf_counter() - start_time
    print(f"{status} in {seconds[algo]:.0f} s")
    assert status == "done"

# %%
path = plot_runs(list(run_dirs.values()), OUT / "14_pendulum_sac_vs_ds_sac.png")
print("saved", path)
for algo, run_dir in run_dirs.items():
    run = read_run(run_dir)
    print(f"{algo:7s} evaluation returns {np.round(run['returns'], 1).tolist()}")
    gain = run["returns"][-1] - run["returns"][0]
    print(f"{'':7s} last evaluation {run['returns'][-1]:.1f}, {gain:.0f} above the first")
    if not QUICK:
        assert gain > 500

# %% [markdown]
# For scale (chapter 7): random torques score roughly -1000 to -1500 on Pendulum and a good
# swing-up policy about -150. In full mode both agents' last evaluations are far above their first
# (asserted: by more than 500, as in chapter 13). A run this short, with one seed, is a check that
# both agents learn at all, not a comparison of the two: as chapter 9 showed, seeds of one
# algorithm can differ more than the paper's algorithms do.
#
# What the runs do show exactly is the cost: the weights of the online networks and the FLOPs per
# iteration, read from the trained agents, and the speed from the last row of each run's
# `progress.csv`. In full mode DS-SAC's first layers are dense (asserted), as explained above, so
# only the hidden layers save anything here.


# %%
print(f"{'algo':<8}{'weights':>9}{'sparsity':>10}{'FLOPs/iter':>12}{'vs sac':>8}{'steps/s':>9}")
sac_flops = trainers["sac"].agent.flops_per_iteration(configs["sac"].batch_size)
cost = {}
for algo, trainer in trainers.items():
    counts = count_parameters(layer for _, layer in trainer.agent.named_layers())
    flops = trainer.agent.flops_per_iteration(configs[algo].batch_size)
    rate = float(rundir.last_progress_row(run_dirs[algo])["time/steps_per_s"])
    print(
        f"{algo:<8}{counts['weights']:>9,}{1 - counts['weights'] / counts['dense_weights']:>10.1%}"
        f"{flops:>12.3e}{flops / sac_flops:>8.2f}{rate:>9.0f}"
    )
    cost[algo] = (counts["weights"], flops)
assert cost["ds-sac"][0] < cost["sac"][0] and cost["ds-sac"][1] < cost["sac"][1]
first_layer_density = {
    key: value
    for key, value in trainers["ds-sac"].agent.layer_stats().items()
    if key.endswith("_l1_density")
}
print("DS-SAC first-layer densities:", first_layer_density)
if not QUICK:  # the default lambdas at Pendulum's 3 observations (quick mode sets a sparsity)
    assert all(density == 1.0 for density in first_layer_density.values())

# %% [markdown]
# ## The real experiment, from the command line
#
# The appendix trains SAC and DS-SAC for 1M steps on each of the five MuJoCo tasks. With
# `minidst train` the SAC family's defaults are the appendix's, except the target update, which
# defaults to Polyak averaging; add `--target-update-every 1000` for the appendix's hard copy:
#
# ```bash
# for seed in 0 1 2 3 4; do
#   for algo in sac static-sac ds-sac; do
#     minidst train --algo $algo --env HalfCheetah-v5 --seed $seed \
#       --target-update-every 1000 --run-dir runs/HalfCheetah-v5_${algo}_seed${seed}
#   done
# done
# minidst plot runs/HalfCheetah-v5_*sac* --out sac_curves.png
# ```
#
# The paper reports, for HalfCheetah, final returns of 11645 for SAC and 11084 for DS-SAC; on
# Walker2d, Hopper, Ant and Humanoid DS-SAC comes out ahead of SAC. Chapter 9's lesson applies to
# these numbers too: with 5 seeds, gaps of a few percent need their intervals before they mean
# anything. Everything else from chapter 9 still applies: `--resume` continues a stopped run
# exactly, `minidst evaluate` scores a saved policy, and the progress line's steps/s and ETA tell
# you how long a run will take on your machine.
#
# To learn the temperature instead of fixing it, add `--entropy learned` (optionally with
# `--target-entropy`); to try DS-SAC at a chosen sparsity with ERK densities, `--sparsity 0.8`.


# %% [markdown]
# ## Summary
#
# * DS-SAC is SAC (chapter 13) with DS-TD3's four additions (chapter 8): an Erdős–Rényi sparse
#   start, a topology update every 1,000 iterations (SET's prune and random regrowth, here with
#   `zeta = 0.1`), sparse target networks, and FLOP accounting. The SAC update is unchanged.
# * The appendix gives DS-SAC its own lambdas per environment. At HalfCheetah sizes they are larger
#   than DS-TD3's, so the layers are denser and it saves less; the printed table gives the counts.
# * Every count stays exact through rewiring. With the appendix's hard target update, a target is
#   frozen between copies, misses up to `zeta` of its online critic's newest connections after a
#   rewiring, and becomes identical to the online critic (topology and values) at every copy.
# * On Pendulum, both agents learn with one seed in a few thousand updates; what such a short run
#   measures exactly is the cost in weights and FLOPs, not which agent is better.

# %% [markdown]
# ## Exercises
#
# 1. Run DS-SAC on HalfCheetah for 100,000 steps with `--target-update-every 1` (Polyak and top-k,
#    chapter 8) and with `--target-update-every 1000` (the appendix). Compare the curves and the
#    critic loss right after each topology update.
# 2. `SAC.flops_per_iteration` counts the target critics and the extra critic passes inside the
#    actor loss. Write the paper's convention for SAC (one training pass, 3x a forward pass, of
#    the actor and of both critics per iteration, and nothing else) and compare the DS-SAC / SAC
#    ratio at HalfCheetah sizes under both counts, to 3 decimals.
# 3. In the rewiring section, record `held_by_target` for every iteration over three rewiring
#    intervals with the Polyak-and-top-k target (`target_update_every=1`) instead of the hard copy.
#    How does the target's topology follow the online critic's now?
# 4. Run Static-SAC next to SAC and DS-SAC on Pendulum with 3 seeds each (`minidst sweep`) and read
#    `minidst report`. Do the intervals let you order the three?
# 5. Give DS-SAC on Pendulum 90% sparsity with ERK densities (`--sparsity 0.9`). Which layers
#    does ERK make sparse (`layer_stats()`)? Does it still learn the swing-up in 5,000 steps, and
#    what fraction of SAC's FLOPs per training iteration does it save?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(14)
# For example: exercises.chapter14_exercise2((paper_ratio, library_ratio))
