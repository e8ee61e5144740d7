"""The compiled training step against the readable reference it mirrors.

Every network pass, optimizer step and agent update is compared with ``MLP``, ``Adam`` and
``TD3.update``: to ~1e-12 in float64 and to float32 rounding in float32. The few sums whose order
differs (bias gradients, BLAS builds) are the only source of difference.
"""

import copy

import numba
import numpy as np
import pytest
from conftest import make_agent, make_batch

from minidst import MLP, Adam, evolve_layer, kernels, mse_loss, soft_update
from minidst.compiled import CompiledMLP, soft_update_compiled

TOLERANCE = {np.float64: {"rtol": 1e-12, "atol": 1e-12}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}
NETWORKS = {
    "sparse-sparse-dense": ([0.4, 0.3, None], "identity"),
    "all sparse, tanh": ([0.5, 0.2, 0.6], "tanh"),
    "all dense": ([None, None, None], "tanh"),
    "dense-sparse-dense": ([None, 0.3, None], "identity"),
}


def make_net(rng, densities, output, dtype):
    return MLP.build([7, 24, 16, 3], densities, rng, output_activation=output, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("input_grad", [False, True])
def test_network_pass_matches_the_mlp(network, dtype, input_grad, rng):
    densities, output = NETWORKS[network]
    reference = make_net(rng, densities, output, dtype)
    net = copy.deepcopy(reference)
    compiled = CompiledMLP(net)
    X = rng.standard_normal((7, 9)).astype(dtype)
    dY = rng.standard_normal((3, 9)).astype(dtype)

    expected = reference.forward(X)
    np.testing.assert_allclose(compiled.forward(X), expected, **TOLERANCE[dtype])
    expected_dX = reference.backward(dY, input_grad=input_grad)
    dX = compiled.backward(dY, input_grad=input_grad)
    if input_grad:
        np.testing.assert_allclose(dX, expected_dX, **TOLERANCE[dtype])
    else:
        assert dX is None
    for layer, (a, b) in enumerate(zip(net.gradients(), reference.gradients())):
        np.testing.assert_allclose(a, b, err_msg=f"gradient {layer}", **TOLERANCE[dtype])


def test_input_only_pass_leaves_parameter_gradients_alone(rng):
    net = make_net(rng, [0.4, 0.3, None], "identity", np.float64)
    compiled = CompiledMLP(net)
    before = [g.copy() for g in net.gradients()]
    compiled.forward(rng.standard_normal((7, 5)))
    compiled.backward(rng.standard_normal((3, 5)), input_grad=True, param_grads=False)
    for a, b in zip(net.gradients(), before):
        np.testing.assert_array_equal(a, b)


def test_the_pack_follows_a_rewired_layer(rng):
    """After prune-and-regrow the compiled pass sees the new connections (and Adam agrees)."""
    net = make_net(rng, [0.4, 0.3, None], "identity", np.float64)
    reference = copy.deepcopy(net)
    compiled = CompiledMLP(net)
    optimizer, reference_optimizer = Adam(net.layers), Adam(reference.layers)
    X, target = rng.standard_normal((7, 9)), rng.standard_normal((3, 9))
    for step in range(6):
        compiled.backward(mse_loss(compiled.forward(X), target)[1])
        optimizer.step()
        reference.backward(mse_loss(reference.forward(X), target)[1])
        reference_optimizer.step()
        if step == 2:
            for network, opt in ((net, optimizer), (reference, reference_optimizer)):
                for layer in network.sparse_layers:
                    evolve_layer(layer, opt, 0.3, np.random.default_rng(step))
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


#: Online networks against a copy of their past (the target): how far the online one moved.
TARGET_CASES = {
    "values only": {"rewirings": 0, "steps_after": 3, "grow": "random"},
    "lagging target (newcomers still 0)": {"rewirings": 2, "steps_after": 0, "grow": "random"},
    "patterns apart": {"rewirings": 3, "steps_after": 4, "grow": "random"},
    "count changed (the freeze)": {"rewirings": 1, "steps_after": 2, "grow": "none"},
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", ["topk", "copy"])
@pytest.mark.parametrize("case", TARGET_CASES)
def test_compiled_soft_update_is_the_readable_one_bit_for_bit(case, rule, dtype, rng):
    """One kernel call per network gives exactly the values, connections and topology versions
    of ``target.soft_update`` (the same roundings, no fast-math), in every branch it takes."""
    setting = TARGET_CASES[case]
    online = make_net(rng, [0.4, 0.3, None], "identity", dtype)
    target = copy.deepcopy(online)
    optimizer = Adam(online.layers)
    X, Y = rng.standard_normal((7, 9)).astype(dtype), rng.standard_normal((3, 9)).astype(dtype)

    def adam_step():
        online.backward(mse_loss(online.forward(X), Y)[1])
        optimizer.step()

    for _ in range(setting["rewirings"]):
        adam_step()
        for layer in online.sparse_layers:
            evolve_layer(layer, optimizer, 0.3, rng, grow=setting["grow"])
    for _ in range(setting["steps_after"]):
        adam_step()
    readable = copy.deepcopy(target)
    compiled_target, compiled_online = CompiledMLP(target, backward=False), CompiledMLP(online)
    for _ in range(3):
        versions = [layer.topology_version for layer in target.layers]
        readable_versions = [layer.topology_version for layer in readable.layers]
        soft_update(readable, online, 0.2, rule)
        soft_update_compiled(compiled_target, compiled_online, 0.2, rule)
        for mine, theirs, before, theirs_before in zip(
            target.layers, readable.layers, versions, readable_versions
        ):
            np.testing.assert_array_equal(mine.bias, theirs.bias)
            np.testing.assert_array_equal(mine.parameters()[0], theirs.parameters()[0])
            if hasattr(mine, "positions"):
                np.testing.assert_array_equal(mine.positions(), theirs.positions())
                moved = mine.topology_version != before
                assert moved == (theirs.topology_version != theirs_before)
    # The compiled target's own pass sees its new connections.
    np.testing.assert_array_equal(compiled_target.forward(X), readable.forward(X))


def test_the_soft_update_kernel_reports_every_branch(rng):
    """The status codes the caller acts on: values only, a pattern moved in place (the
    caller bumps the version), and a count change left untouched for the readable update."""
    online = make_net(rng, [0.4, 0.3, None], "identity", np.float64)
    target = copy.deepcopy(online)
    optimizer = Adam(online.layers)
    status = np.empty(3, np.int8)

    def run():
        t, o = CompiledMLP(target, backward=False).pack, CompiledMLP(online).pack
        before = [layer.parameters()[0].copy() for layer in target.layers]
        kernels.soft_update_network(
            t.kinds, t.indptr, t.indices, t.values, t.weights, t.bias,
            o.indptr, o.indices, o.values, o.weights, o.bias, 0.5, kernels.COPY_RULE, status,
        )  # fmt: skip
        return before

    run()
    assert list(status) == [kernels.VALUES_ONLY] * 3
    for layer in online.sparse_layers:
        evolve_layer(layer, optimizer, 0.3, rng)
    run()
    assert list(status) == [kernels.PATTERN_MOVED, kernels.PATTERN_MOVED, kernels.VALUES_ONLY]
    for layer in online.sparse_layers:
        evolve_layer(layer, optimizer, 0.3, rng, grow="none")
    before = run()
    assert list(status) == [kernels.COUNT_CHANGED, kernels.COUNT_CHANGED, kernels.VALUES_ONLY]
    for layer, weight in zip(target.sparse_layers, before):
        np.testing.assert_array_equal(layer.weight.data, weight)


ENGINES = ("reference", "compiled")
#: Every option that changes what an update computes, so each runs through both engines.
TOPOLOGY_OPTIONS = {
    "": {},
    "rigl": {"grow": "gradient"},
    "magnitude prune, copied targets": {"prune": "magnitude", "target_rule": "copy"},
    "cosine": {"schedule": "cosine", "end_iteration": 40},
}
AGENT_SETTINGS = {
    "td3": {},
    "sac": {},
    "sac, learned alpha, hard targets": {"learn_alpha": True, "target_update_every": 5},
    "td3, no target noise, policy delay 3": {"policy_noise": 0.0, "policy_delay": 3},
}


def assert_same_agents(compiled, reference, dtype, where=""):
    for name, net in reference.all_networks().items():
        for a, b in zip(compiled.all_networks()[name].parameters(), net.parameters()):
            np.testing.assert_allclose(a, b, err_msg=f"{name} {where}", **TOLERANCE[dtype])


@pytest.mark.parametrize("settings", AGENT_SETTINGS)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_horizon", [1, 3])
def test_compiled_update_matches_the_readable_one(settings, sparse, dtype, max_horizon, rng):
    """30 iterations through three rewirings: same metrics, parameters, targets and draws; with
    n-step batches too (the bootstrap is discounted by gamma ** horizon in both)."""
    algo = settings.split(",")[0]
    options = {"sparse": sparse, "evolve": sparse, "dtype": dtype, **AGENT_SETTINGS[settings]}
    reference = make_agent(algo, **options)
    compiled = make_agent(algo, engine="compiled", **options)
    assert type(compiled) is not type(reference)
    for iteration in range(30):
        batch = make_batch(rng, dtype=dtype, max_horizon=max_horizon)
        expected, got = reference.update(batch), compiled.update(batch)
        assert got.keys() == expected.keys(), iteration
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], err_msg=key, **TOLERANCE[dtype])
    assert_same_agents(compiled, reference, dtype)
    obs = rng.standard_normal(5)
    for explore in (False, True):
        np.testing.assert_allclose(
            compiled.act(obs, explore), reference.act(obs, explore), **TOLERANCE[dtype]
        )
    assert compiled.rng.random() == reference.rng.random()  # the same draws, in the same order


