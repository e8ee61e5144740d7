"""Target networks: Polyak averaging, kept sparse.

A target layer follows its online layer slowly: ``theta' <- tau * theta + (1 - tau) * theta'``.
For dense layers that is all. For sparse layers the online and target topologies can differ
(the online one is rewired every topology update), so the average lives on the **union** of the
two patterns, which has more than ``k`` entries. Two ways to bring it back to ``k = online.nnz``:

* ``"topk"`` (the DS-TD3 paper, "maintain sparsity"): keep the ``k`` entries of largest magnitude.
  The target's topology then follows the online one with a lag: a freshly grown online connection
  (weight 0) enters the target only once its averaged value outgrows the weakest target entry.
* ``"copy"`` (RLx2): the target takes the online topology; an entry the target did not have
  starts from ``tau * theta``.

When both patterns are equal (the common case between topology updates) either rule is a plain
element-wise average on ``weight.data``.
"""

from __future__ import annotations

import numpy as np

from minidst.layers import DenseLinear, SparseLinear
from minidst.sparsity import csr_from_linear, linear_from_csr

SPARSE_TARGET_RULES = ("topk", "copy")


def largest_k(magnitude: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` largest entries of ``magnitude``, in ``O(n)`` (a partition, not a sort).

    Ties at the threshold are broken deterministically (same input, same choice).
    """
    keep = np.ones(len(magnitude), dtype=bool)
    n_drop = len(magnitude) - k
    if n_drop > 0:
        keep[np.argpartition(magnitude, n_drop - 1)[:n_drop]] = False
    return keep


def merge_sorted(
    positions_a: np.ndarray, values_a: np.ndarray, positions_b: np.ndarray, values_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Union of two sorted, unique position lists; values at shared positions are added.

    A stable sort of two concatenated sorted runs is a single merge (NumPy's timsort finds the
    runs), so this costs ``O(n)``.
    """
    positions = np.concatenate([positions_a, positions_b])
    values = np.concatenate([values_a, values_b])
    order = np.argsort(positions, kind="stable")
    positions, values = positions[order], values[order]
    first = np.ones(len(positions), dtype=bool)
    first[1:] = positions[1:] != positions[:-1]
    starts = np.flatnonzero(first)
    return positions[starts], np.add.reduceat(values, starts) if len(values) else values


def soft_update(target, online, tau: float, rule: str = "topk") -> None:
    """Polyak-average ``online`` into ``target`` in place (a layer, or an MLP of layers).

    ``rule`` (``"topk"`` or ``"copy"``) says how a sparse target keeps ``online.nnz`` entries.
    """
    if rule not in SPARSE_TARGET_RULES:
        raise ValueError(f"unknown target sparsity rule {rule!r}; use 'topk' or 'copy'")
    if hasattr(target, "layers"):
        for t_layer, o_layer in zip(target.layers, online.layers):
            soft_update(t_layer, o_layer, tau, rule)
        return
    target.bias *= 1 - tau
    target.bias += tau * online.bias
    if isinstance(target, DenseLinear):
        target.weight *= 1 - tau
        target.weight += tau * online.weight
        return
    _soft_update_sparse(target, online, tau, rule)


def _soft_update_sparse(target: SparseLinear, online: SparseLinear, tau: float, rule: str) -> None:
    t_w, o_w = target.weight, online.weight
    if np.array_equal(t_w.indices, o_w.indices) and np.array_equal(t_w.indptr, o_w.indptr):
        t_w.data *= 1 - tau
        t_w.data += tau * o_w.data
        return
    t_pos = linear_from_csr(t_w.indptr, t_w.indices, target.in_features)
    o_pos = linear_from_csr(o_w.indptr, o_w.indices, online.in_features)
    if rule == "copy":
        positions = o_pos
        values = tau * o_w.data
        # Where the target already has the position, add its share; elsewhere it starts at 0.
        where = np.searchsorted(t_pos, o_pos).clip(max=len(t_pos) - 1)
        shared = t_pos[where] == o_pos if len(t_pos) else np.zeros(len(o_pos), dtype=bool)
        values[shared] += (1 - tau) * t_w.data[where[shared]]
    else:
        positions, values = merge_sorted(t_pos, (1 - tau) * t_w.data, o_pos, tau * o_w.data)
        keep = largest_k(np.abs(values), online.nnz)
        positions, values = positions[keep], values[keep]
    indptr, indices = csr_from_linear(positions, target.out_features, target.in_features)
    target.set_topology(indptr, indices, values.astype(target.dtype))
