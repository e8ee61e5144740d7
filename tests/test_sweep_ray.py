"""minidst sweep --engine ray on a real local Ray instance with 2 CPUs: the grid completes, and a
run whose worker is killed mid-run is retried, resumes from its checkpoint, and ends with
exactly the files of a run that never stopped; a sweep joining that instance prints none of
Ray's own log lines; an address where no Ray cluster listens fails at once, with one line."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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


#: ``minidst`` as a command, in a process of its own: Ray keeps state per process, and a
#: connection that hangs must not hang the tests (``subprocess.run(..., timeout=...)``).
MINIDST = [sys.executable, "-c", "import sys; from minidst.cli import main; sys.exit(main())"]
#: A tiny sweep: one run of a few hundred steps.
TINY_SWEEP = [
    "sweep", "--engine", "ray", "--algo", "td3", "--env", "Pendulum-v1", "--seeds", "0",
    "--steps", "400", "--start-steps", "200", "--hidden", "16,16", "--eval-every", "400",
    "--eval-episodes", "1", "--log-every", "200", "--buffer-size", "1000",
]  # fmt: skip
#: How Ray's log lines begin: a timestamp (``2026-01-02 03:04:05,678\tINFO worker.py:...``,
#: ``[2026-01-02 03:04:05,678 W 123 456] gcs_client.cc:...``), or a worker's name
#: (``(raylet) ...``, ``(train_in_process pid=123) ...``).
RAY_LOG_LINE = re.compile(r"\[?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\(\w+( pid=\d+)?\) ")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """A local Ray instance with 2 CPUs, for this process and others to join: its address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
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


def test_a_sweep_prints_none_of_rays_log_lines(local_ray, tmp_path):
    done = subprocess.run(
        [*MINIDST, *TINY_SWEEP, "--address", local_ray, "--sweep-dir", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, done.stderr
    assert [line for line in lines if RAY_LOG_LINE.match(line)] == []
    assert lines[-1] == f"sweep {tmp_path / 's'}: 1 done"


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_where_nothing_listens_fails_at_once_with_one_line(scheme, tmp_path):
    with socket.socket() as taken:  # a port of this machine's that nobody listens on
        taken.bind(("127.0.0.1", 0))
        address = f"{scheme}127.0.0.1:{taken.getsockname()[1]}"
        start = time.monotonic()
        failed = subprocess.run(
            [*MINIDST, *TINY_SWEEP, "--address", address, "--sweep-dir", str(tmp_path / "s")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        seconds = time.monotonic() - start
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith(f"minidst: error: cannot reach a Ray cluster at {address} ")
    assert "ray start --head" in failed.stderr and failed.stderr.count("\n") == 1
    assert seconds < 30  # it fails at once, in Python's start-up time and not Ray's retries
    assert not (tmp_path / "s").exists()  # nothing is written for a sweep that cannot run
