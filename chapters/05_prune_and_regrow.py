# %% [markdown]
# # Chapter 5: Prune and regrow
#
# We now have a sparse layer that is correct (chapter 2) and fast (chapter 4). Its connections,
# though, were placed at random before training began. A random wiring is unlikely to be a good
# one: some connections will turn out to matter, others will stay near zero and contribute
# nothing while still costing memory and FLOPs.
#
# **Dynamic sparse training** fixes the budget, not the wiring. Every few hundred or thousand
# training steps, each sparse layer
#
# 1. **prunes** a small fraction `zeta` of its connections, the ones with the smallest magnitude;
# 2. **regrows** exactly as many at empty positions, chosen uniformly at random (SET, Mocanu et al.
#    2018, and the DS-TD3 paper) or where the gradient is largest (RigL);
# 3. starts the new connections at weight **zero**, so the network's output does not jump.
#
# The number of connections, and so the memory and the FLOPs, stays exactly the same for the
# whole run. Over time the topology drifts towards connections that earn their place.
#
# Before putting this inside a reinforcement-learning agent, we test it where results are quick and
# easy to read: supervised regression. We train three students of the same shape on the same data,
# with the same minibatches: a **dense** network, a **static sparse** network (random topology,
# never changed) and a **dynamic sparse** network that starts from the *same* topology and weights
# as the static one and is rewired during training. Any difference between the last two is the
# effect of rewiring alone.

# %% [markdown]
# Like chapter 4, we pin BLAS to one thread: on small matrices extra threads cost more than they
# bring, and our sparse kernels are serial too.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import inspect
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minidst import (
    MLP,
    Adam,
    erdos_renyi_density,
    evolve_layer,
    mse_loss,
    training_flops,
    warmup,
)
from minidst.demo import STUDENTS, build_students, teacher_regression, train_student
from minidst.flops import layer_table
from minidst.machine import cpu_model_id, cpu_name, vector_isa
from minidst.plot import finish_figure
from minidst.sparsity import linear_from_csr

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
warmup()  # compile (or load) the Numba kernels now, not inside the first training step

# %% [markdown]
# One random generator drives everything in this chapter: the data, the initial weights and
# topologies, the minibatches and the regrowth positions. Run the chapter twice and you get the
# same numbers; change `seed` and everything changes together.

# %%
seed = 0
rng = np.random.default_rng(seed)

# %% [markdown]
# ## One topology update, up close
#
# First, a network small enough to print. Its first layer maps 8 inputs to 6 units at density
# 0.5, so it has 24 connections. We train it for a few Adam steps on random data, so that the
# weights have moved and Adam's moment estimates are non-zero, and then look at one call of
# `evolve_layer`.

# %%
tiny = MLP.build([8, 6, 2], [0.5, None], rng)
tiny_opt = Adam(tiny.layers, lr=1e-2)
X_tiny = rng.standard_normal((8, 32)).astype(np.float32)
Y_tiny = rng.standard_normal((2, 32)).astype(np.float32)
for _ in range(20):
    _, dY = mse_loss(tiny.forward(X_tiny), Y_tiny)
    tiny.backward(dY)
    tiny_opt.step()

layer = tiny.layers[0]
print(layer)

# %% [markdown]
# Adam keeps, for every parameter array, two moment arrays of the same shape: `Adam.m` (running
# mean of the gradient) and `Adam.v` (running mean of its square). `tiny_opt.m[0]` holds those of
# layer 0, weights first, then bias. For a sparse layer the weight moments are aligned with
# `weight.data`: one slot per stored connection, none for the empty positions.
#
# To follow connections across the update we identify each one by its *linear position*
# `row * n_in + col` (`minidst.sparsity.linear_from_csr`), which does not depend on where it sits
# in `data`.


# %%
def snapshot(layer, opt):
    """{linear position: (weight, Adam first moment)} for every stored connection.

    `opt.m[0][0]` are the weight moments of the optimizer's layer 0, which is `layer` here.
    """
    W = layer.weight
    positions = linear_from_csr(W.indptr, W.indices, layer.in_features)
    return {int(p): (w, m) for p, w, m in zip(positions, W.data, opt.m[0][0])}


