# %% [markdown]
# # Chapter 2: A sparse layer by hand
#
# A linear layer computes `Z = W X + b`. To train it we also need its backward pass: given the
# gradient of the loss with respect to the output, `dZ`, produce the gradients with respect to
# the input (to pass further back), the bias, and the weights. For a sparse `W` all three must
# cost time proportional to the number of *stored* connections, otherwise the sparsity is for
# show.
#
# In this chapter we write the forward and backward passes of a sparse layer by hand in NumPy,
# straight from the CSR arrays of chapter 1, and check them three ways: against minidst's
# `SparseLinear`, against the same computation with a dense matrix, and against numerical
# derivatives (a *gradient check*). Chapter 4 then makes the same loops fast.

# %%
import os

import numpy as np

from minidst import MLP, SparseLinear, mse_loss
from minidst.gradcheck import assert_gradient_close, central_difference

QUICK = os.environ.get("MINIDST_QUICK") == "1"  # only the gradient check gets smaller
rng = np.random.default_rng(0)

# %% [markdown]
# ## Activations are feature-major: `(features, batch)`
#
# A batch of inputs is a 2-D array, and there are two ways to lay it out. Deep learning libraries
# usually store it *batch-major*, `(batch, features)`, one row per sample. minidst stores it
# **feature-major**, `(features, batch)`, one *column* per sample, as in the textbook `z = W x + b`
# with column vectors. Then a whole batch is simply `Z = W X + b`.
#
# The reason is the memory access pattern of a sparse product. A stored weight `W[r, c]` multiplies
# input feature `c` of every sample in the batch and adds into output feature `r` of every sample.
# In a C-contiguous feature-major array, "feature `c` of every sample" is the row `X[c]`: `batch`
# numbers next to each other in memory, which the CPU streams and vectorises well. In a batch-major
# array the same numbers are a column, spaced `features` entries apart. The strides show it:

# %%
n_in, n_out, batch = 6, 4, 5
X = rng.standard_normal((n_in, batch))  # feature-major: one column per sample
X_batch_major = np.ascontiguousarray(X.T)  # the same numbers, one row per sample
print("feature-major: feature 2 of all samples is X[2]        stride", X[2].strides[0], "bytes")
print(
    "batch-major:   feature 2 of all samples is X_bm[:, 2]  stride",
    X_batch_major[:, 2].strides[0],
    "bytes",
)

# %% [markdown]
# Measured on this project's machine, a simple CSR kernel ran about 20x faster on feature-major
# data than on batch-major data. If data arrives batch-major (an environment returns one
# observation per row), we transpose it *once* at the network's edge, not in every layer. minidst's
# layers insist on C-contiguous feature-major input, because a transposed view would silently
# bring the slow access pattern back:

# %%
layer = SparseLinear(n_in, n_out, density=0.4, rng=rng, dtype=np.float64)
try:
    layer.forward(X_batch_major.T)  # right shape, but a strided view
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## The layer we will reproduce
#
# `layer` above is a `SparseLinear` with 6 inputs, 4 outputs and density 0.4: it stores
# `round(0.4 * 24) = 10` connections, in float64 so that we can compare results tightly. Its weight
# is a canonical `scipy.sparse.csr_array`; we take its three raw arrays and its bias, and from here
# on our own code uses nothing else.

# %%
W = layer.weight
indptr, indices, data = W.indptr, W.indices, W.data
b = layer.bias
print(layer)
print("indptr ", indptr)
print("indices", indices)
print("W as a dense matrix (for looking only):")
print(np.round(W.toarray(), 3))

# %% [markdown]
# ## Forward: `Z = W X + b`
#
# Output row `r` is a weighted sum of the input rows its stored connections point to:
#
# `Z[r] = sum over k in indptr[r]:indptr[r+1] of data[k] * X[indices[k]]  +  b[r]`.
#
# `X[indices[start:end]]` gathers those input rows (each a contiguous run of `batch` numbers), and
# a vector-matrix product weights and sums them. The work is one multiply-add per stored
# connection per sample: `nnz * batch` in all.


# %%
def sparse_forward(indptr, indices, data, b, X):
    Z = np.empty((len(indptr) - 1, X.shape[1]), dtype=X.dtype)
    for r in range(len(indptr) - 1):
        start, end = indptr[r], indptr[r + 1]
        Z[r] = data[start:end] @ X[indices[start:end]] + b[r]
    return Z


