# %% [markdown]
# # Chapter 16: Why sparse networks train at all
#
# Chapter 5 trained a network with a fifth of its weights on a regression and chapter 8 an actor
# and two critics with half of theirs, and both learned. Nothing in chapters 1-4 promised that:
# a sparse layer is a dense layer with most of its weights forced to zero, and one might expect
# such a network to be harder to train than a dense one, or not to train at all. This chapter
# collects three views of why it works, and measures what can be measured in seconds:
#
# 1. **what the literature claims**: lottery tickets, the surprising strength of random sparse
#    networks, and dynamic sparse training's answer, which is to search the topology while
#    training rather than find a good one first;
# 2. **initialisation and signal propagation**: how large a sparse unit's pre-activation is at
#    the start, derived and then measured layer by layer in 8-layer networks, for minidst's
#    init and for the DS-TD3 code's; and what the committed HalfCheetah runs with the two inits
#    say;
# 3. **plasticity and dormant units**: units that have (almost) stopped firing, why a sparse
#    layer makes some of them from the start, and what prune-and-regrow can and cannot do for
#    them.
#
# The chapter builds on chapter 5 (prune and regrow) and chapter 8 (DS-TD3); chapter 12's
# "Pitfall 2" measured the fan-in question on the regression testbed, and chapter 15 plots
# dormant units for the wide networks. As everywhere in the course, the code asserts only what
# must hold on every machine (identities and bounds that follow from the code); everything a
# particular draw or run shows is printed, and the prose says how to read it.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import copy
import inspect
import math
import time
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from minidst import MLP, Adam, SparseLinear, evolve_layer, mse_loss, rundir, warmup
from minidst.config import TrainConfig
from minidst.demo import teacher_regression
from minidst.dormant import TAU, unit_scores
from minidst.factory import network_densities
from minidst.plot import finish_figure, group_colours
from minidst.report import comparisons, pair_verdict, read_runs

QUICK = os.environ.get("MINIDST_QUICK") == "1"
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
chapter_start = time.perf_counter()
warmup()  # compile (or load) the Numba kernels now, not inside the first measurement

seed = 0

# %% [markdown]
# ## 1. Lottery tickets, random sparse networks, and searching while training
#
# Three lines of work frame the question. What follows are the **claims of the cited papers**,
# in their settings (image classification, mostly); none of them is measured in this chapter.
#
# **Lottery tickets** (Frankle and Carbin, ICLR 2019, "The lottery ticket hypothesis: finding
# sparse, trainable neural networks"). They claim that a dense, randomly initialised network
# contains subnetworks, "winning tickets", that, trained in isolation *from the same initial
# values*, reach the test accuracy of the full network in a similar number of steps. They find
# them by iterative magnitude pruning: train the dense network, remove the smallest weights,
# reset the survivors to their initial values, and repeat, which costs several full trainings.
# On their fully connected and convolutional networks for MNIST and CIFAR-10, the tickets had
# 10-20% of the weights, and the same sparse structure with *fresh* random values learned more
# slowly and reached a lower accuracy. So, in their reading, the structure and the initial
# values together made the ticket; a sparse network at random was not enough.
#
# **Random sparse networks** (Liu, Chen, Chen, Shen, Mocanu, Wang and Pechenizkiy, ICLR 2022,
# "The unreasonable effectiveness of random pruning"). They claim that a network pruned at
# random *before* training, then trained sparse from scratch, can match its dense equivalent,
# and that two things decide it: the network's size (as the dense network gets wider and
# deeper, the randomly pruned one quickly closes the gap, even at high sparsity) and the
# layer-wise densities (a good per-layer allocation such as ERK, chapter 12, helps). Their
# headline: a randomly pruned Wide ResNet-50, trained sparse, outperformed the dense Wide
# ResNet-50 on ImageNet. That is a more hopeful view than the tickets': at moderate sparsity in
# a wide enough network, *almost any* random topology trains nearly as well as dense.
#
# **Dynamic sparse training** takes a third road: no ticket is searched for before training,
# and the random topology is not kept either. SET (Mocanu, Mocanu, Stone, Nguyen, Gibescu and
# Liotta, Nature Communications 2018) starts from an Erdős–Rényi random topology and, during
# training, repeatedly prunes the smallest weights and regrows as many connections at random;
# RigL (Evci, Gale, Menick, Castro and Elsen, ICML 2020, "Rigging the lottery: making all tickets
# winners") regrows where the dense gradient is largest, and claims that at a fixed parameter
# count and training cost it beats static sparse training and reaches or exceeds the accuracy of
# dense-to-sparse methods (which prune a dense network during training). The title is the point:
# rewiring is meant to turn *any* random initial topology into a good one. The DS-TD3 paper
# (Sokar et al., IJCAI 2022) brings SET's update into TD3 (chapter 8).
#
# This course has measured small versions of the second and third claims: chapter 5's static
# sparse student trained, and the dynamic one, starting from the same random topology, ended
# below it; chapter 10 read DS-TD3 against TD3 over seeds; chapter 12 raised the sparsity until
# the random topology began to hurt. The rest of this chapter looks one level down, at *why* a
# random sparse network is trainable in the first place: whether signals pass through it at
# the start, and whether its units stay alive.

# %% [markdown]
# ## 2. Initialisation and signal propagation
#
# ### The variance of a sparse unit's pre-activation
#
# A unit of a sparse layer with `k` stored inputs computes
#
# `z = sum_{j in S} w_j x_j + b`,  with `|S| = k`.
#
# minidst draws each weight and the bias from `U(-a, a)`, independently and independently of the
# input, so each `w_j` has mean 0 and variance `a^2 / 3`. Then every product `w_j x_j` has mean 0
# and second moment `(a^2 / 3) E[x_j^2]`, and the cross terms vanish:
# `E[w_j x_j w_i x_i] = E[w_j] E[w_i] E[x_j x_i] = 0` for `i != j`, *even though the inputs may
# be correlated*, because the weights are not. The second moment of a sum of `k` such terms is
# the sum of theirs:
#
# `E[z^2] = (a^2 / 3) (k q + 1)`,  where `q = E[x^2]` is the input's second moment (the `+ 1` is
# the bias).
#
# Both init rules of `minidst.sparsity.init_values` are PyTorch's `nn.Linear` default,
# `a = 1 / sqrt(fan_in)`, and differ in what `fan_in` is:
#
# * **(a) sparse fan-in** (minidst's default): `fan_in = k`, the unit's actual inputs. Then
#   `E[z^2] = q / 3 + 1 / (3k)`: the weights' share is the same as in a dense layer, whatever
#   the density;
# * **(b) dense fan-in** (the DS-TD3 code, which masks a dense PyTorch layer): `fan_in = n`, the
#   layer's input width, whatever the density. With `k = d n` inputs at density `d`,
#   `E[z^2] = d q / 3 + 1 / (3n) = d (q / 3 + 1 / (3k))`: **exactly `d` times (a)'s, for the same
#   input**, so the scale (the root mean square) is `sqrt(d)` times (a)'s.
#
# That holds layer by layer for the *same* input. Through a stack of layers, each sparse layer
# under (b) multiplies the input-dependent part of the pre-activations (the *signal*, below) by
# another `sqrt(d)`, while the bias term does not compound: it is added fresh at every layer.
# And a ReLU passes on half of a symmetric variable's second moment (`z` is symmetric: flipping
# the signs of a unit's weights and bias, which are drawn symmetrically, flips it), so the next
# layer's `q` is `E[z^2] / 2`. This gives a recursion for the second moment, averaged over a
# layer's units, that is exact in expectation over the weights:
#
# `v_1 = mean_i (a_i^2 / 3) (k_i q_0 + 1)`,  `v_l = mean_i (a_i^2 / 3) (k_i v_{l-1} / 2 + 1)`,
#
# with `q_0 = 1` for standard normal inputs. Two things follow before any measurement:
#
# * even a **dense** network at this init shrinks its signal: per ReLU layer the weights'
#   share of the second moment is multiplied by `(1/3)(1/2) = 1/6`, a factor of about 0.41 in
#   scale. (He init, variance `2 / fan_in`, keeps it; PyTorch's default, and so both rules
#   here, has variance `1 / (3 fan_in)`.) Both (a) and (b) share this factor; (b) multiplies the
#   signal by `sqrt(d)` on top of it, at every sparse layer;
# * the total scale cannot shrink below a **bias floor**: the recursion settles where
#   `v = (a^2 / 3)(k v / 2 + 1)`, at `v* = (a^2 / 3) / (1 - k a^2 / 6)`, which is close to the
#   biases' variance `a^2 / 3 = 1 / (3 fan_in)`: 1.2 times `1 / (3k)` under (a), about
#   `1 / (3n)` under (b). Under (a) the biases are drawn with the small fan-in `k`, so its floor
#   is `1 / sqrt(d)` times *higher* than a dense network's; under (b) it is the dense network's.
#
# To see the input-dependent part separately from the constant offsets that biases add, we split
# every layer's mean square exactly into two parts (the law of total variance, per unit, then
# averaged over units):
#
# `scale^2 = mean_i mean_b z_ib^2 = signal^2 + offset^2`, with `signal^2 = mean_i var_b z_ib`
# (how much a unit's pre-activation varies from input to input) and `offset^2 = mean_i
# (mean_b z_ib)^2` (how far each unit sits from zero on average).

