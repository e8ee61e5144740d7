# %% [markdown]
# # Chapter 1: Sparse matrices
#
# A deep RL agent such as TD3 carries three multi-layer perceptrons (an actor and two critics),
# and almost all of their parameters sit in weight matrices. In a dense network every input of a
# layer is connected to every output. *Dynamic sparse training* (DST) starts instead from a
# network in which most of those connections simply do not exist, and keeps the number of
# connections fixed for the whole run while moving them around: every so often the weakest
# connections are removed and the same number are grown elsewhere.
#
# The paper this course follows, *Dynamic Sparse Training for Deep Reinforcement Learning*
# (Sokar et al., IJCAI 2022), reports that its DS-TD3 agent matches or beats dense TD3 on MuJoCo
# locomotion tasks with about **50% of the weights and of the training FLOPs**. On HalfCheetah the
# three networks have 214,784 weights when dense and about 106k when sparse.
#
# There is a catch in how such results are usually produced. The paper's own code (like most DST
# code) keeps every weight matrix dense and multiplies it by a binary mask. That *simulates* a
# sparse network: the maths is the same, but the memory and the arithmetic are those of the dense
# network, so the 50% saving exists only on paper. minidst stores only the connections that exist
# and does work proportional to their number. (Less work is not yet less time: at the paper's 50%
# sparsity, sparse compute was slower than dense on every CPU this course was measured on; the
# section on FLOPs below gives the figures, and from what sparsity it pays.) This first chapter is
# about the data structure that makes that possible, the CSR matrix, and about counting what it
# saves: bytes, parameters and FLOPs.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from minidst import DenseLinear, SparseLinear, count_parameters, erdos_renyi_density
from minidst.flops import dense_forward_flops, forward_flops, layer_table, training_flops
from minidst.plot import finish_figure

QUICK = os.environ.get("MINIDST_QUICK") == "1"  # this chapter is fast either way
OUT = Path(os.environ.get("MINIDST_OUT", "runs/chapters"))
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## A small matrix, stored by hand
#
# Here is a 4 x 6 matrix with 7 non-zero entries out of 24. Think of it as the weight matrix of a
# tiny layer with 6 inputs and 4 outputs: entry `A[r, c]` is the strength of the connection from
# input `c` to output `r`, and a zero means "no connection".

# %%
A = np.array(
    [
        [0.0, 1.5, 0.0, 0.0, -2.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0, 0.0, 0.0, 0.5, 0.0, 0.0],
        [0.0, -1.0, 0.0, 0.0, 4.0, 2.5],
    ]
)
print(A)
print("non-zeros:", np.count_nonzero(A), "of", A.size)

# %% [markdown]
# **Compressed Sparse Row** (CSR) storage walks the matrix row by row and writes down only the
# non-zero entries, in three flat arrays:
#
# * `data`: the values, row after row;
# * `indices`: the column of each value;
# * `indptr`: where each row starts in the two arrays above. Row `r` owns the slice
#   `indptr[r]:indptr[r + 1]`, so `indptr` has one more entry than there are rows, and
#   `indptr[-1]` is the number of stored entries, `nnz`.
#
# Building it takes one pass over the matrix. We write the loop out once; it is the whole idea.


# %%
def dense_to_csr(M):
    """CSR arrays (indptr, indices, data) of the non-zero entries of a dense matrix."""
    indptr, indices, data = [0], [], []
    for row in M:
        for col, value in enumerate(row):
            if value != 0:
                indices.append(col)
                data.append(value)
        indptr.append(len(data))  # this row ends where the next one starts
    return (
        np.array(indptr, dtype=np.int32),
        np.array(indices, dtype=np.int32),
        np.array(data, dtype=M.dtype),
    )


indptr, indices, data = dense_to_csr(A)
print("indptr ", indptr)
print("indices", indices)
print("data   ", data)

# %% [markdown]
# Read it back: row 0 owns entries `0:2`, columns 1 and 4, values 1.5 and -2. Row 1 owns the empty
# slice `2:2`: an empty row costs nothing but one entry of `indptr`. Row 3 owns entries `4:7`.
#
# Going back to a dense matrix is the same loop in reverse, and gives us our first check.


# %%
def csr_to_dense(indptr, indices, data, shape):
    M = np.zeros(shape, dtype=data.dtype)
    for r in range(shape[0]):
        for k in range(indptr[r], indptr[r + 1]):
            M[r, indices[k]] = data[k]
    return M