Z_hand = sparse_forward(indptr, indices, data, b, X)
Z_layer = layer.forward(X)
Z_dense = W.toarray() @ X + b[:, None]
print("by hand vs SparseLinear: max difference", np.abs(Z_hand - Z_layer).max())
print("by hand vs dense product: max difference", np.abs(Z_hand - Z_dense).max())
assert np.allclose(Z_hand, Z_layer, rtol=1e-12, atol=1e-12)
assert np.allclose(Z_hand, Z_dense, rtol=1e-12, atol=1e-12)

# %% [markdown]
# The differences are zero or at the level of float64 rounding (~1e-16): the three computations add
# the same products, possibly in a different order, and floating-point addition is not
# associative. That is why we compare with `np.allclose` and a tight tolerance rather than `==`.

# %% [markdown]
# ## Backward: three gradients
#
# Suppose the loss `L` depends on `Z`, and backpropagation has handed us `dZ = dL/dZ`, of the
# same shape `(n_out, batch)`. Write the stored connection `k` as going from input `c_k =
# indices[k]` to output `r_k`. Since
#
# `Z[r, j] = sum_k data[k] * X[c_k, j] + b[r]`    (sum over the stored `k` of row `r`),
#
# the chain rule gives, for every sample `j`:
#
# * **input gradient** `dX[c, j] = sum over stored k with c_k = c of data[k] * dZ[r_k, j]`, which
#   is the matrix product `dX = W.T dZ`;
# * **bias gradient** `db[r] = sum_j dZ[r, j]`, because the bias is added to every sample;
# * **weight gradient** `dW[k] = sum_j dZ[r_k, j] * X[c_k, j] = dZ[r_k] . X[c_k]`, one dot product
#   of length `batch` for each stored connection.
#
# Any `dZ` will do for checking; we draw a random one.

# %%
dZ = rng.standard_normal((n_out, batch))

# %% [markdown]
# ### Input gradient `dX = W.T dZ`
#
# Walking the CSR row by row, the stored connection `k` sends `data[k] * dZ[r]` back to input row
# `indices[k]`. This is a *scatter*: several rows of `W` write into the same row of `dX`.


# %%
def sparse_input_grad_scatter(indptr, indices, data, dZ, n_in):
    dX = np.zeros((n_in, dZ.shape[1]), dtype=dZ.dtype)
    for r in range(len(indptr) - 1):
        for k in range(indptr[r], indptr[r + 1]):
            dX[indices[k]] += data[k] * dZ[r]
    return dX


dX_scatter = sparse_input_grad_scatter(indptr, indices, data, dZ, n_in)

# %% [markdown]
# The scatter is correct, but it is awkward to make fast: split the rows over threads and two
# threads may add into the same `dX` row at once. The alternative is to store `W.T` in CSR as well.
# Then row `c` of `W.T` lists every connection *into* input `c`, and `dX = W.T dZ` is exactly the
# forward product again (with no bias): each row of `dX` is gathered by one loop iteration. The
# transposed index costs a sort, but topology changes rarely (every few hundred or thousand
# training steps), so minidst rebuilds it only then.

# %%
Wt = W.T.tocsr()  # CSR of the transpose: the connections grouped by input
dX_gather = sparse_forward(Wt.indptr, Wt.indices, Wt.data, np.zeros(n_in), dZ)
print("scatter vs gather: max difference", np.abs(dX_scatter - dX_gather).max())
print("vs dense W.T @ dZ: max difference", np.abs(dX_scatter - W.toarray().T @ dZ).max())

# %% [markdown]
# ### Bias gradient
#
# One line: the bias of unit `r` was added to every sample, so its gradient sums `dZ[r]` over the
# batch.

# %%
db = dZ.sum(axis=1)

# %% [markdown]
# ### Weight gradient, only where a connection exists
#
# For a dense layer the weight gradient is the outer-product sum `dZ X.T`, an `(n_out, n_in)`
# matrix. For a sparse layer we only want its entries at stored connections: a connection that
# does not exist has no weight to update. Forming the dense `dZ X.T` and picking out the stored
# entries would give the right numbers, but would cost `n_out * n_in * batch` multiply-adds and a
# dense matrix of memory, the very costs we set out to avoid. Instead we compute one dot product
# per stored connection:
#
# `dW[k] = dZ[r_k] . X[c_k]`,
#
# `nnz * batch` multiply-adds, the same as the forward pass. This operation has a name: a
# *sampled dense-dense matrix product* (SDDMM), the product of two dense matrices evaluated only at
# the positions of a sparse pattern.
#
# `rows[k]` below is the row `r_k` of each stored entry, obtained by repeating each row number as
# many times as the row has entries.


# %%
def sparse_weight_grad(indptr, indices, dZ, X):
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return np.sum(dZ[rows] * X[indices], axis=1)  # one dot product per stored connection


