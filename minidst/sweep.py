"""Sweeps: a grid of runs (algorithms x environments x seeds), each in its own run directory,
started, resumed or skipped as its files say, a few at a time, in separate processes.

A sweep directory holds ``sweep.json`` (the grid and the options shared by every run) and one
run directory per cell, ``<env>/<algo>/seed<k>/``. What a cell needs is read from its small files
alone (``config.json``, ``evaluations.csv``, ``progress.csv``; see :func:`cell_state`), so a
sweep's results can be kept without checkpoints or replay buffers and still count as done.

Running the same sweep again is always safe: finished runs are skipped, unfinished ones resume
from their checkpoints, and a run that crashed is reported with its log while the others go on.
Changing the grid or the shared options of an existing sweep is refused unless asked for
(``--allow-changes``): a sweep's runs should differ only in their cell.

An engine runs the jobs, ``engine.run(jobs) -> statuses``: :class:`LocalEngine` (separate
processes on this machine, ``--jobs`` at a time, the default) or :class:`RayEngine` (Ray tasks on
a cluster, or a local Ray instance; ``--engine ray``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from minidst import rundir
from minidst.config import ALGORITHMS, TrainConfig, check_family_options, foreign_options
from minidst.logger import format_duration

SPEC_FILE = "sweep.json"
#: Settings that say how a run executes, not what it computes: they may differ within a sweep.
EXECUTION_SETTINGS = ("threads", "update_engine")
LOG_FILE = "train.log"


@dataclass
class SweepSpec:
    """The grid (``algos x envs x seeds``) and the settings every run shares (``options``, any
    :class:`~minidst.config.TrainConfig` field but ``algo``, ``env`` and ``seed``)."""

    algos: list[str]
    envs: list[str]
    seeds: list[int]
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("algos", "envs", "seeds"):
            if not getattr(self, name):
                raise ValueError(f"a sweep needs at least one of {name}")
        unknown = [algo for algo in self.algos if algo not in ALGORITHMS]
        if unknown:
            raise ValueError(f"unknown algo {unknown[0]!r}; choose from {', '.join(ALGORITHMS)}")
        fixed = {"algo", "env", "seed"} & set(self.options)
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} are the grid's, not shared options")
        check_family_options(self.algos, set(self.options))
        # A cell named twice (--algo td3 td3, --seeds 0,0) is one run directory: run it once.
        self.algos = list(dict.fromkeys(self.algos))
        self.envs = list(dict.fromkeys(self.envs))
        self.seeds = list(dict.fromkeys(int(seed) for seed in self.seeds))
        self.cells(Path("."))  # validates every setting of every run, before anything runs
        from minidst.envs import check_env_id  # gymnasium loads only once a sweep is real

        for env in self.envs:
            check_env_id(env)  # an unknown id fails here, before sweep.json is written

    def cells(self, sweep_dir: Path) -> list[tuple[TrainConfig, Path]]:
        """``(config, run_dir)`` of every run, seeds outermost (so early seeds finish first).

        ``--sparsity`` applies to the sparse algorithms only: a grid may compare dense TD3 with
        DS-TD3 at 90% sparsity."""
        cells = []
        for seed in self.seeds:
            for env in self.envs:
                for algo in self.algos:
                    # A grid of both families shares the options of each: a run takes its own.
                    options = {
                        name: value
                        for name, value in self.options.items()
                        if name not in foreign_options(algo)
                    }
                    if not TrainConfig(algo=algo).sparse:
                        options.pop("sparsity", None)
                    config = TrainConfig(algo=algo, env=env, seed=seed, **options).validate()
                    cells.append((config, Path(sweep_dir) / env / algo / f"seed{seed}"))
        return cells

    def to_dict(self) -> dict:
        options = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self.options.items()
        }
        return {"algos": self.algos, "envs": self.envs, "seeds": self.seeds, "options": options}

    @classmethod
    def from_dict(cls, values: dict) -> SweepSpec:
        """A spec from a sweep file's (or ``sweep.json``'s) entries, each checked for its
        name and type with a one-line ValueError that says what is expected."""
        unknown = set(values) - {"algos", "envs", "seeds", "options"}
        if unknown:
            raise ValueError(
                f"unknown sweep entries: {', '.join(sorted(unknown))} (expected algos, envs, "
                "seeds and an options table)"
            )
        lists = {}
        for name in ("algos", "envs"):
            entry = values.get(name, [])
            if not isinstance(entry, list) or not all(isinstance(x, str) for x in entry):
                raise ValueError(f'sweep entry {name} must be a list of names, e.g. ["td3"]')
            lists[name] = entry
        seeds = values.get("seeds", [])
        if isinstance(seeds, str):
            seeds = parse_seeds(seeds)
        elif not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
            raise ValueError('sweep entry seeds must be a list of integers or a range like "0-4"')
        options = dict(values.get("options", {}))
        fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise ValueError(
                f"unknown option {unknown[0]!r} in the sweep's options (train options, e.g. "
                "lr, steps, hidden; see minidst train --help)"
            )
        if "hidden" in options:
            hidden = options["hidden"]
            if isinstance(hidden, str):
                hidden = hidden.split(",")
            try:
                options["hidden"] = tuple(int(width) for width in hidden)
            except (TypeError, ValueError):
                raise ValueError("option hidden must be widths, e.g. [256, 256]") from None
        for name, value in options.items():
            default = fields[name].default
            wanted = type(default) if default is not None and name != "hidden" else None
            if wanted is float and isinstance(value, int) and not isinstance(value, bool):
                options[name] = float(value)
            elif wanted is not None and not isinstance(value, wanted):
                raise ValueError(f"option {name} must be of type {wanted.__name__}, got {value!r}")
        return cls(lists["algos"], lists["envs"], seeds, options)


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,2,5"`` -> ``[0, 2, 5]``."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            seeds += range(int(first), int(last or first) + 1)
    except ValueError:
        raise ValueError(f"seeds must look like 0-4 or 0,2,5, got {text!r}") from None
    return seeds


def read_spec_file(path: str | Path) -> SweepSpec:
    """A sweep from a ``.json`` or ``.toml`` file: ``algos``, ``envs``, ``seeds`` and an
    ``options`` table."""
    path = Path(path)
    if path.suffix not in (".toml", ".json"):
        raise ValueError(f"a sweep file is .toml or .json, got {path.name}")
    try:
        if path.suffix == ".toml":
            import tomllib

            values = tomllib.loads(path.read_text())
        else:
            values = json.loads(path.read_text())
    except ImportError:
        raise ValueError("TOML sweep files need Python 3.11+; write it as JSON") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read sweep file {path}: {error}") from None
    return SweepSpec.from_dict(values)


# --------------------------------------------------------------------------------------------
# What each cell needs
# --------------------------------------------------------------------------------------------
def comparable(config: TrainConfig) -> dict:
    """A config's settings that must agree across a sweep (all but steps and execution)."""
    values = config.to_dict()
    for name in ("steps", *EXECUTION_SETTINGS):
        values.pop(name)
    return values