assert np.array_equal(csr_to_dense(indptr, indices, data, A.shape), A)
print("round trip dense -> CSR -> dense is exact")

# %% [markdown]
# ## The same matrix in SciPy
#
# `scipy.sparse.csr_array` is exactly these three arrays plus a shape. We can hand it our arrays,
# or let it convert the dense matrix; either way it holds the same `indptr`, `indices` and
# `data`. minidst uses `csr_array` as the container of a sparse layer's weight, but its kernels
# (chapter 4) only ever see the raw arrays.

# %%
S = sp.csr_array((data, indices, indptr), shape=A.shape)
S_from_dense = sp.csr_array(A)
for name in ("indptr", "indices", "data"):
    assert np.array_equal(getattr(S, name), getattr(S_from_dense, name))
print(S)
print("nnz =", S.nnz, "  index dtype:", S.indices.dtype)

# %% [markdown]
# ### Canonical format
#
# Nothing in the three arrays forces the columns within a row to be sorted, or forbids the same
# column from appearing twice (SciPy then *adds* the duplicates when it reads the matrix). So one
# matrix can have many CSR representations. A CSR matrix is **canonical** when every row's
# `indices` are strictly increasing: sorted, no duplicates. Then each matrix has exactly one
# representation, two topologies can be compared with `np.array_equal`, and merging survivors with
# new connections during a topology update (chapter 5) is a sort of plain integers. minidst
# insists on canonical CSR everywhere; a `SparseLinear` refuses anything else.

# %%
messy_data = np.array([1.0, 2.0, 3.0])
messy_indices = np.array([2, 0, 0], dtype=np.int32)  # unsorted, and column 0 twice
messy = sp.csr_array((messy_data, messy_indices, np.array([0, 3], dtype=np.int32)), shape=(1, 3))
print("messy: indices", messy.indices, "data", messy.data, "canonical:", messy.has_canonical_format)
print("as dense:", messy.toarray(), "(the two entries in column 0 were added)")
tidy = messy.copy()
tidy.sum_duplicates()  # sorts each row and merges duplicates, in place
print("tidy:  indices", tidy.indices, "data", tidy.data, "canonical:", tidy.has_canonical_format)

# %% [markdown]
# ## Matrix-vector product from CSR
#
# The reason to store a matrix row by row is that a product `y = A x` is computed row by row:
# `y[r]` is the sum over the stored entries of row `r` of `data[k] * x[indices[k]]`. Zeros are
# never visited, so the work is one multiply and one add per stored entry, `nnz` multiply-adds in
# total instead of `rows * cols`.


# %%
def csr_matvec(indptr, indices, data, x):
    y = np.zeros(len(indptr) - 1, dtype=np.result_type(data, x))
    for r in range(len(y)):
        for k in range(indptr[r], indptr[r + 1]):
            y[r] += data[k] * x[indices[k]]
    return y


x = rng.standard_normal(A.shape[1])
y_csr = csr_matvec(indptr, indices, data, x)
print("by hand from CSR:", y_csr)
print("dense A @ x:     ", A @ x)
print("SciPy S @ x:     ", S @ x)
assert np.allclose(y_csr, A @ x) and np.allclose(S @ x, A @ x)
print(f"multiply-adds: {len(data)} (CSR) versus {A.size} (dense)")

# %% [markdown]
# ## Two pitfalls with SciPy sparse arrays
#
# **`*` is not a matrix product.** For `csr_array`, as for NumPy arrays, `*` multiplies element by
# element, broadcasting `x` along the rows. It quietly returns a sparse array of the same shape
# as `S` (a `coo_array`, the COO format, in recent SciPy) instead of a vector. Always write `@`.

# %%
wrong = S * x
print(type(wrong).__name__, "of shape", wrong.shape, "<- elementwise, not what we wanted")
print("S @ x has shape", (S @ x).shape)

# %% [markdown]
# **Arithmetic drops stored zeros.** A CSR matrix may *store* an entry whose value is 0. That is
# not a contradiction for us: in dynamic sparse training a freshly grown connection starts at
# exactly zero, yet it is a real connection that will be trained. SciPy's sparse arithmetic
# (`A + B`, `A - B`, `A.multiply(B)`) cleans up its result and silently removes stored zeros, so a
# layer rebuilt through arithmetic would lose its newest connections, and its connection count
# would drift. minidst therefore updates weights only through the `.data` array, in place, and
# changes structure only by building new `indptr, indices, data` arrays in one pass.