dW = sparse_weight_grad(indptr, indices, dZ, X)
print("dW has", dW.shape[0], "entries, one per stored connection, aligned with data")

# %% [markdown]
# As a check only (never in training), the dense gradient gathered at the stored positions must
# give the same numbers. Note that it is non-zero at the empty positions too: that is how much
# the loss *would* change if a connection existed there. Gradient-based regrowth (RigL) uses this
# information once per topology update; ordinary training must never compute it.

# %%
dW_dense = dZ @ X.T
rows = np.repeat(np.arange(n_out), np.diff(indptr))
print("SDDMM vs dense gathered: max difference", np.abs(dW - dW_dense[rows, indices]).max())
print(f"multiply-adds: SDDMM {len(data) * batch}, dense dZ @ X.T {n_out * n_in * batch}")

# %% [markdown]
# ### The same three gradients from `SparseLinear`
#
# `layer.backward(dZ)` returns `dX` and stores the bias and weight gradients in
# `layer.bias_grad` and `layer.weight_grad`. The latter is aligned with `layer.weight.data`, one
# value per stored connection, so an optimizer can update the values in place with plain
# element-wise arithmetic (chapter 5).

# %%
dX_layer = layer.backward(dZ)
for name, ours, theirs in [
    ("dX", dX_gather, dX_layer),
    ("bias grad", db, layer.bias_grad),
    ("weight grad", dW, layer.weight_grad),
]:
    print(f"{name:12s} max difference {np.abs(ours - theirs).max():.2e}")
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)

# %% [markdown]
# A training step thus runs three products of the same size: the forward `W X`, the input
# gradient `W.T dZ` and the weight gradient SDDMM, each `nnz * batch` multiply-adds. That is where
# the FLOP convention of chapter 1 gets its "training = 3x forward".

# %% [markdown]
# ## Gradient checking
#
# Agreeing with another implementation is reassuring, but both could share the same mistake in
# the maths. A **gradient check** compares against the definition of a derivative instead. For any
# scalar function `f` of an array `x`, the central difference
#
# `(f(x + h e_i) - f(x - h e_i)) / (2h)`
#
# approximates `df/dx_i` with an error of order `h^2`. `minidst.gradcheck.central_difference(f, x)`
# does this for every entry of `x`, perturbing `x` in place and restoring it, and
# `assert_gradient_close` compares the result with an analytic gradient.
#
# This only works in **float64**. With `h = 1e-6`, the difference `f(x + h) - f(x - h)` is about a
# millionth of `f`, and float32 keeps only about 7 significant digits, so the rounding error of `f`
# swamps the difference. `central_difference` refuses float32 outright:

# %%
try:
    central_difference(lambda: 0.0, np.zeros(3, dtype=np.float32))
except TypeError as err:
    print("TypeError:", err)

# %% [markdown]
# We check a whole network, end to end: a tiny MLP with two sparse layers and a dense output
# layer, mean-squared-error loss against random targets. `MLP.build` takes one density per layer
# (`None` means dense). The hidden activation is `tanh` rather than ReLU because ReLU has a kink at
# 0: if a perturbation of `h` pushes a unit across the kink, the central difference measures
# neither side's slope, and a correct gradient fails the check.

# %%
sizes = [5, 8, 8, 3] if QUICK else [7, 12, 12, 3]
net = MLP.build(sizes, [0.5, 0.5, None], rng, hidden_activation="tanh", dtype=np.float64)
print(net)
X_net = rng.standard_normal((sizes[0], 4))
Y_net = rng.standard_normal((sizes[-1], 4))


def loss():
    return mse_loss(net.forward(X_net), Y_net)[0]


# %% [markdown]
# The analytic gradients come from one forward and one backward pass. `input_grad=True` also
# returns the gradient with respect to the network's input (a TD3 critic needs it to train the
# actor). We copy the gradients, because every call of `loss()` below runs the network again.

# %%
prediction = net.forward(X_net)
value, dY = mse_loss(prediction, Y_net)
dX_net = net.backward(dY, input_grad=True).copy()
analytic = [g.copy() for g in net.gradients()]
print(f"loss {value:.6f}")

# %% [markdown]
# Now the numerical side. For a sparse layer, the parameters are `weight.data` (the stored values)
# and the bias. `central_difference` perturbs exactly the stored values, so it measures the
# gradient only at the connections that exist: what the SDDMM computes.

