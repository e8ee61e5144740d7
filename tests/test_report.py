"""minidst report and its statistics, against hand computations on synthetic runs."""

import json

import numpy as np
import pytest

from minidst import random_policy, report, rundir, stats
from minidst.cli import main
from minidst.config import TrainConfig
from minidst.report import across_environments, comparisons, read_runs, summarise

STEPS = 20_000  # evaluations at 0, 5k, 10k, 15k, 20k


def fake_run(
    sweep_dir, algo, seed, returns, weights, steps_per_s=100.0, steps=STEPS, folder="",
    dormant=None, **settings,
):  # fmt: skip
    """A run directory as a finished run leaves it, with the given evaluation returns."""
    config = TrainConfig(
        algo=algo, env="Hopper-v5", seed=seed, steps=STEPS, start_steps=5_000, eval_every=5_000,
        log_every=5_000, **settings,
    ).validate()  # fmt: skip
    run_dir = sweep_dir / folder / "Hopper-v5" / algo / f"seed{seed}"
    rundir.create(run_dir, config)
    evaluations, progress = rundir.evaluations_log(run_dir), rundir.progress_log(run_dir)
    for i, value in enumerate(returns):
        if i * 5_000 > steps:
            break
        evaluations.write({"step": i * 5_000, "return_mean": value})
        if i:
            row = {
                "step": i * 5_000, "topology/weights": weights,
                "flops/training_cumulative": weights * i * 5_000, "time/steps_per_s": steps_per_s,
            }  # fmt: skip
            if dormant is not None:  # (actor, critic1, critic2)
                row.update(zip(("topology/dormant_actor", "topology/dormant_critic1",
                                "topology/dormant_critic2"), dormant))  # fmt: skip
            progress.write(row)
    return run_dir


@pytest.fixture
def sweep_dir(tmp_path):
    """Dense TD3 seeds score 100..400 (flat curves); DS-TD3 seeds rise to 150..450 with half
    the weights; one DS-TD3 run stopped halfway."""
    for seed, final in enumerate([100, 200, 300, 400]):
        fake_run(tmp_path, "td3", seed, [final] * 5, weights=1000)
    for seed, final in enumerate([150, 250, 350, 450]):
        fake_run(tmp_path, "ds-td3", seed, np.linspace(0, final, 5), weights=500, steps_per_s=50)
    fake_run(tmp_path, "ds-td3", 9, [0, 10, 20, 30, 40], weights=500, steps=10_000)
    return tmp_path


def test_iqm_and_probability_of_improvement_by_hand():
    assert stats.iqm(np.array([100, 200, 300, 400])) == 250.0  # mean of the middle two
    assert stats.iqm(np.array([1, 2, 3, 4, 100, -100, 5, 6])) == 3.5  # drops two each side
    # P(X > Y): of the 16 pairs, 150 beats 1, 250 beats 2, 350 beats 3, 450 beats 4.
    assert stats.probability_of_improvement([150, 250, 350, 450], [100, 200, 300, 400]) == 10 / 16
    assert stats.probability_of_improvement([1, 2], [1, 2]) == 0.5  # ties count half


def test_the_exact_test_knows_how_few_seeds_there_are():
    """A clean sweep of n runs over m is the most extreme of the C(n + m, n) equally likely
    orders, on either side: p = 2 / C(n + m, n), however large the gap, while the bootstrap
    interval of P(X > Y) collapses to [1, 1]."""
    assert stats.exact_test([10, 11, 12], [1, 2, 3]) == pytest.approx(2 / 20)
    assert stats.exact_test([1000, 2000], [1, 2]) == pytest.approx(2 / 6)
    assert stats.exact_test(range(10, 15), range(5)) == pytest.approx(2 / 252)
    assert stats.probability_of_improvement_interval([10, 11, 12], [1, 2, 3]) == (1.0, 1.0)


def test_intervals_contain_their_statistic_and_need_two_seeds():
    scores = np.array([120.0, 90.0, 300.0, 150.0, 80.0])
    low, high = stats.iqm_interval(scores)
    assert low <= stats.iqm(scores) <= high and low < high
    low, high = stats.probability_of_improvement_interval(scores + 50, scores)
    assert low <= stats.probability_of_improvement(scores + 50, scores) <= high
    assert all(np.isnan(stats.iqm_interval([3.0])))
    middle, (low, high) = stats.stratified_iqm_interval([scores, scores / 10])
    assert low <= middle <= high


