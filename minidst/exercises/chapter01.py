"""Checks for chapters/01_sparse_matrices.py's exercises."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from minidst.exercises._shared import _as_floats, _random_csr, _run_student, _verdict


def _erdos_renyi_count(n_in: int, n_out: int, lam: float) -> int:
    """Connections a ``SparseLinear`` stores at the Erdős–Rényi density (chapter 1)."""
    from minidst.sparsity import erdos_renyi_density

    return round(erdos_renyi_density(n_in, n_out, lam) * n_in * n_out)


def chapter1_exercise1(csr_transpose: Callable) -> bool:
    """Your ``csr_transpose(indptr, indices, data, shape)`` against SciPy's ``S.T.tocsr()``."""
    rng = np.random.default_rng(101)
    for shape in [(4, 6), (7, 3), (1, 5), (30, 20)]:
        S = _random_csr(rng, shape, 0.3)
        result, error = _run_student(csr_transpose, S.indptr, S.indices, S.data, shape)
        if error:
            return _verdict(False, "", error)
        try:
            indptr_t, indices_t, data_t = (np.asarray(a) for a in result)
        except (TypeError, ValueError):
            return _verdict(False, "", "return the three arrays (indptr, indices, data) of A.T")
        expected = S.T.tocsr()
        expected.sort_indices()
        same_structure = np.array_equal(indptr_t, expected.indptr) and np.array_equal(
            indices_t, expected.indices
        )
        if not (same_structure and np.array_equal(data_t, expected.data)):
            try:
                yours = sp.csr_array((data_t, indices_t, indptr_t), shape=shape[::-1])
                right_values = (yours != S.T).nnz == 0  # same entries, whatever their order
            except (TypeError, ValueError, IndexError):
                right_values = False
            hint = (
                "the values are right but not in canonical order: sort the columns within each "
                "row of the transpose"
                if right_values
                else f"wrong arrays for a {shape} matrix; check `indptr` (a cumulative count of "
                "entries per column of A) and where each entry lands"
            )
            return _verdict(False, "", hint)
    return _verdict(
        True,
        "your transpose matches SciPy's canonical CSR of A.T on four random shapes, empty rows "
        "and columns included; it works in O(nnz + n_cols), never forming a dense matrix.",
        "",
    )


def chapter1_exercise2(csc_matvec: Callable) -> bool:
    """Your ``csc_matvec(indptr, indices, data, x, n_rows)``, ``A @ x`` from CSC arrays."""
    rng = np.random.default_rng(102)
    for shape in [(4, 6), (7, 3), (25, 40)]:
        A = _random_csr(rng, shape, 0.3).toarray()
        C = sp.csc_array(A)
        x = rng.standard_normal(shape[1])
        y, error = _run_student(csc_matvec, C.indptr, C.indices, C.data, x, shape[0])
        if error:
            return _verdict(False, "", error)
        y = _as_floats(y, shape[0])
        if y is None or not np.allclose(y, A @ x, rtol=1e-10, atol=1e-12):
            return _verdict(
                False,
                "",
                f"wrong result for a {shape} matrix; in CSC, `indptr` delimits columns and "
                "`indices` holds rows, so column c scatters x[c] times its values",
            )
    return _verdict(
        True,
        "A @ x from CSC is a scatter: column c adds data[k] * x[c] into y[indices[k]]. That is "
        "why A @ x is natural in CSR (a gather per row) and A.T @ x in CSC.",
        "",
    )


