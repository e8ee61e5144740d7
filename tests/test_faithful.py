"""The algorithm as the paper defines it: each test here fails for one plausible wrong version
of TD3, SAC or their dynamic sparse variants that still trains, still passes the gradient checks,
and would otherwise go unnoticed (a TD target from the online networks, targets that never
move, a network that is never rewired, targets averaged before rewiring, a wrong SAC actor loss,
evaluation on the training seed, a rewiring period that never fires)."""

import copy

import numpy as np
import pytest
from conftest import ACT, MAX_ACTION, make_agent, make_batch

from minidst.config import TrainConfig
from minidst.factory import build_agent
from minidst.layers import SparseLinear
from minidst.sparsity import linear_from_csr
from minidst.target import soft_update
from minidst.train import Trainer

ENGINES = ["reference", "compiled"]


def perturb(*networks, rng):
    """Move every parameter of ``networks`` away from its target copy."""
    for net in networks:
        for param in net.parameters():
            param += 0.3 * rng.standard_normal(param.shape)


def positions(layer):
    return linear_from_csr(layer.weight.indptr, layer.weight.indices, layer.in_features)


def sparse_layers(agent):
    return {
        f"{name} layer {i}": layer
        for name, (net, _) in agent.online_networks().items()
        for i, layer in enumerate(net.layers)
        if isinstance(layer, SparseLinear)
    }


def test_td3_target_comes_from_the_target_networks(rng):
    agent = make_agent("td3")
    perturb(agent.actor, *agent.critics, rng=rng)  # online != target from here on
    batch = make_batch(rng)
    draw = copy.deepcopy(agent.rng)
    y = agent.td_target(batch)
    noise = np.clip(draw.normal(0, 0.2, (ACT, 8)), -0.5, 0.5) * MAX_ACTION[:, None]
    next_action = np.clip(
        MAX_ACTION[:, None] * agent.actor_target.forward(batch["next_obs"]) + noise,
        -MAX_ACTION[:, None],
        MAX_ACTION[:, None],
    )
    x = np.concatenate([batch["next_obs"], next_action])
    q = np.minimum(*(target.forward(x) for target in agent.critic_targets))
    np.testing.assert_allclose(y, batch["reward"] + 0.99 * (1 - batch["terminated"]) * q)


def test_sac_target_comes_from_the_target_critics(rng):
    agent = make_agent("sac")
    perturb(*agent.critics, rng=rng)
    batch = make_batch(rng)
    probe = copy.deepcopy(agent)
    y = agent.td_target(batch)
    sample = probe.policy(batch["next_obs"])  # SAC's next action: the online actor's
    x = np.concatenate([batch["next_obs"], MAX_ACTION[:, None] * sample["a"]])
    q = np.minimum(*(target.forward(x) for target in probe.critic_targets))
    soft = q - 0.2 * sample["logp"]
    np.testing.assert_allclose(y, batch["reward"] + 0.99 * (1 - batch["terminated"]) * soft)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_every_target_network_follows_by_polyak_averaging(algo, engine, rng):
    """TD3 averages all three targets on actor iterations (every 2nd), SAC its two critic
    targets every iteration: theta' <- 0.995 theta' + 0.005 theta."""
    agent = make_agent(algo, engine=engine)
    updates = 2 if algo == "td3" else 1
    for _ in range(updates - 1):
        agent.update(make_batch(rng))
    before = {name: copy.deepcopy(net) for name, net in agent.target_networks().items()}
    agent.update(make_batch(rng))
    online = {name: net for name, (net, _) in agent.online_networks().items()}
    for name, target in agent.target_networks().items():
        source = online[name.removesuffix("_target")]
        for old, new, theta in zip(
            before[name].parameters(), target.parameters(), source.parameters()
        ):
            np.testing.assert_allclose(new, 0.995 * old + 0.005 * theta, err_msg=name)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_rewiring_moves_every_sparse_layer_of_every_network(algo, engine, rng):
    agent = make_agent(algo, sparse=True, evolve=True, engine=engine)  # rewires at iteration 2
    agent.update(make_batch(rng))
    before = {name: positions(layer) for name, layer in sparse_layers(agent).items()}
    agent.update(make_batch(rng))
    for name, layer in sparse_layers(agent).items():
        assert len(positions(layer)) == len(before[name]), name
        assert not np.array_equal(positions(layer), before[name]), f"{name} was not rewired"