def test_summary_against_hand_computation(sweep_dir):
    runs, unfinished, _ = read_runs(sweep_dir)
    assert len(runs) == 8 and [path.name for path in unfinished] == ["seed9"]
    rows = {row["algo"]: row for row in summarise(runs)}
    dense, sparse = rows["td3"], rows["ds-td3"]
    assert dense["seeds"] == sparse["seeds"] == 4
    # Final return: the mean of the evaluations after step 0 (here, all four) of each seed.
    assert dense["final_iqm"] == dense["final_mean"] == 250.0
    finals = [np.mean(np.linspace(0, f, 5)[1:]) for f in (150, 250, 350, 450)]  # 5f/8
    assert finals == [93.75, 156.25, 218.75, 281.25]
    assert sparse["final_iqm"] == 187.5  # the middle two
    assert sparse["final_mean"] == 187.5
    # Student-t interval: sd of the finals is 80.69; t(0.975, 3 df) = 3.1824.
    half = 3.182446 * np.std(finals, ddof=1) / 2
    assert (sparse["final_mean_low"], sparse["final_mean_high"]) == pytest.approx(
        (187.5 - half, 187.5 + half)
    )
    # DS-TD3's mean curve is 0, 75, 150, 225, 300; smoothed over 3 evaluations 0, 37.5, 75,
    # 150, 225: it never reaches dense's 250 (the raw curve would, at the last evaluation).
    assert sparse["steps_to_dense_final"] is None and sparse["steps_to_dense_never"] > 0.5
    expected_p = stats.probability_of_improvement(finals, [100, 200, 300, 400])
    assert sparse["p_improvement"] == expected_p == 5 / 16
    # Exact test: U = 5 of the 16 pairs. Of the C(8, 4) = 70 equally likely splits,
    # 1 + 1 + 2 + 3 + 5 + 5 = 17 give U <= 5; two-sided.
    assert sparse["p_exact"] == pytest.approx(2 * 17 / 70)
    assert 0.05 < sparse["p_welch"] < 1 and sparse["p_equivalence"] > 0.05
    assert sparse["weights_vs_dense"] == 0.5 and sparse["flops_vs_dense"] == 0.5
    assert sparse["steps_per_s"] == 50.0
    # Mean return over training of a flat curve is its value; of a straight line, its middle.
    assert dense["mean_over_training_iqm"] == 250.0
    assert sparse["mean_over_training_iqm"] == pytest.approx(np.mean([125, 175]))