# %%
grown = S.copy()
grown.data[0] = 0.0  # pretend the connection at (0, 1) was just grown: stored, value 0
print("stored entries:", grown.nnz)
print("after grown + 0 * grown:", (grown + 0 * grown).nnz, "<- the new connection is gone")
grown.data *= 1.0  # updating .data in place keeps the structure
print("after grown.data *= 1:", grown.nnz)

# %% [markdown]
# ## Memory: when does CSR pay off?
#
# A dense float32 matrix costs 4 bytes per entry, zeros included. CSR costs, per *stored* entry,
# 4 bytes of value and 4 bytes of int32 column index, plus one int32 per row for `indptr`:
#
# `bytes = data.nbytes + indices.nbytes + indptr.nbytes = 8 nnz + 4 (rows + 1)`.
#
# So a stored entry costs twice what a dense entry costs, and CSR only saves memory below density
# 1/2. (In float64 a stored entry costs 12 bytes against 8, and the break-even density is 2/3.)
# Let us measure it on the 256 x 256 shape of a TD3 hidden layer, with real `csr_array` objects.

# %%
n = 256
densities = np.array([0.01, 0.05, 0.1, 0.156, 0.25, 0.5, 0.75, 1.0])
dense_bytes = n * n * np.dtype(np.float32).itemsize
csr_bytes = []
for density in densities:
    M = sp.random_array((n, n), density=density, format="csr", dtype=np.float32, rng=rng)
    M.indices = M.indices.astype(np.int32)
    M.indptr = M.indptr.astype(np.int32)
    csr_bytes.append(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes)
    print(
        f"density {density:5.3f}: nnz {M.nnz:6d}   CSR {csr_bytes[-1] / 1024:7.1f} KiB   "
        f"dense {dense_bytes / 1024:.1f} KiB   ratio {csr_bytes[-1] / dense_bytes:.2f}"
    )

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(densities, np.array(csr_bytes) / 1024, "o-", label="CSR (float32 values, int32 indices)")
ax.axhline(dense_bytes / 1024, color="k", linestyle="--", label="dense float32")
ax.axvline(0.5, color="gray", linestyle=":", label="break-even density 0.5")
ax.set_xlabel("density (fraction of connections stored)")
ax.set_ylabel("memory (KiB)")
ax.set_title("Memory of a 256 x 256 weight matrix")
ax.legend()
fig.tight_layout()
path = OUT / "01_csr_memory.png"
finish_figure(fig, path)
print("saved", path)

# %% [markdown]
# Note where the paper's hidden layers sit: at density 0.5, exactly on the break-even line, so
# their CSR weights take as much memory as dense ones. Weights are not all there is, though.
# During training, Adam keeps two more arrays per weight (its moments). In minidst they are
# aligned with `data`, one slot per stored connection and none for the zeros (chapter 5), and they
# need no indices of their own: they share the weight's `indices` and `indptr`. So optimizer
# state shrinks in proportion to the density, whatever the density.

# %% [markdown]
# ## FLOPs: the paper's unit of cost
#
# The DS-TD3 paper counts compute as RigL does (Evci et al. 2020), and minidst follows it
# (`minidst/flops.py`): every stored connection costs one multiply and one add per sample, so
#
# * forward FLOPs of a layer = **2 * nnz** per sample (biases and activations are ignored: they
#   grow with the width, not with the width squared);
# * a training step costs about **3x** the forward pass: the forward product, the input gradient
#   `W.T @ dZ` and the weight gradient are three products of the same size (chapter 2).
#
# A dense layer counts all `n_out * n_in` positions; a sparse one counts only what it stores.

# %%
sparse_layer = SparseLinear(256, 256, density=0.1, rng=rng)
dense_layer = DenseLinear(256, 256, rng=rng)
print(sparse_layer, "|", dense_layer)
batch = 100
print(
    f"forward FLOPs, batch {batch}: sparse {forward_flops([sparse_layer], batch):,}, "
    f"dense {forward_flops([dense_layer], batch):,}"
)
print(
    f"training FLOPs, batch {batch}: sparse {training_flops([sparse_layer], batch):,}, "
    f"dense {training_flops([dense_layer], batch):,}"
)
print(f"sparse layer if it were dense: {dense_forward_flops([sparse_layer], batch):,}")

