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

When both patterns are equal either rule is a plain element-wise average on ``weight.data``.
Otherwise the average runs on the union, built by one merge per row
(:func:`minidst.kernels.polyak_union`), and ``"topk"`` drops the ``d`` smallest union entries,
where ``d`` = the number of target entries the online layer lacks
(:func:`minidst.kernels.polyak_topk`). Pitfall: with topk the patterns stay different for
hundreds of steps after every topology update, so this path runs on most steps and must cost
``O(nnz)``, not a sort.
"""

from __future__ import annotations

import numpy as np

from minidst.kernels import FROM_ONLINE, compact_union, polyak_topk, polyak_union
from minidst.layers import DenseLinear, SparseLinear

SPARSE_TARGET_RULES = ("topk", "copy")


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
    soft_update_sparse_weight(target, online, tau, rule)


def soft_update_sparse_weight(
    target: SparseLinear, online: SparseLinear, tau: float, rule: str
) -> None:
    """The weight half of :func:`soft_update` for a sparse layer (its bias is not touched)."""
    t_w, o_w = target.weight, online.weight
    if np.array_equal(t_w.indices, o_w.indices) and np.array_equal(t_w.indptr, o_w.indptr):
        t_w.data *= 1 - tau
        t_w.data += tau * o_w.data
        return
    capacity = t_w.nnz + o_w.nnz
    out = (
        np.empty(target.out_features + 1, dtype=np.int32),
        np.empty(capacity, dtype=np.int32),
        np.empty(capacity, dtype=target.dtype),
        np.empty(capacity, dtype=np.int8),
        np.empty(capacity, dtype=np.bool_),
    )
    inputs = (t_w.indptr, t_w.indices, t_w.data, o_w.indptr, o_w.indices, o_w.data, tau)
    if rule == "copy":
        n = polyak_union(*inputs, out[:4])
        # The online pattern: shared entries and the online-only ones (which start at tau * o).
        keep = out[3][:n] >= FROM_ONLINE
    else:
        n, same_pattern = polyak_topk(*inputs, online.nnz, out)
        keep = out[4][:n]
        if same_pattern:
            # Every entry dropped was an online newcomer (still tiny): the target keeps exactly
            # its own pattern, so only its values change, in place (about a third of the steps
            # in a DS-TD3 run on HalfCheetah).
            t_w.data[:] = out[2][:n][keep]
            return
    if np.count_nonzero(keep) == t_w.nnz:
        # The count is unchanged (at every update but the one after the end-of-training
        # freeze): the new pattern is written over the target's own arrays, in place.
        compact_union(n, keep, out[0], out[1], out[2], t_w.indptr, t_w.indices, t_w.data)
        target.connections_moved()
        return
    indptr, indices, values = out[0], out[1][:n], out[2][:n]
    # Row r's survivors are those among union entries indptr[r]:indptr[r+1] with keep set.
    kept_before = np.concatenate([[0], np.cumsum(keep)]).astype(np.int32)
    target.set_topology(kept_before[indptr], indices[keep], values[keep])


def hard_update(target, online) -> None:
    """``theta' <- theta``: the target becomes an exact copy, topology included (a layer, or an
    MLP of layers). Arrays are copied, so later in-place updates of one never touch the other."""
    if hasattr(target, "layers"):
        for t_layer, o_layer in zip(target.layers, online.layers):
            hard_update(t_layer, o_layer)
        return
    target.load_state_dict({name: array.copy() for name, array in online.state_dict().items()})
