# %% [markdown]
# # Chapter 3: Networks and optimizers
#
# Chapter 2 built one sparse layer and its backward pass. A network is a stack of such layers with
# activations in between, trained by gradient descent on a loss. Every later chapter uses three
# pieces of minidst for that and treats them as black boxes:
#
# * `minidst.nn`: the activations (ReLU, tanh, identity), the `MLP` that stacks layers, and the
#   loss `mse_loss`;
# * `minidst.optim.Adam`: the optimizer, with its moment estimates and weight decay;
# * the rule that ties the two together when a sparse layer's connections move (as they will in
#   chapter 5, where topology updates prune and regrow them).
#
# In this chapter we open the boxes. Each piece is written by hand in NumPy, checked against the
# library (to ~1e-12 in float64) and, where it is a derivative, against central differences
# (`minidst.gradcheck`, chapter 2). Along the way we measure what Adam's less obvious parts are
# for: the bias correction, epsilon, and the two ways to add weight decay.

# %% [markdown]
# BLAS is pinned to one thread before NumPy is imported: everything here is small, and extra
# threads would only add overhead. (Chapters 4 and 5 do the same; chapter 4 explains why it
# matters when sparse and dense products are timed against each other.)

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# %%
import copy
import dataclasses
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minidst import MLP, Adam, SparseLinear, mse_loss, warmup
from minidst.config import FAMILY_DEFAULTS, TrainConfig
from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.nn import ACTIVATIONS
from minidst.plot import finish_figure
from minidst.td3 import TD3
from minidst.topology import rebuild_csr

QUICK = os.environ.get("MINIDST_QUICK") == "1"  # only the step counts get smaller
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
print("compiling the kernels: up to a minute the first time, then loaded from the cache")
warmup()  # compile (or load) the Numba kernels now, not inside the first call
rng = np.random.default_rng(0)

# %% [markdown]
# ## Activations
#
# An activation is applied elementwise: `Y = f(Z)`. Its backward pass receives `dY = dL/dY` and
# returns `dZ = dL/dZ = f'(Z) * dY`, elementwise again. minidst keeps each activation as a pair
# `forward(z)` and `backward(z, y, dy)`: the backward gets both the input `z` and the output `y`
# of the forward pass, so that each activation can use whichever makes its derivative cheapest.
#
# | name | `f(z)` | `f'(z)` | used for |
# |---|---|---|---|
# | `relu` | `max(z, 0)` | `1` if `z > 0`, else `0` | hidden layers (the default) |
# | `tanh` | `tanh(z)` | `1 - tanh(z)^2 = 1 - y^2` | the TD3 actor's output; gradient checks |
# | `identity` | `z` | `1` | a critic's output (its value estimate, chapter 6, may be any number) |
#
# `tanh`'s derivative is written with the output `y`: recomputing `tanh(z)` would cost a second
# exponential per entry. ReLU is not differentiable at exactly 0; like PyTorch, minidst takes the
# derivative there to be 0. Here are our own versions:


# %%
def relu(z):
    return np.maximum(z, 0.0)


def relu_backward(z, y, dy):
    return dy * (z > 0)  # the kink at z == 0 counts as the flat side


def tanh(z):
    return np.tanh(z)


def tanh_backward(z, y, dy):
    return dy * (1.0 - y * y)  # reuses the forward output


def identity(z):
    return z


def identity_backward(z, y, dy):
    return dy


mine = {
    "relu": (relu, relu_backward),
    "tanh": (tanh, tanh_backward),
    "identity": (identity, identity_backward),
}
print("minidst's activations:", list(ACTIVATIONS))
assert set(mine) == set(ACTIVATIONS)  # we cover every activation the library has

# %% [markdown]
# To check a backward pass against central differences we need a *scalar* function. The trick is
# to pick a random upstream gradient `dy` and define `L(z) = sum(dy * f(z))`; then
# `dL/dz = f'(z) * dy`, which is exactly what `backward(z, f(z), dy)` must return. For ReLU we keep
# `z` away from the kink (a perturbation of `h = 1e-6` across 0 would measure neither slope,
# chapter 2).

# %%
z = rng.standard_normal((5, 7))
z[np.abs(z) < 1e-3] = 0.5  # away from ReLU's kink
dy = rng.standard_normal(z.shape)
for name, (forward, backward) in mine.items():
    library = ACTIVATIONS[name]
    z_before = z.copy()
    y = forward(z)
    dz = backward(z, y, dy)
    y_lib = library.forward(z)
    dz_lib = library.backward(z, y_lib, dy)
    assert np.array_equal(z, z_before)  # the library's activations never modify their input
    assert np.allclose(y, y_lib, rtol=1e-12, atol=1e-15)
    assert np.allclose(dz, dz_lib, rtol=1e-12, atol=1e-15)
    numeric = central_difference(lambda f=forward: float(np.sum(dy * f(z))), z)
    assert_gradient_close(f"{name} backward", dz, numeric)
    error = np.abs(dz - numeric).max() / np.abs(numeric).max()
    print(
        f"{name:8s} vs minidst: forward {np.abs(y - y_lib).max():.1e}, backward "
        f"{np.abs(dz - dz_lib).max():.1e};  vs central differences: relative {error:.1e}"
    )

# %% [markdown]
# And the convention at the kink, where central differences cannot help: the library's ReLU and
# ours both take the derivative at exactly 0 to be 0.

