"""Topology statistics, checked against dense masks and plain loops on small hand-made cases."""

import numpy as np
import pytest

from minidst.layers import SparseLinear
from minidst.topology_stats import (
    churn,
    degrees,
    initial_survival,
    lifetimes,
    presence,
    survival_curve,
)


def mask_of(positions, shape):
    mask = np.zeros(shape[0] * shape[1], dtype=bool)
    mask[positions] = True
    return mask.reshape(shape)


def test_degrees_are_row_and_column_counts_of_the_mask():
    shape = (3, 4)
    #  row 0: cols 1, 3; row 1: none; row 2: cols 0, 1, 2, 3
    positions = np.array([1, 3, 8, 9, 10, 11])
    in_degree, out_degree = degrees(positions, shape)
    assert in_degree.tolist() == [2, 0, 4]
    assert out_degree.tolist() == [1, 2, 1, 2]
    mask = mask_of(positions, shape)
    assert np.array_equal(in_degree, mask.sum(axis=1))
    assert np.array_equal(out_degree, mask.sum(axis=0))


def test_degrees_of_a_sparse_layer_match_its_dense_weight():
    layer = SparseLinear(17, 32, 0.3, np.random.default_rng(0))
    in_degree, out_degree = degrees(layer.positions(), (32, 17))
    stored = layer.weight.toarray() != 0  # the initial values are never exactly zero
    assert np.array_equal(in_degree, stored.sum(axis=1))
    assert np.array_equal(out_degree, stored.sum(axis=0))
    assert in_degree.sum() == out_degree.sum() == layer.nnz


def test_degrees_rejects_positions_outside_the_layer():
    with pytest.raises(ValueError, match="out of range"):
        degrees(np.array([0, 12]), (3, 4))


# Four snapshots of a layer with 3 connections out of 6 positions.
SNAPSHOTS = [
    np.array([0, 1, 2]),
    np.array([0, 2, 4]),  # 1 pruned, 4 born
    np.array([0, 1, 4]),  # 2 pruned, 1 born again (a new birth)
    np.array([1, 4, 5]),  # 0 pruned, 5 born
]


def test_presence_marks_each_snapshot():
    union, present = presence(SNAPSHOTS)
    assert union.tolist() == [0, 1, 2, 4, 5]
    expected = [[np.isin(p, s) for p in union] for s in SNAPSHOTS]
    assert np.array_equal(present, np.array(expected))


def test_churn_counts_new_connections():
    _, present = presence(SNAPSHOTS)
    # Every update here brings one new connection in three.
    assert np.allclose(churn(present), [1 / 3, 1 / 3, 1 / 3])
    _, present = presence([np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]), np.array([4, 5, 6, 7])])
    assert churn(present).tolist() == [0.0, 1.0]


def test_initial_survival_needs_an_unbroken_presence():
    _, present = presence(SNAPSHOTS)
    # 0 stays until snapshot 2; 1 leaves at 1 and its comeback at 2 does not count; 2 leaves at 2.
    assert np.allclose(initial_survival(present), [1, 2 / 3, 1 / 3, 0])


def lifetimes_by_loops(snapshots):
    """Births and lifetimes followed one by one, with Python sets."""
    sets = [set(s.tolist()) for s in snapshots]
    rows = []
    for t in range(1, len(sets)):
        for position in sorted(sets[t] - sets[t - 1]):
            life = 0
            while t + life < len(sets) and position in sets[t + life]:
                life += 1
            rows.append((t, position, life, t + life == len(sets)))
    return rows


def test_lifetimes_match_following_each_connection():
    born, lifetime, censored = lifetimes(presence(SNAPSHOTS)[1])
    # 4 born at 1 lives on (censored, 3); 1 born at 2 lives on (censored, 2); 5 born at 3 (1).
    assert born.tolist() == [1, 2, 3]
    assert lifetime.tolist() == [3, 2, 1]
    assert censored.tolist() == [True, True, True]
    rng = np.random.default_rng(1)
    snapshots = [np.sort(rng.choice(40, size=10, replace=False)) for _ in range(12)]
    present = presence(snapshots)[1]
    born, lifetime, censored = lifetimes(present)
    expected = lifetimes_by_loops(snapshots)
    assert len(born) == len(expected)
    got = sorted(zip(born.tolist(), lifetime.tolist(), censored.tolist()))
    assert got == sorted((t, life, cut) for t, _, life, cut in expected)


def kaplan_meier_by_loops(lifetime, censored):
    """Survival at each age by the textbook product, one age at a time."""
    survival = [1.0]
    for age in range(1, max(lifetime) + 1):
        at_risk = sum(
            1 for life, cut in zip(lifetime, censored) if life > age or (life == age and not cut)
        )
        deaths = sum(1 for life, cut in zip(lifetime, censored) if life == age and not cut)
        survival.append(survival[-1] * (1 - deaths / at_risk if at_risk else 1.0))
    return survival


def test_survival_without_censoring_is_the_fraction_still_alive():
    lifetime = np.array([1, 1, 2, 3, 3, 4])
    ages, survival, at_risk = survival_curve(lifetime, np.zeros(6, dtype=bool))
    assert ages.tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(survival, [(lifetime > a).mean() for a in ages])
    assert at_risk.tolist() == [6, 6, 4, 3, 1]


def test_survival_with_censoring_matches_the_textbook_product():
    lifetime = np.array([1, 2, 2, 3, 4, 4, 5, 1, 3])
    censored = np.array([False, True, False, False, True, False, True, True, False])
    _, survival, _ = survival_curve(lifetime, censored)
    assert np.allclose(survival, kaplan_meier_by_loops(lifetime.tolist(), censored.tolist()))
    # A censored connection at lifetime 2 was alive at age 1 and unobserved at age 2.
    _, survival, at_risk = survival_curve(np.array([2, 2]), np.array([True, False]))
    assert at_risk.tolist() == [2, 2, 1]
    assert np.allclose(survival, [1.0, 1.0, 0.0])


def test_survival_from_random_snapshots_matches_loops():
    rng = np.random.default_rng(2)
    snapshots = [np.sort(rng.choice(30, size=12, replace=False)) for _ in range(15)]
    _, lifetime, censored = lifetimes(presence(snapshots)[1])
    _, survival, _ = survival_curve(lifetime, censored)
    assert np.allclose(survival, kaplan_meier_by_loops(lifetime.tolist(), censored.tolist()))
