"""A run directory: the files of one training run, and the one module that reads and writes them.

::

    config.json        every setting, the per-layer densities they gave, the versions of the
                       libraries that ran it, the machine (CPU model, vector ISA) and the
                       minidst commit it started on, and any it was resumed on
    progress.csv       a row every ``log_every`` steps: losses, Q values, topology, FLOPs, speed
    evaluations.csv    a row per evaluation: step, return_mean, return_std, min, max
    checkpoint.npz     the full training state at the end of an episode (resume from it)
    policy.npz         the latest actor, for ``minidst evaluate``
    curve.png          the learning curve, redrawn (atomically) at every evaluation

The first three are small text files: they alone say what a run was and what it scored, so they
are what a report reads and what is worth keeping (e.g. committed) once a run is over.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import IO

import numpy as np

from minidst.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minidst.config import TrainConfig
from minidst.logger import CSVLog
from minidst.machine import describe_machine

CONFIG = "config.json"
PROGRESS = "progress.csv"
EVALUATIONS = "evaluations.csv"
CHECKPOINT = "checkpoint.npz"
POLICY = "policy.npz"
CURVE = "curve.png"
RUN_FILES = (CONFIG, PROGRESS, EVALUATIONS, CHECKPOINT, POLICY, CURVE)
LOCK = ".lock"  #: held by the one process writing the run (its pid inside)


def source_revision(package_dir: str | Path | None = None) -> str | None:
    """The git commit of the minidst source that is running (12 hex digits, with ``+modified``
    when tracked files differ from it), so that a run says which code made it; None where the
    package is not a git checkout of its own (an installed wheel) or git cannot tell.

    ``package_dir`` is the ``minidst`` package folder (default: this one).
    """
    package_dir = Path(package_dir or Path(__file__).parent).resolve()

    def git(*args: str) -> str:
        command = ["git", "-C", str(package_dir), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
        return done.stdout.strip()

    try:
        # Only minidst's own checkout counts, not some repository the package sits inside.
        if Path(git("rev-parse", "--show-toplevel")).resolve() != package_dir.parent:
            return None
        commit = git("rev-parse", "--short=12", "HEAD")
        modified = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+modified" if modified else "")


def library_versions() -> dict[str, str]:
    """The versions of Python and of every library a run's numbers depend on."""
    import gymnasium
    import mujoco
    import numba
    import scipy

    import minidst

    return {
        "minidst": minidst.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "gymnasium": gymnasium.__version__,
        "mujoco": mujoco.__version__,
    }


def check_new(run_dir: str | Path, overwrite: bool = False) -> list[str]:
    """Raise a one-line ValueError unless a new run may go in ``run_dir``: it must not be a file,
    nor hold a run unless ``overwrite``. Returns the run files already there."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"run directory {run_dir} exists and is not a directory")
    existing = [name for name in RUN_FILES if (run_dir / name).exists()]
    if existing and not overwrite:
        raise ValueError(
            f"{run_dir} already holds a run ({existing[0]}); continue it with "
            f"--resume {run_dir}, or start over with --overwrite"
        )
    return existing


def lock(run_dir: str | Path) -> IO:
    """Make ``run_dir`` if needed and take its lock: only one process writes a run at a time.

    Returns the open lock file; the lock lasts until it is closed or the process ends (a killed
    process leaves no stale lock: the operating system drops it). A one-line ValueError if
    another process holds it: two writers would interleave rows in the same CSV files.
    """
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(run_dir / LOCK, "a+")
    except OSError as error:
        raise ValueError(f"cannot write to run directory {run_dir}: {error.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise ValueError(
            f"{run_dir} is being written by another minidst process (pid {holder}); wait for "
            "it to finish or stop it first"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def create(
    run_dir: str | Path,
    config: TrainConfig,
    overwrite: bool = False,
    densities: dict[str, list[float]] | None = None,
) -> Path:
    """Make ``run_dir`` for a new run of ``config`` and write its ``config.json``, with the
    per-layer ``densities`` of each online network the settings gave (``{"actor": [...]}``).

    A directory that already holds a run is refused (one-line ValueError) unless ``overwrite``,
    which deletes that run's files first.
    """
    run_dir = Path(run_dir)
    existing = check_new(run_dir, overwrite)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        for name in existing:
            (run_dir / name).unlink()
        record = {
            "config": config.to_dict(),
            "versions": library_versions(),
            "machine": describe_machine(),
            "source": source_revision(),
        }
        if densities is not None:
            record["densities"] = densities
        _write_record(run_dir, record)
    except OSError as error:
        raise ValueError(f"cannot write to run directory {run_dir}: {error.strerror}") from None
    return run_dir


def read_config(run_dir: str | Path) -> TrainConfig:
    """The settings recorded in ``run_dir/config.json``; a one-line ValueError if unreadable."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise ValueError(f"{run_dir} holds no run (no {CONFIG})")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is corrupt: {error}") from None