# %%
width, depth = 256, 8
DENSITIES = (1.0, 0.5, 0.1, 0.05)
INITS = ("sparse-fan-in", "dense-fan-in")
batch = 256 if QUICK else 2000
net_seeds = (0,) if QUICK else (0, 1, 2)
X = np.random.default_rng(seed + 100).standard_normal((width, batch)).astype(np.float32)


def deep_net(density, init, net_seed):
    """An 8-layer ReLU MLP, 256 wide, every layer sparse at ``density`` (identity output)."""
    sizes = [width] * (depth + 1)
    return MLP.build(sizes, [density] * depth, np.random.default_rng(net_seed), init=init)


def pre_activations(net, X):
    """Every layer's pre-activation ``Z`` (as float64) on the input ``X``."""
    Zs, h = [], X
    for layer, activation in zip(net.layers, net.activations):
        Z = layer.forward(h)
        Zs.append(Z.astype(np.float64))
        h = activation.forward(Z)
    return Zs


def scale_parts(Z):
    """``(scale, signal, offset)`` of one layer's ``Z`` (units, batch): the root mean square,
    the root of the mean per-unit variance over the batch, the root mean square of the per-unit
    means. ``scale**2 == signal**2 + offset**2``."""
    means = Z.mean(axis=1)
    return np.sqrt(np.mean(Z**2)), np.sqrt(np.mean(Z.var(axis=1))), np.sqrt(np.mean(means**2))


def predicted_scale(net, init, q0=1.0):
    """The recursion above: the root of each layer's expected mean square."""
    out, q = [], q0
    for layer in net.layers:
        k = np.diff(layer.weight.indptr)
        fan_in = np.maximum(k, 1) if init == "sparse-fan-in" else layer.in_features
        v = np.mean((1 / fan_in) / 3 * (k * q + 1))
        out.append(np.sqrt(v))
        q = v / 2  # a ReLU keeps half the second moment of a symmetric pre-activation
    return np.array(out)


nets, parts, predicted = {}, {}, {}
for density in DENSITIES:
    for init in INITS:
        for net_seed in net_seeds:
            net = deep_net(density, init, net_seed)
            nets[density, init, net_seed] = net
            parts[density, init, net_seed] = np.array(
                [scale_parts(Z) for Z in pre_activations(net, X)]
            )
            predicted[density, init, net_seed] = predicted_scale(net, init)
print(
    f"{len(nets)} networks: densities {DENSITIES} x {INITS} x seeds {net_seeds}; "
    f"{width} wide, {depth} layers, {batch} standard normal inputs"
)

# %% [markdown]
# ### The two inits differ by one factor per unit
#
# `init_values` draws the same uniform numbers under both rules and multiplies them by the
# unit's bound, `1/sqrt(k_i)` or `1/sqrt(n)`. Topology is drawn first, from the same generator.
# So two networks built from the same seed have the same connections, and the dense fan-in
# network's row `i` (weights and bias) is the sparse fan-in network's row `i` times
# `c_i = sqrt(k_i / n)`. That is an identity of the code, checked here to float32 rounding; at
# density 1 the two networks are the same, bit for bit.

# %%
for density in DENSITIES:
    for net_seed in net_seeds:
        a, b = nets[density, "sparse-fan-in", net_seed], nets[density, "dense-fan-in", net_seed]
        for la, lb in zip(a.layers, b.layers):
            assert np.array_equal(la.weight.indptr, lb.weight.indptr)
            assert np.array_equal(la.weight.indices, lb.weight.indices)
            c = np.sqrt(np.diff(la.weight.indptr) / la.in_features)
            if density == 1.0:
                assert np.array_equal(la.weight.data, lb.weight.data)
                assert np.array_equal(la.bias, lb.bias)
            row_scale = np.repeat(c, np.diff(la.weight.indptr))
            assert np.allclose(lb.weight.data, row_scale * la.weight.data, rtol=1e-6, atol=0)
            assert np.allclose(lb.bias, c * la.bias, rtol=1e-6, atol=0)
print("same topology; dense fan-in rows = sparse fan-in rows x sqrt(k_i / n), in every layer")

# %% [markdown]
# ### Layer 1: `sqrt(d)`, with a bound that needs no statistics
#
# The first layer of both networks sees the same input, so by the identity above each unit's
# pre-activation is multiplied by exactly `c_i`. Writing `E_i = sum_b z_ib^2` for unit `i`'s energy
# under (a) and `p_i = k_i / n`, the ratio of the two scales satisfies, exactly,
#
# `ratio^2 = sum_i p_i E_i / sum_i E_i`,
#
# a weighted mean of the units' densities. Its plain mean, `mean_i p_i`, is the layer's density
# `d` (the exact draw stores `round(d n_out n)` connections). The weighted mean differs from the
# plain one by `cov(p, E) / mean(E)`, and by the Cauchy-Schwarz inequality
#
# `|ratio^2 - d| <= std(p) std(E) / mean(E)`.
#
# That bound is deterministic: it holds for every draw, on every machine, and it is computed from
# the draw itself (how much the fan-ins vary, how much the units' energies vary). So it is the
# tolerance the chapter asserts, rather than one picked by eye.

