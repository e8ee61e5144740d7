"""A weight budget instead of a sparsity: wide sparse networks at a small dense one's cost."""

import json
from itertools import pairwise

import pytest

from minidst.cli import main
from minidst.config import TrainConfig
from minidst.factory import network_densities
from minidst.sparsity import budget_sparsity, dense_weight_count, erk_densities, layer_densities

OBS, ACT = 17, 6  # HalfCheetah-v5


def stored_weights(sizes, densities) -> float:
    shapes = list(pairwise(sizes))
    return sum(
        (1.0 if d is None else d) * n_in * n_out for (n_in, n_out), d in zip(shapes, densities)
    )


def test_budget_sparsity_by_hand():
    # 17 -> 1024 -> 1024 -> 6 holds 17*1024 + 1024^2 + 1024*6 = 1,072,128 weights; the dense
    # 256-256 actor 17*256 + 256^2 + 256*6 = 71,424.
    assert dense_weight_count([17, 1024, 1024, 6]) == 1_072_128
    assert dense_weight_count([17, 256, 256, 6]) == 71_424
    assert budget_sparsity([17, 1024, 1024, 6], 256) == pytest.approx(1 - 71_424 / 1_072_128)
    assert budget_sparsity([17, 1024, 1024, 6], 256, 0.5) == pytest.approx(1 - 35_712 / 1_072_128)
    with pytest.raises(ValueError, match="nothing to make sparse"):
        budget_sparsity([17, 256, 256, 6], 256)


@pytest.mark.parametrize("hidden, fraction", [((512, 512), 1.0), ((1024, 1024), 1.0),
                                              ((1024, 1024), 0.5)])  # fmt: skip
def test_each_network_stores_its_dense_twins_weights(hidden, fraction):
    config = TrainConfig(algo="ds-td3", env="HalfCheetah-v5", hidden=hidden, match_dense=256,
                         budget_fraction=fraction).validate()  # fmt: skip
    densities = network_densities(config, OBS, ACT)
    for sizes, layer_density in (
        ([OBS, *hidden, ACT], densities.actor),
        ([OBS + ACT, *hidden, 1], densities.critic),
    ):
        budget = fraction * dense_weight_count([sizes[0], 256, 256, sizes[-1]])
        assert stored_weights(sizes, layer_density) == pytest.approx(budget)
        assert layer_density[-1] is None  # the output layer stays dense


def test_the_er_rule_keeps_the_papers_lambda_ratio():
    shapes = [(1024, 17), (1024, 1024), (6, 1024)]
    er = erk_densities(shapes, 0.97, [False, False, True], lambdas=[7, 64, 1])
    erk = erk_densities(shapes, 0.97, [False, False, True])
    shape_rule = [(17 + 1024) / (17 * 1024), 2 / 1024]
    assert er[0] / er[1] == pytest.approx(7 * shape_rule[0] / (64 * shape_rule[1]))
    assert erk[0] / erk[1] == pytest.approx(shape_rule[0] / shape_rule[1])
    sizes = [17, 1024, 1024, 6]
    assert stored_weights(sizes, layer_densities(sizes, 7, 64, 0.97, "er")) == pytest.approx(
        0.03 * dense_weight_count(sizes)
    )


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"algo": "td3", "match_dense": 256}, "applies to sparse variants"),
        ({"match_dense": 256, "sparsity": 0.9}, "pick one"),
        ({"match_dense": 0}, "positive width"),
        ({"budget_fraction": 0.5}, "set both"),
        ({"match_dense": 256, "budget_fraction": 1.5}, r"\(0, 1\]"),
        ({"density_rule": "er"}, "needs --sparsity or --match-dense"),
        ({"density_rule": "bad", "sparsity": 0.9}, "must be one of"),
    ],
)
def test_bad_budgets_are_one_line_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{"algo": "ds-td3", "hidden": (1024, 1024), **settings}).validate()


def test_a_budget_below_the_output_layers_is_refused():
    with pytest.raises(ValueError, match="fewer than its dense output layer"):
        layer_densities([17, 1024, 1024, 6], 7, 64, sparsity=0.9999)


def test_a_budget_run_records_its_densities_and_stores_the_budget(tmp_path, capsys):
    run_dir = tmp_path / "wide"
    args = ["train", "--algo", "ds-td3", "--env", "Pendulum-v1", "--hidden", "64,64",
            "--match-dense", "16", "--steps", "300", "--start-steps", "200", "--eval-every",
            "300", "--eval-episodes", "1", "--log-every", "100", "--rewire-every", "50",
            "--run-dir", str(run_dir), "--quiet"]  # fmt: skip
    assert main(args) == 0
    record = json.loads((run_dir / "config.json").read_text())
    assert record["config"]["match_dense"] == 16
    actor = record["densities"]["actor"]
    assert len(actor) == 3 and actor[-1] == 1.0 and actor[1] < 0.1
    # Pendulum: 3 observations, 1 action. Each network stores its 16-16 dense twin's weights.
    budget = dense_weight_count([3, 16, 16, 1]) + 2 * dense_weight_count([4, 16, 16, 1])
    last = (run_dir / "progress.csv").read_text().splitlines()
    header, row = last[0].split(","), last[-1].split(",")
    assert float(row[header.index("topology/weights")]) == pytest.approx(budget, rel=0.01)
    assert main([*args[:-3], "--match-dense", "64", "--run-dir", str(tmp_path / "x")]) == 2
    assert "nothing to make sparse" in capsys.readouterr().err
