"""minidst sweep on tiny real runs (Pendulum-v1, a few hundred steps each): a grid runs in
separate processes; rerunning skips finished runs and resumes unfinished ones; a crash is
reported while the others go on; a changed sweep is refused; Ctrl-C stops every run at a
checkpoint."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minidst import rundir
from minidst.cli import main
from minidst.config import TrainConfig
from minidst.sweep import SweepSpec, cell_state, parse_seeds

OPTIONS = [
    "--env", "Pendulum-v1", "--hidden", "16,16", "--sparsity", "0.7", "--start-steps", "200",
    "--eval-every", "200", "--eval-episodes", "1", "--log-every", "200", "--buffer-size", "2000",
    "--rewire-every", "50", "--checkpoint-every", "200",
]  # fmt: skip
GRID = ["--algo", "td3", "ds-td3", "--seeds", "0-1", "--steps", "400"]


def sweep(sweep_dir, *extra, capsys=None):
    code = main(["sweep", *GRID, *OPTIONS, "--sweep-dir", str(sweep_dir), "--jobs", "2", *extra])
    out = capsys.readouterr() if capsys else None
    return code, out


def small_files(sweep_dir):
    return {
        path.relative_to(sweep_dir): path.read_bytes()
        for path in sorted(sweep_dir.rglob("*"))
        if path.name in (rundir.CONFIG, rundir.EVALUATIONS, rundir.PROGRESS)
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    sweep_dir = tmp_path_factory.mktemp("sweeps") / "grid"
    code, _ = sweep(sweep_dir)
    assert code == 0
    return sweep_dir


def test_a_grid_runs_every_cell_in_its_own_directory(finished):
    assert json.loads((finished / "sweep.json").read_text())["algos"] == ["td3", "ds-td3"]
    for algo in ("td3", "ds-td3"):
        for seed in (0, 1):
            run_dir = finished / "Pendulum-v1" / algo / f"seed{seed}"
            config = rundir.read_config(run_dir)
            assert (config.algo, config.seed, config.steps) == (algo, seed, 400)
            assert (config.sparsity is None) == (algo == "td3")  # --sparsity: sparse algos only
            assert rundir.read_evaluations(run_dir)[0][-1] == 400


def test_rerunning_skips_finished_runs(finished, capsys):
    before = small_files(finished)
    code, out = sweep(finished, capsys=capsys)
    assert code == 0 and "4 done, 0 to resume, 0 to start" in out.out
    assert small_files(finished) == before
    # The sweep directory alone reruns the sweep it records.
    assert main(["sweep", "--sweep-dir", str(finished), "--quiet"]) == 0


def test_finished_runs_are_recognised_from_their_small_files(finished, tmp_path, capsys):
    kept = tmp_path / "kept"
    shutil.copytree(finished, kept, ignore=shutil.ignore_patterns("*.npz", "*.png", "*.log"))
    code, out = sweep(kept, capsys=capsys)
    assert code == 0 and "4 done" in out.out
    assert not list(kept.rglob("checkpoint.npz"))  # nothing had to run again


def test_a_changed_sweep_is_refused_unless_allowed(finished, tmp_path, capsys):
    extended = tmp_path / "extended"
    shutil.copytree(finished, extended)
    code = main(["sweep", *GRID[:-1], "600", *OPTIONS, "--sweep-dir", str(extended)])
    err = capsys.readouterr().err
    assert code == 2 and "holds another sweep" in err and "options" in err and "\n" not in err[:-1]
    # Allowed, the same runs continue from their checkpoints to the new length.
    code = main(["sweep", *GRID[:-1], "600", *OPTIONS, "--sweep-dir", str(extended),
                 "--allow-changes", "--quiet"])  # fmt: skip
    assert code == 0
    assert rundir.read_evaluations(extended / "Pendulum-v1" / "td3" / "seed0")[0][-1] == 600


def test_a_crashed_run_is_reported_and_the_others_go_on(tmp_path, capsys):
    sweep_dir = tmp_path / "crash"
    broken = sweep_dir / "Pendulum-v1" / "td3" / "seed0"
    # A run of this sweep's settings whose checkpoint is garbage: its process will fail.
    dense = OPTIONS.copy()
    del dense[dense.index("--sparsity") : dense.index("--sparsity") + 2]
    assert main(["train", "--algo", "td3", *dense, "--steps", "400", "--run-dir", str(broken),
                 "--quiet"]) == 0  # fmt: skip
    config = json.loads((broken / "config.json").read_text())
    config["config"]["steps"] = 200  # ... and unfinished
    (broken / "config.json").write_text(json.dumps(config))
    (broken / "checkpoint.npz").write_bytes(b"not a checkpoint")
    code, out = sweep(sweep_dir, capsys=capsys)
    assert code == 1
    assert "failed" in out.out and "td3/seed0" in out.out and "3 done" in out.out
    assert "corrupt" in (broken / "train.log").read_text()
    assert cell_state(rundir.read_config(sweep_dir / "Pendulum-v1" / "ds-td3" / "seed1"),
                      sweep_dir / "Pendulum-v1" / "ds-td3" / "seed1") == "done"  # fmt: skip


def test_ctrl_c_stops_every_run_at_a_checkpoint_and_a_rerun_finishes(finished, tmp_path):
    sweep_dir = tmp_path / "interrupted"
    grid = [*GRID[:-1], "1200"]
    command = [sys.executable, "-m", "minidst.cli", "sweep", *grid, *OPTIONS, "--sweep-dir",
               str(sweep_dir), "--jobs", "2"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(sweep_dir.rglob("checkpoint.npz")) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 130, out
    stopped = [path.parent for path in sweep_dir.rglob("checkpoint.npz")]
    assert stopped and all(rundir.read_evaluations(run)[0][-1] < 1200 for run in stopped)
    assert main(["sweep", *grid, *OPTIONS, "--sweep-dir", str(sweep_dir), "--quiet"]) == 0
    for run in stopped:
        assert rundir.read_evaluations(run)[0][-1] == 1200
        assert "resuming" in (run / "train.log").read_text()  # continued, not started over


@pytest.mark.parametrize(
    ("text", "seeds"), [("0-4", [0, 1, 2, 3, 4]), ("0,2,5", [0, 2, 5]), ("3", [3])]
)
def test_seed_ranges(text, seeds):
    assert parse_seeds(text) == seeds


def test_a_sweep_file_gives_the_same_grid(tmp_path):
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        'algos = ["td3", "ds-td3"]\nenvs = ["Pendulum-v1"]\nseeds = "0-1"\n'
        "[options]\nsteps = 400\nstart_steps = 200\nhidden = [16, 16]\nsparsity = 0.7\n"
    )
    from minidst.sweep import read_spec_file

    parsed = read_spec_file(spec)
    assert parsed == SweepSpec(["td3", "ds-td3"], ["Pendulum-v1"], [0, 1],
                               {"steps": 400, "start_steps": 200, "hidden": (16, 16),
                                "sparsity": 0.7})  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "ppo"], "unknown algo"),
        (["--seeds", "a-b"], "seeds must look like"),
        (["--lr", "-1"], "--lr must be >= 0"),
        (["--file", "x.json", "--algo", "td3"], "either as --file or as options"),
        (["--algo", "td3", "ds-td3", "--target-update-every", "1000"], "a SAC option"),
        (["--ray-logs"], "--address and --ray-logs are for --engine ray"),
    ],
)
def test_bad_sweeps_are_one_line_errors(args, message, tmp_path, capsys):
    assert main(["sweep", *args, "--sweep-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_a_grid_of_both_families_runs_with_the_options_of_either(tmp_path, capsys):
    """Each run reads its own family's options, so a mixed grid may set both, and each run
    gets (and records) only its own."""
    sweep_dir = tmp_path / "mixed"
    code = main(["sweep", "--algo", "td3", "sac", "--seeds", "0", "--steps", "400", *OPTIONS,
                 "--alpha", "0.1", "--policy-noise", "0.3", "--sweep-dir", str(sweep_dir),
                 "--jobs", "2", "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    td3 = rundir.read_config(sweep_dir / "Pendulum-v1" / "td3" / "seed0")
    sac = rundir.read_config(sweep_dir / "Pendulum-v1" / "sac" / "seed0")
    assert (td3.policy_noise, sac.alpha) == (0.3, 0.1)
    assert td3.alpha == TrainConfig.alpha and sac.policy_noise == TrainConfig.policy_noise


def test_the_ray_engine_without_ray_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    code = main(["sweep", *GRID, *OPTIONS, "--sweep-dir", str(tmp_path / "s"), "--engine", "ray"])
    err = capsys.readouterr().err
    assert code == 2 and 'pip install "minidst[ray]"' in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_a_cell_named_twice_is_one_run():
    spec = SweepSpec(["td3", "td3", "ds-td3"], ["Pendulum-v1", "Pendulum-v1"], [0, 0, 1],
                     {"steps": 400, "start_steps": 200})  # fmt: skip
    assert spec.algos == ["td3", "ds-td3"] and spec.envs == ["Pendulum-v1"]
    assert spec.seeds == [0, 1]
    directories = [run_dir for _, run_dir in spec.cells(Path("grid"))]
    assert len(directories) == len(set(directories)) == 4


def test_a_run_directory_has_one_writer(tmp_path, capsys):
    """A second process on a run directory that one is writing gets a one-line error and
    changes nothing; the lock goes when its holder ends, even by kill -9."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from minidst import rundir; "
         f"held = rundir.lock({str(run_dir)!r}); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        args = ["train", *OPTIONS, "--algo", "ds-td3", "--steps", "400", "--run-dir", str(run_dir)]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"being written by another minidst process (pid {holder.pid})" in err
        assert err.count("\n") == 1 and sorted(p.name for p in run_dir.iterdir()) == [".lock"]
        assert main(["train", "--resume", str(run_dir)]) == 2  # resuming is writing too
    finally:
        holder.kill()
        holder.wait()
    assert main([*args, "--quiet"]) == 0  # the killed holder left no stale lock