# %%
print(
    f"{'density':>8}{'seed':>5}{'ratio (b)/(a)':>15}{'sqrt(d)':>9}{'|ratio^2 - d|':>15}{'bound':>9}"
)
for density in DENSITIES:
    for net_seed in net_seeds:
        layer_a = nets[density, "sparse-fan-in", net_seed].layers[0]
        layer_b = nets[density, "dense-fan-in", net_seed].layers[0]
        Za = layer_a.forward(X).astype(np.float64)
        Zb = layer_b.forward(X).astype(np.float64)
        ratio2 = np.sum(Zb**2) / np.sum(Za**2)
        p = np.diff(layer_a.weight.indptr) / width
        E = np.sum(Za**2, axis=1)
        assert math.isclose(ratio2, np.sum(p * E) / np.sum(E), rel_tol=1e-4)
        bound = p.std() * E.std() / E.mean()
        d = layer_a.density
        assert abs(ratio2 - d) <= bound + 1e-5 * d  # the slack covers float32 rounding only
        print(
            f"{density:>8}{net_seed:>5}{np.sqrt(ratio2):>15.4f}{np.sqrt(d):>9.4f}"
            f"{abs(ratio2 - d):>15.5f}{bound:>9.5f}"
        )

# %% [markdown]
# At density 1 every `p_i` is 1 and the bound is 0: the ratio is exactly 1. At density 0.05 a
# unit has about 13 inputs, give or take 3.5, and the bound allows a few percent; the measured
# ratio sits well inside it.
#
# ### All eight layers
#
# Now every layer, averaged over the network seeds. For each density: the scale of (a) and (b),
# measured and predicted by the recursion; and the ratio of the two networks' *signals*, divided
# by the previous layer's ratio, which is the extra factor (b) loses in that layer. The
# derivation says `sqrt(d)` for layer 1; for the later layers it is an approximation (the two
# networks' layers no longer see the same input, and their ReLUs gate differently once the
# biases dominate), so those lines are printed, not asserted.

# %%
layers_header = "".join(f"{f'L{i + 1}':>8}" for i in range(depth))
worst = {init: 0.0 for init in INITS}
signal_factor = {}
for density in DENSITIES:
    mean_parts = {
        init: np.mean([parts[density, init, s] for s in net_seeds], axis=0) for init in INITS
    }
    mean_pred = {init: np.mean([predicted[density, init, s] for s in net_seeds], axis=0)
                 for init in INITS}  # fmt: skip
    for init in INITS:
        ratio = mean_parts[init][:, 0] / mean_pred[init]
        worst[init] = max(worst[init], float(np.max(np.abs(ratio - 1))))
    signal_ratio = mean_parts["dense-fan-in"][:, 1] / mean_parts["sparse-fan-in"][:, 1]
    signal_factor[density] = signal_ratio / np.concatenate([[1.0], signal_ratio[:-1]])
    print(f"density {density}{'':18s}{layers_header}")
    for init, tag in zip(INITS, ("(a)", "(b)")):
        print(f"  scale {tag}, measured  " + "".join(f"{x:>8.4f}" for x in mean_parts[init][:, 0]))
        print(f"  scale {tag}, predicted " + "".join(f"{x:>8.4f}" for x in mean_pred[init]))
    print("  signal (a)           " + "".join(f"{x:>8.4f}" for x in mean_parts[INITS[0]][:, 1]))
    print("  signal (b)/(a)       " + "".join(f"{x:>8.4f}" for x in signal_ratio))
    print(
        "    per layer          "
        + "".join(f"{x:>8.3f}" for x in signal_factor[density])
        + f"   (sqrt(d) = {np.sqrt(density):.3f})"
    )
print(
    "largest |measured / predicted - 1| of the scale, any layer and density: "
    + ", ".join(f"{init} {worst[init]:.1%}" for init in INITS)
)
deviation = max(
    float(np.max(np.abs(signal_factor[d] / np.sqrt(d) - 1))) for d in DENSITIES if d < 1
)
print(f"largest |per-layer signal factor / sqrt(d) - 1| over the sparse densities: {deviation:.1%}")

# %% [markdown]
# How to read the table (the numbers are one draw of each network, or the mean of three in full
# mode; they change a little with the seeds, the shape does not):
#
# * **Layer 1** follows the derivation: (b)'s scale is `sqrt(d)` times (a)'s.
# * **The signal** under (b) loses about another `sqrt(d)` in every layer (the "per layer" line
#   stays near `sqrt(d)`), so after 8 layers at density 0.05 it is about `0.05^4`, a few
#   millionths of (a)'s. And (a)'s signal itself (the "signal (a)" line) shrinks by a factor
#   of about 3 per layer, at every density, density 1 included: that is PyTorch's default init
#   with ReLUs, not sparsity. (The second moment loses `1/sqrt(6) = 0.41` per layer; the signal,
#   a variance across inputs, loses a little more in the first layers, where a ReLU's output
#   mean takes a share of it.)
# * **The scale** does not follow the signal down: it stops at the bias floor, after two or
#   three layers under (b) and four or five under (a). The recursion, biases included,
#   predicts it to within the printed percentage, in both networks. Under (a) the floor is
#   higher at low density (its biases are drawn with the small fan-in); under (b) it is the
#   dense network's.
#
# So "the paper code's init shrinks activations by `sqrt(d)` per layer" is true of the part of
# the activations that depends on the input, the part that carries information forward. The
# total scale hides it behind the biases: a deep layer of (b) at low density is nearly a constant
# function, each unit sitting at almost the same value whatever the input.
#
# The figure draws the same numbers: scale and signal per layer, (a) solid and (b) dashed, and
# the recursion's prediction of the scale as dots.

# %%
fig, (ax_scale, ax_signal) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
layer_numbers = np.arange(1, depth + 1)
colours = dict(zip(DENSITIES, ("black", "tab:blue", "tab:orange", "tab:red")))
for density in DENSITIES:
    for init, style in zip(INITS, ("-", "--")):
        mean_parts = np.mean([parts[density, init, s] for s in net_seeds], axis=0)
        mean_pred = np.mean([predicted[density, init, s] for s in net_seeds], axis=0)
        label = f"d = {density}, {'(a) sparse' if init == INITS[0] else '(b) dense'} fan-in"
        ax_scale.plot(layer_numbers, mean_parts[:, 0], style, color=colours[density], label=label)
        ax_scale.plot(layer_numbers, mean_pred, ":", marker=".", color=colours[density], lw=0.8)
        ax_signal.plot(layer_numbers, mean_parts[:, 1], style, color=colours[density])
for ax, title in (
    (ax_scale, "scale: root mean square of the pre-activations (dots: predicted)"),
    (ax_signal, "signal: its input-dependent part (per-unit std over inputs)"),
):
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
ax_scale.set_ylabel("at initialisation, standard normal input")
ax_scale.legend(fontsize=7, ncol=2)
fig.suptitle(f"{depth}-layer ReLU MLPs, {width} wide, every layer at density d", fontsize=11)
fig.tight_layout()
path = finish_figure(fig, OUT / "16_signal_propagation.png")
print("saved", path)

# %% [markdown]
# ### The backward pass
#
# Gradients travel the other way, through `W^T`, and meet the same weights: a column of a layer
# at density `d` holds about `d n_out` of them, each of variance `1 / (3 fan_in)`. So under (b)
# the gradient also loses about `sqrt(d)` per layer against (a), and the backward pass has **no
# bias** to put a floor under it. We send a standard normal gradient into the last layer and
# measure the root mean square of the gradient at each layer's pre-activation, in seed 0's
# networks.