def test_report_files(sweep_dir, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(sweep_dir), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "| Hopper-v5 | ds-td3 | 4 |" in text and "seed9" in text  # the unfinished run is listed
    assert "stratified by environment" in text
    summary = json.loads((out / "summary.json").read_text())
    assert {row["algo"] for row in summary} == {"td3", "ds-td3"}
    assert (out / "summary.csv").read_text().startswith("env,algo,seeds,final_mean,final_mean_low")
    assert (out / "curves.png").stat().st_size > 10_000
    assert (out / "profile.png").stat().st_size > 10_000 and "profile.png" in text
    assert "Student-t" in text and "equivalence test" in text


def test_a_folder_without_finished_runs_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds no finished run" in err and err.count("\n") == 1


def test_runs_are_grouped_by_the_settings_that_set_them_apart(tmp_path):
    """Runs of one algo that differ in an experiment's settings are separate groups, named by
    the settings that differ from the algo's defaults; seeds of one setting share a group."""
    for seed in (0, 1):
        fake_run(tmp_path, "td3", seed, [100] * 5, weights=1000)
        fake_run(tmp_path, "ds-td3", seed, [100] * 5, weights=500)
        fake_run(tmp_path, "ds-td3", seed, [90] * 5, weights=100, folder="s90",
                 sparsity=0.9)  # fmt: skip
        fake_run(tmp_path, "ds-td3", seed, [80] * 5, weights=100, folder="s90_rigl_n3",
                 sparsity=0.9, grow="gradient", n_step=3)  # fmt: skip
        fake_run(tmp_path, "td3", seed, [70] * 5, weights=500, folder="equal_weights",
                 hidden=(177, 177))  # fmt: skip
    runs, _, _ = read_runs(tmp_path)
    rows = {row["algo"]: row for row in summarise(runs)}
    assert list(rows) == [
        "td3", "td3 hidden=177", "ds-td3", "ds-td3 90%", "ds-td3 90% grow=gradient n_step=3"
    ]  # fmt: skip
    assert [rows[label]["seeds"] for label in rows] == [2, 2, 2, 2, 2]
    assert rows["td3 hidden=177"]["weights_vs_dense"] == 0.5  # compared with dense td3 256
    assert rows["ds-td3 90% grow=gradient n_step=3"]["final_iqm"] == 80


def test_a_final_score_never_includes_the_untrained_evaluation(tmp_path):
    """A run with fewer than 10 evaluations scores the mean of its trained ones only."""
    fake_run(tmp_path, "td3", 0, [-5000, 100, 200, 300, 400], weights=1000)
    (run,) = read_runs(tmp_path)[0]
    assert run.final == 250.0


def test_normalised_scores_rank_negative_returns_the_right_way(tmp_path, monkeypatch):
    """Pendulum-like returns: DS-TD3 at -1,398 beats TD3 at -1,431 and must score above 1."""
    monkeypatch.setattr(random_policy, "random_score", lambda env: -1500.0)
    for seed, (ds, dense) in enumerate([(-1390, -1420), (-1406, -1442)]):
        fake_run(tmp_path, "td3", seed, [dense] * 5, weights=1000)
        fake_run(tmp_path, "ds-td3", seed, [ds] * 5, weights=500)
    rows = {row["algo"]: row for row in across_environments(read_runs(tmp_path)[0])}
    assert rows["td3"]["normalised_final_iqm"] == pytest.approx(1.0)
    assert rows["ds-td3"]["normalised_final_iqm"] == pytest.approx(102 / 69)


def test_a_copied_run_is_counted_once(sweep_dir, tmp_path, capsys):
    import shutil

    shutil.copytree(sweep_dir / "Hopper-v5" / "td3" / "seed0", sweep_dir / "copy" / "seed0")
    runs, _, duplicates = read_runs(sweep_dir)
    assert len(runs) == 8 and [copy.parent.name for copy, _ in duplicates] == ["copy"]
    assert {row["algo"]: row["seeds"] for row in summarise(runs)} == {"td3": 4, "ds-td3": 4}
    assert main(["report", str(sweep_dir), "--out", str(tmp_path / "r")]) == 0
    assert "Not counted, the same run" in (tmp_path / "r" / "report.md").read_text()


def test_plot_groups_by_settings_and_counts_a_run_once(tmp_path, capsys):
    from minidst.plot import distinct_runs

    default = fake_run(tmp_path, "ds-td3", 0, [100] * 5, weights=500)
    sparse = fake_run(tmp_path, "ds-td3", 0, [90] * 5, weights=100, folder="s90", sparsity=0.9)
    runs, skipped = distinct_runs([default, sparse, default])
    assert [run["label"] for run in runs] == ["ds-td3", "ds-td3 90%"]  # two groups, one seed each
    assert skipped == [(default, default)]
    out = tmp_path / "curves.png"
    assert main(["plot", str(default), str(sparse), str(default), "--out", str(out)]) == 0
    assert "counted once" in capsys.readouterr().err and out.stat().st_size > 10_000


def test_dormant_units_are_reported_per_group(tmp_path, capsys):
    """The last progress row's dormant fractions, averaged over the networks, then the seeds;
    runs made before they were logged show none."""
    fake_run(tmp_path, "ds-td3", 0, [100] * 5, weights=500, dormant=(0.1, 0.2, 0.3))
    fake_run(tmp_path, "ds-td3", 1, [104] * 5, weights=500, dormant=(0.3, 0.4, 0.5))
    fake_run(tmp_path, "td3", 0, [100] * 5, weights=1000)
    fake_run(tmp_path, "td3", 1, [110] * 5, weights=1000)
    rows = {row["algo"]: row for row in summarise(read_runs(tmp_path)[0])}
    assert rows["ds-td3"]["dormant_final"] == pytest.approx(0.3)  # (0.2 + 0.4) / 2
    assert np.isnan(rows["td3"]["dormant_final"])
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 0
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| 30.0% |" in table and "dormant units at the end" in table


def test_sparse_groups_are_compared_with_equal_weights_dense_and_their_defaults(tmp_path):
    """DS-TD3 (510 weights) meets dense TD3 at hidden 177 (500: within 5%) as its equal-weights
    control; DS-TD3 at 90% (100 weights) does not, and meets DS-TD3 at the defaults instead;
    dense TD3 of the default width is the main table's, never a control row."""
    finals = {"td3": [300, 310], "td3 hidden=177": [200, 220], "ds-td3": [250, 270],
              "ds-td3 90%": [150, 190]}  # fmt: skip
    for seed in (0, 1):
        fake_run(tmp_path, "td3", seed, [finals["td3"][seed]] * 5, weights=1000)
        fake_run(tmp_path, "td3", seed, [finals["td3 hidden=177"][seed]] * 5, weights=500,
                 folder="equal_weights", hidden=(177, 177))  # fmt: skip
        fake_run(tmp_path, "ds-td3", seed, [finals["ds-td3"][seed]] * 5, weights=510)
        fake_run(tmp_path, "ds-td3", seed, [finals["ds-td3 90%"][seed]] * 5, weights=100,
                 folder="s90", sparsity=0.9)  # fmt: skip
    pairs = comparisons(read_runs(tmp_path)[0])
    assert [(p["algo"], p["against"], p["control"]) for p in pairs] == [
        ("ds-td3", "td3 hidden=177", "equal weights"),
        ("ds-td3 90%", "ds-td3", "defaults"),
    ]
    equal = pairs[0]
    x, y = finals["ds-td3"], finals["td3 hidden=177"]
    assert (equal["final_mean"], equal["against_mean"], equal["difference"]) == (260, 210, 50)
    assert (equal["difference_low"], equal["difference_high"]) == stats.difference_interval(x, y)
    assert equal["p_improvement"] == 1.0 and equal["p_exact"] == stats.exact_test(x, y)
    assert pairs[1]["difference"] == 170 - 260 and pairs[1]["seeds_against"] == 2
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 0
    assert (
        "| ds-td3 | td3 hidden=177 | equal weights | 2 / 2 | 260 / 210 |"
        in (tmp_path / "r" / "report.md").read_text()
    )
    assert (tmp_path / "r" / "comparisons.csv").read_text().startswith("env,algo,against")


def test_find_results_takes_the_override_then_searches_upwards(tmp_path, monkeypatch):
    """Chapters and exercise checks find the committed runs from any folder below the
    repository, or where MINIDST_RESULTS points; a folder without runs does not count."""
    fake_run(tmp_path / "repo" / "results" / "paper200k", "td3", 0, [100] * 5, weights=1000)
    (tmp_path / "repo" / "results" / "empty").mkdir()
    deep = tmp_path / "repo" / "chapters" / "runs"
    deep.mkdir(parents=True)
    monkeypatch.delenv("MINIDST_RESULTS", raising=False)
    monkeypatch.chdir(deep)
    assert rundir.find_results("paper200k") == tmp_path / "repo" / "results" / "paper200k"
    assert rundir.find_results() == tmp_path / "repo" / "results"
    assert rundir.find_results("empty") is None
    monkeypatch.setenv("MINIDST_RESULTS", str(tmp_path / "repo" / "results" / "paper200k"))
    assert rundir.find_results("paper200k") == tmp_path / "repo" / "results" / "paper200k"
    monkeypatch.setenv("MINIDST_RESULTS", str(tmp_path / "repo" / "results" / "empty"))
    assert rundir.find_results("paper200k") is None


def test_a_pair_is_called_higher_or_lower_only_where_welch_rejects_equal_means():
    pair = {"p_welch": 0.01, "difference": -5.0}
    assert report.pair_verdict(pair) == "lower (Welch p < 0.05)"
    assert report.pair_verdict({**pair, "difference": 5.0}) == "higher (Welch p < 0.05)"
    assert report.pair_verdict({**pair, "p_welch": 0.2}) == "not told apart"
    assert report.pair_verdict({**pair, "p_welch": float("nan")}).startswith("untestable")