@pytest.mark.parametrize(
    "text, message",
    [
        ('algos = ["td3"]\nenvs = ["Pendulum-v1"]\n[options]\nlearning_rate = 0.1\n',
         "unknown option 'learning_rate'"),
        ('algos = "td3"\nenvs = ["Pendulum-v1"]\n', "algos must be a list of names"),
        ('algos = ["td3"]\nenvs = ["Pendulum-v1"]\nseeds = [0.5]\n', "seeds must be a list"),
        ('algos = ["td3"]\nenvs = ["Pendulum-v1"]\n[options]\nsteps = "many"\n',
         "option steps must be of type int"),
        ('algos = ["td3"]\nenvs = ["Pendulum-v1"]\n[options]\nhidden = "a,b"\n',
         "option hidden must be widths"),
        ('algo = ["td3"]\n', "unknown sweep entries: algo"),
    ],
)  # fmt: skip
def test_a_bad_sweep_file_says_what_is_expected(text, message, tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text(text)
    assert main(["sweep", "--file", str(spec), "--sweep-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "__init__" not in err


def test_sweep_files_are_toml_or_json_and_hidden_may_be_text(tmp_path, capsys):
    from minidst.sweep import read_spec_file

    (tmp_path / "sweep.yaml").write_text("algos: [td3]\n")
    assert main(["sweep", "--file", str(tmp_path / "sweep.yaml"), "--sweep-dir", "x"]) == 2
    assert "a sweep file is .toml or .json" in capsys.readouterr().err
    spec = tmp_path / "sweep.json"
    options = {"hidden": "64,64", "steps": 400, "start_steps": 200, "lr": 1}
    spec.write_text(
        json.dumps({"algos": ["td3"], "envs": ["Pendulum-v1"], "seeds": [0], "options": options})
    )
    options = read_spec_file(spec).options
    assert options["hidden"] == (64, 64) and options["lr"] == 1.0


def test_an_unknown_env_is_refused_before_the_sweep_is_recorded(tmp_path, capsys):
    sweep_dir = tmp_path / "s"
    args = ["sweep", "--algo", "td3", "--env", "NoSuchEnv-v1", "--steps", "400",
            "--start-steps", "200", "--sweep-dir", str(sweep_dir)]  # fmt: skip
    assert main(args) == 2
    assert "unknown environment id" in capsys.readouterr().err
    assert not (sweep_dir / "sweep.json").exists()