# %%
def backward_scales(net, X, rng):
    """Root mean square of d loss / d Z at every layer, for a random output gradient."""
    Zs = pre_activations(net, X)
    dZ = rng.standard_normal(Zs[-1].shape).astype(np.float32)
    scales = [np.sqrt(np.mean(dZ.astype(np.float64) ** 2))]
    for i in range(depth - 1, 0, -1):
        dH = net.layers[i].backward(dZ, param_grads=False)
        dZ = np.ascontiguousarray(dH * (Zs[i - 1] > 0), dtype=np.float32)
        scales.append(np.sqrt(np.mean(dZ.astype(np.float64) ** 2)))
    return np.array(scales[::-1])


print(f"{'density':>8}{'gradient at L1 / at L8, (a)':>30}{'(b)':>12}{'(b)/(a) at L1':>16}")
gradient_ratio = {}
for density in DENSITIES:
    g = {
        init: backward_scales(nets[density, init, 0], X, np.random.default_rng(seed + 7))
        for init in INITS
    }
    gradient_ratio[density] = g["dense-fan-in"][0] / g["sparse-fan-in"][0]
    print(
        f"{density:>8}{g['sparse-fan-in'][0] / g['sparse-fan-in'][-1]:>30.2e}"
        f"{g['dense-fan-in'][0] / g['dense-fan-in'][-1]:>12.2e}{gradient_ratio[density]:>16.2e}"
        f"   (sqrt(d)^{depth - 1} = {np.sqrt(density) ** (depth - 1):.1e})"
    )

# %% [markdown]
# The gradient reaching the first layer of (b) is smaller than (a)'s by about `sqrt(d)` to the
# power of the layers it crossed (the last column), on top of the factor of about 500 by which
# (a)'s own gradient shrinks over the 7 layers (PyTorch's init again). For plain gradient
# descent that would be fatal in a deep network: the first layers would barely move. **Adam**
# divides every parameter's step by the root of its own running mean squared gradient (chapter
# 3), so a gradient that is uniformly `10^-5` times smaller gives about the same steps, until it
# nears Adam's `eps` (`1e-8`). Adam
# is, to a good approximation, invariant to the *scale* of the gradient; what it cannot undo is a
# forward signal drowned by the biases, where the gradient no longer says much about the input.
#
# ### What this means for DS-TD3's networks
#
# DS-TD3's actor and critics are not 8 layers deep: two sparse hidden layers and a dense output
# layer, at densities of about 0.33-0.44 and 0.5 on HalfCheetah (the paper's Erdős–Rényi
# `lambda`s, chapter 8). By the derivation, (b) scales their signal at the output by about
# `sqrt(d1 d2)`: roughly a factor of 2, not of a million. Measured at initialisation, on
# standard normal observations (HalfCheetah's 17 features; real observations are not
# standardised, so take the absolute numbers as illustrations) and uniform actions in `[-1, 1]`,
# over 5 seeds:

# %%
OBS_DIM, ACT_DIM = 17, 6  # HalfCheetah-v5 (chapter 8)
config = TrainConfig(algo="ds-td3", env="HalfCheetah-v5")
agent_densities = network_densities(config, OBS_DIM, ACT_DIM)  # the paper's lambdas, 7 and 64
print("actor densities", [None if d is None else round(d, 3) for d in agent_densities.actor])
print("critic densities", [None if d is None else round(d, 3) for d in agent_densities.critic])
probe_rng = np.random.default_rng(seed + 200)
obs = probe_rng.standard_normal((OBS_DIM, 1000)).astype(np.float32)
actions = probe_rng.uniform(-1, 1, (ACT_DIM, 1000)).astype(np.float32)
critic_input = np.concatenate([obs, actions])
agent_scales = defaultdict(list)  # (network, init) -> [(scale, signal), ...] over seeds
for agent_seed in range(5):
    for init in ("dense", *INITS):
        for name, sizes, densities, inputs in (
            ("actor", [OBS_DIM, 256, 256, ACT_DIM], agent_densities.actor, obs),
            ("critic", [OBS_DIM + ACT_DIM, 256, 256, 1], agent_densities.critic, critic_input),
        ):
            if init == "dense":
                densities = [None, None, None]
            net = MLP.build(
                sizes, densities, np.random.default_rng(agent_seed),
                init="sparse-fan-in" if init == "dense" else init,
            )  # fmt: skip
            scale, signal, _ = scale_parts(net.forward(inputs).astype(np.float64))
            agent_scales[name, init].append((scale, signal))
print(f"\n{'output at init':28s}{'dense':>10}{'(a) sparse fan-in':>19}{'(b) dense fan-in':>18}")
for name, what in (("actor", "actor, before the tanh"), ("critic", "critic, Q")):
    for part, column in (("scale", 0), ("signal", 1)):
        values = [np.mean(agent_scales[name, init], axis=0)[column] for init in ("dense", *INITS)]
        print(f"{what + ', ' + part:28s}{values[0]:>10.4f}{values[1]:>19.4f}{values[2]:>18.4f}")
for name, densities in (("actor", agent_densities.actor), ("critic", agent_densities.critic)):
    signals = {init: np.mean(agent_scales[name, init], axis=0)[1] for init in INITS}
    print(
        f"{name}: signal (b)/(a) {signals['dense-fan-in'] / signals['sparse-fan-in']:.3f}, "
        f"sqrt(d1 d2) = {np.sqrt(densities[0] * densities[1]):.3f}"
    )

# %% [markdown]
# The actor's outputs before the `tanh` and the critics' Q-values start at about half the scale
# of (a)'s (the last two lines put the measured signal ratio beside `sqrt(d1 d2)`). Under (a) a
# sparse network starts at about the dense network's scale, which is what "initialise with the
# actual fan-in" was for (Evci et al., AAAI 2022, "Gradient flow in sparse neural networks and
# how lottery tickets win", argue for it on these grounds).
#
# ### What the committed runs say
#
# `results/beyond/dense_fan_in_init` holds DS-TD3 and Static-TD3 on HalfCheetah-v5 with the paper
# code's init (`--init dense-fan-in`), 200k steps, and `results/beyond/paper_code_init` DS-TD3
# with that init *and* the paper code's Bernoulli topology draw; `results/paper200k` (and
# `results/halfcheetah_seeds5_9`, where present) hold the same agents at minidst's default.
# `report.comparisons` pairs each group that changes a setting with its algorithm at the
# defaults (chapter 10): the difference of the mean final returns, its 95% Welch interval, and
# Welch's p. The runs are found as in chapter 15: `$MINIDST_RESULTS`, else a `results` folder in
# or above the current directory, this file or the minidst package. Without one, this part and
# the plot of dormant units later print a line and move on.

# %%
ENV, BUDGET = "HalfCheetah-v5", 200_000
SWEEPS = (
    "paper200k",
    "halfcheetah_seeds5_9",
    "beyond/dense_fan_in_init",
    "beyond/paper_code_init",
    "equal_weights",
    "wide",
)


def find_results() -> Path | None:
    """``rundir.find_results``: ``$MINIDST_RESULTS``, else ``results`` in or above the current
    directory, this file (a script; a notebook has no ``__file__``) or the minidst package."""
    return rundir.find_results(
        near=Path(__file__).resolve().parent if "__file__" in globals() else None
    )


