"""Per-layer densities, random topologies and the paper's numbers."""

import numpy as np
import pytest

from minidst.sparsity import (
    erdos_renyi_density,
    erk_densities,
    random_topology,
    uniform_densities,
)


def test_erdos_renyi_matches_the_paper_on_halfcheetah():
    assert erdos_renyi_density(17, 256, 7) == pytest.approx(0.439, abs=1e-3)  # actor layer 1
    assert erdos_renyi_density(23, 256, 7) == pytest.approx(0.332, abs=1e-3)  # critic layer 1
    assert erdos_renyi_density(256, 256, 64) == pytest.approx(0.5)  # layer 2
    assert erdos_renyi_density(3, 4, 100) == 1.0  # capped


def test_halfcheetah_ds_td3_is_about_51_percent_sparse():
    """Actor + two critics, weights only: 214,784 dense -> ~106k sparse (paper)."""
    actor = [(256, 17, 7), (256, 256, 64)]
    critic = [(256, 23, 7), (256, 256, 64)]
    sparse, dense = 0, 0
    for n_out, n_in, lam in actor + critic + critic:
        sparse += erdos_renyi_density(n_in, n_out, lam) * n_in * n_out
        dense += n_in * n_out
    for n_in, n_out in [(256, 6), (256, 1), (256, 1)]:  # dense output layers
        sparse, dense = sparse + n_in * n_out, dense + n_in * n_out
    assert dense == 214_784
    assert 1 - sparse / dense == pytest.approx(0.51, abs=0.01)


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.97])
def test_erk_hits_the_global_sparsity(sparsity):
    shapes = [(256, 17), (256, 256), (6, 256)]
    densities = erk_densities(shapes, sparsity, dense=[False, False, True])
    sizes = np.array([a * b for a, b in shapes])
    assert np.dot(densities, sizes) / sizes.sum() == pytest.approx(1 - sparsity)
    assert densities[2] == 1.0 and all(0 < d <= 1 for d in densities)
    # Erdős–Rényi proportions: the narrow first layer is at least as dense as the square one.
    assert densities[0] >= densities[1]


def test_erk_unreachable_sparsity_is_an_error():
    with pytest.raises(ValueError, match="unreachable"):
        erk_densities([(10, 10), (1000, 1000)], 0.5, dense=[False, True])
    with pytest.raises(ValueError, match="unreachable"):  # the dense 6x256 layer is 2.2%
        erk_densities([(256, 17), (256, 256), (6, 256)], 0.99, dense=[False, False, True])


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_sparsity_outside_0_1_is_an_error(bad):
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        uniform_densities([(4, 4)], bad)


@pytest.mark.parametrize("lam", [-1.0, 0.0, float("inf")])
def test_bad_lambda_is_an_error(lam):
    with pytest.raises(ValueError, match="lambda must be a positive number"):
        erdos_renyi_density(10, 10, lam)


def test_exact_draw_has_exact_count_and_canonical_rows(rng):
    indptr, indices = random_topology((50, 70), 0.13, rng, "exact")
    assert indptr[-1] == round(0.13 * 3500) == len(indices)
    assert indptr.dtype == indices.dtype == np.int32
    for r in range(50):
        row = indices[indptr[r] : indptr[r + 1]]
        assert np.all(np.diff(row) > 0) and (len(row) == 0 or row.max() < 70)


def test_bernoulli_draw_count_is_binomial(rng):
    counts = [random_topology((40, 50), 0.3, rng, "bernoulli")[0][-1] for _ in range(200)]
    mean, sd = 0.3 * 2000, np.sqrt(2000 * 0.3 * 0.7)
    assert abs(np.mean(counts) - mean) < 4 * sd / np.sqrt(200)
    assert np.std(counts) == pytest.approx(sd, rel=0.25)


def test_exact_draw_is_uniform_over_positions(rng):
    hits = np.zeros(4 * 5)
    for _ in range(3000):
        indptr, indices = random_topology((4, 5), 0.25, rng)
        rows = np.repeat(np.arange(4), np.diff(indptr))
        hits[rows * 5 + indices] += 1
    # Each position is taken with probability 5/20; chi-square with 19 dof, 99.9% quantile ~43.8.
    expected = 3000 * 0.25
    assert np.sum((hits - expected) ** 2 / expected) < 43.8
