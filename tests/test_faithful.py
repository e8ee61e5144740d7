"""The algorithm as the paper defines it: each test here fails for one plausible wrong version
of TD3, SAC or their dynamic sparse variants that still trains, still passes the gradient checks,
and would otherwise go unnoticed (a TD target from the online networks, targets that never
move, a network that is never rewired, targets averaged before rewiring, a wrong SAC actor loss,
evaluation on the training seed, a rewiring period that never fires), and the n-step returns
checked by hand."""

import copy

import numpy as np
import pytest
from conftest import ACT, MAX_ACTION, make_agent, make_batch

from minidst.config import TrainConfig
from minidst.factory import build_agent
from minidst.layers import SparseLinear
from minidst.replay import NStepReturns
from minidst.target import soft_update
from minidst.train import Trainer

ENGINES = ["reference", "compiled"]


def perturb(*networks, rng):
    """Move every parameter of ``networks`` away from its target copy."""
    for net in networks:
        for param in net.parameters():
            param += 0.3 * rng.standard_normal(param.shape)


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
    before = {name: layer.positions() for name, layer in sparse_layers(agent).items()}
    agent.update(make_batch(rng))
    for name, layer in sparse_layers(agent).items():
        assert len(layer.positions()) == len(before[name]), name
        assert not np.array_equal(layer.positions(), before[name]), f"{name} was not rewired"


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
                assert np.array_equal(got.positions(), expected.positions()), name
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


def test_n_step_returns_by_hand():
    """n = 3, gamma = 0.9: rewards are summed within an episode only; a time limit still
    bootstraps (from the last state, with gamma^k), a termination does not."""
    n_step = NStepReturns(3, 0.9)
    out = []
    for t, reward in enumerate([1.0, 2.0, 3.0, 4.0]):  # cut by the time limit after 4 steps
        out += n_step.add(f"s{t}", f"a{t}", reward, f"s{t + 1}", False, t == 3)
    assert [(o, next_o, round(total, 9), terminated, k) for o, _, total, next_o, terminated, k
            in out] == [
        ("s0", "s3", 1 + 0.9 * 2 + 0.81 * 3, False, 3),
        ("s1", "s4", 2 + 0.9 * 3 + 0.81 * 4, False, 3),
        ("s2", "s4", 3 + 0.9 * 4, False, 2),
        ("s3", "s4", 4.0, False, 1),
    ]  # fmt: skip
    out = []
    for t, reward in enumerate([1.0, 1.0]):  # the next episode terminates after 2 steps
        out += n_step.add(f"u{t}", f"b{t}", reward, f"u{t + 1}", t == 1, False)
    assert [(o, next_o, total, terminated, k) for o, _, total, next_o, terminated, k in out] == [
        ("u0", "u2", 1.9, True, 2),
        ("u1", "u2", 1.0, True, 1),
    ]
    assert NStepReturns(1, 0.9).add("s", "a", 5.0, "s'", False, False) == [
        ("s", "a", 5.0, "s'", False, 1)
    ]


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_an_n_step_target_discounts_its_bootstrap_by_gamma_to_the_n(algo, rng):
    batch = make_batch(rng)
    agent = make_agent(algo)
    one_step = copy.deepcopy(agent).td_target(batch)  # same generator state, same noise
    batch["horizon"][:] = 3
    three_step = agent.td_target(batch)
    bootstrap = (one_step - batch["reward"]) / 0.99  # (1 - terminated) * next value
    np.testing.assert_allclose(three_step, batch["reward"] + 0.99**3 * bootstrap)


def test_a_trainer_stores_n_step_transitions(tmp_path):
    config = TrainConfig(
        algo="td3", env="Pendulum-v1", hidden=(16, 16), steps=400, start_steps=399,
        eval_every=400, eval_episodes=1, buffer_size=500, n_step=3,
    )  # fmt: skip
    trainer = Trainer.start(config, tmp_path / "run", out=None)
    trainer.run()
    horizons = trainer.buffer.horizon[: len(trainer.buffer), 0]
    # Pendulum's 200-step episodes end by the time limit: the last two of each are cut short.
    assert len(trainer.buffer) == 400 and list(horizons[197:200]) == [3, 2, 1]
    assert np.all(horizons[:197] == 3) and not trainer.n_step.pending