# %% [markdown]
# FLOPs are a property of the network, not of the machine. Whether fewer FLOPs also mean less
# *time* depends on how well the sparse kernels run compared with dense matrix libraries, which
# are extremely well tuned; that is the subject of chapter 4.
#
# Expect this from the start: at the paper's density of about 0.5, sparse compute is likely to be
# *slower* than dense on your CPU. A dense BLAS product runs at a higher FLOP rate than a sparse
# kernel: it reuses each value it loads many times, while a sparse kernel follows `indices` to
# scattered rows. So sparse wins only once its FLOP saving, `1 / density`, outgrows that gap in
# rate: the break-even density is the sparse rate divided by the dense rate. How large the gap is
# depends on the CPU and its BLAS library. Measured with one thread in float32:
#
# * on the AVX-512 AMD EPYC of the README's Speed tables (OpenBLAS's SkylakeX kernel): dense BLAS
#   194-230 GFLOP/s, minidst's sparse kernels 35-57, break-even density about 0.2;
# * on a 2-core AMD EPYC Zen 4 (AVX-512): dense 89-103, `kernels.spmm` 21-31 at batch 100 and
#   31-46 at batch 256, break-even near 0.3-0.4;
# * on an AVX2 Zen 3 core: dense 66-92, `kernels.spmm` 17-25, break-even near 0.3-0.4.
#
# These are three CPUs, not a law. On all three, density 0.5 is above the break-even (sparse
# slower than dense) and density 0.1 below it. Chapter 4 measures the break-even on your own
# machine and prints it beside these figures.

# %% [markdown]
# ## How sparse should each layer be? The Erdős–Rényi rule
#
# Giving every layer the same density is the simplest choice, but it hurts narrow layers. The
# first layer of a HalfCheetah actor maps 17 observations to 256 units: with density 0.1, each unit
# would see fewer than two inputs. The DS-TD3 paper instead draws each layer's connections with the
# Erdős–Rényi probability
#
# `density = lambda * (n_in + n_out) / (n_in * n_out)`,
#
# capped at 1. The number of connections is then `lambda * (n_in + n_out)`: it grows with the
# *sum* of the widths, while the number of possible connections grows with their *product*. Wide
# layers become sparse, narrow ones stay dense. `lambda` sets the overall level; the paper uses
# `lambda = 7` for the first layer on HalfCheetah and `lambda = 64` for the second layer
# everywhere. HalfCheetah has 17-dimensional observations and 6-dimensional actions, and the critic
# reads `concat(obs, action)`, 23 numbers.

# %%
paper = {
    "actor  L1 17 -> 256": erdos_renyi_density(17, 256, lam=7),
    "critic L1 23 -> 256": erdos_renyi_density(23, 256, lam=7),
    "both   L2 256 -> 256": erdos_renyi_density(256, 256, lam=64),
}
for name, density in paper.items():
    print(f"{name}: density {density:.3f}  (sparsity {1 - density:.3f})")
assert round(paper["actor  L1 17 -> 256"], 3) == 0.439
assert round(paper["critic L1 23 -> 256"], 3) == 0.332
assert paper["both   L2 256 -> 256"] == 0.5

# %% [markdown]
# These are the paper's numbers. Only the first two weight layers of each network are sparse; the
# output layers (256 -> 6 for the actor, 256 -> 1 for each critic) stay dense. Let us build the
# three networks' layers with minidst and count, to check the headline claim of about 50%.
# (`SparseLinear` draws exactly `round(density * n_out * n_in)` connections.)

# %%
obs_dim, act_dim, hidden = 17, 6, 256


def td3_layers(n_in, n_out, prefix):
    """One TD3 network's layers: two Erdős–Rényi sparse layers (lambda 7, 64), a dense output."""
    density_1 = erdos_renyi_density(n_in, hidden, lam=7)
    density_2 = erdos_renyi_density(hidden, hidden, lam=64)
    return [
        (f"{prefix}.L1", SparseLinear(n_in, hidden, density_1, rng)),
        (f"{prefix}.L2", SparseLinear(hidden, hidden, density_2, rng)),
        (f"{prefix}.out", DenseLinear(hidden, n_out, rng)),
    ]


