"""TD3 update on fixed batches: targets, smoothing, delays, Polyak, gradients, topology."""

import numpy as np
import pytest
from conftest import ACT, MAX_ACTION, OBS, make_batch
from conftest import make_agent as make_any_agent

from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.layers import SparseLinear
from minidst.replay import ReplayBuffer


def make_agent(**options):
    return make_any_agent("td3", **options)


def test_td_target_with_clipped_smoothing_noise(rng):
    """Huge policy noise is clipped to +-noise_clip * max_action, then to the action box."""
    agent = make_agent(policy_noise=1e6, noise_clip=0.5)
    batch = make_batch(rng)
    draw = np.random.default_rng(7)
    agent.rng = np.random.default_rng(7)
    y = agent.td_target(batch)

    noise = np.clip(draw.normal(0, 1e6, (ACT, 8)), -0.5, 0.5) * MAX_ACTION[:, None]
    assert np.all(np.abs(noise) == 0.5 * MAX_ACTION[:, None])  # every draw was clipped
    next_action = np.clip(
        MAX_ACTION[:, None] * agent.actor_target.forward(batch["next_obs"]) + noise,
        -MAX_ACTION[:, None],
        MAX_ACTION[:, None],
    )
    x = np.concatenate([batch["next_obs"], next_action])
    q = np.minimum(agent.critic_targets[0].forward(x), agent.critic_targets[1].forward(x))
    expected = batch["reward"] + 0.99 * (1 - batch["terminated"]) * q
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    terminal = batch["terminated"][0] == 1
    np.testing.assert_array_equal(y[:, terminal], batch["reward"][:, terminal])


def test_actor_and_targets_update_only_every_policy_delay(rng):
    agent = make_agent(sparse=True)
    params = lambda net: [p.copy() for p in net.parameters()]  # noqa: E731
    actor, actor_target, critic_target = (
        params(agent.actor),
        params(agent.actor_target),
        params(agent.critic_targets[0]),
    )
    critic = params(agent.critics[0])
    metrics = agent.update(make_batch(rng))
    assert "losses/actor" not in metrics
    assert all(np.array_equal(a, b) for a, b in zip(actor, agent.actor.parameters()))
    assert all(np.array_equal(a, b) for a, b in zip(actor_target, agent.actor_target.parameters()))
    assert all(
        np.array_equal(a, b) for a, b in zip(critic_target, agent.critic_targets[0].parameters())
    )
    assert not all(np.array_equal(a, b) for a, b in zip(critic, agent.critics[0].parameters()))
    metrics = agent.update(make_batch(rng))
    assert "losses/actor" in metrics
    assert not any(np.array_equal(a, b) for a, b in zip(actor, agent.actor.parameters()))
    assert not any(
        np.array_equal(a, b) for a, b in zip(actor_target, agent.actor_target.parameters())
    )


def test_polyak_touches_stored_entries_only(rng):
    agent = make_agent(sparse=True)
    before = [layer.weight.copy() for layer in agent.actor_target.sparse_layers]
    agent.update(make_batch(rng))
    agent.update(make_batch(rng))
    for old, target, online in zip(
        before, agent.actor_target.sparse_layers, agent.actor.sparse_layers
    ):
        assert np.array_equal(target.weight.indices, old.indices)  # no rewiring yet
        np.testing.assert_allclose(
            target.weight.data, 0.995 * old.data + 0.005 * online.weight.data, rtol=1e-12
        )


@pytest.mark.parametrize("sparse", [False, True])
def test_actor_loss_gradients(sparse, rng):
    agent = make_agent(sparse=sparse)
    batch = make_batch(rng)
    agent.actor_loss(batch)
    analytic = [g.copy() for g in agent.actor.gradients()]

    def loss():
        action = MAX_ACTION[:, None] * agent.actor.forward(batch["obs"])
        return -float(np.mean(agent.critics[0].forward(np.concatenate([batch["obs"], action]))))

    for i, (param, grad) in enumerate(zip(agent.actor.parameters(), analytic)):
        assert_gradient_close(f"actor parameter {i}", grad, central_difference(loss, param))


def test_ds_td3_keeps_connection_counts_exact_everywhere(rng):
    agent = make_agent(sparse=True, evolve=True, dtype=np.float32)
    nets = [agent.actor, *agent.critics]
    targets = [agent.actor_target, *agent.critic_targets]
    counts = [[layer.nnz for layer in net.sparse_layers] for net in nets]
    rewired = 0
    for _ in range(45):
        metrics = agent.update(make_batch(rng, dtype=np.float32))
        rewired += any(k.startswith("topology/actor") for k in metrics)
        for net, target, count in zip(nets, targets, counts):
            assert [layer.nnz for layer in net.sparse_layers] == count
            assert [layer.nnz for layer in target.sparse_layers] == count
            for layer in net.sparse_layers + target.sparse_layers:
                assert isinstance(layer, SparseLinear) and layer.weight.has_canonical_format
    assert rewired == 5  # iterations 2, 12, 22, 32, 42


def test_exploration_noise_and_action_bounds(rng):
    agent = make_agent(dtype=np.float32)
    obs = rng.standard_normal(OBS)
    greedy = agent.act(obs, explore=False)
    assert greedy.shape == (ACT,) and np.all(np.abs(greedy) <= MAX_ACTION)
    assert np.array_equal(greedy, agent.act(obs, explore=False))
    noisy = np.array([agent.act(obs, explore=True) for _ in range(2000)])
    assert np.all(np.abs(noisy) <= MAX_ACTION)
    inside = np.all(np.abs(noisy) < MAX_ACTION, axis=1)
    np.testing.assert_allclose((noisy[inside] - greedy).std(axis=0), 0.1 * MAX_ACTION, rtol=0.15)


def test_replay_buffer_ring_and_feature_major_batches(rng):
    buffer = ReplayBuffer(OBS, ACT, capacity=10)
    for i in range(15):
        buffer.add(np.full(OBS, i), np.full(ACT, -i), float(i), np.full(OBS, i + 1), i % 2 == 0)
    assert len(buffer) == 10 and buffer.position == 5
    batch = buffer.sample(64, rng)
    assert batch["obs"].shape == (OBS, 64) and batch["obs"].flags.c_contiguous
    assert batch["obs"].dtype == np.float32
    assert set(batch["reward"][0]) <= set(range(5, 15))  # the oldest five were overwritten
    np.testing.assert_array_equal(batch["next_obs"][0], batch["obs"][0] + 1)
    np.testing.assert_array_equal(batch["terminated"][0], batch["reward"][0] % 2 == 0)