def chapter1_exercise3(break_even: Sequence[float]) -> bool:
    """The break-even densities ``(float64 + int32, float32 + int64)``, as fractions."""
    expected = []
    for value_type, index_type in [(np.float64, np.int32), (np.float32, np.int64)]:
        value, index = np.dtype(value_type).itemsize, np.dtype(index_type).itemsize
        # CSR costs value + index bytes per stored entry (indptr aside), dense costs value bytes
        # per entry: equal when density * (value + index) == value.
        expected.append(value / (value + index))
    answer = _as_floats(break_even, 2)
    if answer is None:
        return _verdict(False, "", "give two numbers: (float64 with int32, float32 with int64)")
    if np.all(answer > 1) and np.all(answer <= 100):
        return _verdict(False, "", "give densities as fractions between 0 and 1, not percent")
    ok = np.allclose(answer, expected, atol=0.01)
    return _verdict(
        ok,
        f"{expected[0]:.3f} and {expected[1]:.3f}: a stored entry costs value + index bytes "
        "against value bytes for a dense entry. The indptr term, 4 or 8 bytes per row, can "
        "dominate a very tall, very sparse matrix (more rows than stored entries).",
        "CSR pays `value + index` bytes per stored entry, dense pays `value` bytes per entry; "
        "ignore indptr and solve density * (value + index) = value for each pair of types",
    )


def chapter1_exercise4(
    densities: Sequence[float], full_dense_lambdas: Sequence[float] | None = None
) -> bool:
    """Densities of 348 -> 256 at lambda 61 and 7; optionally the lambdas at which
    17 -> 256, 348 -> 256 and 256 -> 256 become fully dense."""
    from minidst.sparsity import erdos_renyi_density

    expected = [erdos_renyi_density(348, 256, lam) for lam in (61, 7)]
    answer = _as_floats(densities, 2)
    if answer is None or not np.allclose(answer, expected, atol=1e-3):
        return _verdict(
            False,
            "",
            "densities: give (density at lambda 61, density at lambda 7) for n_in = 348, "
            "n_out = 256 from lambda * (n_in + n_out) / (n_in * n_out), to 3 decimals",
        )
    if full_dense_lambdas is None:
        return _verdict(
            True, f"densities {expected[0]:.3f} and {expected[1]:.3f} for 348 -> 256.", ""
        )
    # The density reaches 1 when lambda * (n_in + n_out) = n_in * n_out.
    shapes = [(17, 256), (348, 256), (256, 256)]
    expected_lambdas = [n_in * n_out / (n_in + n_out) for n_in, n_out in shapes]
    lambdas = _as_floats(full_dense_lambdas, 3)
    ok = lambdas is not None and np.allclose(lambdas, expected_lambdas, rtol=0.01)
    return _verdict(
        ok,
        f"densities {expected[0]:.3f} and {expected[1]:.3f}; fully dense from lambda = "
        + ", ".join(f"{lam:.1f}" for lam in expected_lambdas)
        + " = n_in * n_out / (n_in + n_out), so a narrow layer saturates at a small lambda.",
        "densities right; for the lambdas, give three numbers (17 -> 256, 348 -> 256, "
        "256 -> 256): where does lambda * (n_in + n_out) / (n_in * n_out) reach 1?",
    )


def chapter1_exercise5(sparsity: float) -> bool:
    """Overall weight sparsity of actor + twin critics for Humanoid-v5, as a fraction."""
    obs_dim, act_dim, hidden, lam_1, lam_2 = 348, 17, 256, 61, 64
    stored = dense = 0
    for n_in, n_out in [(obs_dim, act_dim), (obs_dim + act_dim, 1), (obs_dim + act_dim, 1)]:
        stored += _erdos_renyi_count(n_in, hidden, lam_1) + _erdos_renyi_count(
            hidden, hidden, lam_2
        )
        stored += hidden * n_out  # the output layer stays dense
        dense += n_in * hidden + hidden * hidden + hidden * n_out
    expected = 1 - stored / dense
    answer = _as_floats(sparsity)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the sparsity as a fraction")
    if 1 < answer <= 100:
        return _verdict(False, "", "give the sparsity as a fraction between 0 and 1, not percent")
    return _verdict(
        abs(answer - expected) < 0.005,
        f"{expected:.3f}: {stored:,} of {dense:,} weights. lambda_1 = 61 keeps the wide first "
        "layers near density 0.4, so Humanoid ends a little sparser than HalfCheetah's 51%.",
        "count weights layer by layer for the actor (348 -> 256 -> 256 -> 17) and two critics "
        "(365 -> 256 -> 256 -> 1): the first two layers at their Erdős–Rényi densities "
        "(lambda 61, 64), the output layers dense; then 1 - stored / dense",
    )