def last_step(path: Path) -> int | None:
    """The ``step`` of the last row of a run's CSV file, reading only its end."""
    try:
        with open(path, "rb") as file:
            header = file.readline().decode().strip().split(",")
            file.seek(0, os.SEEK_END)
            file.seek(max(file.tell() - 4096, 0))
            lines = file.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return None
    if len(lines) < 2 or "step" not in header:
        return None
    try:
        return int(lines[-1].split(",")[header.index("step")])
    except (ValueError, IndexError):
        return None


def cell_state(config: TrainConfig, run_dir: Path) -> str:
    """What a cell needs, from its files: ``"done"``, ``"resume"`` (a checkpoint to continue
    from, possibly to more steps), ``"start"`` (nothing yet, or nothing resumable), or
    ``"foreign"`` (its ``config.json`` is another run's)."""
    if not (run_dir / rundir.CONFIG).is_file():
        return "start"
    try:
        recorded = rundir.read_config(run_dir)
    except ValueError:
        return "foreign"
    if comparable(recorded) != comparable(config) or recorded.steps > config.steps:
        return "foreign"
    finished = recorded.steps == config.steps and all(
        last_step(run_dir / name) == config.steps for name in (rundir.EVALUATIONS, rundir.PROGRESS)
    )
    if finished:
        return "done"
    return "resume" if (run_dir / rundir.CHECKPOINT).is_file() else "start"