# %%
z_kink = np.array([[-1.0, 0.0, 1.0]])
ones = np.ones((1, 3))
dz_kink = ACTIVATIONS["relu"].backward(z_kink, ACTIVATIONS["relu"].forward(z_kink), ones)
print("relu'(-1), relu'(0), relu'(1) =", dz_kink[0])
assert dz_kink[0].tolist() == [0.0, 0.0, 1.0]
assert np.array_equal(relu_backward(z_kink, relu(z_kink), ones), dz_kink)

# %% [markdown]
# ## Losses
#
# The TD3 part of the course trains with two losses.
#
# **Mean squared error** trains every critic (and the regression of chapter 5):
#
# `L = mean((p - t)^2)`  over *all* `n` entries of the prediction `p`, so  `dL/dp = 2 (p - t) / n`.
#
# `mse_loss(prediction, target)` returns both: the loss and its gradient, which is the `dY` that
# starts the backward pass. Note that `n` counts every entry, `out_features * batch`, not just the
# batch: for a critic with one output the two are the same.
#
# **The TD3 actor's loss** is `L = -mean(Q)` over the batch of critic outputs `Q`, whose gradient
# is the constant `-1 / n` in every entry (chapter 7 feeds it through the critic into the actor).
# TD3's critic loss is the sum of two MSEs, one per critic, so it needs nothing new. SAC's losses
# are written out in chapter 13.

# %%
p = rng.standard_normal((3, 8))
t = rng.standard_normal((3, 8))
loss_lib, grad_lib = mse_loss(p, t)
loss_mine, grad_mine = np.mean((p - t) ** 2), 2 * (p - t) / p.size
assert np.isclose(loss_mine, loss_lib, rtol=1e-14) and np.allclose(grad_mine, grad_lib, rtol=1e-14)
assert_gradient_close("mse_loss", grad_lib, central_difference(lambda: mse_loss(p, t)[0], p))
q = rng.standard_normal((1, 8))
assert_gradient_close(
    "-mean(Q)", np.full_like(q, -1.0 / q.size), central_difference(lambda: -np.mean(q), q)
)
print(f"mse_loss: loss {loss_lib:.6f} (ours {loss_mine:.6f}); both gradients pass the check")

# %% [markdown]
# ## The MLP, forward and backward by hand
#
# `MLP(layers, activations)` computes `X -> f_1(L_1 X) -> ... -> f_n(L_n ...)`, with
# `L_i X = W_i X + b_i` a `SparseLinear` or a `DenseLinear` layer.
# `MLP.build(sizes, densities, rng)` makes one from layer sizes and one density per layer (`None`
# for a dense layer), ReLU in the hidden layers and identity at the output unless told otherwise.
#
# We take the layer arithmetic of chapter 2 as known and reuse its two sparse functions: the
# forward product straight from the CSR arrays, and the weight gradient at stored connections
# only (SDDMM).


# %%
def sparse_forward(indptr, indices, data, b, X):
    Z = np.empty((len(indptr) - 1, X.shape[1]), dtype=X.dtype)
    for r in range(len(indptr) - 1):
        start, end = indptr[r], indptr[r + 1]
        Z[r] = data[start:end] @ X[indices[start:end]] + b[r]
    return Z


def sparse_weight_grad(indptr, indices, dZ, X):
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return np.sum(dZ[rows] * X[indices], axis=1)  # one dot product per stored connection


def linear_forward(layer, X):
    if isinstance(layer, SparseLinear):
        W = layer.weight
        return sparse_forward(W.indptr, W.indices, W.data, layer.bias, X)
    return layer.weight @ X + layer.bias[:, None]


def linear_backward(layer, X, dZ):
    """(dX, dW, db) of one layer; dW is aligned with the layer's weight parameter."""
    db = dZ.sum(axis=1)  # the bias was added to every sample
    if isinstance(layer, SparseLinear):
        W = layer.weight
        dW = sparse_weight_grad(W.indptr, W.indices, dZ, X)
    else:
        dW = dZ @ X.T
    dX = layer.weight.T @ dZ  # W.T dZ; chapter 2 wrote it by hand for the sparse case
    return dX, dW, db


# %% [markdown]
# The forward pass of the network runs the layers in order and **keeps, for every layer, what its
# backward pass will need**: the layer's input `X_i`, its pre-activation `Z_i` and its output
# `Y_i`.
#
# The backward pass is the chain rule applied layer by layer from the top. It starts with `dY =
# dL/dY_n` from the loss, and for each layer `i = n, ..., 1`:
#
# 1. through the activation: `dZ_i = f_i'(Z_i) * dY_i`;
# 2. through the bias: `db_i = sum over the batch of dZ_i`;
# 3. through the weight: `dW_i[k] = dZ_i[r_k] . X_i[c_k]` at every stored connection `k`;
# 4. on to the layer below: `dY_{i-1} = dX_i = W_i.T dZ_i`, since the input of layer `i` is the
#    output of layer `i - 1`.
#
# For the first layer, step 4 gives the gradient with respect to the network's input, which only
# TD3's actor update needs (the gradient of `Q` with respect to the action).


# %%
def mlp_forward(net, X):
    cache = []
    for layer, act in zip(net.layers, net.activations):
        Z = linear_forward(layer, X)
        Y = mine[act.name][0](Z)
        cache.append((X, Z, Y))
        X = Y
    return X, cache


