"""Topology evolution: prune the weakest connections, regrow as many elsewhere.

One update of a :class:`~minidst.layers.SparseLinear` (:func:`evolve_layer`) is four readable steps:

1. **prune**: choose which stored connections to drop, by magnitude (:func:`prune_per_sign` - the
   DS-TD3 code's rule - or :func:`prune_by_magnitude`);
2. **regrow**: choose as many empty positions (:func:`grow_random` - SET - or
   :func:`grow_by_gradient` - RigL); a just-pruned position is empty, so it may come back;
3. **rebuild**: merge survivors and newcomers into a new canonical CSR (:func:`rebuild_csr`), new
   weights at exactly zero, so the count of connections stays exactly the same;
4. **remap** the optimizer: survivors keep their Adam moments, newcomers start at zero.

Positions are handled as row-major "linear" indices ``r * n_in + c``, which sort in CSR order.
"""

from __future__ import annotations

import math

import numpy as np

from minidst.layers import SparseLinear
from minidst.sparsity import csr_from_linear

#: Drop-fraction schedules (see :func:`drop_fraction`).
SCHEDULES = ("constant", "cosine")
#: Regrowth rules a run can choose (see :func:`evolve_layer`; ``"none"`` is the freeze's own).
GROW_RULES = ("random", "gradient")


# --------------------------------------------------------------------------------------------
# Drop-fraction schedules
# --------------------------------------------------------------------------------------------
def drop_fraction(
    zeta: float, step: int, end_step: int | None, schedule: str = "constant"
) -> float:
    """The fraction of connections to drop at training ``step``.

    ``"constant"``: always ``zeta`` (the DS-TD3 paper). ``"cosine"``: ``zeta/2 * (1 + cos(pi *
    step / end_step))``, annealed from ``zeta`` to 0 at ``end_step`` (RigL).
    """
    if not (0.0 <= zeta <= 1.0):
        raise ValueError(f"drop fraction must be in [0, 1], got {zeta}")
    if schedule == "constant":
        return zeta
    if schedule == "cosine":
        if end_step is None:
            raise ValueError("the cosine drop-fraction schedule needs an end step")
        progress = min(max(step / end_step, 0.0), 1.0)
        return 0.5 * zeta * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown drop-fraction schedule {schedule!r}; use 'constant' or 'cosine'")


# --------------------------------------------------------------------------------------------
# 1. Prune: return a boolean "keep" mask aligned with weight.data
# --------------------------------------------------------------------------------------------
def prune_per_sign(values: np.ndarray, fraction: float) -> np.ndarray:
    """Drop the ``fraction`` of positive and the ``fraction`` of negative weights nearest zero.

    Counts are ``floor(fraction * n_positive)`` and ``floor(fraction * n_negative)``. Exact zeros
    (e.g. a regrown weight that never moved) count as positive and are the first to go. Ties are
    broken by position, so the result is deterministic.
    """
    keep = np.ones(len(values), dtype=bool)
    for members, distance in (
        (np.flatnonzero(values >= 0), values),
        (np.flatnonzero(values < 0), -values),
    ):
        n_drop = int(fraction * len(members))
        if n_drop:
            order = np.argsort(distance[members], kind="stable")
            keep[members[order[:n_drop]]] = False
    return keep


def prune_by_magnitude(values: np.ndarray, fraction: float) -> np.ndarray:
    """Drop the ``floor(fraction * nnz)`` weights of smallest absolute value (ties by position)."""
    keep = np.ones(len(values), dtype=bool)
    n_drop = int(fraction * len(values))
    if n_drop:
        keep[np.argsort(np.abs(values), kind="stable")[:n_drop]] = False
    return keep


PRUNE_RULES = {"per-sign": prune_per_sign, "magnitude": prune_by_magnitude}


