"""Prune-and-regrow: exact counts, canonical CSR, optimizer moments that follow connections."""

import numpy as np
import pytest

from minidst import Adam, SparseLinear, evolve_layer
from minidst.topology import (
    PRUNE_RULES,
    drop_fraction,
    grow_by_gradient,
    grow_random,
    prune_by_magnitude,
    prune_per_sign,
)


def train_step(layer, optimizer, rng):
    X = rng.standard_normal((layer.in_features, 8)).astype(layer.dtype)
    layer.forward(X)
    layer.backward(rng.standard_normal((layer.out_features, 8)).astype(layer.dtype))
    optimizer.step()


@pytest.mark.parametrize("prune", ["per-sign", "magnitude"])
@pytest.mark.parametrize("grow", ["random", "gradient"])
@pytest.mark.parametrize("density", [0.05, 0.5, 0.9])
def test_many_rounds_keep_every_invariant(prune, grow, density, rng):
    layer = SparseLinear(30, 20, density, rng)
    optimizer = Adam([layer], weight_decay=2e-4)
    count = layer.nnz
    for _ in range(25):
        train_step(layer, optimizer, rng)
        old_positions, old_values = layer.positions(), layer.weight.data.copy()
        old_m, old_v = optimizer.m[0][0].copy(), optimizer.v[0][0].copy()
        keep = PRUNE_RULES[prune](old_values, 0.2)  # deterministic: what evolve_layer will drop

        stats = evolve_layer(layer, optimizer, 0.2, rng, prune=prune, grow=grow)

        W, m, v = layer.weight, optimizer.m[0][0], optimizer.v[0][0]
        new_positions = layer.positions()
        assert layer.nnz == count and stats["pruned"] == stats["grown"] == int((~keep).sum())
        assert W.has_canonical_format and W.indices.dtype == np.int32
        assert len(np.unique(new_positions)) == count
        assert m.shape == v.shape == layer.weight_grad.shape == (count,)
        # Survivors keep their value and both moments; newcomers start at exactly zero.
        survivor = np.isin(new_positions, old_positions[keep])
        old_index = np.searchsorted(old_positions, new_positions[survivor])
        assert np.array_equal(W.data[survivor], old_values[old_index])
        assert np.array_equal(m[survivor], old_m[old_index])
        assert np.array_equal(v[survivor], old_v[old_index])
        assert np.all(W.data[~survivor] == 0) and np.all(m[~survivor] == 0)
        assert np.all(v[~survivor] == 0)
        assert int((~survivor).sum()) == stats["grown"]
        back_where_pruned = np.isin(new_positions[~survivor], old_positions[~keep])
        assert int(back_where_pruned.sum()) == stats["regrown_same"]


def test_prune_per_sign_drops_the_fraction_of_each_sign_nearest_zero():
    values = np.array([0.5, -0.1, 0.2, -0.7, 0.05, -0.3, 0.9, 0.0, -0.02, 0.4])
    keep = prune_per_sign(values, 0.4)  # 6 non-negative -> drop 2; 4 negative -> drop 1
    assert set(np.flatnonzero(~keep)) == {7, 4, 8}  # 0.0 and 0.05; -0.02


def test_prune_by_magnitude_drops_smallest_absolute_values():
    values = np.array([0.5, -0.1, 0.2, -0.7, 0.05, -0.3])
    assert set(np.flatnonzero(~prune_by_magnitude(values, 0.5))) == {4, 1, 2}


def test_grow_random_only_uses_empty_positions_and_is_uniform(rng):
    occupied = np.array([0, 3, 4, 9])
    hits = np.zeros(12)
    for _ in range(4000):
        grown = grow_random(occupied, 12, 3, rng)
        assert len(np.unique(grown)) == 3 and not np.isin(grown, occupied).any()
        hits[grown] += 1
    assert np.all(hits[occupied] == 0)
    expected = 4000 * 3 / 8
    free = np.setdiff1d(np.arange(12), occupied)
    assert np.sum((hits[free] - expected) ** 2 / expected) < 24.3  # chi2(7) 99.9% quantile


@pytest.mark.parametrize("n_occupied", [0, 10, 60, 99, 100])
def test_grow_random_both_regimes_fill_exactly(n_occupied, rng):
    """Mostly-empty (rejection sampling) and mostly-full (listing the empty positions)."""
    occupied = np.sort(rng.choice(100, n_occupied, replace=False))
    n_empty = 100 - n_occupied
    grown = grow_random(occupied, 100, n_empty, rng)
    assert np.array_equal(np.sort(grown), np.setdiff1d(np.arange(100), occupied))
    if n_empty:
        with pytest.raises(ValueError, match=r"only \d+ positions are empty"):
            grow_random(occupied, 100, n_empty + 1, rng)


def test_grow_by_gradient_never_takes_an_occupied_position_on_ties():
    """All-zero gradients (a dead layer, or a batch that does not reach it): every empty
    position ties at 0, and the taken ones, lowest in position order, must still be skipped."""
    occupied = np.array([0, 1, 2, 5])
    grown = grow_by_gradient(occupied, np.zeros((3, 4)), 5)
    assert not np.isin(grown, occupied).any()
    assert grown.tolist() == [3, 4, 6, 7, 8]  # ties broken by position


def test_grow_by_gradient_takes_largest_empty_scores():
    gradient = np.array([[0.1, -5.0, 0.3], [2.0, 0.0, -0.4]])
    grown = grow_by_gradient(np.array([1]), gradient, 2)  # position 1 (-5.0) is taken
    assert list(grown) == [3, 5]  # 2.0 and -0.4


def test_drop_fraction_schedules():
    assert drop_fraction(0.05, 700, 1000) == 0.05
    assert drop_fraction(0.4, 0, 1000, "cosine") == pytest.approx(0.4)
    assert drop_fraction(0.4, 500, 1000, "cosine") == pytest.approx(0.2)
    assert drop_fraction(0.4, 1000, 1000, "cosine") == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown drop-fraction schedule"):
        drop_fraction(0.1, 0, 10, "linear")


def test_evolution_is_deterministic_for_a_seed():
    def run(seed):
        rng = np.random.default_rng(seed)
        layer = SparseLinear(25, 15, 0.3, rng)
        optimizer = Adam([layer])
        for _ in range(5):
            train_step(layer, optimizer, rng)
            evolve_layer(layer, optimizer, 0.1, rng)
        return layer.weight

    a, b, c = run(3), run(3), run(4)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data)
    assert not np.array_equal(a.indices, c.indices)


def test_unknown_rules_are_errors(rng):
    layer = SparseLinear(5, 5, 0.5, rng)
    with pytest.raises(ValueError, match="unknown prune rule"):
        evolve_layer(layer, None, 0.1, rng, prune="random")
    with pytest.raises(ValueError, match="unknown grow rule"):
        evolve_layer(layer, None, 0.1, rng, grow="momentum")


def test_input_gradient_is_exact_after_rewiring(rng):
    """The transposed index used by backward is rebuilt for the new topology."""
    layer = SparseLinear(30, 20, 0.3, rng, np.float64)
    optimizer = Adam([layer])
    for _ in range(3):
        train_step(layer, optimizer, rng)
        evolve_layer(layer, optimizer, 0.3, rng)
        layer.forward(rng.standard_normal((30, 6)))
        dZ = rng.standard_normal((20, 6))
        np.testing.assert_allclose(layer.backward(dZ), layer.weight.toarray().T @ dZ, rtol=1e-12)