named = (
    td3_layers(obs_dim, act_dim, "actor")
    + td3_layers(obs_dim + act_dim, 1, "critic1")
    + td3_layers(obs_dim + act_dim, 1, "critic2")
)
print(layer_table(named))

# %%
layers = [layer for _, layer in named]
counts = count_parameters(layers)
print(
    f"weights: {counts['weights']:,} stored of {counts['dense_weights']:,} "
    f"-> sparsity {1 - counts['weights'] / counts['dense_weights']:.1%}"
)
print(
    f"forward FLOPs per sample: {forward_flops(layers):,} sparse vs "
    f"{dense_forward_flops(layers):,} dense "
    f"({forward_flops(layers) / dense_forward_flops(layers):.2f}x)"
)

# %% [markdown]
# 214,784 dense weights shrink to about 106k stored ones: 51% sparsity, and, by the FLOP
# convention above, 0.49x the dense network's compute for every forward pass and every training
# step. That is the paper's claim in numbers. The rest of the course builds a layer that actually
# delivers that saving (chapters 2 and 4) and the prune-and-regrow step that moves the
# connections while training (chapter 5).

# %% [markdown]
# ## Summary
#
# * A sparse network stores only the connections that exist. Simulating sparsity with a dense
#   weight times a mask gives the same maths but saves neither memory nor compute.
# * CSR stores a matrix row by row in three arrays: `indptr` (row starts), `indices` (columns) and
#   `data` (values). Row `r` owns `indptr[r]:indptr[r + 1]`. A canonical CSR has sorted,
#   duplicate-free columns in every row, so each matrix has exactly one representation.
# * A CSR matrix-vector product visits only stored entries: `nnz` multiply-adds.
# * With float32 values and int32 indices a stored entry costs 8 bytes against 4 for a dense one,
#   so CSR saves memory only below density 1/2.
# * FLOPs follow RigL's convention: 2 * nnz per sample forward, about 3x that per training step.
# * The Erdős–Rényi rule `lambda * (n_in + n_out) / (n_in * n_out)` keeps narrow layers denser.
#   With the paper's lambdas, HalfCheetah's TD3 networks keep about 49% of their weights.
# * SciPy pitfalls: `csr * x` is elementwise (use `@`), and sparse arithmetic silently drops stored
#   zeros (update `.data` in place instead).

# %% [markdown]
# ## Exercises
#
# 1. Write `csr_transpose(indptr, indices, data, shape)` that returns the CSR arrays of `A.T`
#    without forming a dense matrix. (Hint: count the entries per column with `np.bincount`, then
#    place each entry.) Check it against `S.T.tocsr()`. Chapter 2 needs exactly this.
# 2. Compressed Sparse Column (CSC) stores a matrix column by column. Which of `A @ x` and `A.T @ x`
#    is natural to compute from CSR, and which from CSC? Write the CSC matrix-vector product
#    `csc_matvec(indptr, indices, data, x, n_rows)`, which returns `A @ x`.
# 3. Redo the memory comparison for float64 values with int32 indices, and for float32 values with
#    int64 indices (SciPy's choice for very large matrices). Where is the break-even density in each
#    case (a fraction, leaving out `indptr`)? What happens to the `indptr` term for a very tall,
#    very sparse matrix?
# 4. For a 348 -> 256 layer (Humanoid-v5's first layer; gym's v3, the paper's, had 376 inputs),
#    find the Erdős–Rényi densities (to 3 decimals) for the paper's lambda = 61 and for lambda = 7.
#    Plot density against lambda for the shapes 17 -> 256, 348 -> 256 and 256 -> 256. At what
#    lambda (to 1 decimal) does each become fully dense?
# 5. Redo the HalfCheetah count for Humanoid-v5 (348 observations, 17 actions, lambda_1 = 61). What
#    overall sparsity (a fraction, over the weights of the actor and both critics) do the paper's
#    settings give there?

# %% [markdown]
# Check your answers with `minidst.exercises`. Each check prints one line, "Correct" with the
# reason or "Not yet" with a hint, and returns True or False; exercises without one answer
# (open questions, timings) have no check. This cell lists the chapter's checks:

# %%
from minidst import exercises  # noqa: E402

exercises.show_checks(1)
# For example: exercises.chapter1_exercise1(csr_transpose)