def read_env_runs(results: Path) -> list:
    """The finished ``ENV`` runs of ``BUDGET`` steps in ``SWEEPS``, each experiment once."""
    runs, seen = [], set()
    for sweep in SWEEPS:
        folder = results / sweep
        if (folder / ENV).is_dir():
            folder = folder / ENV  # skip the other environments' runs
        elif not folder.is_dir():
            continue
        for run in read_runs(folder)[0]:
            key = (run.label, run.seed)
            if run.env == ENV and run.steps[-1] == BUDGET and key not in seen:
                seen.add(key)
                runs.append(run)
    return runs


verdict = pair_verdict  # higher / lower where Welch's p < 0.05, else not told apart


RESULTS = find_results()
env_runs = read_env_runs(RESULTS) if RESULTS is not None else []
init_pairs = [
    pair
    for pair in comparisons(env_runs)
    if pair["control"] == "defaults" and "init=dense-fan-in" in pair["algo"]
]
if RESULTS is None:
    where = os.environ.get("MINIDST_RESULTS") or f"results/ (from {Path.cwd()} upwards)"
    print(f"No runs found in {where}; set MINIDST_RESULTS to a results folder and run again.")
elif not init_pairs:
    print(f"no {ENV} runs with init=dense-fan-in and their defaults under {RESULTS}")
else:
    print(f"{len(env_runs)} finished {ENV} runs read from {RESULTS}")
for pair in init_pairs:
    print(
        f"{pair['algo']:40s} vs {pair['against']:11s} {pair['seeds']}/{pair['seeds_against']} "
        f"seeds: {pair['final_mean']:7,.0f} vs {pair['against_mean']:7,.0f}, difference "
        f"{pair['difference']:+7,.0f} [{pair['difference_low']:+,.0f}, "
        f"{pair['difference_high']:+,.0f}], Welch p = {pair['p_welch']:.3f}: {verdict(pair)}"
    )
for pair in init_pairs:
    reading = verdict(pair)
    if reading.startswith("lower"):
        sentence = (
            "scored lower: here the shrunken signal costs return, as the measurement predicts"
        )
    elif reading.startswith("higher"):
        sentence = "scored higher, beyond what the seeds' spread explains: the paradox is real here"
    elif reading.startswith("untestable"):
        sentence = "cannot be tested yet"
    else:
        side = "higher" if pair["difference"] > 0 else "lower"
        sentence = f"is not told apart from the default; its point estimate is {side}"
    print(f"-> {pair['algo']}: the paper code's init {sentence}")
dense_fan_in_not_lower = bool(init_pairs) and not any(
    verdict(pair).startswith("lower") for pair in init_pairs
)
if init_pairs and dense_fan_in_not_lower:
    print("=> in no pair did the paper code's init score lower: the paradox below applies here")
elif init_pairs:
    print("=> in some pair the paper code's init scored lower: see the first case below")

# %% [markdown]
# Read the lines above with chapter 10's rule: an interval that contains 0 does not tell the two
# inits apart, whatever the point estimate.
#
# **The paradox.** If the paper code's init scored *lower*, the measurement above is the obvious
# suspect, and there is no paradox. If it scored **at least as well** (when this chapter was
# written, every point estimate favoured it and no interval excluded zero; the last lines above
# say what the runs in your checkout show), then an init that starts every signal at about half
# its scale did no harm to these agents. That deserves an explanation. None of the following is
# tested here; they are **hypotheses**:
#
# * **H1, smaller initial outputs.** At initialisation the critics' Q-values and the actor's
#   pre-`tanh` outputs are about half as large under (b) (measured above). A critic that starts
#   nearer zero starts with smaller errors in the targets it bootstraps from, and an actor whose
#   outputs start nearer zero starts with the `tanh` far from saturation. Either might help early
#   learning, and a head start can persist to 200k steps.
# * **H2, Adam forgets the init's scale.** Adam's steps are about the learning rate (DS-TD3's:
#   `1e-3`) whatever the gradient's scale. The initial weights are at most `1/sqrt(256) = 0.0625`
#   under (b) and `1/sqrt(128) = 0.088` under (a) at density 0.5, so a few hundred consistent
#   steps move a weight as far as its initial size: after the first thousands of updates the
#   weights' scale is set by training, not by the init, and only the first stretch of training
#   sees the difference. The backward measurement above is the same argument for the gradients.
# * **H3, shallow networks.** The factor is `sqrt(d)` per sparse layer, and DS-TD3 has two at
#   densities 0.33-0.5: a factor of about 2 at the output, within the range of init scales that
#   train well. The 8-layer networks at density 0.05 lose a factor of millions; the agents here
#   are nowhere near that regime.
# * **H4, noise.** With a handful of seeds a side, a difference of several hundred in final
#   return is within the seeds' spread (chapter 10): the simplest reading of an interval that
#   contains 0 is that the seeds cannot tell. H1-H3 then explain why one should not *expect* a
#   large cost.
#
# A Static-TD3 pair, if printed, separates rewiring from the init: when both the static and the
# dynamic agents show the same sign, the effect is the init's, not rewiring's. Exercise 6 tests
# H1 and H2 directly.

# %% [markdown]
# ## 3. Plasticity and dormant units
#
# A network that trains at the start can still lose the ability to learn, its **plasticity**.
# One measurable symptom in deep RL is the **dormant unit**. ReDo (Sokar, Agarwal, Castro and
# Evci, ICML 2023, "The dormant neuron phenomenon in deep reinforcement learning") calls unit `i`
# of a layer **tau-dormant** on a batch when its mean absolute activation, divided by the mean of
# that over the layer's units, is at most `tau`:
#
# `s_i = mean_b |h_i(x_b)| / ((1/n) sum_j mean_b |h_j(x_b)|) <= tau`,  with ReDo's `tau = 0.025`.
#
# They report that the fraction of dormant units grows over training in deep RL agents, and
# that recycling them (reinitialising their incoming weights, zeroing their outgoing ones)
# keeps the network expressive and improves the agents' performance. `minidst.dormant` computes
# the score on a batch:

# %%
print(inspect.getsource(unit_scores))
print(f"ReDo's tau in minidst.dormant: {TAU}")

# %% [markdown]
# A ReLU unit that is **never active** on a batch (pre-activation `<= 0` for every sample,
# chapter 11's "never active" units) has `h_i = 0` throughout, so its score is exactly 0: it is
# dormant for every `tau`. The converse does not hold: a unit that fires weakly, below 2.5% of
# its layer's mean, is dormant too. And a dormant unit gets (almost) no gradient through its
# ReLU, which is why the state can last.
#
# ### Units with no inputs
#
# A sparse layer can leave a unit with **no stored input at all**. With the exact draw of `m`
# connections among `N = n_out n` positions, a given unit's `n` positions are all empty with
# probability
#
# `P(no input) = prod_{t=0}^{n-1} (N - m - t) / (N - t)  ~  (1 - d)^n`,
#
# which matters for narrow inputs: DS-TD3's first layers read 17 (actor) or 23 (critic)
# features on HalfCheetah. Such a unit computes `relu(bias)` for every input: if its bias is
# `<= 0`, it is never active, so dormant with score 0; if its bias is positive, it outputs a
# constant, which ReDo's score does **not** call dormant (its activation is not small), though it
# carries no information about the input either. We draw 17 -> 256 first layers at a few
# densities (chapter 12 did this for ERK and uniform layouts at 90-95% sparsity):