def mlp_backward(net, cache, dY):
    """Every parameter's gradient, in the order of ``net.parameters()``, and dL/d(input)."""
    grads = []
    for layer, act, (X, Z, Y) in reversed(list(zip(net.layers, net.activations, cache))):
        dZ = mine[act.name][1](Z, Y, dY)  # 1. activation
        dY, dW, db = linear_backward(layer, X, dZ)  # 2.-4. bias, weight, input
        grads = [dW, db, *grads]  # walking backwards, so prepend
    return grads, dY


# %% [markdown]
# Now the comparison with the library, on two small networks in float64: two sparse layers and a
# dense output layer, once with ReLU and once with tanh. `net.backward(dY, input_grad=True)`
# returns the input gradient and leaves each layer's parameter gradients in `net.gradients()`,
# aligned with `net.parameters()` (for a sparse layer: `weight.data`, then the bias).

# %%
sizes = [7, 12, 12, 3]
densities = [0.5, 0.5, None]
X = rng.standard_normal((sizes[0], 16))
T = rng.standard_normal((sizes[-1], 16))
nets = {
    hidden: MLP.build(sizes, densities, rng, hidden_activation=hidden, dtype=np.float64)
    for hidden in ("relu", "tanh")
}
print(nets["tanh"])
for hidden, net in nets.items():
    out_mine, cache = mlp_forward(net, X)
    loss, dY = mse_loss(out_mine, T)
    grads_mine, dX_mine = mlp_backward(net, cache, dY)
    out_lib = net.forward(X)
    dX_lib = net.backward(dY, input_grad=True)
    assert np.allclose(out_mine, out_lib, rtol=1e-12, atol=1e-12)
    assert np.allclose(dX_mine, dX_lib, rtol=1e-12, atol=1e-12)
    worst = np.abs(dX_mine - dX_lib).max()
    for ours, theirs in zip(grads_mine, net.gradients()):
        assert ours.shape == theirs.shape  # aligned: one value per stored connection
        assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)
        worst = max(worst, np.abs(ours - theirs).max())
    print(
        f"{hidden} MLP: output max difference {np.abs(out_mine - out_lib).max():.1e}, "
        f"all gradients max difference {worst:.1e}"
    )

# %% [markdown]
# Both implementations could share a mistake, so the gradients of the tanh network also go
# through central differences: every stored weight, every bias and every input entry.

# %%
net = nets["tanh"]
_, cache = mlp_forward(net, X)
grads_mine, dX_mine = mlp_backward(net, cache, mse_loss(cache[-1][2], T)[1])


def loss_of_net():
    return mse_loss(net.forward(X), T)[0]


names = [f"layer {i} {kind}" for i in range(len(net.layers)) for kind in ("weights", "bias")]
for name, param, grad in zip(names, net.parameters(), grads_mine):
    assert_gradient_close(name, grad, central_difference(loss_of_net, param))
assert_gradient_close("input", dX_mine, central_difference(loss_of_net, X))
print(f"hand-written backward passes the gradient check for {len(names)} parameter arrays + input")

# %% [markdown]
# Two options of `MLP.backward` that later chapters rely on:
#
# * `input_grad` defaults to **False**: a network's input is usually data, so the input gradient
#   is skipped (the first layer's `W.T dZ` product is saved) and `None` is returned;
# * `param_grads=False` only carries the gradient through to the input and leaves every layer's
#   parameter gradients untouched. TD3's actor loss runs backward through critic 1 this way: the
#   critic's own gradients (from its loss) must survive, and only the actor is stepped.

# %%
assert net.backward(mse_loss(net.forward(X), T)[1]) is None
kept = [g.copy() for g in net.gradients()]
q_net = net.forward(X)
dX_only = net.backward(np.full_like(q_net, -1.0 / q_net.size), input_grad=True, param_grads=False)
assert all(np.array_equal(a, b) for a, b in zip(kept, net.gradients()))
assert_gradient_close(
    "d(-mean Q)/d input", dX_only, central_difference(lambda: -np.mean(net.forward(X)), X)
)
print(
    "input_grad=False returns None; param_grads=False leaves the parameter gradients as they were"
)

# %% [markdown]
# ## Adam by hand
#
# Plain gradient descent moves each parameter by `-lr * g`. Adam (Kingma and Ba, 2015) keeps two
# running averages per parameter, updated at every step `t = 1, 2, ...` from the gradient `g`:
#
# * the **first moment** `m = beta1 * m + (1 - beta1) * g`, a smoothed gradient (momentum);
# * the **second moment** `v = beta2 * v + (1 - beta2) * g^2`, a smoothed squared gradient.
#
# Both start at zero, which biases them towards zero in the first steps, so Adam divides by the
# total weight the average has collected so far:
#
# * **bias correction** `m_hat = m / (1 - beta1^t)`, `v_hat = v / (1 - beta2^t)`;
#
# and then steps
#
# `p = p - lr * m_hat / (sqrt(v_hat) + eps)`.
#
# The ratio `m_hat / sqrt(v_hat)` is about `+-1` when the gradient is consistent and smaller when
# it is noisy, whatever the gradient's scale: every parameter moves by roughly `lr` per step.
# Defaults: `lr = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`.
#
# For a sparse layer the parameter is `weight.data`, so `m` and `v` hold one number per *stored*
# connection: optimizer memory is `O(nnz)`, like everything else about the layer. The
# `weight_decay` option is explained in the next section; our version has it already so that we
# can check it against the library too.


