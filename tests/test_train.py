"""The training system: exact resume, run files, Ctrl-C, divergence, and one-line errors.

Runs here use Pendulum-v1 (200-step episodes that only ever truncate) with small networks, so
each takes a few seconds; ``--sparsity 0.7`` keeps the small hidden layers genuinely sparse.
"""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numba
import numpy as np
import pytest
from conftest import assert_same_run, read_csv

from minidst import logger
from minidst.checkpoint import load_checkpoint
from minidst.cli import main
from minidst.compiled import CompiledTD3
from minidst.config import TrainConfig
from minidst.logger import Speedometer
from minidst.machine import describe_machine, vector_isa
from minidst.rundir import RUN_FILES, source_revision
from minidst.stats import iqm_with_band
from minidst.train import Trainer

SMALL = [
    "--algo", "ds-td3", "--env", "Pendulum-v1", "--hidden", "32,32", "--sparsity", "0.7",
    "--start-steps", "200", "--eval-every", "400", "--eval-episodes", "1", "--log-every", "200",
    "--checkpoint-every", "400", "--rewire-every", "50", "--buffer-size", "5000", "--quiet",
]  # fmt: skip
TOTAL = 1200


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "straight"
    assert main(["train", *SMALL, "--steps", str(TOTAL), "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_run_directory_holds_every_record(uninterrupted):
    for name in RUN_FILES:
        assert (uninterrupted / name).is_file(), name
    record = json.loads((uninterrupted / "config.json").read_text())
    assert record["config"]["algo"] == "ds-td3" and record["config"]["steps"] == TOTAL
    assert {"numpy", "scipy", "numba", "gymnasium", "mujoco"} <= set(record["versions"])
    assert record["machine"] == describe_machine() and record["machine"]["isa"] == vector_isa()
    assert record["source"] == source_revision()
    assert "resumed_on" not in record and "resumed_at_source" not in record
    evaluations = read_csv(uninterrupted / "evaluations.csv")
    assert [int(row["step"]) for row in evaluations] == [0, 400, 800, 1200]
    assert {"return_mean", "return_std"} <= set(evaluations[0])
    progress = read_csv(uninterrupted / "progress.csv")
    assert [int(row["step"]) for row in progress] == list(range(200, TOTAL + 1, 200))
    last = progress[-1]
    columns = (
        "losses/critic",
        "losses/actor",
        "values/q1",
        "time/steps_per_s",
        "topology/dormant_actor",
        "topology/dormant_critic1",
        "topology/dormant_critic2",
    )
    for column in columns:
        assert np.isfinite(float(last[column])), column
    # Topology columns: rewiring happened, counts held, FLOPs accumulated.
    assert any(float(row.get("topology/actor_l2_pruned") or 0) > 0 for row in progress)
    assert len({row["topology/weights"] for row in progress}) == 1
    assert float(last["topology/sparsity"]) > 0.5
    flops = [float(row["flops/training_cumulative"]) for row in progress]
    assert flops[0] == 0 and np.all(np.diff(flops) > 0)  # no updates before step 200


def test_truncated_episodes_are_stored_as_not_terminated(uninterrupted):
    # Pendulum never terminates, it is only cut at 200 steps: every transition must bootstrap.
    state, meta = load_checkpoint(uninterrupted / "checkpoint.npz")
    assert meta["episodes"] >= 5
    assert state["buffer"]["terminated"].sum() == 0


def test_resume_equals_uninterrupted_run(uninterrupted, tmp_path, capsys):
    run_dir = tmp_path / "resumed"
    # Stops at 700, mid-episode: the checkpoint is the episode end at 600, and the rows logged
    # after it (and the off-grid evaluation at 700) are recomputed on resume.
    assert main(["train", *SMALL, "--steps", "700", "--run-dir", str(run_dir)]) == 0
    assert load_checkpoint(run_dir / "checkpoint.npz")[1]["step"] == 600
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "--steps", str(TOTAL), "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet means quiet on resume too
    assert_same_run(uninterrupted, run_dir)
    record = json.loads((run_dir / "config.json").read_text())
    assert record["config"]["steps"] == TOTAL
    assert "resumed_on" not in record  # resumed on the machine it started on,
    assert "resumed_at_source" not in record  # with the code it started with


def test_a_run_resumed_on_another_machine_records_it(tmp_path):
    run_dir = tmp_path / "moved"
    assert main(["train", *SMALL, "--steps", "400", "--run-dir", str(run_dir)]) == 0
    path = run_dir / "config.json"
    record = json.loads(path.read_text())
    started_on = {"cpu": "Other CPU", "family_model": "", "isa": "NEON", "cores": 8}
    record["machine"] = started_on
    record["source"] = "0123456789ab"  # and with other code
    path.write_text(json.dumps(record))
    for _ in range(2):  # resumed twice here: recorded once
        assert main(["train", "--resume", str(run_dir), "--steps", "600", "--quiet"]) == 0
    record = json.loads(path.read_text())
    assert record["machine"] == started_on and record["source"] == "0123456789ab"
    assert record["resumed_on"] == [describe_machine()]
    assert record["resumed_at_source"] == [source_revision()]


def test_ds_sac_with_learned_temperature_resumes_exactly(tmp_path):
    settings = [*SMALL, "--algo", "ds-sac", "--entropy", "learned", "--batch-size", "64"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main(["train", *settings, "--steps", "800", "--run-dir", str(straight)]) == 0
    assert main(["train", *settings, "--steps", "500", "--run-dir", str(resumed)]) == 0
    assert main(["train", "--resume", str(resumed), "--steps", "800", "--quiet"]) == 0
    assert_same_run(straight, resumed)
    progress = read_csv(straight / "progress.csv")
    assert float(progress[-1]["values/alpha"]) != 0.2  # the temperature did move


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 cores")
def test_two_threads_make_the_same_run_bit_for_bit(uninterrupted, tmp_path):
    """--threads 2 (both BLAS and the twin critics on two cores, set before NumPy loads, hence a
    fresh process) gives exactly the numbers of one thread."""
    run_dir = tmp_path / "two-threads"
    command = [sys.executable, "-m", "minidst.cli", "train", *SMALL, "--steps", str(TOTAL)]
    subprocess.run([*command, "--threads", "2", "--run-dir", str(run_dir)], check=True)
    assert json.loads((run_dir / "config.json").read_text())["config"]["threads"] == 2
    assert_same_run(uninterrupted, run_dir)


def test_ctrl_c_saves_a_checkpoint_and_resume_completes_the_same_run(uninterrupted, tmp_path):
    run_dir = tmp_path / "interrupted"
    command = [sys.executable, "-m", "minidst.cli", "train", *SMALL, "--steps", str(TOTAL)]
    process = subprocess.Popen(
        [*command, "--run-dir", str(run_dir)], stderr=subprocess.PIPE, text=True
    )
    # The first evaluation is written inside the loop, where Ctrl-C is handled.
    deadline = time.monotonic() + 120
    while not (run_dir / "progress.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    step = load_checkpoint(run_dir / "checkpoint.npz")[1]["step"]
    assert step % 200 == 0 and 0 < step < TOTAL
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert_same_run(uninterrupted, run_dir)


def test_evaluate_and_plot_commands(uninterrupted, tmp_path, capsys):
    assert main(["evaluate", str(uninterrupted), "--episodes", "2"]) == 0
    assert "over 2 episodes" in capsys.readouterr().out
    second = tmp_path / "copy"
    shutil.copytree(uninterrupted, second)
    out = tmp_path / "curves.png"
    assert main(["plot", str(uninterrupted), str(second), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_iqm_and_bootstrap_band():
    rng = np.random.default_rng(0)
    returns = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [100.0, 40.0]])
    iqm, low, high = iqm_with_band(returns, rng)
    np.testing.assert_allclose(iqm, [1.5, 25.0])  # middle two seeds of four
    assert np.all(low <= iqm) and np.all(iqm <= high) and np.all(low < high)


# --------------------------------------------------------------------------------------------
# Faults: a one-line error, a non-zero exit, nothing already written lost
# --------------------------------------------------------------------------------------------
def run_cli(args, capsys):
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "NoSuchEnv-v1"], "unknown environment id"),
        (["--env", "HalfCheetah-v3"], "use HalfCheetah-v5"),
        (["--env", "CartPole-v1"], "continuous action space"),
        (["--algo", "ppo"], "invalid choice"),
        (["--sparsity", "1.0"], "sparsity must be in [0, 1)"),
        (["--sparsity", "-0.1"], "sparsity must be in [0, 1)"),
        (["--algo", "td3", "--sparsity", "0.5"], "not dense td3"),
        (["--steps", "-5"], "--steps must be positive"),
        (["--lr", "nan"], "finite"),
        (["--hidden", "256,x"], "widths"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--threads", "0"], "--threads must be positive"),
        (["--threads", "64"], "threads Numba can use"),
        (["--steps", "100", "--start-steps", "200"], "would never train"),
        (["--steps", "200", "--start-steps", "200"], "would never train"),
        (["--exploration-noise", "-1"], "--exploration-noise must be >= 0"),
        (["--noise-clip", "-0.5"], "--noise-clip must be >= 0"),
        (["--batch-size", "600", "--buffer-size", "500"], "larger than the replay buffer"),
        (["--algo", "td3", "--alpha", "0.1"], "--alpha is a SAC option; td3 would ignore it"),
        (["--algo", "ds-td3", "--entropy", "learned"], "--entropy is a SAC option"),
        (["--algo", "sac", "--policy-noise", "0.3"], "--policy-noise is a TD3 option"),
        (["--algo", "ds-sac", "--policy-delay", "1"], "--policy-delay is a TD3 option"),
        # Caught only when the networks are built, yet still before anything is written.
        (["--algo", "ds-td3", "--sparsity", "0.999"], "fewer than its dense output layer"),
    ],
)
def test_bad_settings_are_one_line_errors(args, message, tmp_path, capsys):
    code, err = run_cli(["train", *args, "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_unwritable_run_directory(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    code, err = run_cli(["train", *SMALL, "--run-dir", str(blocker / "run")], capsys)
    assert code == 2 and "cannot write to run directory" in err and "\n" not in err


def snapshot(run_dir):
    return {name: (run_dir / name).read_bytes() for name in RUN_FILES}


def test_refuses_to_overwrite_another_run_and_resume_errors(uninterrupted, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted, run_dir)
    before = snapshot(run_dir)
    code, err = run_cli(["train", *SMALL, "--run-dir", str(run_dir)], capsys)
    assert code == 2 and "already holds a run" in err and "--overwrite" in err
    code, err = run_cli(["train", "--resume", str(run_dir), "--lr", "0.1"], capsys)
    assert code == 2 and "only --steps can change" in err
    code, err = run_cli(["train", "--resume", str(run_dir), "--steps", "100"], capsys)
    assert code == 2 and "below the checkpoint's step" in err
    code, err = run_cli(["train", "--resume", str(tmp_path / "nothing")], capsys)
    assert code == 2 and "no run to resume" in err
    assert snapshot(run_dir) == before


def test_corrupt_missing_and_foreign_checkpoints(uninterrupted, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted, run_dir)
    checkpoint = run_dir / "checkpoint.npz"
    good = checkpoint.read_bytes()
    checkpoint.write_bytes(good[: len(good) // 2])  # a write cut short
    code, err = run_cli(["train", "--resume", str(run_dir), "--quiet"], capsys)
    assert code == 2 and "corrupt" in err and "\n" not in err
    checkpoint.write_bytes(np.random.default_rng(0).bytes(4096))  # not an archive at all
    code, err = run_cli(["train", "--resume", str(run_dir), "--quiet"], capsys)
    assert code == 2 and "corrupt" in err and "pickle" not in err and "\n" not in err
    checkpoint.unlink()  # as a run stopped before its first checkpoint leaves its directory
    code, err = run_cli(["train", "--resume", str(run_dir), "--quiet"], capsys)
    assert code == 2 and "no checkpoint" in err and "--overwrite" in err and "\n" not in err
    # A checkpoint from another run (other algo, same env) dropped into this directory.
    other = tmp_path / "other"
    args = [*SMALL, "--algo", "static-td3", "--steps", "400", "--run-dir", str(other)]
    assert main(["train", *args]) == 0
    shutil.copy(other / "checkpoint.npz", checkpoint)
    code, err = run_cli(["train", "--resume", str(run_dir), "--quiet"], capsys)
    assert code == 2 and "from another run" in err
    shutil.copy(other / "policy.npz", run_dir / "policy.npz")
    config = json.loads((run_dir / "config.json").read_text())
    config["config"]["hidden"] = [16, 16]
    (run_dir / "config.json").write_text(json.dumps(config))
    code, err = run_cli(["evaluate", str(run_dir)], capsys)
    assert code == 2 and "policy" in err and "\n" not in err


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    update = CompiledTD3.update  # the default engine's agent

    def update_that_diverges(agent, batch):
        metrics = update(agent, batch)
        if agent.iteration >= 500:  # step 700: after the checkpoint at the episode end at 400
            metrics["losses/critic"] = float("nan")
        return metrics

    monkeypatch.setattr(CompiledTD3, "update", update_that_diverges)
    code, err = run_cli(["train", *SMALL, "--steps", str(TOTAL), "--run-dir", str(run_dir)], capsys)
    assert code == 1 and "losses/critic became nan at step 700" in err
    assert "checkpoint (step 400) is kept" in err and "\n" not in err
    assert load_checkpoint(run_dir / "checkpoint.npz")[1]["step"] == 400
    # The run can go on from there (here, with the real update again).
    monkeypatch.setattr(CompiledTD3, "update", update)
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0


def test_trainer_api_and_freeze(tmp_path):
    config = TrainConfig(
        env="Pendulum-v1", hidden=(32, 32), sparsity=0.7, steps=600, start_steps=200,
        eval_every=600, eval_episodes=1, rewire_every=50, freeze_last=200, buffer_size=1000,
        log_every=1,
    )  # fmt: skip
    trainer = Trainer.start(config, tmp_path / "run", out=None)
    weights = trainer.agent.layer_stats()["topology/weights"]
    assert trainer.run() == "done"
    # One last prune without regrowth at step 400, then a fixed topology.
    assert trainer.agent.frozen
    assert trainer.agent.layer_stats()["topology/weights"] < weights
    for target, online in zip(
        [trainer.agent.actor_target, *trainer.agent.critic_targets],
        [trainer.agent.actor, *trainer.agent.critics],
    ):
        assert [layer.nnz for layer in target.layers] == [layer.nnz for layer in online.layers]
    # The FLOP count follows the connections. The freeze lands after iteration 200 (an actor
    # iteration); TD3's targets shrink at the next actor iteration, 202, so an iteration's count
    # taken at 201 and kept would overstate every later one.
    cumulative = [
        float(row["flops/training_cumulative"])
        for row in read_csv(tmp_path / "run" / "progress.csv")
    ]
    per_iteration = np.diff(cumulative)
    assert per_iteration[-1] == trainer.agent.flops_per_iteration(config.batch_size)
    assert per_iteration[-1] < per_iteration[398]  # step 400, before the freeze


def test_a_slow_kernel_compile_is_announced(tmp_path, monkeypatch, capsys):
    """On a cold Numba cache, compiling takes seconds: one line says so instead of a silent
    pause. (A cold cache is simulated: compiling for real would take ~20 s of the suite.)"""
    import minidst.train

    monkeypatch.setattr(minidst.train, "COMPILE_NOTICE_AFTER", 0.5)
    monkeypatch.setattr(minidst.train, "warmup", lambda **_: time.sleep(1.0))
    run_dir = tmp_path / "run"
    small = [arg for arg in SMALL if arg != "--quiet"]
    assert main(["train", *small, "--steps", "300", "--run-dir", str(run_dir)]) == 0
    assert "compiling kernels (first run only" in capsys.readouterr().out
    monkeypatch.setattr(minidst.train, "warmup", lambda **_: time.sleep(0.2))  # a warm cache loads
    assert main(["train", *small, "--steps", "300", "--run-dir", str(run_dir), "--overwrite"]) == 0
    assert "compiling" not in capsys.readouterr().out


@pytest.mark.slow
def test_mujoco_smoke_run(tmp_path, capsys):
    run_dir = tmp_path / "cheetah"
    args = ["--env", "HalfCheetah-v5", "--steps", "300", "--start-steps", "100"]
    args += ["--eval-every", "300", "--eval-episodes", "1", "--buffer-size", "1000"]
    assert main(["train", *args, "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "ds-td3 on HalfCheetah-v5" in out and "steps/s" in out
    evaluations = read_csv(run_dir / "evaluations.csv")
    assert [row["step"] for row in evaluations] == ["0", "300"]
    # The paper's HalfCheetah sparsity: ~51% of actor + critic weights are gone.
    progress = read_csv(run_dir / "progress.csv")
    assert [row["step"] for row in progress] == ["300"]  # the final, off-grid row
    assert 0.49 < float(progress[-1]["topology/sparsity"]) < 0.53
    # No episode ended (they last 1,000 steps), so no checkpoint yet; the policy is saved.
    assert not (run_dir / "checkpoint.npz").exists()
    assert main(["evaluate", str(run_dir), "--episodes", "1"]) == 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))


class Terminal(io.StringIO):
    """Captured output that says it is a terminal, so progress lines are redrawn in place."""

    def isatty(self) -> bool:
        return True


def test_the_progress_line_is_ended_before_anything_else_prints(tmp_path):
    config = TrainConfig(
        env="Pendulum-v1", hidden=(32, 32), steps=450, start_steps=200, eval_every=150,
        eval_episodes=1, log_every=100, buffer_size=1000,
    )  # fmt: skip
    out = Terminal()
    trainer = Trainer.start(config, tmp_path / "run", out=out)
    trainer.run()
    assert not out.getvalue().endswith("\n")  # the last progress row was redrawn in place
    trainer.end_line()
    assert out.getvalue().endswith("\n")
    assert (tmp_path / "run" / "curve.png").is_file()  # drawn at every evaluation


def test_speedometer_keeps_one_rate_per_phase(monkeypatch):
    """Random steps are ~30x faster than training steps: the ETA must not mix them."""
    now = [0.0]
    monkeypatch.setattr(logger.time, "perf_counter", lambda: now[0])
    speed = Speedometer(start_steps=1000, total_steps=3000)
    now[0] = 1.0
    speed.window(1000)  # 1,000 random steps in 1 s
    assert speed.rate(999) == 1000.0  # the random phase's rate
    assert speed.rate(1000) is None and speed.eta(1000) is None  # training not measured yet
    now[0] = 11.0
    speed.window(1500)  # 500 training steps in 10 s
    assert speed.rate(1500) == 50.0 and speed.eta(1500) == 1500 / 50.0
    now[0] = 12.0
    speed.window(2000)  # a fast window moves the average only part of the way
    assert 50.0 < speed.rate(2000) < 500.0
    assert speed.eta(3000) == 0.0  # a finished run has nothing left
    assert Speedometer(start_steps=1000, total_steps=3000).eta(3000) == 0.0  # even unmeasured


@pytest.mark.parametrize("command", ["train", "demo", "evaluate", "video"])
def test_every_computing_command_limits_blas_threads(command, monkeypatch):
    from minidst.cli import _limit_blas_threads

    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    _limit_blas_threads([command, "x"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "1"


def test_evaluate_needs_a_positive_episode_count(uninterrupted, capsys):
    for episodes in ("0", "-3"):
        code, err = run_cli(["evaluate", str(uninterrupted), "--episodes", episodes], capsys)
        assert code == 2 and "--episodes: must be >= 1" in err and "\n" not in err


def test_ctrl_c_while_mujoco_loads_is_an_interruption(monkeypatch, tmp_path, capsys):
    import gymnasium

    def interrupted_import(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as error:
            raise gymnasium.error.DependencyNotInstalled("MuJoCo is not installed") from error

    monkeypatch.setattr(gymnasium, "make", interrupted_import)
    code, err = run_cli(["train", "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 130 and "interrupted" in err and "not installed" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and "minidst 0.1.0" in capsys.readouterr().out


def test_mujoco_warnings_stay_out_of_the_way(tmp_path, monkeypatch, capfd):
    """HalfCheetah's harmless model warning neither prints nor writes MUJOCO_LOG.TXT; any other
    MuJoCo warning still reaches the user."""
    from minidst.envs import _mujoco_warning, make_env

    monkeypatch.chdir(tmp_path)
    make_env("HalfCheetah-v5").close()
    assert "settotalmass" not in capfd.readouterr().err
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
    with pytest.warns(RuntimeWarning, match="MuJoCo: something else"):
        _mujoco_warning("something else")


# --------------------------------------------------------------------------------------------
# Glue between the parts: what a wrong line in the loop would change without failing elsewhere
# --------------------------------------------------------------------------------------------
def test_a_resume_across_the_end_of_training_freeze_stays_frozen(tmp_path, monkeypatch):
    """--freeze-last 500 of 1,200 freezes at step 700; a run stopped after that (checkpoint at
    the episode end at 800) and resumed must not rewire again: the frozen flag is restored."""
    settings = [*SMALL, "--freeze-last", "500", "--steps", str(TOTAL)]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["train", *settings, "--run-dir", str(straight)]) == 0
    rows = read_csv(straight / "progress.csv")
    pruned = [int(r["step"]) for r in rows if float(r.get("topology/actor_l2_pruned") or 0)]
    assert pruned and max(pruned) == 800  # the freeze's last prune (step 700) is in the 800 row
    learn = Trainer._learn

    def learn_then_ask_to_stop(trainer):  # as Ctrl-C at step 750 would
        learn(trainer)
        trainer.stop_requested = trainer.stop_requested or trainer.step == 750

    monkeypatch.setattr(Trainer, "_learn", learn_then_ask_to_stop)
    assert main(["train", *settings, "--run-dir", str(stopped)]) == 130
    monkeypatch.undo()
    state, meta = load_checkpoint(stopped / "checkpoint.npz")
    assert meta["step"] == 800 and state["agent"]["frozen"]
    assert main(["train", "--resume", str(stopped), "--quiet"]) == 0
    assert_same_run(straight, stopped)


def test_the_cosine_drop_fraction_runs_on_training_iterations(tmp_path):
    """Iteration i (env step 200 + i) rewires when i % 100 == 2, with zeta / 2 * (1 + cos(pi *
    i / 1000)): 1,000 training iterations in a 1,200-step run with 200 random steps first."""
    run_dir = tmp_path / "cosine"
    settings = [*SMALL, "--schedule", "cosine", "--drop-fraction", "0.2", "--rewire-every",
                "100", "--log-every", "100", "--steps", str(TOTAL),
                "--run-dir", str(run_dir)]  # fmt: skip
    assert main(["train", *settings]) == 0
    rows = {int(r["step"]): r for r in read_csv(run_dir / "progress.csv")}
    for iteration in range(2, 1000, 100):
        row = rows[200 + iteration + 98]  # the row of the window that holds that iteration
        expected = 0.1 * (1 + np.cos(np.pi * iteration / 1000))
        assert float(row["topology/drop_fraction"]) == pytest.approx(expected), iteration


def test_random_start_actions_fill_the_action_box(tmp_path):
    """Pendulum's torque is bounded by 2: the random start (all but the last of 400 steps)
    must use the whole [-2, 2]."""
    run_dir = tmp_path / "random-start"
    assert main(["train", *SMALL, "--steps", "400", "--start-steps", "399",
                 "--run-dir", str(run_dir)]) == 0  # fmt: skip
    actions = load_checkpoint(run_dir / "checkpoint.npz")[0]["buffer"]["action"]
    assert 1.9 < np.abs(actions).max() <= 2.0
    assert abs(np.mean(np.abs(actions)) - 1.0) < 0.1  # uniform on [-2, 2]: mean |a| = 1


def test_terminations_are_stored_as_terminal(tmp_path):
    """Hopper falls within tens of random steps: every episode that ends before the time limit
    ends by termination, and exactly its last transition is stored as terminal."""
    run_dir = tmp_path / "hopper"
    assert main(["train", "--algo", "td3", "--env", "Hopper-v5", "--hidden", "16,16",
                 "--steps", "300", "--start-steps", "299", "--eval-every", "300",
                 "--eval-episodes", "1", "--log-every", "100", "--run-dir", str(run_dir),
                 "--quiet"]) == 0  # fmt: skip
    state, meta = load_checkpoint(run_dir / "checkpoint.npz")
    terminated = state["buffer"]["terminated"][:, 0]
    ends = np.flatnonzero(terminated)
    assert len(ends) == meta["episodes"] >= 3
    assert ends[-1] == meta["step"] - 1  # checkpoints are taken at episode ends


def test_evaluation_draws_nothing_and_repeats_exactly(tmp_path):
    """evaluate() runs the deterministic policy: the agent's generator is untouched, and one
    seed gives the same returns twice."""
    from minidst.envs import make_env
    from minidst.train import evaluate

    config = TrainConfig(algo="ds-td3", env="Pendulum-v1", hidden=(32, 32), sparsity=0.7,
                         start_steps=100, steps=300, buffer_size=300).validate()  # fmt: skip
    trainer = Trainer(config, tmp_path / "unused", out=None)
    before = trainer.agent.rng.bit_generator.state
    env = make_env("Pendulum-v1")
    first = evaluate(trainer.agent, env, seed=100, episodes=2)
    second = evaluate(trainer.agent, env, seed=100, episodes=2)
    np.testing.assert_array_equal(first, second)
    assert trainer.agent.rng.bit_generator.state == before
    assert not np.array_equal(first, evaluate(trainer.agent, env, seed=7, episodes=2))


def test_a_custom_env_in_module_form_trains(tmp_path, monkeypatch, capsys):
    """gymnasium's "module:Env-v0" ids: the module registers the env when imported."""
    (tmp_path / "my_envs.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyPendulum-v0', max_episode_steps=200,\n"
        "             entry_point='gymnasium.envs.classic_control.pendulum:PendulumEnv')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    run_dir = tmp_path / "custom"
    args = [*SMALL, "--env", "my_envs:MyPendulum-v0", "--steps", "400", "--run-dir", str(run_dir)]
    assert main(["train", *args]) == 0
    assert json.loads((run_dir / "config.json").read_text())["config"]["env"] == (
        "my_envs:MyPendulum-v0"
    )
    code, err = run_cli(["train", *SMALL, "--env", "no_such_module:X-v0"], capsys)
    assert code == 2 and "cannot import 'no_such_module'" in err and "\n" not in err


def test_training_draws_its_curve_to_file_and_never_inline(tmp_path, monkeypatch):
    """In a notebook, a run's curve.png redrawn at every evaluation must not pile up under the
    cell; plot_runs called by the reader still shows its figure."""
    import minidst.plot

    shown = []
    monkeypatch.setattr(minidst.plot, "show_inline", shown.append)
    run_dir = tmp_path / "run"
    assert main(["train", *SMALL, "--steps", "800", "--run-dir", str(run_dir)]) == 0
    assert (run_dir / "curve.png").stat().st_size > 1000 and shown == []
    minidst.plot.plot_runs([run_dir], tmp_path / "again.png")
    assert len(shown) == 1