@dataclass
class Job:
    """One run to start or resume: its settings, its directory and the command that runs it."""

    config: TrainConfig
    run_dir: Path
    state: str  # "start" or "resume"

    def command(self) -> list[str]:
        """The ``minidst train`` command for the cell as its files are *now* (a job launched
        again after its process died resumes from the checkpoint that process left)."""
        self.state = cell_state(self.config, self.run_dir)
        train = [sys.executable, "-m", "minidst.cli", "train"]
        if self.state == "resume":
            return [*train, "--resume", str(self.run_dir), "--steps", str(self.config.steps)]
        flags = []
        foreign = foreign_options(self.config.algo)  # at their defaults; train refuses them
        for name, value in self.config.to_dict().items():
            if value is None or name in foreign:
                continue
            if isinstance(value, (tuple, list)):
                value = ",".join(map(str, value))
            flags += ["--" + name.replace("_", "-"), str(value)]
        return [*train, *flags, "--run-dir", str(self.run_dir), "--overwrite"]

    def steps_done(self) -> int:
        return last_step(self.run_dir / rundir.PROGRESS) or 0


def plan(spec: SweepSpec, sweep_dir: str | Path, allow_changes: bool = False) -> list:
    """Check ``sweep_dir`` against ``spec`` and list every cell's ``(config, run_dir, state)``.

    Records the spec in ``sweep.json`` (a new sweep, or a change that ``allow_changes`` accepts).
    Raises a one-line ValueError for a changed sweep, or for runs that belong to another one.
    """
    sweep_dir = Path(sweep_dir)
    spec_path = sweep_dir / SPEC_FILE
    if spec_path.is_file():
        try:
            recorded = SweepSpec.from_dict(json.loads(spec_path.read_text()))
        except (ValueError, TypeError) as error:
            raise ValueError(f"{spec_path} is corrupt: {error}") from None
        if recorded.to_dict() != spec.to_dict() and not allow_changes:
            changed = [
                key for key, value in spec.to_dict().items() if recorded.to_dict()[key] != value
            ]
            raise ValueError(
                f"{sweep_dir} holds another sweep (its {', '.join(changed)} differ); rerun it "
                f"as recorded in {spec_path}, or pass --allow-changes to change it"
            )
    cells = [
        (config, run_dir, cell_state(config, run_dir)) for config, run_dir in spec.cells(sweep_dir)
    ]
    foreign = [run_dir for _, run_dir, state in cells if state == "foreign"]
    if foreign:
        raise ValueError(
            f"{foreign[0]} holds a run with other settings than this sweep's "
            f"({len(foreign)} such run(s)); move them away or use another --sweep-dir"
        )
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    except OSError as error:
        raise ValueError(f"cannot write to sweep directory {sweep_dir}: {error.strerror}") from None
    return cells


# --------------------------------------------------------------------------------------------
# Running jobs on this machine
# --------------------------------------------------------------------------------------------
class LocalEngine:
    """Runs jobs as separate ``minidst train`` processes, ``jobs`` at a time.

    Each process gets one BLAS and one Numba thread (its ``--threads``), its output goes to
    ``train.log`` in its run directory, and it starts in its own session, so a Ctrl-C at the
    terminal reaches only the sweep, which then asks every run to stop at its next checkpoint
    (one SIGINT each, as a first Ctrl-C would).
    """

    def __init__(self, jobs: int, out=sys.stdout, poll_seconds: float = 1.0):
        if jobs < 1:
            raise ValueError(f"--jobs must be positive, got {jobs}")
        self.jobs, self.out, self.poll_seconds = jobs, out, poll_seconds

    def run(self, jobs: list[Job]) -> dict[Path, str]:
        """Run every job; returns ``{run_dir: "done" | "failed" | "stopped"}``."""
        waiting = list(jobs)
        running: dict[Path, tuple[Job, subprocess.Popen]] = {}
        statuses: dict[Path, str] = {}
        stopping = False
        progress = SweepProgress(jobs, self.out)

        def ask_to_stop(signum, frame):
            nonlocal stopping
            if not stopping:
                stopping = True
                for _, process in running.values():
                    process.send_signal(signal.SIGINT)
                progress.say("Ctrl-C: every run stops at its next episode end, with a checkpoint")

        previous = signal.signal(signal.SIGINT, ask_to_stop)
        try:
            while (waiting and not stopping) or running:
                while waiting and len(running) < self.jobs and not stopping:
                    job = waiting.pop(0)
                    running[job.run_dir] = (job, self._launch(job))
                for run_dir, (_, process) in list(running.items()):
                    code = process.poll()
                    if code is None:
                        continue
                    del running[run_dir]
                    statuses[run_dir] = {0: "done", 130: "stopped"}.get(code, "failed")
                    if statuses[run_dir] == "failed":
                        progress.say(f"failed (exit {code}): {run_dir}; see {run_dir / LOG_FILE}")
                progress.update(statuses, len(running), len(waiting))
                if waiting or running:
                    time.sleep(self.poll_seconds)
        finally:
            signal.signal(signal.SIGINT, previous)
            progress.end()
        for job in waiting:
            statuses[job.run_dir] = "stopped"
        return statuses

    @staticmethod
    def _launch(job: Job) -> subprocess.Popen:
        job.run_dir.mkdir(parents=True, exist_ok=True)
        with open(job.run_dir / LOG_FILE, "a") as log:
            return subprocess.Popen(
                job.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=_one_thread_environment(),
            )