@pytest.mark.parametrize("algo", ["td3", "sac"])
@pytest.mark.parametrize("topology", TOPOLOGY_OPTIONS)
def test_compiled_rewiring_options_match_the_readable_ones(algo, topology, rng):
    """Each rewiring option (RigL's gradient growth, magnitude pruning, copied target topology,
    the cosine drop fraction) through both engines, with n-step batches: the same agents."""
    options = {"sparse": True, "evolve": True, "topology_options": TOPOLOGY_OPTIONS[topology]}
    agents = [make_agent(algo, engine=engine, **options) for engine in ENGINES]
    for iteration in range(35):
        batch = make_batch(rng, max_horizon=3)
        expected, got = (agent.update(batch) for agent in agents)
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], err_msg=f"{key} {iteration}",
                                       **TOLERANCE[np.float64])  # fmt: skip
    reference, compiled = agents
    assert_same_agents(compiled, reference, np.float64)
    assert compiled.rng.random() == reference.rng.random()


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_a_compiled_agent_resumes_from_a_readable_ones_state(algo, rng):
    """Checkpoints hold the readable objects, so either engine can continue a run."""
    reference = make_agent(algo, sparse=True, evolve=True)
    for _ in range(15):
        reference.update(make_batch(rng))
    compiled = make_agent(algo, seed=1, sparse=True, evolve=True, engine="compiled")
    compiled.load_state_dict(copy.deepcopy(reference.state_dict()))
    compiled.rng = copy.deepcopy(reference.rng)
    for iteration in range(15):  # through another rewiring
        batch = make_batch(rng)
        np.testing.assert_allclose(
            compiled.update(batch)["losses/critic"],
            reference.update(batch)["losses/critic"],
            rtol=1e-12,
            err_msg=str(iteration),
        )
    assert_same_agents(compiled, reference, np.float64)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 cores")
