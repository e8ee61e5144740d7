"""SAC on fixed batches: the squashed Gaussian, the three losses' gradients, targets, topology."""

import copy

import numpy as np
import pytest
from conftest import ACT, MAX_ACTION, OBS, make_batch
from conftest import make_agent as make_any_agent
from scipy.stats import norm

from minidst.gradcheck import assert_gradient_close, central_difference
from minidst.layers import SparseLinear
from minidst.sac import squashed_gaussian, squashed_gaussian_backward


def make_agent(**options):
    return make_any_agent("sac", **options)


# --------------------------------------------------------------------------------------------
# The squashed Gaussian
# --------------------------------------------------------------------------------------------
def test_log_prob_matches_the_change_of_variables(rng):
    head = rng.standard_normal((2 * ACT, 50))
    eps = rng.standard_normal((ACT, 50))
    sample = squashed_gaussian(head, eps)
    u, std = sample["u"], sample["std"]
    # Independent float64 formula: Gaussian density of u, minus log |da/du|, where
    # da/du = 1 - tanh(u)^2 = 1 / cosh(u)^2 (this form has no cancellation for large |u|).
    expected = norm.logpdf(u, loc=head[:ACT], scale=std) + 2 * np.log(np.cosh(u))
    np.testing.assert_allclose(sample["logp"], expected.sum(axis=0, keepdims=True), rtol=1e-10)
    np.testing.assert_array_equal(sample["a"], np.tanh(u))


def test_log_prob_stays_finite_where_tanh_saturates():
    # |u| = 12: tanh(u) rounds to 1 in float32, so log(1 - tanh(u)^2) would be log(0).
    head = np.array([[12.0], [-12.0], [0.0], [0.0]], dtype=np.float32)
    sample = squashed_gaussian(head, np.zeros((2, 1), dtype=np.float32))
    assert np.all(np.abs(sample["a"]) == 1.0)
    assert sample["logp"].dtype == np.float32
    # eps = 0 and raw log-std 0 (log_std = -1.5): logp = sum(1.5 - log(2 pi)/2 + 2 log cosh 12).
    exact = 2 * (1.5 - 0.5 * np.log(2 * np.pi) + 2 * np.log(np.cosh(12.0)))
    np.testing.assert_allclose(sample["logp"][0, 0], exact, rtol=1e-5)


def test_squashed_gaussian_backward(rng):
    head = rng.standard_normal((2 * ACT, 6))
    eps = rng.standard_normal((ACT, 6))
    w_a, w_logp = rng.standard_normal((ACT, 6)), rng.standard_normal((1, 6))

    def loss():
        sample = squashed_gaussian(head, eps)
        return float(np.sum(w_a * sample["a"]) + np.sum(w_logp * sample["logp"]))

    analytic = squashed_gaussian_backward(squashed_gaussian(head, eps), w_a, w_logp)
    assert_gradient_close("d loss / d head", analytic, central_difference(loss, head))


