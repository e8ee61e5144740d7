"""Checks for chapters/02_sparse_layer_by_hand.py's exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from minidst.exercises._shared import _as_floats, _random_csr, _run_student, _verdict


def chapter2_exercise4(transposed_index: Callable) -> bool:
    """Your ``transposed_index(indptr, indices, n_in) -> (indptr_t, indices_t, perm)``."""
    rng = np.random.default_rng(204)
    for shape in [(4, 6), (6, 4), (40, 30)]:
        W = _random_csr(rng, shape, 0.3)
        result, error = _run_student(transposed_index, W.indptr, W.indices, shape[1])
        if error:
            return _verdict(False, "", error)
        try:
            indptr_t, indices_t, perm = (np.asarray(a) for a in result)
        except (TypeError, ValueError):
            return _verdict(False, "", "return the three arrays (indptr_t, indices_t, perm)")
        Wt = W.T.tocsr()
        Wt.sort_indices()
        if not np.array_equal(indptr_t, Wt.indptr):
            return _verdict(
                False, "", "indptr_t is wrong: count the entries per column, then accumulate"
            )
        if not np.array_equal(indices_t, Wt.indices):
            return _verdict(
                False, "", "indices_t is wrong: row t of W.T lists the rows r of W holding column t"
            )
        if perm.shape != W.data.shape or not np.array_equal(W.data[perm], Wt.data):
            return _verdict(
                False, "", "perm is wrong: data[perm] must list W's values column by column"
            )
    return _verdict(
        True,
        "a stable argsort of `indices` groups the entries by column and keeps them in row "
        "order within each, which is exactly CSR order for W.T; `perm` is that argsort.",
        "",
    )


def chapter2_exercise5(ratio: float) -> bool:
    """How many times more multiply-adds the dense ``dZ @ X.T`` costs than the SDDMM (256 x 256,
    density 0.1)."""
    n_out = n_in = 256
    nnz = round(0.1 * n_out * n_in)  # what SparseLinear stores
    batch = 100  # any batch: it cancels
    expected = (n_out * n_in * batch) / (nnz * batch)
    answer = _as_floats(ratio)
    ok = answer is not None and answer.shape == () and math.isclose(answer, expected, rel_tol=0.01)
    return _verdict(
        ok,
        f"about {expected:.1f}x: the dense product does n_out * n_in * batch multiply-adds, the "
        "SDDMM nnz * batch, so the factor is 1 / density. To find the largest empty gradients, "
        "compute dZ @ X.T one block of rows at a time and keep a running top 10.",
        "count multiply-adds: the dense product computes every position, the SDDMM only the "
        "stored ones (each a dot product of length batch)",
    )
