"""Numba kernels for a sparse layer, each beside a plain-NumPy reference twin.

A sparse weight matrix ``W`` of shape ``(n_rows, n_cols)`` is stored in CSR form as three raw
arrays (never a SciPy object inside a kernel):

* ``indptr``  ``(n_rows + 1,)`` int32: row ``r`` owns the stored entries ``indptr[r]:indptr[r+1]``;
* ``indices`` ``(nnz,)`` int32: the column of each stored entry, sorted within a row;
* ``data``    ``(nnz,)`` float: the value of each stored entry.

Activations are **feature-major**: ``X`` has shape ``(n_cols, batch)``, one column per sample, so
each stored weight touches two contiguous rows of length ``batch``. Two kernels cover a whole
layer step, each costing ``O(nnz * batch)``:

* :func:`spmm`  ``out = W @ X``            (forward; and the input gradient ``W.T @ dZ``, by
  running it on the transposed index, see ``layers.py``);
* :func:`sddmm` ``out[k] = dZ[row_k] . X[col_k]``  (the weight gradient *only at stored entries*,
  a "sampled dense-dense matrix product": never form the dense ``dZ @ X.T``).

Two more serve sparse target networks (see ``target.py``): :func:`polyak_union` averages two CSR
matrices with different patterns in one ``O(nnz)`` merge, and :func:`polyak_topk` adds the
paper's "keep the k largest" step. The rest of a training step's compiled code is here too:
ReLU forward and backward (:func:`relu`, :func:`relu_backward`), one Adam step on flat arrays
(:func:`adam_step`), a whole network's forward and backward pass (:func:`mlp_forward`,
:func:`mlp_backward`, for the compiled training step) and its target's Polyak update
(:func:`soft_update_network`), and replay sampling
(:func:`gather_columns`). :func:`warmup` compiles them all.

Speed notes (measured on a 2-core AVX-512 machine; see ``benchmarks/kernels.py``):

* The inner loops run over the batch with unit stride and vectorise. ``spmm`` handles 8 stored
  weights per pass over the output row, so the row is loaded and stored once per 8 multiply-adds
  instead of once per 1.
* ``fastmath={"reassoc", "contract"}``: ``contract`` allows fused multiply-add; ``reassoc`` lets
  the dot products of ``sddmm`` be split over vector lanes (a strict left-to-right float sum
  cannot vectorise and runs ~15x slower). The order is fixed at compile time, so results are
  identical run to run and for any thread count; they differ from the strict-order reference by
  rounding only. Pitfall: never switch on all of fast-math (the ``True`` setting); it includes
  ``nnan``/``ninf``, which lets the compiler delete NaN checks.
* Measured on a 2-core AVX2 Zen 3 core (2026-12; one thread, float32, best of 15 blocks, the
  machine shared): dense BLAS 66-92 GFLOP/s, ``spmm`` 17-25, so the break-even density there is
  near 0.3, not 0.2. With Numba's SLP vectoriser on (``NUMBA_SLP_VECTORIZE=1``), an
  output-stationary forward (16 batch lanes x 4 stored entries in scalar accumulators, unsigned
  indices, ``contract`` only) did compile to vector FMAs and ran 34-36 GFLOP/s at 256 x 100,
  density 0.5, walking batch chunks in the outer loop; but 17-22 at batch 256, where the rows of
  ``X`` lie 1 KiB apart and a chunk's 256 rows fall into 4 of L1's 64 sets. Copying ``X`` into
  chunk-major blocks first removed that conflict and was slower still (10-36). Without SLP the
  same code stays scalar (4 GFLOP/s); with it, 16 lanes of one stored entry at a time are two
  vector accumulators, latency-bound (13-28): keep 8 or more in flight. On this VM the median
  of timed blocks sat ~25% below the best block, and the best moved under 10% between runs.
* Measured on a 2-core AVX-512 Zen 4 (family/model 25/17; one thread, float32, lower quartile
  of 15 blocks, the other core idle): dense BLAS 89-103 GFLOP/s; this ``spmm`` 21-31 at batch
  100 and 31-46 at batch 256 (the batch-100 rows end in a 4-element scalar tail and start
  16 bytes off a cache line). Tried there and slower or no better, so not used: column-blocked
  CSR (a per-row pointer per block of 64-256 columns, batch chunks of 32-128) under the plain
  loop vectoriser, 4-10 GFLOP/s; the output-stationary SLP forward above at 32 or 64 lanes,
  49-51 at 256 x 256 but 21-26 at batch 100 (the tail again); the same over ``X`` packed into
  zero-padded chunk-major blocks (16 or 32 lanes, 2 or 4 interleaved accumulators, no tail),
  up to 41 at some shapes and 9-20 at density 0.05-0.1, where a row has too few entries to pay
  its per-row cost; and ``sddmm`` fused with the input gradient (one pass sharing ``dZ``, no
  transposed index), 18-36 against 20-41 for the two separate passes.
* Where ``spmm``'s time goes (same Zen 4, one thread, float32): not the batch tail and not the
  caches. Batch 96 (no tail) runs as slowly as batch 100, and so does an ``X`` of 12 KiB that
  stays in L1 (21-25 GFLOP/s at 256 rows, density 0.5); 4, 8 or 16 stored weights per pass, and
  the sum written as one chain or as a tree, all land at 20-35. The same pass over 8 *fixed*
  rows of ``X`` runs 52 GFLOP/s, and 30 when the 8 rows are looked up from ``indices``: most of
  the time is what each pass over the row costs before its first multiply. LLVM cannot prove
  that ``out`` and ``X`` are different arrays, so it checks the 8 row ranges against the output
  row at run time before every vector loop (16 compares, spilled registers). Compiled with
  Numba's *internal* ``noalias`` flag (not a ``jit`` option; numba/numba#9108 proposed one and
  was abandoned), those checks vanish and ``spmm`` gains 20-40% at width 256, batch 96-100, and
  nothing at width 1024 (there ``X`` lives in L2 and bandwidth binds). Not used: it patches
  Numba's private compiler flags. Also tried here: the output-stationary SLP forward with the
  last batch chunk *overlapping* the one before it (legal because a chunk is stored, not added:
  batch 100 as lanes 0-63 and 36-99, no tail), 25-36 GFLOP/s against 18-30 for ``spmm`` at
  batch 100 but no better at batch 256 or width 1024, run to run noise on this VM being 20%;
  and padding the batch to 112 or 128 columns: a whole DS-TD3 update at the paper's densities
  took 5.00 ms at batch 100, 6.05 at 112 and 5.07 at 128 (1.62x, 1.68x and 1.21x dense at the
  same batch), so padding 100 to 128 would cost the same time as today and buy nothing.
  And ``sddmm`` with 8 dot products per pass instead of 4 (LLVM unrolls the 4-accumulator
  batch loop to 64 lanes, so batch 100 runs one main iteration, an 8-lane epilogue and a scalar
  tail): alone it was 2-18% faster at widths 256 and 1024; in ``benchmarks/kernels.py`` (two
  runs each, alternating) the layer step took 0.80-0.94x the time at batch 256 but 0.84-1.32x
  at batch 100, the paper's batch, where repeated runs of one version moved by up to 40%. Not
  kept: no gain shown at batch 100, and it changes the rounding of every weight gradient.
* Each kernel has a ``*_parallel`` variant (rows split over Numba threads). Every output element
  is computed by exactly one thread with the same per-row code, so results are bitwise identical
  to the serial kernel. It only pays off for wide layers; serial is the default.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

#: The only fast-math flags allowed in minidst (see the module docstring).
FASTMATH = {"reassoc", "contract"}


# --------------------------------------------------------------------------------------------
# spmm: out = W @ X
# --------------------------------------------------------------------------------------------
@njit(cache=True, fastmath=FASTMATH)
def _spmm_row(r, indptr, indices, data, X, out):
    """Compute row ``r`` of ``W @ X`` into ``out[r]``.

    Loop nest::

        out[r, :] = 0
        for k in indptr[r] .. indptr[r+1]:          # stored entries of row r, 8 at a time
            out[r, :] += data[k] * X[indices[k], :]  # a contiguous row of length batch
    """
    z = out[r]
    z[:] = 0
    k = indptr[r]
    end = indptr[r + 1]
    batch = X.shape[1]
    while k + 8 <= end:
        a0, a1, a2, a3 = data[k], data[k + 1], data[k + 2], data[k + 3]
        a4, a5, a6, a7 = data[k + 4], data[k + 5], data[k + 6], data[k + 7]
        x0, x1, x2, x3 = X[indices[k]], X[indices[k + 1]], X[indices[k + 2]], X[indices[k + 3]]
        x4, x5, x6, x7 = X[indices[k + 4]], X[indices[k + 5]], X[indices[k + 6]], X[indices[k + 7]]
        for j in range(batch):
            z[j] += (a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j]) + (
                a4 * x4[j] + a5 * x5[j] + a6 * x6[j] + a7 * x7[j]
            )
        k += 8
    if k + 4 <= end:
        a0, a1, a2, a3 = data[k], data[k + 1], data[k + 2], data[k + 3]
        x0, x1, x2, x3 = X[indices[k]], X[indices[k + 1]], X[indices[k + 2]], X[indices[k + 3]]
        for j in range(batch):
            z[j] += a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j]
        k += 4
    while k < end:
        a = data[k]
        x = X[indices[k]]
        for j in range(batch):
            z[j] += a * x[j]
        k += 1


@njit(cache=True, fastmath=FASTMATH)
def spmm(indptr, indices, data, X, out):
    """``out = W @ X`` for CSR ``W``. ``X``: ``(n_cols, batch)``; ``out``: ``(n_rows, batch)``."""
    for r in range(out.shape[0]):
        _spmm_row(r, indptr, indices, data, X, out)


@njit(cache=True, fastmath=FASTMATH, parallel=True)
def spmm_parallel(indptr, indices, data, X, out):
    """:func:`spmm` with rows split over Numba threads (bitwise equal to the serial one)."""
    for r in prange(out.shape[0]):
        _spmm_row(r, indptr, indices, data, X, out)


def spmm_reference(indptr, indices, data, X):
    """Plain NumPy twin of :func:`spmm`: returns ``W @ X``, shape ``(n_rows, batch)``."""
    n_rows = len(indptr) - 1
    out = np.zeros((n_rows, X.shape[1]), dtype=X.dtype)
    for r in range(n_rows):
        start, end = indptr[r], indptr[r + 1]
        out[r] = data[start:end] @ X[indices[start:end]]
    return out


# --------------------------------------------------------------------------------------------
# sddmm: out[k] = dZ[row_k] . X[col_k]   (gradient at stored entries only)
# --------------------------------------------------------------------------------------------
@njit(cache=True, fastmath=FASTMATH)
def _sddmm_row(r, indptr, indices, dZ, X, out):
    """Dot products for the stored entries of row ``r``.

    Loop nest::

        for k in indptr[r] .. indptr[r+1]:            # 4 at a time, sharing one read of dZ[r]
            out[k] = sum_j dZ[r, j] * X[indices[k], j]
    """
    dz = dZ[r]
    k = indptr[r]
    end = indptr[r + 1]
    batch = X.shape[1]
    while k + 4 <= end:
        x0, x1, x2, x3 = X[indices[k]], X[indices[k + 1]], X[indices[k + 2]], X[indices[k + 3]]
        s0 = s1 = s2 = s3 = dz.dtype.type(0)
        for j in range(batch):
            d = dz[j]
            s0 += d * x0[j]
            s1 += d * x1[j]
            s2 += d * x2[j]
            s3 += d * x3[j]
        out[k], out[k + 1], out[k + 2], out[k + 3] = s0, s1, s2, s3
        k += 4
    while k < end:
        x = X[indices[k]]
        s = dz.dtype.type(0)
        for j in range(batch):
            s += dz[j] * x[j]
        out[k] = s
        k += 1


@njit(cache=True, fastmath=FASTMATH)
def sddmm(indptr, indices, dZ, X, out):
    """``out[k] = dZ[row_k] . X[indices[k]]``.

    ``dZ``: ``(n_rows, batch)``; ``X``: ``(n_cols, batch)``; ``out``: ``(nnz,)``, aligned with
    ``data``.
    """
    for r in range(dZ.shape[0]):
        _sddmm_row(r, indptr, indices, dZ, X, out)


@njit(cache=True, fastmath=FASTMATH, parallel=True)
def sddmm_parallel(indptr, indices, dZ, X, out):
    """:func:`sddmm` with rows split over Numba threads (bitwise equal to the serial one)."""
    for r in prange(dZ.shape[0]):
        _sddmm_row(r, indptr, indices, dZ, X, out)


def sddmm_reference(indptr, indices, dZ, X):
    """Plain NumPy twin of :func:`sddmm`: returns the ``(nnz,)`` stored-entry gradient."""
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return np.einsum("kb,kb->k", dZ[rows], X[indices])


# --------------------------------------------------------------------------------------------
# polyak_union: (1 - tau) * T + tau * O on the union of two sparsity patterns
# --------------------------------------------------------------------------------------------
#: Where a union entry came from (see :func:`polyak_union`).
FROM_TARGET, FROM_ONLINE, FROM_BOTH = 1, 2, 3


@njit(cache=True)
def polyak_union(t_indptr, t_indices, t_data, o_indptr, o_indices, o_data, tau, out):
    """Merge two CSR matrices of one shape into ``(1 - tau) * T + tau * O`` on their union.

    Loop nest (a merge of two sorted lists per row, like the merge step of merge sort)::

        for r in rows:
            walk T's and O's column lists of row r in step; emit the smaller column,
            or both values added when the columns are equal

    ``out`` is a tuple of preallocated arrays ``(indptr (n_rows + 1,), indices, data, origin)``,
    the last three of length ``nnz(T) + nnz(O)`` (enough for any union). ``origin[k]`` is
    ``FROM_TARGET``, ``FROM_ONLINE`` or ``FROM_BOTH``. Returns the union's entry count. Each
    value is computed in ``data``'s dtype, exactly as ``t * (1 - tau) + o * tau`` in NumPy.
    """
    indptr, indices, data, origin = out
    keep = data.dtype.type(1.0 - tau)
    take = data.dtype.type(tau)
    n = 0
    indptr[0] = 0
    for r in range(len(t_indptr) - 1):
        i, i_end = t_indptr[r], t_indptr[r + 1]
        j, j_end = o_indptr[r], o_indptr[r + 1]
        # While both lists have entries left: one compare of the two columns per step.
        while i < i_end and j < j_end:
            t_col, o_col = t_indices[i], o_indices[j]
            if t_col == o_col:
                indices[n], data[n] = t_col, t_data[i] * keep + o_data[j] * take
                origin[n] = FROM_BOTH
                i += 1
                j += 1
            elif t_col < o_col:
                indices[n], data[n], origin[n] = t_col, t_data[i] * keep, FROM_TARGET
                i += 1
            else:
                indices[n], data[n], origin[n] = o_col, o_data[j] * take, FROM_ONLINE
                j += 1
            n += 1
        # Then what is left of one of them.
        while i < i_end:
            indices[n], data[n], origin[n] = t_indices[i], t_data[i] * keep, FROM_TARGET
            i += 1
            n += 1
        while j < j_end:
            indices[n], data[n], origin[n] = o_indices[j], o_data[j] * take, FROM_ONLINE
            j += 1
            n += 1
        indptr[r + 1] = n
    return n


@njit(cache=True)
def polyak_topk(t_indptr, t_indices, t_data, o_indptr, o_indices, o_data, tau, k, out):
    """Polyak average on the union (:func:`polyak_union`), then keep the ``k`` largest
    magnitudes: the DS-TD3 paper's sparse target update, in one call of compiled code.

    Which entries go: the ``d = n_union - k`` smallest magnitudes, ties to the lower position
    (as a stable sort would order them). Found without sorting the union, in three steps:

    1. at least ``d`` unshared entries (in only one pattern) are ``<= bound``, the ``d``-th
       smallest unshared magnitude, so every dropped entry is a *candidate* ``<= bound``;
    2. ``cut``, the ``d``-th smallest candidate magnitude (a selection, not a sort);
    3. drop every candidate below ``cut``, then the first candidates equal to it, in position
       order, until ``d`` are gone.

    ``k`` must be at least the number of shared entries (the caller passes ``nnz(O)``), so
    that step 1 finds ``d`` unshared entries.

    ``out`` as for :func:`polyak_union`, plus a boolean ``keep`` array of the same length.
    Returns ``(n_union, same_pattern)``. If ``same_pattern``, every dropped entry was an online
    newcomer, so the kept entries are exactly the target's, in order: the common case while a
    target lags its online layer, where the caller can update the target's values in place.
    """
    data, origin, keep = out[2], out[3], out[4]
    n = polyak_union(t_indptr, t_indices, t_data, o_indptr, o_indices, o_data, tau, out[:4])
    n_drop = n - k
    keep[:n] = True
    if n_drop <= 0:
        return n, n == len(t_data)
    # 1. The bound, from the unshared entries: n = nnz(T) + nnz(O) - shared.
    n_unshared = 2 * n - len(t_data) - len(o_data)
    unshared = np.empty(n_unshared, dtype=data.dtype)
    m = 0
    for i in range(n):
        if origin[i] != FROM_BOTH:
            unshared[m] = abs(data[i])
            m += 1
    bound = np.partition(unshared, n_drop - 1)[n_drop - 1]
    # 2. The cut, among the candidates (at least n_drop of them, all <= bound).
    n_candidates = 0
    for i in range(n):
        n_candidates += abs(data[i]) <= bound
    candidates = np.empty(n_candidates, dtype=np.int64)
    magnitudes = np.empty(n_candidates, dtype=data.dtype)
    m = 0
    for i in range(n):
        if abs(data[i]) <= bound:
            candidates[m], magnitudes[m] = i, abs(data[i])
            m += 1
    cut = np.partition(magnitudes, n_drop - 1)[n_drop - 1]
    # 3. Drop below the cut, then ties at the cut by position.
    n_below = 0
    for c in range(n_candidates):
        n_below += magnitudes[c] < cut
    ties_to_drop = n_drop - n_below
    same_pattern = n - len(t_data) == n_drop
    for c in range(n_candidates):
        drop = magnitudes[c] < cut
        if magnitudes[c] == cut and ties_to_drop > 0:
            drop = True
            ties_to_drop -= 1
        if drop:
            keep[candidates[c]] = False
            same_pattern = same_pattern and origin[candidates[c]] == FROM_ONLINE
    return n, same_pattern


@njit(cache=True)
def compact_union(n, keep, u_indptr, u_indices, u_data, indptr, indices, data):
    """Write the kept entries of a union (from :func:`polyak_union`) into CSR arrays, in place.

    ``keep`` ``(n,)`` marks the union entries to keep; ``indptr, indices, data`` receive them
    (``data`` must have room for exactly the kept count). Rows keep their order, so the result
    is canonical CSR when the union was.
    """
    m = 0
    indptr[0] = 0
    for r in range(len(u_indptr) - 1):
        for i in range(u_indptr[r], u_indptr[r + 1]):
            if keep[i]:
                indices[m] = u_indices[i]
                data[m] = u_data[i]
                m += 1
        indptr[r + 1] = m


def polyak_topk_reference(t_dense, t_mask, o_dense, o_mask, tau, k):
    """Plain NumPy twin of :func:`polyak_topk` on dense arrays: the kept mask, and the values."""
    union, values, _ = polyak_union_reference(t_dense, t_mask, o_dense, o_mask, tau)
    flat = np.flatnonzero(union)  # row-major: the CSR order
    magnitude = np.abs(values.ravel()[flat])
    kept = np.zeros(union.size, dtype=bool)
    kept[flat[np.argsort(magnitude, kind="stable")[len(flat) - k :]]] = True
    return kept.reshape(union.shape), values


def polyak_union_reference(t_dense, t_mask, o_dense, o_mask, tau):
    """Plain NumPy twin of :func:`polyak_union` on dense ``(n_rows, n_cols)`` arrays.

    ``*_mask`` marks the stored entries. Returns ``(union mask, values, origin)``, the last two
    dense and meaningful only inside the union.
    """
    dtype = t_dense.dtype.type
    values = t_dense * dtype(1.0 - tau) + o_dense * dtype(tau)
    origin = np.where(t_mask, FROM_TARGET, 0) + np.where(o_mask, FROM_ONLINE, 0)
    return t_mask | o_mask, values, origin


# --------------------------------------------------------------------------------------------
# ReLU, forward and backward
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def relu(z):
    """``max(z, 0)`` elementwise into a new array; NaN stays NaN.

    NumPy's ``np.maximum(z, 0)`` is the reference. It is ~5x slower than this loop on a
    ``(256, 100)`` float32 block (its NaN-propagating compare vectorises poorly), and a
    training step applies ReLU a dozen times.
    """
    out = np.empty_like(z)
    _relu_into(z, out)
    return out


@njit(cache=True)
def _relu_into(z, out):
    flat_z, flat_out = z.ravel(), out.ravel()
    for i in range(flat_z.size):
        v = flat_z[i]
        flat_out[i] = v if v > 0 or v != v else 0


@njit(cache=True)
def relu_backward(z, dy):
    """``dy * (z > 0)`` elementwise into a new array."""
    out = np.empty_like(dy)
    _relu_backward_into(z, dy, out)
    return out


@njit(cache=True)
def _relu_backward_into(z, dy, out):
    flat_z, flat_dy, flat_out = z.ravel(), dy.ravel(), out.ravel()
    for i in range(flat_z.size):
        flat_out[i] = flat_dy[i] if flat_z[i] > 0 else flat_dy[i] * 0


# --------------------------------------------------------------------------------------------
# A whole network in one call: forward and backward of an MLP (the compiled training step)
# --------------------------------------------------------------------------------------------
#: Layer kinds and activations as the network kernels see them (see ``minidst/compiled.py``).
SPARSE_LAYER, DENSE_LAYER = 0, 1
RELU, TANH, IDENTITY = 0, 1, 2


@njit(cache=True)
def _activate(code, z, out):
    if code == RELU:
        _relu_into(z, out)
    elif code == TANH:
        flat_z, flat_out = z.ravel(), out.ravel()
        for i in range(flat_z.size):
            flat_out[i] = np.tanh(flat_z[i])
    else:
        out[:] = z


@njit(cache=True)
def _activation_backward(code, z, y, dy, out):
    if code == RELU:
        _relu_backward_into(z, dy, out)
    elif code == TANH:
        flat_y, flat_dy, flat_out = y.ravel(), dy.ravel(), out.ravel()
        for i in range(flat_y.size):
            flat_out[i] = flat_dy[i] * (1 - flat_y[i] * flat_y[i])
    else:
        out[:] = dy


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def mlp_forward(kinds, activations, indptr, indices, values, weights, bias, X, Z, A):
    """The forward pass of a whole MLP: what ``MLP.forward`` does, layer by layer, in one call.

    Per layer ``l`` (the tuples hold one entry per layer; a sparse layer's ``weights[l]`` and a
    dense layer's CSR arrays are empty placeholders)::

        Z[l] = W_l @ (X if l == 0 else A[l - 1]) + bias[l]   # spmm, or BLAS for a dense layer
        A[l] = activation_l(Z[l])

    ``Z`` and ``A`` are preallocated ``(out_l, batch)`` buffers; ``A[-1]`` is the output.
    """
    for layer in range(len(kinds)):
        inputs = X if layer == 0 else A[layer - 1]
        z = Z[layer]
        if kinds[layer] == SPARSE_LAYER:
            spmm(indptr[layer], indices[layer], values[layer], inputs, z)
        else:
            np.dot(weights[layer], inputs, z)
        b = bias[layer]
        for r in range(z.shape[0]):
            z[r] += b[r]
        _activate(activations[layer], z, A[layer])


@njit(cache=True, fastmath=FASTMATH, nogil=True)
def mlp_backward(
    kinds, activations, indptr, indices, values, weights, t_indptr, t_rows, t_perm, t_values,
    X, Z, A, dY, dZ, dA, dX, value_grads, weight_grads, bias_grads, param_grads, input_grad,
):  # fmt: skip
    """The backward pass of a whole MLP in one call: what ``MLP.backward`` does.

    Per layer ``l``, last to first, with ``d`` the gradient of the layer's output (``dY`` for
    the last layer, then ``dA[l]``)::

        dZ[l] = activation_l'(Z[l], A[l]) * d
        if param_grads:                             # weight gradient at stored entries, bias
            value_grads[l] = sddmm(dZ[l], input_l)  # (a dense layer: weight_grads[l] = dZ X^T)
            bias_grads[l]  = dZ[l].sum(axis=1)
        if l > 0 or input_grad:                     # the input gradient W^T dZ, written to
            dA[l - 1] (or dX) = W_l^T @ dZ[l]       # dA[l - 1], or to dX for the first layer

    The sparse ``W^T @ dZ`` runs :func:`spmm` on the transposed index ``(t_indptr, t_rows)``,
    with the values gathered through ``t_perm`` into ``t_values`` first.

    Both network kernels release the GIL (``nogil``), so two networks can run on two Python
    threads at once (the twin critics, see ``CompiledPair`` in ``compiled.py``).
    """
    d = dY
    for layer in range(len(kinds) - 1, -1, -1):
        dz = dZ[layer]
        _activation_backward(activations[layer], Z[layer], A[layer], d, dz)
        inputs = X if layer == 0 else A[layer - 1]
        sparse = kinds[layer] == SPARSE_LAYER
        if param_grads:
            if sparse:
                sddmm(indptr[layer], indices[layer], dz, inputs, value_grads[layer])
            else:
                np.dot(dz, inputs.T, weight_grads[layer])
            b = bias_grads[layer]
            for r in range(dz.shape[0]):
                total = dz.dtype.type(0)
                for j in range(dz.shape[1]):
                    total += dz[r, j]
                b[r] = total
        if layer == 0 and not input_grad:
            break
        out = dA[layer - 1] if layer > 0 else dX
        if sparse:
            gathered, perm, source = t_values[layer], t_perm[layer], values[layer]
            for k in range(len(perm)):
                gathered[k] = source[perm[k]]
            spmm(t_indptr[layer], t_rows[layer], gathered, dz, out)
        else:
            np.dot(weights[layer].T, dz, out)
        d = out


# --------------------------------------------------------------------------------------------
# A whole target network's Polyak update in one call (the compiled training step)
# --------------------------------------------------------------------------------------------
#: The sparse target rules as the kernel sees them (``target.SPARSE_TARGET_RULES``).
TOPK_RULE, COPY_RULE = 0, 1
#: What :func:`soft_update_network` did to a layer's connections.
VALUES_ONLY, PATTERN_MOVED, COUNT_CHANGED = 0, 1, 2


@njit(cache=True)
def _same_pattern(t_indptr, t_indices, o_indptr, o_indices):
    if len(t_indices) != len(o_indices):
        return False
    for r in range(len(t_indptr)):
        if t_indptr[r] != o_indptr[r]:
            return False
    for i in range(len(t_indices)):
        if t_indices[i] != o_indices[i]:
            return False
    return True


@njit(cache=True)
def _soft_update_sparse_weight(t_indptr, t_indices, t_data, o_indptr, o_indices, o_data, tau, rule):
    """``target.soft_update_sparse_weight`` in compiled code, step for step; returns what it did.

    Leaves the target untouched and returns ``COUNT_CHANGED`` where the readable function would
    change the target's entry count (once per run, after the end-of-training freeze): the
    caller then runs the readable one, which reallocates the layer's arrays.
    """
    keep_value = t_data.dtype.type(1.0 - tau)
    take_value = t_data.dtype.type(tau)
    if _same_pattern(t_indptr, t_indices, o_indptr, o_indices):
        for i in range(len(t_data)):
            t_data[i] = t_data[i] * keep_value + o_data[i] * take_value
        return VALUES_ONLY
    capacity = len(t_data) + len(o_data)
    out = (
        np.empty(len(t_indptr), dtype=np.int32),
        np.empty(capacity, dtype=np.int32),
        np.empty(capacity, dtype=t_data.dtype),
        np.empty(capacity, dtype=np.int8),
        np.empty(capacity, dtype=np.bool_),
    )
    keep = out[4]
    if rule == COPY_RULE:
        n = polyak_union(t_indptr, t_indices, t_data, o_indptr, o_indices, o_data, tau, out[:4])
        for i in range(n):
            keep[i] = out[3][i] >= FROM_ONLINE
    else:
        n, same = polyak_topk(
            t_indptr, t_indices, t_data, o_indptr, o_indices, o_data, tau, len(o_data), out
        )
        if same:
            m = 0
            for i in range(n):
                if keep[i]:
                    t_data[m] = out[2][i]
                    m += 1
            return VALUES_ONLY
    kept = 0
    for i in range(n):
        kept += keep[i]
    if kept != len(t_data):
        return COUNT_CHANGED
    compact_union(n, keep, out[0], out[1], out[2], t_indptr, t_indices, t_data)
    return PATTERN_MOVED


@njit(cache=True)
def soft_update_network(
    kinds, t_indptr, t_indices, t_values, t_weights, t_bias,
    o_indptr, o_indices, o_values, o_weights, o_bias, tau, rule, status,
):  # fmt: skip
    """``target.soft_update(target_net, online_net, tau, rule)`` for a whole MLP in one call.

    The tuples are a target network's and its online network's arrays, one entry per layer, as
    for :func:`mlp_forward`. Per layer ``l``::

        bias'  <- (1 - tau) * bias' + tau * bias
        dense:   W' <- (1 - tau) * W' + tau * W
        sparse:  the same on the union of the two patterns, then back to ``nnz(W)`` entries by
                 ``rule`` (``TOPK_RULE``: the largest magnitudes; ``COPY_RULE``: W's pattern)

    ``status`` ``(n_layers,)`` int8 receives what happened to each layer's connections:
    ``VALUES_ONLY``, ``PATTERN_MOVED`` (rewritten in place: the caller must call the layer's
    ``connections_moved``) or ``COUNT_CHANGED`` (weights untouched: the caller must run the
    readable update on that layer's weight). Every value is rounded as NumPy rounds
    ``t * (1 - tau) + o * tau`` in the arrays' dtype (no fast-math here), so the numbers equal
    the readable update's exactly.
    """
    for layer in range(len(kinds)):
        b_t, b_o = t_bias[layer], o_bias[layer]
        keep_value = b_t.dtype.type(1.0 - tau)
        take_value = b_t.dtype.type(tau)
        for r in range(len(b_t)):
            b_t[r] = b_t[r] * keep_value + b_o[r] * take_value
        status[layer] = VALUES_ONLY
        if kinds[layer] == DENSE_LAYER:
            w_t, w_o = t_weights[layer].ravel(), o_weights[layer].ravel()
            for i in range(len(w_t)):
                w_t[i] = w_t[i] * keep_value + w_o[i] * take_value
        else:
            status[layer] = _soft_update_sparse_weight(
                t_indptr[layer], t_indices[layer], t_values[layer],
                o_indptr[layer], o_indices[layer], o_values[layer], tau, rule,
            )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Replay sampling: rows of transitions gathered straight into feature-major blocks
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def gather_columns(source, index, out):
    """``out[:, j] = source[index[j]]``: rows of a row-per-transition array ``(capacity, dim)``
    gathered into a feature-major block ``(dim, batch)``, with no transposed copy."""
    for j in range(len(index)):
        row = source[index[j]]
        for feature in range(out.shape[0]):
            out[feature, j] = row[feature]


def gather_columns_reference(source, index):
    """Plain NumPy twin of :func:`gather_columns`: returns ``source[index].T``, C-contiguous."""
    return np.ascontiguousarray(source[index].T)


# --------------------------------------------------------------------------------------------
# Adam: one optimizer step on flat arrays (the bookkeeping around it is in optim.py)
# --------------------------------------------------------------------------------------------
# error_model="numpy": 0/0 gives NaN (like the NumPy twin) instead of raising ZeroDivisionError.
@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def adam_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, t):
    """One Adam step in place on flat arrays ``param, grad, m, v`` (all the same shape).

    ``t`` is the 1-based step count used for bias correction. Follows PyTorch's formula:
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.
    """
    step_size = lr / (1.0 - beta1**t)
    sqrt_correction = math.sqrt(1.0 - beta2**t)
    for i in range(param.size):
        g = grad[i]
        if decoupled:
            param[i] -= lr * weight_decay * param[i]
        else:
            g += weight_decay * param[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * g
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
        param[i] -= step_size * m[i] / (math.sqrt(v[i]) / sqrt_correction + eps)


def adam_step_reference(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, t):
    """Plain NumPy twin of :func:`adam_step` (same arguments, same in-place effect)."""
    if decoupled:
        param -= lr * weight_decay * param
        g = grad
    else:
        g = grad + weight_decay * param
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * g * g
    param -= lr / (1 - beta1**t) * m / (np.sqrt(v) / math.sqrt(1 - beta2**t) + eps)


def warmup(dtypes: tuple = (np.float32, np.float64), parallel: bool = True) -> None:
    """Compile the kernels of this module for each of ``dtypes`` now.

    Kernels compile lazily on first call (seconds each, cached on disk afterwards); chapters,
    benchmarks and the trainer call this first so the pause happens up front, not mid-run.
    ``parallel=False`` leaves out the multi-threaded :func:`spmm_parallel` and
    :func:`sddmm_parallel`, which training never calls. Each compiled type and kernel costs
    seconds of a cold start: the trainer asks only for what a run uses (float32, serial).
    """
    indptr = np.array([0, 1], dtype=np.int32)
    indices = np.array([0], dtype=np.int32)
    for dtype in dtypes:
        data = np.ones(1, dtype=dtype)
        X = np.ones((1, 2), dtype=dtype)
        out = np.empty((1, 2), dtype=dtype)
        grad = np.zeros(1, dtype=dtype)
        spmm(indptr, indices, data, X, out)
        sddmm(indptr, indices, X, X, grad)
        if parallel:
            spmm_parallel(indptr, indices, data, X, out)
            sddmm_parallel(indptr, indices, X, X, grad)
        relu_backward(relu(X), X)
        union = (
            np.empty(2, np.int32),
            np.empty(2, np.int32),
            np.empty(2, dtype),
            np.empty(2, np.int8),
            np.empty(2, np.bool_),
        )
        polyak_union(indptr, indices, data, indptr, indices, data, 0.5, union[:4])
        polyak_topk(indptr, indices, data, indptr, indices, data, 0.5, 1, union)
        compact_union(1, union[4], indptr, indices, data, indptr.copy(), indices.copy(), data)
        moments = np.zeros_like(data), np.zeros_like(data)
        adam_step(data, grad, *moments, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, 1)
        gather_columns(X, np.zeros(2, np.int64), np.empty((2, 2), dtype))
        _warm_up_network_kernels(dtype)


def _warm_up_network_kernels(dtype) -> None:
    """Compile :func:`mlp_forward`, :func:`mlp_backward` and :func:`soft_update_network` for a
    3-layer network (two hidden layers, the paper's): they are specialised by layer count, so
    other depths compile on first use."""
    n_layers = 3
    ints = tuple(np.array([0, 1], np.int32) for _ in range(n_layers))
    index = tuple(np.zeros(1, np.int32) for _ in range(n_layers))
    values = tuple(np.ones(1, dtype) for _ in range(n_layers))
    weights = tuple(np.ones((1, 1), dtype) for _ in range(n_layers))
    blocks = [tuple(np.ones((1, 2), dtype) for _ in range(n_layers)) for _ in range(4)]
    Z, A, dZ, dA = blocks
    X, dX = np.ones((1, 2), dtype), np.ones((1, 2), dtype)
    kinds = np.array([SPARSE_LAYER, SPARSE_LAYER, DENSE_LAYER], np.int8)
    codes = np.array([RELU, RELU, TANH], np.int8)
    mlp_forward(kinds, codes, ints, index, values, weights, values, X, Z, A)
    mlp_backward(
        kinds, codes, ints, index, values, weights, ints, index, index, values,
        X, Z, A, A[-1], dZ, dA, dX, values, weights, values, True, True,
    )  # fmt: skip
    status = np.empty(n_layers, np.int8)
    soft_update_network(
        kinds, ints, index, values, weights, values,
        ints, index, values, weights, values, 0.5, TOPK_RULE, status,
    )  # fmt: skip