# --------------------------------------------------------------------------------------------
# 2. Regrow: return the linear positions of new connections
# --------------------------------------------------------------------------------------------
def grow_random(
    occupied: np.ndarray, n_total: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """``count`` positions drawn uniformly without replacement from the empty ones.

    ``occupied``: sorted linear positions that are taken. When most positions are empty we draw
    candidates and reject taken or repeated ones (memory ``O(count)``, no dense mask); when few
    are empty, rejection would spin, so we list the empty positions and sample from them.
    """
    n_empty = n_total - len(occupied)
    if count > n_empty:
        raise ValueError(f"cannot grow {count} connections: only {n_empty} positions are empty")
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if 2 * n_empty < n_total:
        empty = np.setdiff1d(np.arange(n_total), occupied, assume_unique=True)
        return rng.choice(empty, size=count, replace=False)
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < count:
        # At least half the positions are empty, so ~2x the shortfall is plenty per round.
        candidates = rng.integers(0, n_total, size=2 * (count - len(chosen)) + 16)
        is_free = ~np.isin(candidates, occupied, assume_unique=False)
        candidates = np.concatenate([chosen, candidates[is_free]])
        # Keep first occurrences, in draw order, so the result does not depend on the sort.
        _, first = np.unique(candidates, return_index=True)
        chosen = candidates[np.sort(first)]
    return chosen[:count]


def grow_by_gradient(occupied: np.ndarray, dense_gradient: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` empty positions where ``|dense_gradient|`` is largest (RigL).

    ``dense_gradient``: ``(n_out, n_in)``, the full weight gradient of the last batch. Ties are
    broken by position.
    """
    score = np.abs(dense_gradient).ravel().astype(np.float64)
    score[occupied] = -np.inf
    return np.sort(np.argsort(-score, kind="stable")[:count])


# --------------------------------------------------------------------------------------------
# 3. Rebuild
# --------------------------------------------------------------------------------------------
def rebuild_csr(
    layer: SparseLinear, positions: np.ndarray, keep: np.ndarray, grown: np.ndarray
) -> np.ndarray:
    """Install survivors (``keep``) plus new connections at ``grown`` (value 0) in ``layer``.

    ``positions``: the linear positions of ``layer``'s current stored entries.

    Returns ``source`` ``(new_nnz,)``: for each new stored entry, its index in the old
    ``weight.data``, or -1 if it was just grown.
    """
    linear = np.concatenate([positions[keep], grown])
    source = np.concatenate([np.flatnonzero(keep), np.full(len(grown), -1)])
    order = np.argsort(linear, kind="stable")
    linear, source = linear[order], source[order]
    if np.any(np.diff(linear) == 0):
        raise ValueError("a grown position is already occupied")
    data = np.where(source >= 0, layer.weight.data[source], 0).astype(layer.dtype)
    indptr, indices = csr_from_linear(linear, layer.weight.shape)
    layer.set_topology(indptr, indices, data)
    return source


# --------------------------------------------------------------------------------------------
# All four steps
# --------------------------------------------------------------------------------------------
def evolve_layer(
    layer: SparseLinear,
    optimizer,
    fraction: float,
    rng: np.random.Generator,
    prune: str = "per-sign",
    grow: str = "random",
) -> dict:
    """Prune ``fraction`` of ``layer``'s connections and regrow as many; remap ``optimizer``.

    Args:
        prune: ``"per-sign"`` (the paper's code) or ``"magnitude"``.
        grow: ``"random"`` (SET, the paper), ``"gradient"`` (RigL, uses the last batch's dense
            gradient), or ``"none"``: prune only (the end-of-training freeze of the paper's code,
            the one update that changes the count).
        optimizer: an :class:`~minidst.optim.Adam` that optimises ``layer`` (or None).

    Returns ``{"pruned": n, "grown": n, "regrown_same": n}``; the last counts new connections that
    landed on a just-pruned position.
    """
    if prune not in PRUNE_RULES:
        raise ValueError(f"unknown prune rule {prune!r}; use one of {', '.join(PRUNE_RULES)}")
    W = layer.weight
    n_total = layer.out_features * layer.in_features
    keep = PRUNE_RULES[prune](W.data, fraction)
    n_pruned = int(len(keep) - keep.sum())
    positions = layer.positions()
    survivors = positions[keep]  # still sorted
    if grow == "random":
        grown = grow_random(survivors, n_total, n_pruned, rng)
    elif grow == "gradient":
        grown = grow_by_gradient(survivors, layer.dense_weight_gradient(), n_pruned)
    elif grow == "none":
        grown = np.empty(0, dtype=np.int64)
    else:
        raise ValueError(f"unknown grow rule {grow!r}; use 'random', 'gradient' or 'none'")
    regrown_same = int(np.isin(grown, positions[~keep]).sum())
    source = rebuild_csr(layer, positions, keep, grown)
    if optimizer is not None:
        optimizer.remap(layer, source)
    return {"pruned": n_pruned, "grown": len(grown), "regrown_same": regrown_same}
