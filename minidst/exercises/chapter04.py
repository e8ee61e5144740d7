"""Checks for chapters/04_making_it_fast.py's exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minidst.exercises._shared import _one_word, _random_csr, _run_student, _verdict


def chapter4_exercise1(spmm_batch_major: Callable) -> bool:
    """Your ``spmm_batch_major(indptr, indices, data, X, out)``: ``out = X @ W.T`` for
    ``X`` ``(batch, n_in)`` and ``out`` ``(batch, n_out)``, float32 (the timing is yours)."""
    rng = np.random.default_rng(401)
    for shape, batch in [((8, 5), 3), ((64, 48), 16)]:
        W = _random_csr(rng, shape, 0.2, dtype=np.float32)
        X = rng.standard_normal((batch, shape[1])).astype(np.float32)
        out = np.full((batch, shape[0]), np.nan, dtype=np.float32)
        _, error = _run_student(spmm_batch_major, W.indptr, W.indices, W.data, X, out)
        if error:
            return _verdict(False, "", error)
        if not np.allclose(out, X @ W.toarray().T, rtol=1e-4, atol=1e-4):
            return _verdict(
                False,
                "",
                "`out` is wrong (or not filled in place); output feature r of every sample is "
                "the column out[:, r], a sum of data[k] * X[:, indices[k]]",
            )
    return _verdict(
        True,
        "same numbers as X @ W.T. In this layout every stored weight reads and writes strided "
        "columns, which is what your timing against kernels.spmm measures.",
        "",
    )


def chapter4_exercise3(flag: str) -> bool:
    """Which single fastmath flag, ``"reassoc"`` or ``"contract"``, brings the SDDMM's speed
    back."""
    answer = _one_word(flag)
    # The strict dot product is a chain of dependent additions; only permission to reorder the
    # sum lets the compiler keep several partial sums in vector lanes.
    ok = answer == "reassoc"
    return _verdict(
        ok,
        "reassoc. `s += dz[j] * x[j]` in strict order is a chain where each addition waits for "
        "the last; reordering the sum splits it over vector lanes. contract only fuses each "
        "multiply with its add: the chain stays.",
        "think about what the strict loop forbids: fusing a multiply with an add, or splitting "
        "one sum into several partial sums?"
        if answer in ("contract", "")
        else "answer with the name of one flag: 'reassoc' or 'contract'",
    )