def _one_thread_environment() -> dict[str, str]:
    environment = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[variable] = "1"
    return environment


class SweepProgress:
    """One line for the whole sweep: runs done / running / left, steps/s over all runs (since
    this sweep started), and the ETA of the steps still ahead."""

    def __init__(self, jobs: list[Job], out):
        self.jobs, self.out = jobs, out
        self.first_steps = {job.run_dir: job.steps_done() for job in jobs}
        self.start = time.perf_counter()
        self._open = False

    def update(self, statuses: dict[Path, str], running: int, waiting: int) -> None:
        if self.out is None:
            return
        done_now = progressed = remaining = 0
        for job in self.jobs:
            step = job.config.steps if statuses.get(job.run_dir) == "done" else job.steps_done()
            progressed += step - self.first_steps[job.run_dir]
            remaining += job.config.steps - step
            done_now += statuses.get(job.run_dir) == "done"
        elapsed = time.perf_counter() - self.start
        rate = progressed / elapsed if elapsed > 0 else 0.0
        eta = format_duration(remaining / rate) if rate > 0 else "?"
        line = (
            f"sweep: {done_now} done, {running} running, {waiting} left | "
            f"{rate:,.0f} steps/s | ETA {eta}"
        )
        self._write(line, newline=False)

    def say(self, line: str) -> None:
        if self.out is not None:
            self._write(line, newline=True)

    def _write(self, line: str, newline: bool) -> None:
        if self.out.isatty():
            self.out.write("\r\033[K" + line + ("\n" if newline else ""))
            self._open = not newline
        elif newline:
            self.out.write(line + "\n")
        self.out.flush()

    def end(self) -> None:
        if self._open:
            self.out.write("\n")
            self._open = False


def train_in_process(config: TrainConfig, run_dir: str | Path) -> str:
    """Train one cell in this process, from wherever its files say it is: ``"done"`` or
    ``"interrupted"``. What a Ray task runs: if its worker dies, the retry resumes from the last
    checkpoint, and the run's numbers are those of a run that never stopped."""
    from minidst.train import Trainer

    run_dir = Path(run_dir)
    state = cell_state(config, run_dir)
    if state == "done":
        return "done"
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOG_FILE, "a") as log:
        if state == "resume":
            trainer = Trainer.resume(run_dir, config.steps, out=log)
            print(f"resuming {run_dir} at step {trainer.step:,} of {config.steps:,}", file=log)
        else:
            trainer = Trainer.start(config, run_dir, overwrite=True, out=log)
        try:
            return trainer.run()
        finally:
            trainer.close()


#: How long ``--engine ray --address HOST:PORT`` waits for the cluster's port to answer.
CONNECT_TIMEOUT_S = 5.0


