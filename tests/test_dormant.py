"""Dormant units (ReDo's tau-dormant test) on networks built to have known dormant units."""

import numpy as np
import pytest

from minidst.dormant import TAU, agent_dormant_fractions, dormant_fraction, unit_scores
from minidst.layers import DenseLinear, SparseLinear
from minidst.nn import MLP
from minidst.td3 import TD3, TD3Config


def two_layer_net(rng, first):
    """4 inputs -> 5 hidden ReLU units (``first``) -> 1 output."""
    return MLP([first, DenseLinear(5, 1, rng, np.float64)], ["relu", "identity"])


def test_units_that_never_fire_or_barely_fire_are_dormant():
    rng = np.random.default_rng(0)
    layer = DenseLinear(4, 5, rng, np.float64)
    layer.weight[:] = rng.standard_normal((5, 4))
    layer.bias[:] = 0.0
    layer.weight[1] = 0.0  # unit 1: no input, bias 0 -> always 0
    layer.weight[2], layer.bias[2] = 0.0, -1.0  # unit 2: relu(-1) = 0 always
    layer.weight[3] *= 1e-4  # unit 3: fires, but 1e-4 of the others' scale
    net = two_layer_net(rng, layer)
    X = rng.standard_normal((4, 256))
    scores = unit_scores(net, X)[0]
    activity = np.abs(np.maximum(layer.weight @ X + layer.bias[:, None], 0)).mean(axis=1)
    np.testing.assert_allclose(scores, activity / activity.mean())  # by hand
    assert scores[1] == scores[2] == 0 and 0 < scores[3] <= TAU
    assert dormant_fraction(net, X) == pytest.approx(3 / 5)
    assert dormant_fraction(net, X, tau=0.0) == pytest.approx(2 / 5)  # exactly silent only


def test_scores_are_relative_to_the_layer():
    """Scaling a whole layer up leaves every score, so every verdict, unchanged."""
    rng = np.random.default_rng(1)
    layer = DenseLinear(4, 5, rng, np.float64)
    X = rng.standard_normal((4, 64))
    before = unit_scores(two_layer_net(rng, layer), X)[0]
    layer.weight *= 1000.0
    layer.bias *= 1000.0
    np.testing.assert_allclose(unit_scores(two_layer_net(rng, layer), X)[0], before)


def test_a_sparse_unit_with_no_connections_is_dormant_and_the_pass_changes_nothing():
    rng = np.random.default_rng(2)
    layer = SparseLinear(4, 5, 0.6, rng, np.float64)
    W = layer.weight
    keep = np.repeat(np.arange(5), np.diff(W.indptr)) != 0  # unit 0 loses every connection
    indptr = np.concatenate([[0], np.cumsum(np.bincount(np.repeat(np.arange(5),
                            np.diff(W.indptr))[keep], minlength=5))]).astype(np.int32)  # fmt: skip
    layer.set_topology(indptr, W.indices[keep].copy(), W.data[keep].copy())
    layer.bias[0] = -0.5
    net = two_layer_net(rng, layer)
    X = rng.standard_normal((4, 128))
    net.forward(X)  # a training step's cache ...
    cached = [z.copy() for z, _ in net._cache]
    assert unit_scores(net, X)[0][0] == 0.0
    assert all(np.array_equal(z, c) for (z, _), c in zip(net._cache, cached))  # ... untouched


def test_agent_fractions_feed_each_network_its_own_input():
    rng = np.random.default_rng(3)
    agent = TD3(3, 2, np.ones(2), rng, TD3Config(hidden=(16, 16)))
    batch = {"obs": rng.standard_normal((3, 50)).astype(np.float32),
             "action": rng.uniform(-1, 1, (2, 50)).astype(np.float32)}  # fmt: skip
    fractions = agent_dormant_fractions(agent, batch)
    assert set(fractions) == {f"topology/dormant_{n}" for n in ("actor", "critic1", "critic2")}
    assert all(0.0 <= value <= 1.0 for value in fractions.values())
    critic_input = np.concatenate([batch["obs"], batch["action"]])
    assert fractions["topology/dormant_critic1"] == dormant_fraction(agent.critics[0], critic_input)