def show(layer, marks):
    """Print the connection pattern, one character per position."""
    for r in range(layer.out_features):
        print("   ", " ".join(marks(r * layer.in_features + c) for c in range(layer.in_features)))


before = snapshot(layer, tiny_opt)
n_pos = sum(w >= 0 for w, _ in before.values())
n_neg = len(before) - n_pos
print(f"{len(before)} connections: {n_pos} positive, {n_neg} negative")
print(f"moments aligned with data: {tiny_opt.m[0][0].shape} == {layer.weight.data.shape}")
show(layer, lambda p: "o" if p in before else ".")

# %% [markdown]
# Now one update with `zeta = 0.25`. minidst's default prune rule is the DS-TD3 code's **per-sign**
# rule: drop the `zeta` fraction of positive weights closest to zero *and* the `zeta` fraction of
# negative weights closest to zero (`floor(zeta * count)` of each). Pruning each sign separately
# keeps the balance of excitatory and inhibitory connections. Then as many connections are grown
# at random empty positions; a position pruned a moment ago counts as empty and may come back.

# %%
zeta_demo = 0.25
stats = evolve_layer(layer, tiny_opt, zeta_demo, rng)
after = snapshot(layer, tiny_opt)
print(stats)
print(
    f"expected prunes: floor({zeta_demo} * {n_pos}) + floor({zeta_demo} * {n_neg}) = "
    f"{int(zeta_demo * n_pos) + int(zeta_demo * n_neg)}"
)
print(f"connections before {len(before)}, after {len(after)}")
assert len(after) == len(before) == layer.nnz


# A position pruned and regrown in the same update (counted in `regrown_same`) is in both
# snapshots, but as a new connection: its weight and moments start again from zero.
both = [p for p in after if p in before]
regrown_same = [p for p in both if after[p] != before[p]]
survivors = [p for p in both if after[p] == before[p]]
grown = [p for p in after if p not in before] + regrown_same
pruned = [p for p in before if p not in after] + regrown_same
assert len(regrown_same) == stats["regrown_same"]
assert len(pruned) == len(grown) == stats["pruned"] == stats["grown"]


def mark(p):
    if p in regrown_same:
        return "*"
    if p in survivors:
        return "o"
    if p in before:
        return "x"
    if p in after:
        return "+"
    return "."


print("o survived, x pruned, + grown, * pruned and regrown at once, . empty")
show(layer, mark)

# %% [markdown]
# Now the claims, one by one:

# %%
for sign in ("positive", "negative"):

    def same_sign(p, sign=sign):
        return (before[p][0] >= 0) == (sign == "positive")

    dropped = [abs(before[p][0]) for p in pruned if same_sign(p)]
    kept = [abs(before[p][0]) for p in survivors if same_sign(p)]
    print(f"{sign}: pruned |w| {np.round(sorted(dropped), 3)}, smallest kept |w| {min(kept):.3f}")
    assert max(dropped) <= min(kept)
print("grown weights:", [float(after[p][0]) for p in grown], "<- exactly zero")
print("grown Adam moments:", [float(after[p][1]) for p in grown], "<- reset to zero")
assert all(after[p][0] == 0 and after[p][1] == 0 for p in grown)
print(f"the other {len(survivors)} connections kept their weight and their Adam moments")
print(f"moments still aligned with data: {tiny_opt.m[0][0].shape} == {layer.weight.data.shape}")

# %% [markdown]
# So one update:
#
# * keeps the connection count exactly (`pruned == grown`);
# * removes the weights nearest zero within each sign: the pruned values are smaller in magnitude
#   than every survivor of the same sign;
# * adds connections with weight exactly 0, so the network computes the same function right after
#   the update as the pruned network did;
# * **remaps** Adam's state: `evolve_layer` rebuilds the CSR arrays in one pass and tells the
#   optimizer, for every new stored entry, where it used to be in `data` (or that it is new).
#   Survivors keep their moments; newcomers start at zero, as if the optimizer had never seen them.
#   Without the remap, the old moment arrays would still be indexed by position in `data`, and
#   every connection after the first change would receive someone else's momentum.
#
# Note also the zero weights of new connections: to the per-sign rule, an exact zero counts as
# positive and as the closest to zero of all. A new connection that has not moved by the next
# update is the first to go. With Adam it has moved by then, since each step is about `lr` in
# size whatever the gradient's scale; but steps whose sign changes from batch to batch cancel,
# so a newcomer can end the interval still among the smallest weights of its sign. Chapter 11
# measures it in DS-TD3: there newcomers were pruned at their first update far more often than
# the average connection. (The paper's code starts them at one dense Adam step, not at 0:
# exercise 6.)