# %%
class HandAdam:
    """Adam over a list of arrays, updated in place, written as in the textbook."""

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False
    ):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        beta1, beta2 = self.betas
        for p, g, m, v in zip(params, grads, self.m, self.v):
            if self.decoupled:
                p -= self.lr * self.weight_decay * p  # AdamW: shrink the weight directly
            else:
                g = g + self.weight_decay * p  # L2: the decay joins the gradient
            m[:] = beta1 * m + (1 - beta1) * g
            v[:] = beta2 * v + (1 - beta2) * g * g
            m_hat = m / (1 - beta1**self.t)
            v_hat = v / (1 - beta2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# %% [markdown]
# ### Step for step against `minidst.optim.Adam`
#
# Two copies of the same network, of the same shape as above (sparse layers of 42 and 72
# connections, a dense output layer), are trained side by side on the same minibatches: one
# entirely by hand (our forward, backward and Adam), one entirely by the library (`MLP.forward`,
# `MLP.backward`, `Adam.step`). After every step, every parameter must agree to ~1e-12. We run it
# three times: without weight decay, with L2 weight decay and with decoupled weight decay.

# %%
n_steps = 30 if QUICK else 200
data_X = rng.standard_normal((n_steps, sizes[0], 16))
data_T = rng.standard_normal((n_steps, sizes[-1], 16))
start = MLP.build(sizes, densities, rng, dtype=np.float64)
print(start)
assert [layer.nnz for layer in start.layers[:2]] == [42, 72]
for weight_decay, decoupled in [(0.0, False), (0.05, False), (0.05, True)]:
    lib_net, hand_net = copy.deepcopy(start), copy.deepcopy(start)
    options = {"lr": 1e-2, "weight_decay": weight_decay, "decoupled": decoupled}
    lib_opt = Adam(lib_net.layers, **options)
    hand_opt = HandAdam(hand_net.parameters(), **options)
    assert [m.shape for ms in lib_opt.m for m in ms] == [m.shape for m in hand_opt.m]
    worst = 0.0
    for step in range(n_steps):
        _, dY = mse_loss(lib_net.forward(data_X[step]), data_T[step])
        lib_net.backward(dY)
        lib_opt.step()
        out, cache = mlp_forward(hand_net, data_X[step])
        grads, _ = mlp_backward(hand_net, cache, mse_loss(out, data_T[step])[1])
        hand_opt.step(hand_net.parameters(), grads)
        for ours, theirs in zip(hand_net.parameters(), lib_net.parameters()):
            assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12), f"step {step + 1} differs"
            worst = max(worst, np.abs(ours - theirs).max())
    moved = max(np.abs(a - b).max() for a, b in zip(lib_net.parameters(), start.parameters()))
    print(
        f"weight_decay={weight_decay:<4} decoupled={decoupled!s:5}: {n_steps} steps, parameters "
        f"moved up to {moved:.2f}, hand vs library max difference {worst:.1e}"
    )
print("Adam's weight moments of layer 0:", lib_opt.m[0][0].shape, "for", start.layers[0].nnz, "nnz")
assert lib_opt.m[0][0].shape == (start.layers[0].nnz,)

# %% [markdown]
# The library writes the update as PyTorch does, `lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 -
# beta2^t) + eps)`, which is the same expression rearranged, computed in a Numba loop
# (`minidst.kernels.adam_step`); the two agree to the last few bits.

# %% [markdown]
# ### Why the bias correction matters
#
# Take a single parameter whose gradient is the same, `g = 0.5`, at every step. Its moments after
# step `t` are `m = (1 - beta1^t) g` and `v = (1 - beta2^t) g^2`: at `t = 1`, `m = 0.1 g` and `v =
# 0.001 g^2`, far below the gradient they estimate. The correction divides exactly these factors
# out, so `m_hat = g` and `v_hat = g^2` from the very first step, and every step moves the
# parameter by `lr`.
#
# Without the correction, the step is `lr * (1 - beta1^t) / sqrt(1 - beta2^t)` times `sign(g)`.
# `v`'s factor is the smaller one (`beta2` is closer to 1), so the uncorrected steps are too
# **large**, not too small. Correcting only `m` would be worse still. We measure all three by
# stepping a scalar with each rule.


# %%
def constant_gradient_steps(n, correct_m, correct_v, g=0.5, beta1=0.9, beta2=0.999):
    """Size of each of n Adam steps, in units of lr, for a constant gradient g."""
    m = v = 0.0
    sizes_in_lr = np.empty(n)
    for t in range(1, n + 1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t) if correct_m else m
        v_hat = v / (1 - beta2**t) if correct_v else v
        sizes_in_lr[t - 1] = m_hat / (np.sqrt(v_hat) + 1e-8)  # the step, divided by lr
    return sizes_in_lr


n_bias = 5000
corrected = constant_gradient_steps(n_bias, True, True)
uncorrected = constant_gradient_steps(n_bias, False, False)
m_only = constant_gradient_steps(n_bias, True, False)
print("step t:             ", "  ".join(f"{t:>6d}" for t in (1, 2, 3, 12, 100, 1000, 5000)))
for name, steps in [
    ("corrected", corrected),
    ("uncorrected", uncorrected),
    ("m corrected only", m_only),
]:
    print(f"{name:19s} ", "  ".join(f"{steps[t - 1]:6.2f}" for t in (1, 2, 3, 12, 100, 1000, 5000)))
