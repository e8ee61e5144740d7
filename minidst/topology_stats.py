"""What a sparse layer's topology looks like, and how it changes over training.

Every function here reads **positions**: the stored connections of a layer of shape
``(n_out, n_in)`` as sorted row-major linear indices ``row * n_in + col``
(:meth:`minidst.layers.SparseLinear.positions`). A run's history is a list of such arrays,
one **snapshot** per topology update (snapshot 0: the initial topology).

* :func:`degrees` - per output unit, how many inputs it reads (in-degree); per input, how many
  units read it (out-degree). For a first layer the out-degrees are the connections kept per
  observation feature;
* :func:`presence` - which of all positions ever used is present in which snapshot;
* :func:`churn` - the fraction of connections that are new at each snapshot;
* :func:`initial_survival` - the fraction of the initial connections present without a break;
* :func:`lifetimes` and :func:`survival_curve` - how long connections born at a topology update
  stay (a life table, censored at the last snapshot).

A connection pruned and regrown at the same position within one topology update is present in
both snapshots: snapshots cannot see it, so it counts as never having left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def degrees(positions: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """In- and out-degrees of a layer's connections.

    Args:
        positions: ``(nnz,)`` linear positions ``row * n_in + col``.
        shape: ``(n_out, n_in)`` of the weight.

    Returns ``(in_degree (n_out,), out_degree (n_in,))``: the stored connections in each row
    (the inputs a unit reads) and in each column (the units an input feeds). Both sum to ``nnz``.
    """
    n_out, n_in = shape
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= n_out * n_in):
        raise ValueError(f"positions out of range for a layer of shape {shape}")
    in_degree = np.bincount(positions // n_in, minlength=n_out)
    out_degree = np.bincount(positions % n_in, minlength=n_in)
    return in_degree, out_degree


def presence(snapshots: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Which positions are present in which snapshot.

    Args:
        snapshots: ``T`` arrays of sorted unique positions, ``(nnz_t,)`` each.

    Returns ``(union (n,), present (T, n) bool)``: every position present in at least one
    snapshot, sorted, and ``present[t, j]`` = position ``union[j]`` is in snapshot ``t``.
    """
    if len(snapshots) == 0:
        raise ValueError("need at least one snapshot")
    union = np.unique(np.concatenate([np.asarray(s, dtype=np.int64) for s in snapshots]))
    present = np.zeros((len(snapshots), len(union)), dtype=bool)
    for t, snapshot in enumerate(snapshots):
        present[t, np.searchsorted(union, snapshot)] = True
    return union, present


def churn(present: np.ndarray) -> np.ndarray:
    """``(T - 1,)``: at each snapshot ``t >= 1``, the fraction of its connections that were not
    in snapshot ``t - 1`` (the new ones, over the count at ``t``).

    Args:
        present: ``(T, n)`` bool, from :func:`presence`.
    """
    new = present[1:] & ~present[:-1]
    return new.sum(axis=1) / present[1:].sum(axis=1)


def initial_survival(present: np.ndarray) -> np.ndarray:
    """``(T,)``: the fraction of snapshot 0's connections present in every snapshot from 0 to
    ``t`` (a connection pruned once and regrown later at the same place does not count).

    Args:
        present: ``(T, n)`` bool, from :func:`presence`.
    """
    unbroken = np.logical_and.accumulate(present, axis=0)
    return unbroken.sum(axis=1) / present[0].sum()


def lifetimes(present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The connections born at a topology update, and how long each stayed.

    A birth is a position present at snapshot ``t >= 1`` and absent at ``t - 1``. Its lifetime
    is the number of consecutive snapshots it is present in, counting from ``t``: a connection
    pruned at the very next update lives 1. It is **censored** if still present at the last
    snapshot (its true lifetime is at least the one returned).

    Args:
        present: ``(T, n)`` bool, from :func:`presence`.

    Returns ``(born (m,), lifetime (m,), censored (m,) bool)``: the snapshot of each birth.
    """
    n_snapshots = present.shape[0]
    # run[t, j]: how many consecutive snapshots from t on hold position j.
    run = np.zeros(present.shape, dtype=np.int64)
    run[-1] = present[-1]
    for t in range(n_snapshots - 2, -1, -1):
        run[t] = np.where(present[t], run[t + 1] + 1, 0)
    births = present[1:] & ~present[:-1]
    born_at, column = np.nonzero(births)
    born_at = born_at + 1
    lifetime = run[born_at, column]
    censored = born_at + lifetime == n_snapshots
    return born_at, lifetime, censored


def survival_curve(
    lifetime: np.ndarray, censored: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate of the probability that a new connection survives ``a`` topology
    updates after the one that grew it.

    Args:
        lifetime: ``(m,)`` lifetimes from :func:`lifetimes` (1 = pruned at the next update).
        censored: ``(m,)`` bool, True where the connection was still present at the end.

    Returns ``(ages (A + 1,), survival (A + 1,), at_risk (A + 1,))`` for ``ages = 0, 1, ...,
    A``, ``A`` the largest lifetime. Age ``a`` is the ``a``-th update after the birth.
    ``survival[0] = 1`` and ``at_risk[0] = m``; at age ``a >= 1`` the connections at risk are
    those alive at age ``a - 1`` and still observed at age ``a`` (``lifetime >= a``, except the
    censored ones with ``lifetime == a``: the run ended before that update), the deaths are the
    uncensored ones with ``lifetime == a``, and ``survival[a] = survival[a - 1] * (1 - deaths /
    at_risk)`` (unchanged where nobody is at risk).
    """
    lifetime = np.asarray(lifetime, dtype=np.int64)
    censored = np.asarray(censored, dtype=bool)
    if lifetime.shape != censored.shape:
        raise ValueError("lifetime and censored must have the same shape")
    if lifetime.size and lifetime.min() < 1:
        raise ValueError("lifetimes count snapshots and start at 1")
    longest = int(lifetime.max()) if lifetime.size else 0
    ages = np.arange(longest + 1)
    # A connection censored with lifetime L was seen alive at age L - 1 and not observed at L.
    observed_until = np.where(censored, lifetime - 1, lifetime)
    at_risk = np.array([np.count_nonzero(observed_until >= a) for a in ages])
    deaths = np.bincount(lifetime[~censored], minlength=longest + 1)
    survival = np.ones(longest + 1)
    for a in range(1, longest + 1):
        survival[a] = survival[a - 1] * (1 - deaths[a] / at_risk[a] if at_risk[a] else 1.0)
    at_risk[0] = lifetime.size
    return ages, survival, at_risk