# --------------------------------------------------------------------------------------------
# The losses
# --------------------------------------------------------------------------------------------
def test_td_target_is_the_soft_bellman_backup(rng):
    agent = make_agent(alpha=0.3)
    batch = make_batch(rng)
    probe = copy.deepcopy(agent)  # same generator state: the same next-action noise
    y = agent.td_target(batch)
    sample = probe.policy(batch["next_obs"])
    x = np.concatenate([batch["next_obs"], MAX_ACTION[:, None] * sample["a"]])
    q = np.minimum(*(critic.forward(x) for critic in probe.critic_targets))
    expected = batch["reward"] + 0.99 * (1 - batch["terminated"]) * (q - 0.3 * sample["logp"])
    np.testing.assert_allclose(y, expected, rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_actor_loss_gradients_through_sample_and_log_prob(sparse, rng):
    agent = make_agent(sparse=sparse, alpha=0.7)
    batch = make_batch(rng, batch=10)
    eps = rng.standard_normal((ACT, 10))
    critic_grads = [g.copy() for critic in agent.critics for g in critic.gradients()]
    agent.actor_loss(batch, eps)
    analytic = [g.copy() for g in agent.actor.gradients()]
    # The pass through the critics only routes gradient: their own are untouched.
    for before, after in zip(critic_grads, [g for c in agent.critics for g in c.gradients()]):
        np.testing.assert_array_equal(before, after)

    def loss():
        return agent.actor_loss(batch, eps)[0]

    for i, (param, grad) in enumerate(zip(agent.actor.parameters(), analytic)):
        assert_gradient_close(f"actor parameter {i}", grad, central_difference(loss, param))


def test_temperature_loss_gradient(rng):
    agent = make_agent(alpha=0.5, learn_alpha=True)
    logp = rng.standard_normal((1, 8))
    agent.temperature_loss(logp)
    analytic = agent.temperature.grad.copy()

    def loss():
        return agent.temperature_loss(logp)

    numeric = central_difference(loss, agent.temperature.log_alpha)
    assert_gradient_close("d loss / d log alpha", analytic, numeric)
    # Entropy (-logp) below the target -act_dim would raise alpha: the gradient is then < 0.
    agent.temperature_loss(np.full((1, 8), 5.0))
    assert agent.temperature.grad[0] < 0


def test_temperature_loss_direction_between_the_two_signs():
    """With entropy above the target alpha must shrink (gradient > 0), below it grow. At
    log pi = -1 (entropy 1) and target -2, the right gap log pi + target = -3 and a sign-flipped
    log pi - target = +1 disagree, so this catches a flipped target."""
    agent = make_agent(learn_alpha=True)
    assert agent.target_entropy == -ACT == -2
    agent.temperature_loss(np.full((1, 8), -1.0))
    assert agent.temperature.grad[0] == pytest.approx(3.0)


@pytest.mark.parametrize("engine", ["reference", "compiled"])
def test_learned_alpha_moves_toward_its_target_entropy(engine, rng):
    """One update, twice from the same start: a target far below the policy's entropy lowers
    alpha, one far above raises it, in both engines."""
    batch = make_batch(rng)
    alphas = {}
    for target in (-10.0, 10.0):
        agent = make_agent(learn_alpha=True, target_entropy=target, engine=engine)
        metrics = agent.update(batch)
        assert -10 < metrics["values/entropy"] < 10  # the policy's entropy is between them
        alphas[target] = agent.alpha
    assert alphas[-10.0] < 0.2 < alphas[10.0]


def test_learned_temperature_moves_and_fixed_stays(rng):
    learned, fixed = make_agent(learn_alpha=True), make_agent()
    for _ in range(20):
        batch = make_batch(rng)
        learned.update(batch)
        fixed.update(batch)
    assert learned.alpha != 0.2 and fixed.alpha == 0.2


# --------------------------------------------------------------------------------------------
# Acting, targets and topology
# --------------------------------------------------------------------------------------------
def test_actions_are_bounded_and_greedy_is_tanh_of_the_mean(rng):
    agent = make_agent(dtype=np.float32)
    obs = rng.standard_normal(OBS)
    greedy = agent.act(obs, explore=False)
    head = agent.actor.forward(obs.astype(np.float32).reshape(-1, 1))
    np.testing.assert_allclose(greedy, MAX_ACTION * np.tanh(head[:ACT, 0]), rtol=1e-6)
    samples = np.array([agent.act(obs, explore=True) for _ in range(500)])
    assert np.all(np.abs(samples) <= MAX_ACTION) and samples.std(axis=0).min() > 0


def test_hard_target_update_copies_every_n_iterations(rng):
    agent = make_agent(sparse=True, evolve=True, target_update_every=5)
    before = [layer.weight.copy() for layer in agent.critic_targets[0].layers]
    for _ in range(4):
        agent.update(make_batch(rng))
    for old, layer in zip(before, agent.critic_targets[0].layers):
        assert (abs(old - layer.weight)).sum() == 0  # untouched between copies
    agent.update(make_batch(rng))  # iteration 5: copy
    for target, online in zip(agent.critic_targets, agent.critics):
        for t_layer, o_layer in zip(target.layers, online.layers):
            assert (abs(t_layer.weight - o_layer.weight)).sum() == 0
            if isinstance(t_layer, SparseLinear):
                assert t_layer.weight.data is not o_layer.weight.data


def test_ds_sac_keeps_connection_counts_exact_everywhere(rng):
    agent = make_agent(sparse=True, evolve=True, dtype=np.float32)
    nets = [agent.actor, *agent.critics]
    counts = [[layer.nnz for layer in net.sparse_layers] for net in nets]
    rewired = 0
    for _ in range(25):
        metrics = agent.update(make_batch(rng, dtype=np.float32))
        rewired += any(k.startswith("topology/actor") for k in metrics)
        for net, count in zip(nets, counts):
            assert [layer.nnz for layer in net.sparse_layers] == count
        for target, count in zip(agent.critic_targets, counts[1:]):
            assert [layer.nnz for layer in target.sparse_layers] == count
    assert rewired == 3  # iterations 2, 12, 22


def test_state_dict_round_trip_includes_temperature(rng):
    agent = make_agent(sparse=True, evolve=True, learn_alpha=True)
    for _ in range(15):
        agent.update(make_batch(rng))
    clone = make_agent(seed=1, sparse=True, evolve=True, learn_alpha=True)
    clone.load_state_dict(copy.deepcopy(agent.state_dict()))
    assert clone.alpha == agent.alpha and clone.iteration == agent.iteration
    obs = rng.standard_normal(OBS)
    np.testing.assert_array_equal(clone.act(obs, False), agent.act(obs, False))