peak = int(np.argmax(uncorrected)) + 1
print(f"uncorrected steps peak at t = {peak}: {uncorrected.max():.2f} x lr")

assert np.allclose(corrected, 1.0, rtol=1e-7)  # exactly lr, up to eps
assert np.isclose(uncorrected[0], 0.1 / np.sqrt(0.001), rtol=1e-6)  # 3.16 x lr at t = 1
assert peak == 12 and 6.5 < uncorrected.max() < 6.6
assert 1.25 < uncorrected[999] < 1.27 and abs(uncorrected[-1] - 1) < 0.01
assert np.isclose(m_only[0], 1 / np.sqrt(0.001), rtol=1e-6)  # 31.6 x lr at t = 1

# minidst's Adam takes the corrected steps (p starts at 0, the gradient is 0.5 at every step)
scalar = SparseLinear(1, 1, 1.0, np.random.default_rng(0), dtype=np.float64)
scalar.weight.data[:] = 0.0
adam = Adam([scalar], lr=1e-3)
path = np.empty(n_bias)
for i in range(n_bias):
    scalar.weight_grad[:], scalar.bias_grad[:] = 0.5, 0.0
    adam.step()
    path[i] = scalar.weight.data[0]
library_steps = -np.diff(path, prepend=0.0) / 1e-3
assert np.allclose(library_steps, corrected, rtol=1e-9)
print(f"minidst's Adam: every one of its {n_bias} steps is {library_steps.mean():.6f} x lr")

# %% [markdown]
# Without correction the first step is `0.1 / sqrt(0.001) = 3.16` times `lr`; the steps keep
# growing to 6.6 times `lr` at `t = 12` and are still 26% too large at `t = 1000`, because `v`'s
# average (`beta2 = 0.999`) remembers about 1000 steps and takes thousands to fill. Correcting
# `m` alone would make the first step 32 times `lr`. These first steps come when the network is
# freshly initialised and the moment estimates rest on a handful of gradients. With the
# correction, the constant gradient moves the parameter by `lr` from step one.

# %% [markdown]
# ### Epsilon
#
# `eps` keeps the division finite when `v_hat` is 0 or tiny. It also sets a gradient scale below
# which Adam stops being scale-free: with a constant gradient `g` the step is `lr * |g| / (|g| +
# eps)`, about `lr` while `|g| >> eps = 1e-8` and shrinking in proportion to `|g|` below that. A
# gradient of exactly zero moves nothing, which matters for sparse training: a unit that ReLU has
# switched off for the whole batch sends exactly zero gradient to its connections.
#
# With `eps = 0` (allowed, but a bad idea) a parameter whose gradient has been exactly zero so far
# divides 0 by 0 and becomes NaN. We check all of this on the library's `Adam`, which accepts
# anything with `parameters()` and `gradients()` methods: here a bare array of weights.


# %%
class Weights:
    """A bag of parameters for Adam: one array and its gradient, with no network around it."""

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float64)
        self.grad = np.zeros_like(self.values)

    def parameters(self):
        return [self.values]

    def gradients(self):
        return [self.grad]


scales = np.array([1.0, 1e-4, 1e-8, 1e-10, 0.0])
w = Weights(np.zeros(len(scales)))
w.grad[:] = scales
Adam([w], lr=1e-3).step()
first_step = -w.values / 1e-3 + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
for scale, size in zip(scales, first_step):
    print(f"gradient {scale:7.0e}: first step {size:.4f} x lr")
assert np.allclose(first_step, scales / (scales + 1e-8), rtol=1e-6)  # lr * |g| / (|g| + eps)
assert first_step[0] > 0.9999 and np.isclose(first_step[2], 0.5) and first_step[-1] == 0.0

w = Weights([0.3, 0.3])
w.grad[:] = [0.5, 0.0]
Adam([w], lr=1e-3, eps=0.0).step()
print("with eps = 0, a zero gradient gives", w.values)
assert np.isfinite(w.values[0]) and np.isnan(w.values[1])

# %% [markdown]
# The scale-freedom also means that multiplying the loss by a constant does almost nothing to
# Adam's trajectory (only through `eps`), unlike plain gradient descent, whose steps would grow by
# the same constant. Two copies of a network, one trained on `mse_loss` and one on 1000 times it,
# end less than a thousandth of their total movement apart:

# %%
scaled = {}
for factor in (1.0, 1000.0):
    net_s = copy.deepcopy(start)
    opt_s = Adam(net_s.layers, lr=1e-2)
    for step in range(n_steps):
        _, dY = mse_loss(net_s.forward(data_X[step]), data_T[step])
        net_s.backward(factor * dY)
        opt_s.step()
    scaled[factor] = np.concatenate([p.ravel() for p in net_s.parameters()])
initial = np.concatenate([p.ravel() for p in start.parameters()])
moved = np.abs(scaled[1.0] - initial).max()
difference = np.abs(scaled[1.0] - scaled[1000.0]).max()
print(
    f"after {n_steps} Adam steps the parameters moved up to {moved:.2f}; "
    f"loss x1 and loss x1000 runs differ by {difference:.1e}"
)
assert difference < 1e-3 * moved