# %% [markdown]
# ## A regression task
#
# The rest of the chapter is the experiment that `minidst demo` runs from the command line, at the
# chapter's own sizes. `minidst.demo` provides its three building blocks, and we call them one at a
# time and look at what each does: `teacher_regression` (the data), `build_students` (the three
# networks) and `train_student` (the training loop).
#
# The data comes from a *teacher*: a fixed random network with 24 inputs, two tanh layers of 32
# units and 4 outputs. Inputs are standard normal, targets are the teacher's outputs, standardised
# per output with the training set's statistics. It is a smooth nonlinear function that a
# 24 -> 256 -> 256 -> 4 student can learn well, but not trivially. The test set is drawn the same
# way and never used for training.

# %%
print(inspect.getsource(teacher_regression))

# %%
n_in, n_out = 24, 4
n_train, n_test = (2048, 512) if QUICK else (16384, 2048)
data = teacher_regression(rng, n_in, n_out, [32, 32], n_train, n_test)
print(f"train X {data.X_train.shape}, Y {data.y_train.shape}; test X {data.X_test.shape}")
print(
    "predicting the mean would give test loss "
    f"{mse_loss(np.zeros_like(data.y_test), data.y_test)[0]:.3f}"
)

# %% [markdown]
# ## Three students
#
# All three are `24 -> 256 -> 256 -> 4` with ReLU. As in the DS-TD3 paper, only the first two
# weight layers are sparse; the small output layer stays dense. The densities follow the
# Erdős–Rényi rule of chapter 1 with `lambda = 7` for the first layer (the paper's HalfCheetah
# value) and `lambda = 20` for the second. That is sparser than the paper's `lambda = 64`
# (density 0.5): on a problem this small, a half-dense network is nearly as good as a dense one,
# and the effect of rewiring is easier to see when connections are scarce.
#
# `build_students` makes the dynamic student a deep copy of the static one, so both start from
# the very same topology and weights.

# %%
sizes = [n_in, 256, 256, n_out]
densities = [erdos_renyi_density(n_in, 256, 7), erdos_renyi_density(256, 256, 20), None]
students = build_students(sizes, densities, rng)
dense_net, static_net, dynamic_net = (students[name] for name in STUDENTS)
print("densities:", [None if d is None else round(d, 3) for d in densities])
print(static_net)

# %% [markdown]
# What do the sparse students cost? `layer_table` lists each layer's stored weights and forward
# FLOPs per sample (2 * nnz, chapter 1). A training step costs about 3x the forward pass.

# %%
batch = 128
for name, net in [("dense", dense_net), ("sparse (static and dynamic)", static_net)]:
    print(name)
    print(layer_table([(f"L{i + 1}", layer) for i, layer in enumerate(net.layers)]))
    print()
ratio = training_flops(static_net.layers, batch) / training_flops(dense_net.layers, batch)
print(
    f"training FLOPs per step (batch {batch}): dense "
    f"{training_flops(dense_net.layers, batch) / 1e6:.1f} M, sparse "
    f"{training_flops(static_net.layers, batch) / 1e6:.1f} M ({ratio:.2f}x)"
)

# %% [markdown]
# ## Training
#
# All three students see the same minibatches: we draw the whole schedule of minibatch indices
# once, up front, one row per step. `train_student` is an ordinary Adam loop over that schedule.
# With `rewire=True` it also calls `evolve_layer` on each sparse layer every `rewire_every` steps
# (the lines under `if rewire`); that is all that separates the dynamic student from the static
# one. It records the mean minibatch loss over each stretch of `eval_every` steps as the training
# loss, and the loss on the whole test set at the end of each stretch.