@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_two_threads_change_no_bit(algo, rng):
    """With two Numba threads the twin critics run on two cores: the same numbers, bit for bit."""
    batches = [make_batch(rng, dtype=np.float32) for _ in range(15)]
    parameters = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            agent = make_agent(algo, sparse=True, evolve=True, engine="compiled", dtype=np.float32)
            for batch in batches:
                agent.update(batch)
            parameters.append([p.copy() for p in agent.critics[0].parameters()])
            parameters[-1] += [p.copy() for p in agent.actor.parameters()]
    finally:
        numba.set_num_threads(previous)
    for one_thread, two_threads in zip(*parameters):
        np.testing.assert_array_equal(one_thread, two_threads)


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_compiled_targets_follow_through_the_end_of_training_freeze(algo, rng):
    """After the freeze's last prune (one prune without regrowth) the targets shrink at their
    next update, and the compiled agent stays equal to the readable one."""
    agents = [make_agent(algo, sparse=True, evolve=True, engine=e) for e in ENGINES]
    for iteration in range(20):
        if iteration == 12:
            for agent in agents:
                agent.freeze_topology()
        batch = make_batch(rng)
        for agent in agents:
            agent.update(batch)
    reference, compiled = agents
    assert_same_agents(compiled, reference, np.float64)
    for target, online in zip(compiled.critic_targets, compiled.critics):
        assert [layer.nnz for layer in target.layers] == [layer.nnz for layer in online.layers]
