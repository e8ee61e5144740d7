"""minidst sweep --engine ray on a real local Ray instance with 2 CPUs: the grid completes, and a
run whose worker is killed mid-run is retried, resumes from its checkpoint, and ends with
exactly the files of a run that never stopped."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import ray
from conftest import assert_same_run

from minidst.cli import main
from minidst.sweep import RayEngine, SweepSpec, run_sweep

OPTIONS = {
    "hidden": (16, 16), "sparsity": 0.7, "start_steps": 200, "eval_every": 400,
    "eval_episodes": 1, "log_every": 200, "buffer_size": 3000, "rewire_every": 50,
    "checkpoint_every": 200, "steps": 2400,
}  # fmt: skip


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def process_writing(path: Path) -> int | None:
    """The PID of the process that holds ``path`` open (the Ray worker training that run)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) == str(path) for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


def test_a_killed_worker_is_retried_and_its_run_resumes_exactly(local_ray, tmp_path):
    straight = tmp_path / "straight"
    flags = []
    for name, value in OPTIONS.items():
        value = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        flags += [f"--{name.replace('_', '-')}", value]
    assert main(["train", "--algo", "ds-td3", "--env", "Pendulum-v1", *flags,
                 "--run-dir", str(straight), "--quiet"]) == 0  # fmt: skip

    sweep_dir = tmp_path / "sweep"
    spec = SweepSpec(["ds-td3"], ["Pendulum-v1"], [0, 1], OPTIONS)
    result = {}
    sweeping = threading.Thread(
        target=lambda: result.update(run_sweep(spec, sweep_dir, RayEngine(out=None), out=None))
    )
    sweeping.start()
    victim = (sweep_dir / "Pendulum-v1" / "ds-td3" / "seed0").resolve()
    deadline = time.monotonic() + 120
    while not (victim / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = process_writing(victim / "train.log")
    assert worker is not None, "no process is training the run"
    os.kill(worker, signal.SIGKILL)
    sweeping.join(timeout=300)
    assert result == {
        sweep_dir / "Pendulum-v1" / "ds-td3" / f"seed{seed}": "done" for seed in (0, 1)
    }
    assert (victim / "train.log").read_text().count("resuming") == 1  # the retry resumed
    assert_same_run(straight, victim)