# %% [markdown]
# ## Weight decay: L2 in the gradient, or decoupled
#
# Weight decay pulls weights towards zero. With plain gradient descent there is one way to do it:
# adding the L2 penalty `wd/2 * ||p||^2` to the loss adds `wd * p` to the gradient, and the step
# `-lr * wd * p` shrinks every weight by the factor `(1 - lr * wd)`. With Adam there are two
# different things called weight decay, and `minidst.optim.Adam` offers both:
#
# * `decoupled=False` (the default): **L2, coupled**. `wd * p` is added to the gradient *before*
#   the moments are updated, as PyTorch's `Adam(weight_decay=...)` does. The DS-TD3 paper's TD3
#   uses this, with `wd = 2e-4`.
# * `decoupled=True`: **AdamW** (Loshchilov and Hutter, 2019). The weight is shrunk directly,
#   `p -= lr * wd * p`, outside Adam's moments, and the moments see only the loss gradient.
#
# The difference: the coupled decay term goes through Adam's normalisation `m_hat / sqrt(v_hat)`
# like any other gradient, so its effect depends on the size of the *loss* gradient. We measure it
# in two small experiments, each on a bag of independent weights.
#
# **A weight whose loss gradient is zero.** Decoupled decay shrinks it by `(1 - lr * wd)` per
# step, a tiny rate for `lr = 1e-3`, `wd = 2e-4`. Under coupled decay the only gradient is `wd *
# p` itself, which Adam normalises to about 1: the weight falls by about `lr` per step, and the
# value of `wd` barely matters.

# %%
n_decay = 300
lr = 1e-3
trajectories = {}
for decoupled in (False, True):
    for wd in (2e-4, 2e-2):
        w = Weights([1.0])
        opt = Adam([w], lr=lr, weight_decay=wd, decoupled=decoupled)
        path = [1.0]
        for _ in range(n_decay):
            opt.step()  # w.grad stays 0: only the decay acts
            path.append(w.values[0])
        trajectories[decoupled, wd] = np.array(path)
        print(
            f"{'decoupled' if decoupled else 'coupled (L2)':13s} wd={wd:<6g}: weight 1.0 -> "
            f"{path[-1]:.5f} after {n_decay} steps"
        )
for wd in (2e-4, 2e-2):
    assert np.isclose(trajectories[True, wd][-1], (1 - lr * wd) ** n_decay, rtol=1e-12)
    assert 0.85 * lr * n_decay < 1 - trajectories[False, wd][-1] < lr * n_decay
assert abs(trajectories[False, 2e-4][-1] - trajectories[False, 2e-2][-1]) < 1e-4

# %% [markdown]
# Under L2, the weight lost about `lr` per step (a little less, because `v` still remembers the
# larger gradients `wd * p` of the first steps), and a hundred times more decay changed the
# result only in the fifth decimal. Decoupled decay followed `(1 - lr * wd)^t` exactly, and there
# `wd` sets the rate.
#
# **Weights whose loss gradients differ in scale.** Now four weights, all starting at 1, receive
# zero-mean random gradients (noise that pushes them nowhere on average) of standard deviation
# `sigma = 1, 0.1, 0.01, 0.001`. To isolate the decay, every run is repeated with the same noise
# and `wd = 0`; the difference of the final weights is what the decay did.

# %%
sigmas = np.array([1.0, 0.1, 0.01, 0.001])
n_noise = 1000  # cheap: a few milliseconds, so the same in quick mode
wd = 1e-2
noise = np.random.default_rng(1).standard_normal((n_noise, len(sigmas))) * sigmas
decay_effect = {}
for decoupled in (False, True):
    final = {}
    for this_wd in (0.0, wd):
        w = Weights(np.ones(len(sigmas)))
        opt = Adam([w], lr=lr, weight_decay=this_wd, decoupled=decoupled)
        for g in noise:
            w.grad[:] = g
            opt.step()
        final[this_wd] = w.values.copy()
    decay_effect[decoupled] = final[0.0] - final[wd]
plain_decay = 1 - (1 - lr * wd) ** n_noise  # what wd would do with plain gradient descent
print(
    f"{n_noise} steps, wd={wd}; plain shrinking by (1 - lr*wd) per step removes {plain_decay:.4f}"
)
print("gradient sigma:      ", "  ".join(f"{s:7g}" for s in sigmas))
for decoupled in (False, True):
    name = "decoupled (AdamW)" if decoupled else "coupled (L2)"
    print(f"{name:20s} ", "  ".join(f"{d:7.4f}" for d in decay_effect[decoupled]))
coupled_effect, decoupled_effect = decay_effect[False], decay_effect[True]
assert np.allclose(decoupled_effect, plain_decay, rtol=0.1)  # the same for every sigma
assert np.isclose(coupled_effect[0], plain_decay, rtol=0.3)  # sigma = 1: about the same
assert np.all(np.diff(coupled_effect) > 0)  # the smaller the gradient, the stronger the decay
assert 7 < coupled_effect[1] / plain_decay < 13 and coupled_effect[2] / plain_decay > 40