# %%
draws = 20
draw_rng = np.random.default_rng(seed + 300)
print(f"{'density':>8}{'no-input units, mean of ' + str(draws):>28}{'exact':>8}{'(1-d)^n':>9}")
for density in (0.5, 0.2, 0.1, 0.05):
    counts = [
        int(np.sum(np.diff(SparseLinear(OBS_DIM, width, density, draw_rng).weight.indptr) == 0))
        for _ in range(draws)
    ]
    N, m = width * OBS_DIM, round(density * width * OBS_DIM)
    exact = width * np.prod([(N - m - t) / (N - t) for t in range(OBS_DIM)])
    print(
        f"{density:>8}{np.mean(counts):>28.2f}{exact:>8.2f}{width * (1 - density) ** OBS_DIM:>9.2f}"
    )

# %% [markdown]
# At density 0.5 no unit goes without input; at 0.1 about 40 of 256 do, at 0.05 over a hundred.
# (The paper's HalfCheetah actor has a first layer at 0.44, so it has none, almost surely.) Now
# one such network, an actor-shaped `17 -> 256 -> 256 -> 6` with both hidden layers at density
# 0.1, on 1,000 standard normal inputs: every no-input unit outputs exactly `relu(bias)`, and
# those with a non-positive bias have score exactly 0. Both are identities of the code, checked.

# %%
actor_like = MLP.build([OBS_DIM, width, width, ACT_DIM], [0.1, 0.1, None], np.random.default_rng(3))
first = actor_like.layers[0]
no_input = np.flatnonzero(np.diff(first.weight.indptr) == 0)
H1 = np.maximum(first.forward(obs), 0)
assert np.array_equal(
    H1[no_input], np.repeat(np.maximum(first.bias[no_input], 0)[:, None], 1000, 1)
)
scores = unit_scores(actor_like, obs)[0]
off = no_input[first.bias[no_input] <= 0]
lit = no_input[first.bias[no_input] > 0]
assert np.all(scores[off] == 0)
print(f"{len(no_input)} of {width} first-layer units have no input")
print(f"  {len(off)} with bias <= 0: never active, score 0, dormant")
print(
    f"  {len(lit)} with bias > 0: constant outputs, scores {scores[lit].min():.2f} to "
    f"{scores[lit].max():.2f}, dormant: {int(np.sum(scores[lit] <= TAU))}"
)
print(f"dormant in layer 1 altogether: {np.mean(scores <= TAU):.1%}")

# %% [markdown]
# ### Dormant units at initialisation
#
# How many units are dormant before any training? Below, on the actor-shaped networks (both
# hidden layers at density `d`, output dense) and on the 8-layer networks of section 2, with
# both inits, on standard normal inputs; the mean over seeds. For the 8-layer networks, layers 1-2
# and 3-7 separately (layer 8 is the output). Every never-active unit is dormant, checked in
# each network.


# %%
def never_active_are_dormant(net, X):
    """Check that every never-active hidden unit has score 0; return the scores per layer."""
    layer_scores, h = unit_scores(net, X), X
    for layer, activation, s in zip(net.layers[:-1], net.activations[:-1], layer_scores):
        Z = layer.forward(h)
        assert np.all(s[np.all(Z <= 0, axis=1)] == 0)
        h = activation.forward(Z)
    return layer_scores


print(
    f"{'density':>8}{'init':>15}{'actor L1':>10}{'actor L2':>10}{'deep L1-2':>11}{'deep L3-7':>11}"
)
dormant_at_init = {}
for density in DENSITIES:
    for init in INITS:
        actor_rows, deep_rows = [], []
        for s in net_seeds:
            net = MLP.build(
                [OBS_DIM, width, width, ACT_DIM], [density, density, None],
                np.random.default_rng(s), init=init,
            )  # fmt: skip
            actor_rows.append([np.mean(x <= TAU) for x in never_active_are_dormant(net, obs)])
            deep = never_active_are_dormant(nets[density, init, s], X)
            deep_rows.append(
                [np.mean(np.concatenate(deep[:2]) <= TAU), np.mean(np.concatenate(deep[2:]) <= TAU)]
            )
        row = np.concatenate([np.mean(actor_rows, axis=0), np.mean(deep_rows, axis=0)])
        dormant_at_init[density, init] = row
        print(f"{density:>8}{init:>15}" + "".join(f"{x:>10.1%}" for x in row[:2])
              + "".join(f"{x:>11.1%}" for x in row[2:]))  # fmt: skip

# %% [markdown]
# Two sources of dormancy show up, and the table separates them:
#
# * **Missing inputs**, in the actor's first layer: none at densities 1 and 0.5, then the
#   no-input units with a non-positive bias at 0.1 and 0.05 (about half of the counts in the
#   previous table), plus units left with one or two inputs that happen to fire rarely. The
#   init rule barely matters there.
# * **Shrinking signal**, in the deep layers of the 8-layer networks: once the signal is small
#   against the biases (section 2), a unit with a negative bias stays below zero for every input
#   and is never active. That happens even in the dense network, from layer 3 or 4 on; under
#   the dense fan-in (b), whose signal dies faster, the fractions were higher at every density
#   below 1 when this was written (the table shows your draws), and at densities 0.1 and 0.05
#   already in the actor's second layer. So the init of section 2 and the dormant units of this
#   section are one story told twice: a layer whose input barely varies has units that barely
#   vary.
#
# ### What prune-and-regrow can do for a unit with no inputs
#
# A static sparse network keeps its no-input units for good. Dynamic sparse training regrows
# connections at random empty positions, and a no-input unit's row is all empty positions, so
# regrowth *can* reconnect it. Whether that brings the unit back to life is a separate question,
# and the answer follows from two facts of chapter 5's update:
#
# 1. a new connection starts at weight **zero**, and its Adam moments at zero;
# 2. a unit whose pre-activation is `<= 0` for every input gets **exactly zero** gradient for its
#    bias and all its incoming weights (the ReLU's derivative is 0 there).
#
# A no-input unit with a non-positive bias computes `z = bias <= 0`. A regrown connection adds
# `0 * x = 0`, so `z` does not change, the gradient at the new connection is exactly 0, Adam's
# step is exactly 0 (without weight decay), and the connection stays at zero, to be among the
# first pruned at the next update (an exact zero is the smallest weight there is). The unit
# never wakes. A no-input unit with a *positive* bias
# is active, so its new connections do get gradient and can grow: regrowth turns a constant unit
# into a working one. RigL's gradient regrowth is worse for the dead unit: it ranks empty
# positions by `|gradient|`, and the dead unit's row is exactly zero, so it comes last.
#
# We check this on chapter 5's teacher regression: a `24 -> 256 -> 256 -> 4` student with both
# hidden layers at density 0.1 (some first-layer units start without input), trained with Adam
# (no weight decay) as a static student and as a dynamic one that starts from the same copy and
# rewires with `zeta = 0.1`. At the end we look at the units that started without input.

