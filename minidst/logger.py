"""Run records: CSV files that survive interruption, and the one-line progress report."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path


class CSVLog:
    """Rows of named values appended to a CSV file, one row per ``write``.

    Columns are the keys seen so far, in first-seen order. A row with a new key (a topology
    metric appears only once rewiring starts) rewrites the file with the wider header, atomically;
    otherwise rows are appended. Missing values are left empty.

    On resume, :meth:`truncate` drops rows past the checkpoint, which the resumed run recomputes.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.columns: list[str] = []
        self.rows: list[dict[str, str]] = []
        if self.path.exists():
            with open(self.path, newline="") as file:
                reader = csv.DictReader(file)
                self.columns = list(reader.fieldnames or [])
                self.rows = list(reader)

    def write(self, row: dict[str, float | int | str]) -> None:
        row = {key: _format(value) for key, value in row.items()}
        self.rows.append(row)
        new_columns = [key for key in row if key not in self.columns]
        if new_columns or not self.path.exists():
            self.columns += new_columns
            self._rewrite()
        else:
            with open(self.path, "a", newline="") as file:
                csv.DictWriter(file, self.columns).writerow(row)

    def truncate(self, keep) -> None:
        """Keep only the rows for which ``keep(row)`` is true; rewrite the file."""
        self.rows = [row for row in self.rows if keep(row)]
        self._rewrite()

    def _rewrite(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with open(temporary, "w", newline="") as file:
            writer = csv.DictWriter(file, self.columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(temporary, self.path)


def _format(value) -> str:
    if isinstance(value, float):
        # float() first: NumPy 2 writes a np.float64's repr as "np.float64(0.5)".
        return repr(float(value)) if math.isfinite(value) else str(float(value))
    return str(value)


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1h02m"``; ``65`` -> ``"1m05s"``."""
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


class Speedometer:
    """Steps per second of a run's two phases, and the time left.

    The random-action start and training run at very different speeds (no update vs one update
    per step: ~30x apart), so one average would mislead: during the random start it would
    promise an ETA of seconds. Each phase has its own rate, an exponential moving average over
    progress windows (so one slow window, an evaluation say, does not swing the ETA), and the
    ETA adds up the phases still ahead. A window that straddles the two phases is not counted.
    """

    SMOOTHING = 0.3  #: weight of the newest window in the moving average

    def __init__(self, start_steps: int, total_steps: int):
        self.start_steps, self.total_steps = start_steps, total_steps
        self.rates: dict[str, float | None] = {"random": None, "training": None}
        self.restart(0)

    def restart(self, step: int) -> None:
        """Start a window at ``step`` (a run begins or resumes)."""
        self._mark = (time.perf_counter(), step)

    def window(self, step: int) -> float:
        """Close the window at ``step``: returns its raw steps/s and folds it into its phase's
        average."""
        start_time, start_step = self._mark
        elapsed = time.perf_counter() - start_time
        rate = (step - start_step) / elapsed if elapsed > 0 else 0.0
        phase = None
        if start_step >= self.start_steps:
            phase = "training"
        elif step <= self.start_steps:
            phase = "random"
        if phase and rate > 0:
            old = self.rates[phase]
            self.rates[phase] = rate if old is None else old + self.SMOOTHING * (rate - old)
        self.restart(step)
        return rate

    def rate(self, step: int) -> float | None:
        """The smoothed steps/s of the phase ``step`` is in (None until measured)."""
        return self.rates["random" if step < self.start_steps else "training"]

    def eta(self, step: int) -> float | None:
        """Seconds left, from each phase's rate; None while a phase ahead is unmeasured."""
        left = {
            "random": max(self.start_steps - step, 0),
            "training": self.total_steps - max(step, self.start_steps),
        }
        seconds = 0.0
        for phase, steps in left.items():
            if steps > 0:
                if not self.rates[phase]:
                    return None
                seconds += steps / self.rates[phase]
        return seconds


def progress_line(
    step: int,
    total: int,
    episodes: int,
    last_eval: tuple[int, float] | None,
    steps_per_second: float | None,
    eta_seconds: float | None,
) -> str:
    """``step 12,000/1,000,000 | episodes 12 | eval 1234.5 @ 10,000 | 341 steps/s | ETA 48m``."""
    evaluation = f"eval {last_eval[1]:.1f} @ {last_eval[0]:,}" if last_eval else "eval -"
    speed = f"{steps_per_second:.0f} steps/s" if steps_per_second else "- steps/s"
    eta = format_duration(eta_seconds) if eta_seconds is not None else "?"
    return f"step {step:,}/{total:,} | episodes {episodes:,} | {evaluation} | {speed} | ETA {eta}"
