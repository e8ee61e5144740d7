"""Run records: CSV files that survive interruption, and the one-line progress report."""

from __future__ import annotations

import csv
import math
import os
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
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1h02m"``; ``65`` -> ``"1m05s"``."""
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def progress_line(
    step: int,
    total: int,
    episodes: int,
    last_eval: tuple[int, float] | None,
    steps_per_second: float,
) -> str:
    """``step 12,000/1,000,000 | episodes 12 | eval 1234.5 @ 10,000 | 341 steps/s | ETA 48m``."""
    evaluation = f"eval {last_eval[1]:.1f} @ {last_eval[0]:,}" if last_eval else "eval -"
    remaining = (total - step) / steps_per_second if steps_per_second > 0 else math.inf
    return (
        f"step {step:,}/{total:,} | episodes {episodes:,} | {evaluation} | "
        f"{steps_per_second:.0f} steps/s | ETA {format_duration(remaining)}"
    )
