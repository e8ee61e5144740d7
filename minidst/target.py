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
where ``d`` = the number of target entries the online layer lacks. Pitfall: with topk the patterns
stay different for hundreds of steps after every topology update, so this path runs on most
steps and must cost ``O(nnz)``, not a sort.
"""

from __future__ import annotations

import numpy as np

from minidst.kernels import FROM_BOTH, FROM_ONLINE, polyak_union
from minidst.layers import DenseLinear, SparseLinear

SPARSE_TARGET_RULES = ("topk", "copy")


def smallest_to_drop(magnitude: np.ndarray, unshared: np.ndarray, n_drop: int) -> np.ndarray:
    """Indices of the ``n_drop`` smallest entries of ``magnitude`` (ties: lowest index first).

    ``unshared`` marks at least ``n_drop`` entries (those in only one of the two patterns); it
    only makes the search fast and does not change the answer. Let ``bound`` be the
    ``n_drop``-th smallest unshared magnitude: at least ``n_drop`` entries are ``<= bound``, so
    every entry we drop is, and a stable sort of those few candidates finishes the job. Shared
    entries are mostly large, so the candidates are few: ``O(n)`` instead of a full sort.
    """
    if n_drop <= 0:
        return np.empty(0, dtype=np.int64)
    bound = np.partition(magnitude[unshared], n_drop - 1)[n_drop - 1]
    candidates = np.flatnonzero(magnitude <= bound)
    order = np.argsort(magnitude[candidates], kind="stable")
    return candidates[order[:n_drop]]


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
    capacity = t_w.nnz + o_w.nnz
    union = (
        np.empty(target.out_features + 1, dtype=np.int32),
        np.empty(capacity, dtype=np.int32),
        np.empty(capacity, dtype=target.dtype),
        np.empty(capacity, dtype=np.int8),
    )
    n = polyak_union(
        t_w.indptr, t_w.indices, t_w.data, o_w.indptr, o_w.indices, o_w.data, tau, union
    )
    indptr, indices, values, origin = union[0], union[1][:n], union[2][:n], union[3][:n]
    if rule == "copy":
        # The online pattern: shared entries and the online-only ones (which start at tau * o).
        keep = origin >= FROM_ONLINE
    else:
        keep = np.ones(n, dtype=bool)
        dropped = smallest_to_drop(np.abs(values), origin != FROM_BOTH, n - online.nnz)
        keep[dropped] = False
        if len(dropped) == n - t_w.nnz and np.all(origin[dropped] == FROM_ONLINE):
            # The common case while the target lags: every entry dropped is an online newcomer
            # (still tiny), so the target keeps exactly its own pattern: update values in place.
            t_w.data[:] = values[keep]
            return
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