def extend(run_dir: str | Path, steps: int) -> None:
    """Record a new total step count in ``config.json`` (a resume that runs longer)."""
    record = json.loads((Path(run_dir) / CONFIG).read_text())
    record["config"]["steps"] = steps
    _write_record(Path(run_dir), record)


def record_resume(run_dir: str | Path) -> None:
    """Add this machine to ``config.json``'s ``resumed_on`` list, and this source revision to
    its ``resumed_at_source`` list, each only if the run did not start with it and was not
    resumed with it before: a run's steps/s (and float rounding) are the machine's, and its
    code is the commit's."""
    record = json.loads((Path(run_dir) / CONFIG).read_text())
    changed = False
    machine = describe_machine()
    if machine not in [record.get("machine"), *record.get("resumed_on", [])]:
        record["resumed_on"] = [*record.get("resumed_on", []), machine]
        changed = True
    source = source_revision()
    if source not in [record.get("source"), *record.get("resumed_at_source", [])]:
        record["resumed_at_source"] = [*record.get("resumed_at_source", []), source]
        changed = True
    if changed:
        _write_record(Path(run_dir), record)


def _write_record(run_dir: Path, record: dict) -> None:
    # Atomically (write beside, then rename): a crash mid-write must not lose the run's record.
    partial = run_dir / (CONFIG + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(run_dir / CONFIG)


def progress_log(run_dir: str | Path) -> CSVLog:
    return CSVLog(Path(run_dir) / PROGRESS)


def evaluations_log(run_dir: str | Path) -> CSVLog:
    return CSVLog(Path(run_dir) / EVALUATIONS)


def last_progress_row(run_dir: str | Path) -> dict[str, str]:
    """The last row of ``progress.csv`` (column -> text); a one-line ValueError if none."""
    rows = progress_log(run_dir).rows
    if not rows:
        raise ValueError(f"{Path(run_dir) / PROGRESS} has no rows yet")
    return rows[-1]


def read_evaluations(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(steps (n,), mean returns (n,))`` of a run's evaluations so far."""
    log = evaluations_log(run_dir)
    try:
        return (
            np.array([int(row["step"]) for row in log.rows], dtype=np.int64),
            np.array([float(row["return_mean"]) for row in log.rows]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{log.path} is corrupt: {error!r}") from None


def save_training_state(run_dir: str | Path, state: dict, meta: dict) -> None:
    """Write ``checkpoint.npz`` atomically (see :mod:`minidst.checkpoint`)."""
    save_checkpoint(Path(run_dir) / CHECKPOINT, state, meta)


def load_training_state(run_dir: str | Path) -> tuple[dict, dict]:
    """``(state, meta)`` of ``checkpoint.npz``; CheckpointError if missing or corrupt."""
    return load_checkpoint(Path(run_dir) / CHECKPOINT)


def save_policy(run_dir: str | Path, actor_state: list, config: TrainConfig, step: int) -> None:
    """Write the actor to ``policy.npz`` atomically, labelled with its run and step."""
    meta = {"algo": config.algo, "env": config.env, "step": step}
    save_checkpoint(Path(run_dir) / POLICY, {"actor": actor_state}, meta)


def load_policy(run_dir: str | Path, config: TrainConfig) -> tuple[list, int]:
    """``(actor state, step)`` from ``policy.npz``; CheckpointError if it is not this run's."""
    path = Path(run_dir) / POLICY
    state, meta = load_checkpoint(path)
    if (meta.get("algo"), meta.get("env")) != (config.algo, config.env) or "actor" not in state:
        raise CheckpointError(f"{path} is not this run's policy")
    return state["actor"], int(meta["step"])


def find_results(sweep: str | None = None, near: str | Path | None = None) -> Path | None:
    """The first folder that holds runs (a ``config.json`` somewhere below it), for the course
    and the exercise checks: ``$MINIDST_RESULTS`` (its ``sweep`` subfolder first), else
    ``results`` (or ``results/<sweep>``) in or above the current directory, ``near`` (a chapter's
    own folder; a notebook has no ``__file__``) or the installed minidst package (an editable
    install sits in the repository); None if there is none."""
    override = os.environ.get("MINIDST_RESULTS")
    if override:
        candidates = ([Path(override) / sweep] if sweep else []) + [Path(override)]
    else:
        import minidst

        starts = [Path.cwd(), *([Path(near).resolve()] if near else [])]
        starts.append(Path(minidst.__file__).resolve().parent)
        tail = Path("results", sweep) if sweep else Path("results")
        candidates = [folder / tail for start in starts for folder in (start, *start.parents)]
    for candidate in candidates:
        if candidate.is_dir() and next(candidate.rglob(CONFIG), None) is not None:
            return candidate
    return None