# %%
names = [f"layer {i} {kind}" for i in range(len(net.layers)) for kind in ("weights", "bias")]
for name, param, grad in zip(names, net.parameters(), analytic):
    numeric = central_difference(loss, param)
    assert_gradient_close(name, grad, numeric)
    error = np.abs(grad - numeric).max() / np.abs(numeric).max()
    print(f"{name:16s} {param.size:4d} entries   max relative error {error:.1e}")

numeric_dX = central_difference(loss, X_net)
assert_gradient_close("input", dX_net, numeric_dX)
print(
    f"{'input':16s} {X_net.size:4d} entries   max relative error "
    f"{np.abs(dX_net - numeric_dX).max() / np.abs(numeric_dX).max():.1e}"
)

# %% [markdown]
# Relative errors of a few 1e-9 are as close as central differences with `h = 1e-6` can resolve:
# the hand-written backward passes of sparse and dense layers, the activations and the loss are
# right. A wrong gradient is rarely off by 1e-9; it is off by a
# factor, a sign, or in the wrong places. Here are two typical bugs and what the check reports:
#
# 1. forgetting the factor 2 in the derivative of `(p - t)^2`, which halves every gradient;
# 2. a gradient that is right but *misaligned*: computed in column order (for instance from the
#    transposed index) and stored as if it were in the row order of `weight.data`. Each value is
#    correct for *some* connection, just not for the one it is paired with.

# %%
first = net.layers[0]
grad_true = analytic[0]
numeric = central_difference(loss, first.weight.data)
column_order = np.argsort(first.weight.indices, kind="stable")
bugs = {
    "layer 0 weights (halved)": 0.5 * grad_true,
    "layer 0 weights (column order)": grad_true[column_order],
}
for name, wrong in bugs.items():
    try:
        assert_gradient_close(name, wrong, numeric)
    except AssertionError as err:
        print("AssertionError:", err)

# %% [markdown]
# The message names the parameter, the worst entry, both values and how many entries are off,
# which is usually enough to guess the kind of bug: all entries off by the same factor suggests a
# missing constant; some entries right and others wrong suggests an indexing or alignment error.

# %% [markdown]
# ## Summary
#
# * minidst stores activations feature-major, `(features, batch)`: each stored weight then reads
#   and writes contiguous rows of length `batch`. Transpose once at the network's edge.
# * Forward: `Z[r] = data[row r] @ X[indices[row r]] + b[r]`, `nnz * batch` multiply-adds.
# * Input gradient `dX = W.T dZ`: a scatter from the CSR of `W`, or, deterministic and
#   thread-friendly, the forward product on the CSR of `W.T`, rebuilt only when the topology
#   changes.
# * Bias gradient: `dZ.sum(axis=1)`.
# * Weight gradient only at stored connections, `dW[k] = dZ[r_k] . X[c_k]` (an SDDMM), aligned
#   with `data`. Never form the dense `dZ X.T` during training.
# * A training step is three products of `nnz * batch` multiply-adds each.
# * Gradient checks use central differences in float64 (`minidst.gradcheck`), on smooth
#   activations; a failure message tells which parameter, which entry and how many entries are off.

# %% [markdown]
# ## Exercises
#
# 1. Write the batch-major versions of `sparse_forward` and `sparse_weight_grad` (activations of
#    shape `(batch, features)`) and time both layouts with `time.perf_counter` for a 256 x 256
#    layer at density 0.1 and batch 256. Which way round is faster in NumPy? (Chapter 4 measures
#    the same question for compiled kernels.)
# 2. Rerun the gradient check with `hidden_activation="relu"`. Does it pass? Find a seed or an input
#    scale where it fails, and explain the failing entry from the kink of ReLU.
# 3. Run the gradient check in float32 by removing the dtype check from a copy of
#    `central_difference`. How large is the relative error now, and how does it change with `h`?
#    Explain the shape of the error as a function of `h` (truncation error against rounding error).
# 4. Write `sparse_input_grad` from the transposed index without SciPy. First write
#    `transposed_index(indptr, indices, n_in)`, returning `indptr_t`, `indices_t` and a
#    permutation `perm` such that `data[perm]` are the values of `W.T` in CSR order. (Hint: a
#    stable `np.argsort` of `indices`.) Compare your arrays with `W.T.tocsr()`.
# 5. The dense gradient `dZ @ X.T` is non-zero at positions where no connection exists. For a
#    256 x 256 layer at density 0.1, how many times more multiply-adds does it cost than the SDDMM
#    (one number)?
#    How would you find the 10 empty positions with the largest gradient magnitude without keeping
#    the whole dense matrix in memory at once?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(2)
# For example: exercises.chapter2_exercise5(your_ratio)