# %%
train_rng = np.random.default_rng(seed + 400)
n_train, n_test = (2048, 512) if QUICK else (4096, 1024)
data = teacher_regression(train_rng, 24, 4, [32, 32], n_train, n_test)
steps = 400 if QUICK else 3000
rewire_every = 50 if QUICK else 200
zeta = 0.1
student0 = MLP.build([24, width, width, 4], [0.1, 0.1, None], train_rng)
start_layer = student0.layers[0]
empty0 = np.flatnonzero(np.diff(start_layer.weight.indptr) == 0)
dead0 = empty0[start_layer.bias[empty0] <= 0]
lit0 = empty0[start_layer.bias[empty0] > 0]
print(f"{len(empty0)} first-layer units start without input: {len(dead0)} dead, {len(lit0)} lit")
schedule = train_rng.integers(0, n_train, size=(steps, 128))

students = {}
for name in ("static", "dynamic"):
    student = copy.deepcopy(student0)
    optimizer = Adam(student.layers, lr=1e-3)
    rewire_rng = np.random.default_rng(seed + 500)
    for step, rows in enumerate(schedule, start=1):
        _, dY = mse_loss(student.forward(data.X_train[:, rows]), data.y_train[:, rows])
        student.backward(dY)
        optimizer.step()
        if name == "dynamic" and step % rewire_every == 0 and step < steps:
            for layer in student.sparse_layers:
                evolve_layer(layer, optimizer, zeta, rewire_rng)
    students[name] = student

print(f"\n{steps} steps, dynamic: {(steps - 1) // rewire_every} topology updates of {zeta:.0%}")
print(f"{'student':9s}{'units':>7}{'inputs now':>12}{'nonzero weights':>17}{'dormant':>9}"
      f"{'test loss':>11}")  # fmt: skip
for name, student in students.items():
    W, bias = student.layers[0].weight, student.layers[0].bias
    degree = np.diff(W.indptr)
    rows_of = np.repeat(np.arange(width), degree)  # the unit of every stored connection
    nonzero = np.bincount(rows_of[W.data != 0], minlength=width)
    s = unit_scores(student, data.X_test)[0]
    test = mse_loss(student.forward(data.X_test), data.y_test)[0]
    # The dead units: bias untouched, every incoming weight (regrown ones too) exactly zero.
    assert np.array_equal(bias[dead0], start_layer.bias[dead0])
    assert np.all(nonzero[dead0] == 0) and np.all(s[dead0] == 0)
    for kind, units in (("dead", dead0), ("lit", lit0)):
        print(
            f"{name:9s}{kind + ' ' + str(len(units)):>7}{degree[units].sum():>12d}"
            f"{nonzero[units].sum():>17d}{int(np.sum(s[units] <= TAU)):>9d}"
            + (f"{test:>11.4f}" if kind == "dead" else "")
        )

# RigL would not even try: after a backward pass the dense gradient in the dead rows is zero.
dynamic = students["dynamic"]
rows = schedule[-1]
_, dY = mse_loss(dynamic.forward(data.X_train[:, rows]), data.y_train[:, rows])
dynamic.backward(dY)
dense_gradient = dynamic.layers[0].dense_weight_gradient()
assert np.all(dense_gradient[dead0] == 0)
occupied = np.zeros(dense_gradient.shape, dtype=bool)
occupied.ravel()[dynamic.layers[0].positions()] = True
print(
    f"\nRigL's view: {int(np.sum((dense_gradient != 0) & ~occupied)):,} empty positions with a "
    f"nonzero gradient; the dead units' rows hold {int(np.sum(~occupied[dead0])):,} empty "
    f"positions, every one at gradient 0; an update of {zeta:.0%} grows "
    f"{round(zeta * dynamic.layers[0].nnz)} connections"
)

# %% [markdown]
# What the lines show (the dead units' part is asserted; the lit units' part is printed, and
# depends on the draw):
#
# * the **dead** no-input units stay exactly as they started, in both students: same bias, no
#   nonzero incoming weight, score 0. Where the dynamic student regrew connections into their
#   rows ("inputs now" above zero), every one of them is still at zero;
# * the **lit** no-input units stay constant in the static student, but in the dynamic one some
#   gain connections with nonzero weights: rewiring turned them into units that depend on the
#   input;
# * RigL's criterion ranks the dead rows last: they could only be chosen if fewer empty
#   positions with a nonzero gradient were left than the update grows (the last line compares
#   the two).
#
# So prune-and-regrow can reconnect a unit with no inputs, but only a unit that is still active
# can use the new connections. That is why ReDo *reinitialises* a dormant unit's incoming
# weights with nonzero values (and zeroes its outgoing ones so the network's output does not
# jump) rather than waiting for gradient. Two further routes out exist in DS-TD3 and not in this
# experiment: its **weight decay** (2e-4, L2, added to the gradient inside Adam, chapter 3) pulls
# a dead unit's bias towards zero in steps of about the learning rate, because Adam rescales even
# that tiny gradient (a bias that overshot to a positive value would reopen the unit); and units
# of the *second* layer are fed by units whose outputs change during training, so a dead unit
# there can be woken from below. Exercises 3 and 4 look at both.
#
# ### Dormant units over training, in the committed runs
#
# Runs made recently log the dormant fraction of every network in each `progress.csv` row
# (`topology/dormant_actor`, `topology/dormant_critic1`, `topology/dormant_critic2`, over both
# hidden layers, on the last training minibatch of 100 samples, so each value is noisy). Below,
# every HalfCheetah group that logged it, mean over seeds (band: lowest to highest seed).

# %%
DORMANT_NETS = ("actor", "critic1", "critic2")


def dormant_curve(run):
    """``(steps, fractions (n_rows, 3))`` of a run's logged dormant fractions, or None."""
    rows = [
        row for row in rundir.progress_log(run.run_dir).rows if row.get("topology/dormant_actor")
    ]
    if not rows:
        return None
    steps = np.array([int(row["step"]) for row in rows])
    return steps, np.array([[float(row[f"topology/dormant_{n}"]) for n in DORMANT_NETS]
                            for row in rows])  # fmt: skip


logged = defaultdict(list)  # label -> [(steps, fractions), ...] over seeds
for run in env_runs:
    curve = dormant_curve(run)
    if curve is not None:
        logged[run.label].append(curve)

dormant_groups = {}  # label -> (steps, per seed (n_seeds, n_steps, 3))
for label, curves in sorted(logged.items()):
    steps_common = curves[0][0]
    for other_steps, _ in curves[1:]:
        steps_common = np.intersect1d(steps_common, other_steps)
    per_seed = np.array([values[np.isin(s, steps_common)] for s, values in curves])
    dormant_groups[label] = (steps_common, per_seed)