# %%
print(inspect.getsource(train_student))

# %% [markdown]
# The dynamic student rewires every `rewire_every` steps with drop fraction `zeta = 0.1`.

# %%
steps = 600 if QUICK else 6000
rewire_every = 50 if QUICK else 200
eval_every = 25 if QUICK else 50
zeta = 0.1
schedule = rng.integers(0, n_train, size=(steps, batch))

results = {}
for name, net in students.items():
    results[name] = train_student(
        net,
        data,
        schedule,
        rng,
        rewire=name == "dynamic sparse",
        zeta=zeta,
        rewire_every=rewire_every,
        lr=1e-3,
        eval_every=eval_every,
    )
    h = results[name]
    print(
        f"{name:15s} final train {h['train'][-1]:.4f}  test {h['test'][-1]:.4f}  "
        f"({h['seconds']:.1f} s, {h['updates']} topology updates)"
    )

# %% [markdown]
# `minidst demo` (`minidst.demo.compare_students`) is these same three calls with its own sizes:
# a `32 -> 64 -> 1` teacher, `32 -> 256 -> 256 -> 1` students at the paper's `lambda = 64`,
# `zeta = 0.05`, batch 100, printed as a table of weights, FLOPs and test loss.

# %% [markdown]
# Every topology update of the dynamic student preserved its size exactly:

# %%
for static_layer, dynamic_layer in zip(static_net.sparse_layers, dynamic_net.sparse_layers):
    assert static_layer.nnz == dynamic_layer.nnz
    assert static_layer.weight.has_canonical_format and dynamic_layer.weight.has_canonical_format
print(
    "nnz per sparse layer, static vs dynamic:",
    [(s.nnz, d.nnz) for s, d in zip(static_net.sparse_layers, dynamic_net.sparse_layers)],
)

# %%
fig, (ax_train, ax_test) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for name, h in results.items():
    ax_train.plot(h["step"], h["train"], label=name)
    ax_test.plot(h["step"], h["test"], label=name)
for ax, title in [(ax_train, "training loss (mean over minibatches)"), (ax_test, "test loss")]:
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
ax_train.set_ylabel("mean squared error")
ax_test.legend()
fig.suptitle(
    f"Teacher regression, 24-256-256-4 ReLU students; dynamic: zeta={zeta}, "
    f"every {rewire_every} steps"
)
fig.tight_layout()
path = OUT / "05_prune_and_regrow.png"
finish_figure(fig, path)
print("saved", path)
final_test = {name: history["test"][-1] for name, history in results.items()}
print("final test loss:", {name: round(loss, 4) for name, loss in final_test.items()})
order = " < ".join(sorted(final_test, key=final_test.get))
note = " (quick mode: too few steps to read much into it)" if QUICK else ""
print(f"final test loss, lowest first: {order}{note}")

# %% [markdown]
# What to look for in the figure (your exact numbers depend on the seed, and through float
# rounding on the CPU; the line above prints the order of the final test losses, and chapter 12
# repeats the comparison over seeds):
#
# * **Dense** should learn fastest and reach the lowest loss: it has over five times as many
#   weights.
# * **Static sparse** has the same random wiring from start to finish. Each unit of the second
#   layer sees only about 40 of the 256 units below it, chosen blindly, and training can only
#   adjust the weights of those connections.
# * **Dynamic sparse** starts exactly where static sparse starts, with the same budget, and
#   should end below it: rewiring lets each unit trade useless inputs for new ones. Its test
#   curve has small spikes where an evaluation falls right after a topology update: pruning
#   removed weights that still contributed a little. Training recovers quickly, because only the
#   smallest 10% were removed and the new connections start at zero.
#
# The dense network is the upper bound here, not the opponent. The claim of the DS-TD3 paper is
# that in deep RL a dynamic sparse network with half the parameters does *as well* as a dense one,
# sometimes better. On this supervised task we see the mechanism: for a fixed number of connections,
# choosing them during training beats choosing them once at random.
#
# A dense network of the same *width* is not the only dense baseline, though. The one that tests
# sparsity itself stores as many weights as the sparse network. For the HalfCheetah TD3 sizes,
# 17 -> 256 -> 256 -> 6, that is dense hidden width about 177, storing ~106k weights like DS-TD3 at
# the paper's densities. "Sparse against dense 256" does not tell whether sparse beats simply
# *smaller*; chapter 10 and the README's Results compare DS-TD3 with `td3 hidden=177`. For this
# chapter's students, the equal-weights dense width is:

# %%
sparse_weights = sum(layer.nnz for layer in static_net.layers)
# A dense n_in -> h -> h -> n_out network stores h * h + (n_in + n_out) * h weights.
equal_width = round((np.sqrt((n_in + n_out) ** 2 + 4 * sparse_weights) - n_in - n_out) / 2)
print(
    f"sparse students: {sparse_weights:,} weights; a dense {n_in} -> h -> h -> {n_out} stores "
    f"{equal_width**2 + (n_in + n_out) * equal_width:,} at h = {equal_width}"
)

# %% [markdown]
# Training that network on the same schedule (`MLP.build([n_in, h, h, n_out], [None] * 3, rng)`
# and `train_student`) tells, for this task, whether the sparse students beat a dense one of
# their own size.

# %% [markdown]
# ## How far did the topology move?
#
# The static student still has the initial topology, so comparing the two sparse students' linear
# positions tells how much of the dynamic one's wiring is original.

# %%
for i, (s, d) in enumerate(zip(static_net.sparse_layers, dynamic_net.sparse_layers)):
    initial = linear_from_csr(s.weight.indptr, s.weight.indices, s.in_features)
    final = linear_from_csr(d.weight.indptr, d.weight.indices, d.in_features)
    kept = np.isin(final, initial).mean()
    print(f"layer {i + 1}: {kept:.1%} of the final connections were there at the start")
    u = results["dynamic sparse"]["updates"]
    print(f"  more than independent draws would leave: {kept > (1 - zeta) ** u}")
print(f"after {u} updates of {zeta:.0%}, independent draws would leave {(1 - zeta) ** u:.1%}")

# %% [markdown]
# If each update replaced a fresh, independent 10% of the connections, after `u` updates about
# `0.9 ** u` of the originals would remain. Typically far more survive (the lines above say
# whether they did in your run): the connections that matter grow large and are never the
# smallest, and the churn concentrates on a minority of weak positions that keep being tried and
# dropped.
#
# Finally, wall-clock time. Here the sparse students' layers are at densities 0.32 and 0.16.
# Whether that makes their training steps cheaper than the dense ones depends on the CPU: a
# sparse layer is faster than a dense one only below the break-even density, where chapter 4's
# `spmm/dense` time ratio crosses 1; chapter 4's "measured here" line prints it for your CPU. On
# the AVX-512 AMD EPYC of the README's Speed tables it was about 0.2, so there the layer at 0.32
# is above it (slower than dense) and only the one at 0.16 below it. On a 2-core AMD EPYC Zen 4
# (AVX-512) and on an AVX2 Zen 3 core it was near 0.3-0.4: the layer at 0.32 sits about at it.
# The lines below print your per-step times and their ratios. The dynamic student's time differs
# from the static one's by the cost of its topology updates (a sort of a few thousand integers
# each, and the Adam remap) and by timing noise.

# %%
for name, h in results.items():
    print(
        f"{name:15s} {h['seconds']:5.1f} s for {steps} steps "
        f"({h['seconds'] / steps * 1e3:.2f} ms per step, including evaluation)"
    )
seconds = {name: h["seconds"] for name, h in results.items()}
here = f"{cpu_name()}, {vector_isa()}"
if cpu_model_id():
    here += f", family/model {cpu_model_id()}"
print(
    f"measured here ({here}): static sparse / dense time "
    f"{seconds['static sparse'] / seconds['dense']:.2f}, dynamic / static "
    f"{seconds['dynamic sparse'] / seconds['static sparse']:.2f}"
)

