"""Every kernel against its plain-NumPy twin and against the dense product."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import float_tolerance, random_csr
from hypothesis import given, settings
from hypothesis import strategies as st

from minidst import kernels

DTYPES = [np.float32, np.float64]

shapes = st.tuples(
    st.integers(1, 40),  # rows
    st.integers(1, 40),  # cols
    st.integers(1, 33),  # batch
    st.sampled_from([0.0, 0.02, 0.1, 0.3, 0.7, 1.0]),  # density (0 = no stored entry)
    st.sampled_from(DTYPES),
    st.integers(0, 2**32 - 1),  # seed
)


def run_spmm(kernel, W, X):
    out = np.full((W.shape[0], X.shape[1]), np.nan, dtype=X.dtype)  # NaN: catches unwritten rows
    kernel(W.indptr, W.indices, W.data, X, out)
    return out


def run_sddmm(kernel, W, dZ, X):
    out = np.full(W.nnz, np.nan, dtype=X.dtype)
    kernel(W.indptr, W.indices, dZ, X, out)
    return out


@settings(deadline=None, max_examples=60)
@given(shapes)
def test_spmm_matches_reference_and_dense(case):
    n_rows, n_cols, batch, density, dtype, seed = case
    rng = np.random.default_rng(seed)
    W = random_csr(n_rows, n_cols, density, rng, dtype)
    X = rng.standard_normal((n_cols, batch)).astype(dtype)
    reference = kernels.spmm_reference(W.indptr, W.indices, W.data, X)
    np.testing.assert_allclose(reference, W.toarray() @ X, **float_tolerance(dtype))
    for kernel in (kernels.spmm, kernels.spmm_parallel):
        out = run_spmm(kernel, W, X)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, reference, **float_tolerance(dtype))


@settings(deadline=None, max_examples=60)
@given(shapes)
def test_sddmm_matches_reference_and_dense(case):
    n_rows, n_cols, batch, density, dtype, seed = case
    rng = np.random.default_rng(seed)
    W = random_csr(n_rows, n_cols, density, rng, dtype)
    dZ = rng.standard_normal((n_rows, batch)).astype(dtype)
    X = rng.standard_normal((n_cols, batch)).astype(dtype)
    reference = kernels.sddmm_reference(W.indptr, W.indices, dZ, X)
    rows, cols = W.nonzero()  # canonical CSR: same order as W.data
    np.testing.assert_allclose(reference, (dZ @ X.T)[rows, cols], **float_tolerance(dtype))
    for kernel in (kernels.sddmm, kernels.sddmm_parallel):
        np.testing.assert_allclose(run_sddmm(kernel, W, dZ, X), reference, **float_tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_rows_and_columns(dtype, rng):
    """Rows with no stored entry give zeros; columns with none get no gradient."""
    W = random_csr(12, 9, 0.4, rng, dtype).toarray()
    W[[0, 5, 11], :] = 0
    W[:, [2, 8]] = 0
    W = sp.csr_array(W)
    W.indices = W.indices.astype(np.int32)
    W.indptr = W.indptr.astype(np.int32)
    X = rng.standard_normal((9, 5)).astype(dtype)
    out = run_spmm(kernels.spmm, W, X)
    assert np.all(out[[0, 5, 11]] == 0)
    np.testing.assert_allclose(out, W.toarray() @ X, **float_tolerance(dtype))


@pytest.mark.parametrize("kernel", [kernels.spmm, kernels.spmm_parallel])
def test_spmm_rows_with_every_blocking_remainder(kernel, rng):
    """Row lengths 0..19 exercise the 8-wide, 4-wide and single-entry paths of the kernel."""
    n_cols, batch = 24, 3
    lengths = np.arange(20)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = np.concatenate([np.sort(rng.choice(n_cols, n, replace=False)) for n in lengths])
    data = rng.standard_normal(len(indices))
    X = rng.standard_normal((n_cols, batch))
    out = np.empty((len(lengths), batch))
    kernel(indptr, indices.astype(np.int32), data, X, out)
    np.testing.assert_allclose(out, kernels.spmm_reference(indptr, indices, data, X), rtol=1e-12)


def test_parallel_kernels_bitwise_equal_serial_for_one_and_two_threads(rng):
    W = random_csr(300, 200, 0.2, rng, np.float32)
    X = rng.standard_normal((200, 64)).astype(np.float32)
    dZ = rng.standard_normal((300, 64)).astype(np.float32)
    serial_z = run_spmm(kernels.spmm, W, X)
    serial_g = run_sddmm(kernels.sddmm, W, dZ, X)
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            assert np.array_equal(run_spmm(kernels.spmm_parallel, W, X), serial_z)
            assert np.array_equal(run_sddmm(kernels.sddmm_parallel, W, dZ, X), serial_g)
    finally:
        numba.set_num_threads(before)


def test_kernels_propagate_nan(rng):
    """No fast-math flag may let a NaN vanish."""
    W = random_csr(5, 6, 0.5, rng, np.float32)
    X = rng.standard_normal((6, 4)).astype(np.float32)
    row0 = int(np.argmax(np.diff(W.indptr) > 0))  # the first row with a stored entry
    X[W.indices[W.indptr[row0]], 2] = np.nan
    assert np.isnan(run_spmm(kernels.spmm, W, X)[row0, 2])
    assert np.isnan(run_sddmm(kernels.sddmm, W, np.ones((5, 4), np.float32), X)[W.indptr[row0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_kernel_matches_reference(dtype, decoupled, rng):
    n = 257
    args = [rng.standard_normal(n).astype(dtype) for _ in range(2)]
    m = rng.standard_normal(n).astype(dtype)
    v = rng.random(n).astype(dtype)
    fast = [a.copy() for a in (*args, m, v)]
    slow = [a.copy() for a in (*args, m, v)]
    for t in (1, 2, 50):
        kernels.adam_step(*fast, 1e-3, 0.9, 0.999, 1e-8, 2e-4, decoupled, t)
        kernels.adam_step_reference(*slow, 1e-3, 0.9, 0.999, 1e-8, 2e-4, decoupled, t)
        for a, b in zip(fast, slow):
            np.testing.assert_allclose(
                a,
                b,
                rtol=1e-5 if dtype == np.float32 else 1e-12,
                atol=1e-7 if dtype == np.float32 else 1e-14,
            )


@settings(deadline=None, max_examples=60)
@given(
    st.integers(1, 30),
    st.integers(1, 30),
    st.sampled_from([0.0, 0.1, 0.4, 1.0]),
    st.sampled_from([0.0, 0.1, 0.4, 1.0]),
    st.sampled_from(DTYPES),
    st.integers(0, 2**32 - 1),
)
def test_polyak_union_matches_reference(n_rows, n_cols, t_density, o_density, dtype, seed):
    rng = np.random.default_rng(seed)
    target = random_csr(n_rows, n_cols, t_density, rng, dtype)
    online = random_csr(n_rows, n_cols, o_density, rng, dtype)
    tau = 0.3
    capacity = target.nnz + online.nnz
    out = (
        np.full(n_rows + 1, -1, np.int32),
        np.full(capacity, -1, np.int32),
        np.full(capacity, np.nan, dtype),
        np.zeros(capacity, np.int8),
    )
    n = kernels.polyak_union(
        target.indptr,
        target.indices,
        target.data,
        online.indptr,
        online.indices,
        online.data,
        tau,
        out,
    )
    indptr, indices, data, origin = out[0], out[1][:n], out[2][:n], out[3][:n]
    t_mask, o_mask = (
        target.toarray() != 0,
        online.toarray() != 0,
    )  # random_csr stores no exact zeros
    mask, values, ref_origin = kernels.polyak_union_reference(
        target.toarray(), t_mask, online.toarray(), o_mask, tau
    )
    union = sp.csr_array((data, indices, indptr), shape=(n_rows, n_cols))
    assert union.has_canonical_format and n == mask.sum()
    rows, cols = np.nonzero(mask)  # row-major, the CSR order
    np.testing.assert_array_equal(indices, cols)
    np.testing.assert_array_equal(np.diff(indptr), np.bincount(rows, minlength=n_rows))
    np.testing.assert_array_equal(origin, ref_origin[rows, cols])
    # Same arithmetic in the same dtype as the reference: equal, not just close.
    np.testing.assert_array_equal(data, values[rows, cols])


@settings(deadline=None, max_examples=80)
@given(
    st.integers(1, 20),
    st.integers(1, 20),
    st.sampled_from([0.1, 0.4, 1.0]),
    st.sampled_from([0.1, 0.4, 1.0]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_polyak_topk_matches_reference(n_rows, n_cols, t_density, o_density, ties, seed):
    rng = np.random.default_rng(seed)
    target = random_csr(n_rows, n_cols, t_density, rng, np.float64)
    online = random_csr(n_rows, n_cols, o_density, rng, np.float64)
    if ties:  # many equal magnitudes: the stable tie rule decides
        target.data[:] = rng.integers(1, 3, target.nnz)
        online.data[:] = rng.integers(1, 3, online.nnz) * rng.choice([-1.0, 1.0], online.nnz)
    k = online.nnz
    capacity = target.nnz + online.nnz
    out = (
        np.empty(n_rows + 1, np.int32),
        np.empty(capacity, np.int32),
        np.empty(capacity, np.float64),
        np.empty(capacity, np.int8),
        np.empty(capacity, np.bool_),
    )
    n, same = kernels.polyak_topk(
        target.indptr, target.indices, target.data, online.indptr, online.indices, online.data,
        0.3, k, out,
    )  # fmt: skip
    t_mask, o_mask = target.toarray() != 0, online.toarray() != 0
    kept, values = kernels.polyak_topk_reference(
        target.toarray(), t_mask, online.toarray(), o_mask, 0.3, k
    )
    keep = out[4][:n]
    union = sp.csr_array((out[2][:n], out[1][:n], out[0]), shape=(n_rows, n_cols))
    rows, cols = np.nonzero(t_mask | o_mask)
    np.testing.assert_array_equal(keep, kept[rows, cols])
    np.testing.assert_array_equal(union.data, values[rows, cols])
    assert keep.sum() == min(k, n)
    assert same == np.array_equal(kept, t_mask)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_kernels_match_numpy_and_propagate_nan(dtype, rng):
    z = rng.standard_normal((7, 13)).astype(dtype)
    z[0, :3] = [0.0, np.nan, -np.inf]
    dy = rng.standard_normal(z.shape).astype(dtype)
    dy[1, 0] = np.nan
    y = kernels.relu(z)
    assert y.dtype == dtype and y.shape == z.shape
    np.testing.assert_array_equal(y, np.maximum(z, 0))
    np.testing.assert_array_equal(kernels.relu_backward(z, dy), dy * (z > 0))
    strided = z[:, ::2]  # a non-contiguous view gives the same answer
    np.testing.assert_array_equal(kernels.relu(strided), np.maximum(strided, 0))


@settings(deadline=None, max_examples=40)
@given(
    st.integers(1, 50),  # capacity
    st.integers(1, 20),  # dim
    st.integers(1, 70),  # batch
    st.sampled_from(DTYPES),
    st.integers(0, 2**32 - 1),
)
def test_gather_columns_is_a_transposed_gather(capacity, dim, batch, dtype, seed):
    rng = np.random.default_rng(seed)
    source = rng.standard_normal((capacity, dim)).astype(dtype)
    index = rng.integers(0, capacity, size=batch)
    out = np.full((dim, batch), np.nan, dtype=dtype)  # NaN: catches unwritten entries
    kernels.gather_columns(source, index, out)
    np.testing.assert_array_equal(out, kernels.gather_columns_reference(source, index))
    np.testing.assert_array_equal(out, source[index].T)