if dormant_groups:
    group_colour = group_colours(list(dormant_groups))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
    for i, (ax, net_name) in enumerate(zip(axes, DORMANT_NETS)):
        for label, (steps_common, per_seed) in dormant_groups.items():
            colour = group_colour[label]
            ax.plot(steps_common, per_seed[:, :, i].mean(axis=0), color=colour,
                    label=f"{label} ({len(per_seed)})")  # fmt: skip
            ax.fill_between(steps_common, per_seed[:, :, i].min(axis=0),
                            per_seed[:, :, i].max(axis=0), color=colour, alpha=0.15)  # fmt: skip
        ax.set_title(net_name)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:.0f}k"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.0%}"))
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"dormant hidden units (tau = {TAU})")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{ENV}: mean over seeds (band: lowest to highest seed)", fontsize=10)
    fig.tight_layout()
    path = finish_figure(fig, OUT / "16_dormant_over_training.png")
    print("saved", path)
    window = 10  # rows averaged at each end, against the minibatch noise
    print(f"\nfirst {window} -> last {window} logged rows, mean over seeds (seeds where it rose)")
    print(f"{'group':40s}{'seeds':>6}" + "".join(f"{name:>22s}" for name in DORMANT_NETS))
    for label, (_, per_seed) in dormant_groups.items():
        early = per_seed[:, :window].mean(axis=1)  # (n_seeds, 3)
        late = per_seed[:, -window:].mean(axis=1)
        rose = np.sum(late > early, axis=0)
        cells = [
            f"{early[:, i].mean():.1%} -> {late[:, i].mean():.1%} ({rose[i]})"
            for i in range(len(DORMANT_NETS))
        ]
        print(f"{label:40s}{len(per_seed):>6}" + "".join(f"{cell:>22s}" for cell in cells))
else:
    print(f"no {ENV} run read here logged dormant units; nothing to plot")

# %% [markdown]
# The last table gives, per group and network, the dormant fraction over the first and the last
# ten logged rows, and in how many seeds it rose. ReDo's claim is that the fraction grows over
# training; whether these agents agree, network by network, and whether the sparse groups sit
# above or below the dense control (`td3 hidden=177`, which stores as many weights as DS-TD3),
# is what the lines say. (When this was written, the critics' fractions rose in every group and
# seed, while the actors' ended a little below their early values in every group but the wide
# one: the figure shows both.) Two
# cautions when reading them. The logged values start after the random-action warm-up, and each
# is measured on one training minibatch, not on a fixed batch. And a network's fraction mixes its
# two hidden layers: in DS-TD3 the first layer is far from the density where units lose all their
# inputs (0.33-0.44 on 17-23 features), so its dormant units, if any, come from training, not
# from the draw; in the wide 1024-unit networks (chapter 15) the hidden layer is under 5% dense,
# and units with few inputs are common.

# %%
print(f"chapter ran in {time.perf_counter() - chapter_start:.1f} s")

# %% [markdown]
# ## Summary
#
# * **Claims of the cited papers**: lottery tickets exist in dense networks and are found by
#   repeated training and pruning (Frankle and Carbin 2019); randomly pruned networks, trained
#   sparse, come close to dense ones as networks grow wider and deeper and when the per-layer
#   densities are chosen well (Liu et al. 2022); dynamic sparse training searches the topology
#   during training instead (SET 2018, RigL 2020), and DS-TD3 brings that to TD3.
# * **Init, derived**: a unit with `k` inputs and weights `U(-a, a)` has
#   `E[z^2] = (a^2 / 3)(k q + 1)`. With the actual fan-in (minidst's default) the weights' share
#   matches a dense layer's; with the dense fan-in (the DS-TD3 code) it is `d` times smaller for
#   the same input, `sqrt(d)` in scale.
# * **Init, measured**: the two inits build the same topology and differ by `sqrt(k_i / n)` per
#   unit (checked); layer 1's ratio is `sqrt(d)` within a Cauchy-Schwarz bound computed from the
#   draw (checked); in deeper layers the input-dependent signal loses about `sqrt(d)` per layer
#   under the dense fan-in while the total scale stops at the bias floor, and the recursion
#   predicts the scale. PyTorch's default init shrinks signals by about 3 per ReLU layer even
#   when dense. Gradients shrink the same way backwards, with no floor; Adam largely ignores
#   their scale.
# * **DS-TD3**: two sparse layers at 0.33-0.5 give a factor of about 2 at the output, not
#   millions. The committed HalfCheetah runs compare the two inits; what they show is printed,
#   and four labelled hypotheses say why the paper code's init need not cost return there.
# * **Dormant units** (ReDo): score `s_i <= 0.025`. Never-active units are dormant with score 0.
#   A sparse layer leaves `~ n_out (1 - d)^n` units with no input: those with a non-positive
#   bias are dead, those with a positive one constant. A shrinking signal makes deep units
#   dormant too, more so under the dense fan-in.
# * **Regrowth** can reconnect a unit with no inputs, but a new connection starts at zero and a
#   dead unit gets exactly zero gradient, so only a unit that is still active can use it (checked
#   on a regression); RigL's criterion ranks a dead row last. Reviving dead units needs
#   nonzero values (ReDo's recycling) or another push (weight decay on the bias, inputs that
#   change).

# %% [markdown]
# ## Exercises
#
# 1. *(seconds)* **He init.** Multiply every weight and bias of the sparse fan-in networks of
#    section 2 by `sqrt(6)` (that gives variance `2 / fan_in`, He's rule for ReLU) and measure the
#    scale and the signal again. Does the signal keep its size across the 8 layers now? What
#    happens to the bias floor, and why would one usually start the biases at zero instead?
# 2. *(seconds)* **No biases.** Set every bias to zero and repeat section 2. Is the ratio of the
#    scales now `d^(l/2)` in every layer? Why only approximately? (Hint: the fan-ins vary from
#    row to row, and a ReLU is positively homogeneous, `relu(c z) = c relu(z)` for `c > 0`.)
# 3. *(seconds)* **The second layer.** In the actor-shaped network of section 3, count the
#    second-layer units whose every input comes from a dead first-layer unit, and compute the
#    dormant fraction per layer with `unit_scores`. Which layer holds the dormant units at
#    density 0.05?
# 4. *(about a minute on one core)* **Reviving dead units.** In section 3's regression, give a
#    connection regrown into a dead unit's row a nonzero initial value (for example
#    `U(-1/sqrt(24), 1/sqrt(24))`, written into `layer.weight.data` after `evolve_layer`;
#    chapter 12's `RecordingOptimizer` shows how to get the update's `source`, where -1 marks a
#    new entry). Do the dead units come back, and does the
#    test loss change? Then leave the values at zero and train with `Adam(...,
#    weight_decay=2e-4)` instead (DS-TD3's L2): what happens to the dead units' biases, and do
#    any of the units come back?
# 5. *(seconds)* **RigL on the regression.** Replace the dynamic student's regrowth with
#    `evolve_layer(..., grow="gradient")` and count, at every update, how many new connections
#    land in the rows of units that started without input, dead and lit separately.
# 6. *(a few minutes on one core per run)* **Test H1 and H2.** Train DS-TD3 on HalfCheetah for
#    30,000 steps with each init (`TrainConfig(algo="ds-td3", env="HalfCheetah-v5",
#    steps=30_000, init="dense-fan-in")` and the default, through `Trainer`, chapter 12 shows
#    how), and log the critics' mean Q-value and the norm of each layer's weights every few
#    thousand steps. Does (b) start with smaller Q-values (H1)? How many updates until the two
#    inits' weight norms are indistinguishable (H2)?
# 7. *(about 2-3 hours on 2 cores for five more seeds of each init)* **More seeds.** The init
#    comparison is as decisive as its seeds. Add seeds to both groups, e.g.
#    `minidst sweep --algo ds-td3 --env HalfCheetah-v5 --seeds 5-9 --steps 200000
#    --init dense-fan-in --sweep-dir results/beyond/dense_fan_in_init --jobs 2` and the same
#    without `--init` into `results/halfcheetah_seeds5_9`, and run this chapter again: the
#    comparison, its interval and the sentence under it are recomputed from the runs.