# %% [markdown]
# ## Summary
#
# * Dynamic sparse training keeps the number of connections fixed and moves them: every
#   `rewire_every` steps, prune a fraction `zeta` of each sparse layer and regrow as many.
# * minidst's `evolve_layer(layer, optimizer, zeta, rng)` prunes per sign (the `zeta` fraction of
#   positive and of negative weights nearest zero), regrows at uniformly random empty positions,
#   rebuilds canonical CSR arrays in one pass, and starts new connections at weight 0.
# * Adam's moments are aligned with the stored weights; `evolve_layer` remaps them (survivors
#   keep theirs, newcomers start at zero), so optimizer memory stays proportional to the
#   connection count.
# * With one random generator and a shared minibatch schedule, a static and a dynamic student that
#   start from the same copy differ only by rewiring. On a teacher-regression task, rewiring is
#   expected to give a lower loss than the static topology at the same parameter and FLOP budget;
#   the chapter prints the order of the final losses, and chapter 12 repeats it over seeds.
# * Beating dense at the same width does not show that sparsity helps: the dense baseline with as
#   many weights (hidden 177 for DS-TD3 on HalfCheetah, `td3 hidden=177`) tells.
# * The count of stored connections, and so the parameters and FLOPs, never changes during training.

# %% [markdown]
# ## Exercises
#
# 1. Run the three students with `lambda = 64` for the second layer (the paper's density 0.5). How
#    large is the gap between static and dynamic now? Then try `lambda = 5` (density 0.04).
#    When does rewiring matter most?
# 2. Replace random regrowth with gradient regrowth (`evolve_layer(..., grow="gradient")`, RigL)
#    and per-sign pruning with plain magnitude pruning (`prune="magnitude"`). Which change matters
#    more on this task?
# 3. Vary `rewire_every` (50, 200, 1000) and `zeta` (0.02, 0.1, 0.3). The DS-TD3 paper found an
#    update period of 200 or 500 worse than 1,000 in RL. What happens here, and why might RL be
#    more sensitive to frequent updates than supervised learning?
# 4. Make the teacher itself sparse (for example a `MLP.build` with densities 0.1) and repeat. Can
#    the dynamic student discover the teacher's wiring? Measure how many of the first layer's
#    connections land on inputs the teacher actually uses.
# 5. Skip the optimizer remap by passing `None` as the optimizer to `evolve_layer` while training
#    with Adam. The next `optimizer.step()` raises: the layer's `topology_version` moved, so Adam
#    knows its moments no longer line up. The count is unchanged, so the shapes of `Adam.m` would
#    still fit: explain what would go wrong without the guard (whose moments would each weight
#    get?). Then write `remap_keeping_moments(optimizer, layer, source)`, a remap that also gives
#    each regrown connection the moments of the connection that used to be at the same slot of
#    `data` rather than zeros (`source` is what `topology.rebuild_csr` returns, and `Adam.remap`
#    is a good start), and measure its effect on the loss. (The paper's code runs a dense
#    Adam on masked weights, whose moments at a regrown position follow the dense gradient there:
#    yet another choice. Which one does the loss prefer?)
# 6. Measure the paper code's regrowth against minidst's (about a minute in full mode). That code
#    keeps each layer as a dense weight `W` with a 0/1 mask `M`. Every step it computes the dense
#    gradient `dZ @ X.T` at *all* positions, takes a dense Adam step on all of `W` (so the moments
#    of masked positions follow the gradient there too), and then sets `W = W * M`. On a rewiring
#    step the new mask is applied after that Adam step, so a regrown connection starts not at 0
#    but at the value the dense step just gave it, with moments that have tracked its gradient
#    all along; minidst starts it at 0 with zero moments. Write that masked-dense student for this
#    chapter's sizes (NumPy only: `W`, `M`, the dense gradient, a dense Adam, prune per sign and
#    regrow at random on `M` every `rewire_every` steps) and train it on the same `schedule`
#    beside the dynamic student. Compare: the final test losses; the size of a newcomer's first
#    weight against the layer's median `|w|`; and the share of newcomers pruned at the next
#    topology update under each rule. Then say what the dense gradient costs per step in FLOPs
#    (chapter 1) against the sparse step: that cost is why minidst does not offer this rule.

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(5)
# For example: exercises.chapter5_exercise5(remap_keeping_moments)