# %% [markdown]
# Decoupled decay removed the same amount from every weight, whatever its gradient: `lr * wd` of
# it per step, as plain shrinking would. Coupled decay removed about that much only for `sigma =
# 1`; for `sigma = 0.1` it removed about ten times as much, for the smaller ones fifty times and
# more. The reason: the decay term `wd * p` is divided by `sqrt(v_hat)`, the RMS of the weight's
# *total* gradient, so a weight's effective decay is roughly `lr * wd * p / RMS(g)` per step,
# strongest for the weights the loss cares least about, until the decay term dominates the
# gradient and the weight falls by about `lr` per step, as in the first experiment.
#
# For a sparse network, remember also that Adam decays only what it stores: the stored weights and
# the biases (minidst decays biases too, as PyTorch's Adam does). An empty position has no weight
# to decay. One step with zero loss gradients on a sparse layer shows both:

# %%
decaying = SparseLinear(6, 4, 0.5, np.random.default_rng(2), dtype=np.float64)
weights_before, bias_before = decaying.weight.data.copy(), decaying.bias.copy()
Adam([decaying], lr=1e-3, weight_decay=1e-2).step()  # its gradients are all zero
assert np.all(np.abs(decaying.weight.data) < np.abs(weights_before))
assert np.all(np.abs(decaying.bias) < np.abs(bias_before))
print(
    f"{decaying}: all {decaying.nnz} stored weights and all {len(decaying.bias)} biases shrank; "
    f"the other {decaying.out_features * decaying.in_features - decaying.nnz} positions store "
    "nothing"
)

# %%
fig, (ax_bias, ax_decay) = plt.subplots(1, 2, figsize=(11, 4.2))
steps_axis = np.arange(1, n_bias + 1)
for name, steps in [("corrected", corrected), ("uncorrected", uncorrected), ("m only", m_only)]:
    ax_bias.plot(steps_axis, steps, label=name)
ax_bias.set_xscale("log")
ax_bias.set_yscale("log")
ax_bias.set_xlabel("step t")
ax_bias.set_ylabel("step size / lr")
ax_bias.set_title("Adam, constant gradient: bias correction")
ax_bias.legend()
for (decoupled, this_wd), path in trajectories.items():
    # colour: which decay; line style: which wd (the two coupled lines lie on top of each other)
    color = "C1" if decoupled else "C0"
    style = {"linestyle": "-", "linewidth": 4, "alpha": 0.5} if this_wd == 2e-4 else {"ls": "--"}
    name = f"{'decoupled' if decoupled else 'coupled (L2)'}, wd={this_wd:g}"
    ax_decay.plot(path, color=color, label=name, **style)
ax_decay.set_xlabel("step")
ax_decay.set_ylabel("weight")
ax_decay.set_title(f"a weight with zero loss gradient (lr={lr:g})")
ax_decay.legend()
for ax in (ax_bias, ax_decay):
    ax.grid(alpha=0.3, which="both")
fig.tight_layout()
figure_path = OUT / "03_networks_and_optimizers.png"
finish_figure(fig, figure_path)
print("saved", figure_path)

# %% [markdown]
# ### What minidst uses
#
# TD3 (all its variants) trains actor and critics with coupled L2 decay, `weight_decay = 2e-4`,
# as the paper does; SAC uses no weight decay. The command line and `TrainConfig` expose only that
# coupled decay (`--weight-decay`, "added to grads"); decoupled decay is there for your own
# experiments, by building `Adam(..., decoupled=True)` yourself.

# %%
agent = TD3(3, 1, np.ones(1), np.random.default_rng(0))
for name, opt in [("actor", agent.actor_optimizer), ("critics", agent.critic_optimizer)]:
    print(
        f"TD3 {name:7s}: Adam lr={opt.lr}, weight_decay={opt.weight_decay}, "
        f"decoupled={opt.decoupled}"
    )
    assert opt.weight_decay == 2e-4 and opt.decoupled is False
print("family defaults:", {family: d["weight_decay"] for family, d in FAMILY_DEFAULTS.items()})
assert (
    FAMILY_DEFAULTS["td3"]["weight_decay"] == 2e-4 and FAMILY_DEFAULTS["sac"]["weight_decay"] == 0
)
train_fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
assert "decoupled" not in train_fields
assert "added to grads" in train_fields["weight_decay"].metadata["help"]
print("--weight-decay:", train_fields["weight_decay"].metadata["help"])

# %% [markdown]
# ## When the connections move
#
# Adam's moments for a sparse layer are plain arrays aligned with `weight.data`: slot `k` belongs
# to whichever connection is stored at position `k`. Dynamic sparse training (chapter 5) prunes
# some connections and grows others, which changes what sits at each slot: a connection pruned or
# grown shifts every entry stored between its position and the next change. If Adam kept its
# arrays as they were, those connections would inherit another connection's moments, and since
# pruning and regrowing keeps the count the same, the shapes would still fit: nothing would crash,
# the training would just quietly be wrong.
#
# So every layer carries a `topology_version`, bumped whenever its connections change, and Adam
# remembers the version its moments were aligned to. `Adam.step()` refuses a layer whose version
# moved until `Adam.remap(layer, source)` has realigned the moments: `source[k]` says where the new
# entry `k` used to be in `data`, or `-1` for a new connection, whose moments start at zero.
#
# Below we move one connection by hand: drop the weakest one and grow one at the first empty
# position (`rebuild_csr` installs the new CSR arrays and returns `source`).

# %%
net = copy.deepcopy(start)
opt = Adam(net.layers, lr=1e-2)
for step in range(5):
    _, dY = mse_loss(net.forward(data_X[step]), data_T[step])
    net.backward(dY)
    opt.step()