@pytest.mark.parametrize("engine", ENGINES)
def test_targets_average_the_networks_after_their_rewiring(engine, rng):
    """On a rewiring iteration each network is rewired right after its own step, and the
    targets then average the rewired networks (not the ones before rewiring)."""
    agent = make_agent("td3", sparse=True, evolve=True, engine=engine)
    for _ in range(11):  # iteration 12 rewires, and is an actor iteration
        agent.update(make_batch(rng))
    old_targets = {name: copy.deepcopy(net) for name, net in agent.target_networks().items()}
    agent.update(make_batch(rng))
    online = {name: net for name, (net, _) in agent.online_networks().items()}
    for name, old in old_targets.items():
        soft_update(old, online[name.removesuffix("_target")], 0.005, "topk")
        for expected, got in zip(old.layers, agent.target_networks()[name].layers):
            if isinstance(got, SparseLinear):
                assert np.array_equal(positions(got), positions(expected)), name
            np.testing.assert_allclose(got.parameters()[0], expected.parameters()[0], err_msg=name)


def test_sac_actor_loss_is_alpha_logp_minus_the_smaller_q(rng):
    agent = make_agent("sac", alpha=0.7)
    batch = make_batch(rng, batch=10)
    eps = rng.standard_normal((ACT, 10))
    loss, logp = agent.actor_loss(batch, eps)
    sample = agent.policy(batch["obs"], eps)
    x = np.concatenate([batch["obs"], MAX_ACTION[:, None] * sample["a"]])
    q1, q2 = (critic.forward(x) for critic in agent.critics)
    assert (q2 < q1).any()  # so min(Q1, Q2) is not Q1 for this batch
    np.testing.assert_allclose(loss, np.mean(0.7 * sample["logp"] - np.minimum(q1, q2)))
    np.testing.assert_allclose(logp, sample["logp"])


def test_td3_actor_loss_is_minus_q1_of_the_policy_action(rng):
    agent = make_agent("td3")
    batch = make_batch(rng)
    loss = agent.actor_loss(batch)
    x = np.concatenate([batch["obs"], MAX_ACTION[:, None] * agent.actor.forward(batch["obs"])])
    np.testing.assert_allclose(loss, -np.mean(agent.critics[0].forward(x)))


@pytest.mark.parametrize(("every", "expected"), [(1, [1, 2, 3, 4]), (2, [2, 4]), (3, [2])])
def test_short_rewiring_periods_rewire(every, expected):
    """The paper's code rewires at iteration % 1000 == 2; as a remainder, 1 and 2 work too."""
    agent = make_agent("td3", sparse=True, evolve=True)
    agent.topology.rewire_every = every
    assert [i for i in range(1, 5) if agent.rewires_at(i)] == expected


def test_evaluation_runs_on_its_own_env_seeded_seed_plus_100(tmp_path, monkeypatch):
    import minidst.train

    seeds = []
    evaluate = minidst.train.evaluate

    def recording(agent, env, seed, episodes):
        seeds.append(seed)
        return evaluate(agent, env, seed, episodes)

    monkeypatch.setattr(minidst.train, "evaluate", recording)
    config = TrainConfig(
        algo="td3", env="Pendulum-v1", seed=7, hidden=(16, 16), steps=400, start_steps=200,
        eval_every=200, eval_episodes=1, buffer_size=500,
    )  # fmt: skip
    trainer = Trainer.start(config, tmp_path / "run", out=None)
    trainer.run()
    assert seeds == [107, 107, 107] and trainer.eval_env is not trainer.env


@pytest.mark.parametrize("init", ["sparse-fan-in", "dense-fan-in"])
def test_init_and_draw_options_reach_the_layers(init):
    """--init dense-fan-in and --draw bernoulli, the paper code's choices, are one option away."""
    config = TrainConfig(algo="ds-td3", env="HalfCheetah-v5", init=init, draw="bernoulli")
    agent = build_agent(config.validate(), 17, 6, np.ones(6), np.random.default_rng(0))
    first = agent.critics[0].layers[0]  # 23 -> 256 at density 0.33
    bound = np.max(np.abs(first.weight.data))
    dense_bound = 1 / np.sqrt(first.in_features)
    assert (bound <= dense_bound) == (init == "dense-fan-in")
    exact = build_agent(
        TrainConfig(algo="ds-td3", env="HalfCheetah-v5").validate(), 17, 6, np.ones(6),
        np.random.default_rng(0),
    )  # fmt: skip
    counts = [layer.nnz for layer in sparse_layers(agent).values()]
    exact_counts = [layer.nnz for layer in sparse_layers(exact).values()]
    assert counts != exact_counts  # a Bernoulli draw's count is random, the exact one is not
