"""Parameter and FLOP counts follow the documented convention."""

import numpy as np

from minidst import MLP, count_parameters, forward_flops, training_flops
from minidst.flops import dense_forward_flops, layer_table


def test_counts_for_a_mixed_network(rng):
    net = MLP.build([17, 256, 256, 6], [0.439, 0.5, None], rng)
    nnz = [layer.nnz for layer in net.layers]
    assert nnz == [round(0.439 * 17 * 256), round(0.5 * 256 * 256), 256 * 6]
    assert forward_flops(net.layers) == 2 * sum(nnz)
    assert forward_flops(net.layers, batch=100) == 200 * sum(nnz)
    assert training_flops(net.layers, batch=100) == 3 * 200 * sum(nnz)
    assert dense_forward_flops(net.layers) == 2 * (17 * 256 + 256 * 256 + 256 * 6)
    params = count_parameters(net.layers)
    assert params == {
        "weights": sum(nnz),
        "biases": 256 + 256 + 6,
        "dense_weights": 17 * 256 + 256 * 256 + 256 * 6,
    }


def test_dense_network_flops_equal_dense_count(rng):
    net = MLP.build([5, 7, 3], [None, None], rng)
    assert forward_flops(net.layers) == dense_forward_flops(net.layers) == 2 * (35 + 21)


def test_layer_table_totals(rng):
    net = MLP.build([10, 20, 2], [0.5, None], rng)
    table = layer_table([("hidden", net.layers[0]), ("out", net.layers[1])])
    total = table.splitlines()[-1].split()
    assert total[0] == "total" and int(total[2]) == 100 + 40 and int(total[3]) == 240
    assert float(total[1]) == np.round(140 / 240, 3)


def test_paper_flops_count_the_training_passes_of_actor_and_critics_only():
    from conftest import make_agent

    agent = make_agent("td3", sparse=True)
    critics = sum(2 * layer.nnz for critic in agent.critics for layer in critic.layers)
    actor = sum(2 * layer.nnz for layer in agent.actor.layers)
    assert agent.paper_flops_per_iteration(100) == 100 * (3 * critics + 3 * actor / 2)
    names = [name for name, _ in agent.named_layers()]
    assert names == [f"{net}.L{i}" for net in ("actor", "critic1", "critic2") for i in (1, 2, 3)]