layer = net.layers[0]
old_m = opt.m[0][0].copy()
positions = layer.positions()
keep = np.ones(layer.nnz, dtype=bool)
keep[np.argmin(np.abs(layer.weight.data))] = False  # prune the weakest connection
empty = np.setdiff1d(np.arange(layer.out_features * layer.in_features), positions)
version = layer.topology_version
source = rebuild_csr(layer, positions, keep, empty[:1])  # ... and grow one
print(f"topology_version {version} -> {layer.topology_version}, nnz still {layer.nnz}")
shifted = int(np.sum(layer.positions() != positions))
print(f"one connection moved, but {shifted} of {layer.nnz} slots now hold a different connection")
assert shifted > 1
try:
    opt.step()
    raise AssertionError("Adam stepped a layer whose connections moved")
except ValueError as err:
    print("ValueError:", err)

opt.remap(layer, source)
survivors = source >= 0
assert np.array_equal(opt.m[0][0][survivors], old_m[source[survivors]])  # moments follow
assert np.all(opt.m[0][0][~survivors] == 0) and np.all(opt.v[0][0][~survivors] == 0)
_, dY = mse_loss(net.forward(data_X[5]), data_T[5])
net.backward(dY)
opt.step()  # aligned again
print(
    f"after remap: {survivors.sum()} survivors kept their moments, "
    f"{(~survivors).sum()} new connection starts from zero; Adam steps again"
)

# %% [markdown]
# Chapter 5's `evolve_layer(layer, optimizer, ...)` does exactly this for every update: it prunes,
# regrows, rebuilds the CSR arrays and calls `optimizer.remap` with the `source` it computed.

# %% [markdown]
# ## Summary
#
# * An activation is a pair `forward(z)`, `backward(z, y, dy) = f'(z) * dy`; minidst has `relu`
#   (derivative 0 at the kink), `tanh` (derivative `1 - y^2`, from the output) and `identity`,
#   and they never modify their input.
# * `mse_loss` averages over all `n` entries and returns the gradient `2 (p - t) / n`; TD3's actor
#   loss `-mean(Q)` has the constant gradient `-1 / n`.
# * An MLP's forward pass keeps each layer's input, pre-activation and output; its backward pass
#   goes from the top through activation, bias, weight (stored connections only) and on to the
#   layer below. Written by hand, it matches `MLP.backward` to ~1e-12 and central differences.
#   `input_grad` (default False) and `param_grads=False` control which gradients it computes.
# * Adam keeps two moments per parameter, one per *stored* connection for a sparse layer. Our
#   textbook version matches `minidst.optim.Adam` to ~1e-12 over hundreds of steps.
# * Bias correction: without it, the first steps with a constant gradient are 3.2 to 6.6 times
#   `lr` (too large, because `v` starts further below its target than `m`); with it, exactly `lr`.
# * `eps` makes steps shrink for gradients below ~1e-8 and keeps an all-zero gradient from
#   dividing 0 by 0. Adam is (almost) invariant to the loss's scale.
# * Weight decay: coupled L2 (minidst's default, the paper's TD3 with `2e-4`) is normalised with
#   the gradient, so weights with small loss gradients decay far more, and a weight with none falls
#   by about `lr` per step whatever `wd` is; decoupled AdamW (`decoupled=True`, not exposed on the
#   command line) shrinks every weight by `lr * wd` per step.
# * Adam refuses a layer whose connections moved until `remap` realigns its moments: survivors
#   keep theirs, new connections start at zero (chapter 5).

# %% [markdown]
# ## Exercises
#
# 1. Add a `leaky_relu` activation, `f(z) = z` for `z > 0` and `0.01 z` otherwise, with its
#    backward (at exactly 0, take the `0.01` side, as `relu` takes its flat side). Check it against
#    central differences as above, then use it as the hidden activation of the hand-written MLP and
#    check the whole network's gradients. What does `backward` need: `z`, `y` or either?
# 2. Write the Huber loss with `delta = 1` (`0.5 d^2` for `|d| <= 1`, `|d| - 0.5` otherwise, with
#    `d = p - t`, averaged over all entries) and its gradient, and gradient-check it. For
#    `p = [0, 0.5, 3]` and `t = [0, 0, 0]`, what are the loss and the gradient?
# 3. A connection regrown late in training starts with zero moments, but Adam's step count `t` is
#    shared by the whole network and already large, so the bias correction no longer helps it.
#    With a constant gradient and the default betas, how large (in units of `lr`, to 2 decimals)
#    is its first step, and its largest step, and at which of its own steps? (Compare with the
#    "uncorrected" curve above.) What would per-connection step counts cost in memory?
# 4. Under coupled L2 decay with `lr = 1e-3` and `wd = 2e-4`, how many Adam steps does a weight of
#    1.0 with zero loss gradient take to fall below 0.01? And under decoupled decay? Answer the
#    second with a formula, the first by simulation.
# 5. Repeat the `sigma` experiment with more values between 0.001 and 1 and plot the coupled decay
#    effect divided by the decoupled one against `sigma` on log-log axes. Over which range does it
#    follow `1 / sigma`, and why does it level off for small `sigma`?
# 6. Train `start` for 100 steps with plain gradient descent (`p -= lr * g`) on the loss and on
#    1000 times the loss, and compare with the Adam result above. Then find the largest learning
#    rate at which gradient descent still lowers the loss on the 1000x version.

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(3)
# For example: exercises.chapter3_exercise2(loss, gradient)