class RayEngine:
    """Runs jobs as Ray tasks, one CPU each: on an existing Ray cluster (``address``, e.g.
    ``"auto"``, ``"10.0.0.5:6379"`` or ``"ray://host:10001"``) or, with no address, on a local
    Ray instance.

    Each task trains its cell in the worker's own process (:func:`train_in_process`), so a
    worker that dies takes its run with it; Ray retries the task (``retries`` times), and the
    retry resumes from the run's last checkpoint. Run directories must therefore live on a
    filesystem every worker sees (NFS, a cluster's shared disk). A run that fails by itself (a
    bad setting, a diverged loss) is not retried: it would fail again.

    An address that names a port is checked when the engine is made (:func:`check_reachable`),
    so a mistyped address fails at once, before the sweep writes anything. Ray's own messages
    (its INFO and WARNING lines, what the workers print) are hidden unless ``ray_logs``.
    """

    def __init__(self, address: str | None = None, out=sys.stdout, retries: int = 3,
                 poll_seconds: float = 1.0, ray_logs: bool = False):  # fmt: skip
        if address is not None:
            check_reachable(address)
        self.address, self.out = address, out
        self.retries, self.poll_seconds = retries, poll_seconds
        self.ray_logs = ray_logs

    def connect(self) -> None:
        """Join the cluster, or start a local Ray instance; nothing to do if Ray is running.

        :meth:`run` calls it; calling it before the sweep writes anything makes Ray's own
        failures (an address that answers but is no Ray cluster) leave no files behind too.
        """
        ray = import_ray()
        if ray.is_initialized():
            return
        ray.init(
            address=self.address,
            include_dashboard=False,
            # Ray's INFO and WARNING lines say how it started; its errors are worth seeing.
            logging_level=logging.INFO if self.ray_logs else logging.ERROR,
            log_to_driver=self.ray_logs,  # the workers' output; a run's own goes to its log
        )

    def run(self, jobs: list[Job]) -> dict[Path, str]:
        ray = import_ray()
        self.connect()
        task = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=False)(
            train_in_process
        )
        pending = {task.remote(job.config, job.run_dir.resolve()): job for job in jobs}
        statuses: dict[Path, str] = {}
        progress = SweepProgress(jobs, self.out)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_seconds)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        statuses[job.run_dir] = {"interrupted": "stopped"}.get(ray.get(ref), "done")
                    except Exception as error:  # the task's own error, or retries used up
                        statuses[job.run_dir] = "failed"
                        reason = str(error).strip().splitlines()[-1][:200]
                        progress.say(f"failed: {job.run_dir} ({reason})")
                progress.update(statuses, len(pending), 0)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)
            for job in pending.values():
                statuses[job.run_dir] = "stopped"
            progress.say("Ctrl-C: Ray tasks cancelled; rerun the sweep to resume from checkpoints")
        finally:
            progress.end()
        return statuses


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a one-line :class:`ConnectionError` unless something answers at the host and port
    of ``address`` (``"host:port"`` or ``"ray://host:port"``) within ``timeout`` seconds.

    ``ray.init`` given an address where nothing listens keeps retrying for minutes, printing
    connection warnings, and even a SIGTERM takes half a minute to end it. Opening a plain TCP
    connection first answers the common mistakes (no cluster started, a wrong host or port) in
    at most ``timeout`` seconds. An address without a port (``"auto"``) is Ray's to resolve.
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or "timed out"  # a timeout has no strerror
        raise ConnectionError(
            f"cannot reach a Ray cluster at {address} within {timeout:g} s ({reason}): "
            "start one with `ray start --head` or check --address"
        ) from None


def import_ray():
    """Ray, or a one-line error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ValueError(
            '--engine ray needs Ray: pip install "minidst[ray]" (or pip install ray)'
        ) from None
    return ray


def run_sweep(
    spec: SweepSpec,
    sweep_dir: str | Path,
    engine: LocalEngine | RayEngine,
    allow_changes: bool = False,
    out=sys.stdout,
) -> dict[Path, str]:
    """Plan the sweep, run what is left, and report: ``{run_dir: status}`` for every cell."""
    cells = plan(spec, sweep_dir, allow_changes)
    jobs = [Job(config, run_dir, state) for config, run_dir, state in cells if state != "done"]
    statuses = {run_dir: "done" for _, run_dir, state in cells if state == "done"}
    if out is not None:
        print(
            f"sweep {sweep_dir}: {len(cells)} runs, {len(statuses)} done, "
            f"{sum(job.state == 'resume' for job in jobs)} to resume, "
            f"{sum(job.state == 'start' for job in jobs)} to start",
            file=out,
        )
    statuses.update(engine.run(jobs))
    return statuses
