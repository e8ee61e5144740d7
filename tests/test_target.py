"""Target networks: Polyak averaging on stored entries, kept at the online layer's count."""

import copy

import numpy as np
import pytest

from minidst import MLP, Adam, DenseLinear, SparseLinear, evolve_layer, soft_update


def dense_view(layer):
    return layer.weight.toarray() if isinstance(layer, SparseLinear) else layer.weight


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: DenseLinear(6, 4, rng, np.float64),
        lambda rng: SparseLinear(6, 4, 0.5, rng, np.float64),
    ],
)
def test_polyak_with_equal_topologies_is_elementwise(make, rng):
    online = make(rng)
    target = copy.deepcopy(online)
    online.parameters()[0][...] += rng.standard_normal(online.parameters()[0].shape)
    expected = 0.3 * dense_view(online) + 0.7 * dense_view(target)
    expected_bias = 0.3 * online.bias + 0.7 * target.bias
    soft_update(target, online, 0.3)
    np.testing.assert_allclose(dense_view(target), expected, rtol=1e-12)
    np.testing.assert_allclose(target.bias, expected_bias, rtol=1e-12)


def rewired_pair(rng, rounds=3):
    online = SparseLinear(20, 12, 0.3, rng, np.float64)
    target = copy.deepcopy(online)
    optimizer = Adam([online])
    for _ in range(rounds):
        online.forward(rng.standard_normal((20, 4)))
        online.backward(rng.standard_normal((12, 4)))
        optimizer.step()
        evolve_layer(online, optimizer, 0.3, rng)
    assert not np.array_equal(online.positions(), target.positions())
    return online, target


def test_topk_keeps_the_k_largest_of_the_averaged_union(rng):
    online, target = rewired_pair(rng)
    tau = 0.2
    averaged = tau * online.weight.toarray() + (1 - tau) * target.weight.toarray()
    union = np.union1d(online.positions(), target.positions())
    soft_update(target, online, tau, "topk")
    assert target.nnz == online.nnz and target.weight.has_canonical_format
    kept = target.positions()
    assert np.isin(kept, union).all()
    flat = averaged.ravel()
    dropped = np.setdiff1d(union, kept)
    # Every kept magnitude is >= every dropped one, and kept values are the averages.
    assert np.abs(flat[kept]).min() >= np.abs(flat[dropped]).max()
    np.testing.assert_allclose(target.weight.data, flat[kept], rtol=1e-12)


def test_topk_keeps_a_lagging_target_pattern_in_place(rng):
    # Right after a rewiring the online newcomers are 0, so top-k drops exactly them: the
    # target keeps its own pattern (and its arrays), and its values are the plain averages.
    online = SparseLinear(20, 12, 0.3, rng, np.float64)
    target = copy.deepcopy(online)
    optimizer = Adam([online])
    evolve_layer(online, optimizer, 0.3, rng)
    old_positions, old_indices = target.positions(), target.weight.indices
    expected = 0.9 * target.weight.toarray() + 0.1 * online.weight.toarray()
    soft_update(target, online, 0.1, "topk")
    assert target.weight.indices is old_indices
    np.testing.assert_array_equal(target.positions(), old_positions)
    np.testing.assert_allclose(target.weight.data, expected.ravel()[old_positions], rtol=1e-12)


def test_copy_rule_takes_the_online_topology(rng):
    online, target = rewired_pair(rng)
    tau = 0.2
    averaged = tau * online.weight.toarray() + (1 - tau) * target.weight.toarray()
    soft_update(target, online, tau, "copy")
    assert np.array_equal(target.positions(), online.positions())
    np.testing.assert_allclose(target.weight.data, averaged.ravel()[online.positions()], rtol=1e-12)


def test_target_of_a_whole_network_converges_to_a_fixed_online(rng):
    online = MLP.build([5, 16, 16, 2], [0.4, 0.4, None], rng, dtype=np.float64)
    target = copy.deepcopy(online)
    for layer in online.layers:
        layer.parameters()[0][...] = rng.standard_normal(layer.parameters()[0].shape)
    for _ in range(400):
        soft_update(target, online, 0.05)
    for t_layer, o_layer in zip(target.layers, online.layers):
        np.testing.assert_allclose(dense_view(t_layer), dense_view(o_layer), atol=1e-6)


def test_unknown_target_rule_is_an_error(rng):
    layer = SparseLinear(4, 4, 0.5, rng)
    with pytest.raises(ValueError, match="unknown target sparsity rule"):
        soft_update(copy.deepcopy(layer), layer, 0.1, "bottomk")
