"""Time the course chapters as a student runs them: one process each, in full mode.

Every chapter in ``chapters/*.py`` (or those named) runs as ``python chapters/NN_name.py`` from
the repository's root, with ``MINIDST_OUT`` pointed at a fresh temporary folder and a headless
Matplotlib backend. For each the script records the wall time, the CPU time of the chapter's
process (user + system, its waited-for children included), and whether it passed (exit code 0);
a failure shows the last lines of its stderr. It prints a Markdown table, headed by the machine
it ran on (CPU, vector ISA, BLAS, cores) and the load average at the start, which says whether
the cores were shared: CPU time is the better figure on a busy machine, wall time on a quiet one.

Usage::

    python benchmarks/chapters.py                    # every chapter, full mode
    python benchmarks/chapters.py 1 2 6              # chapters 1, 2 and 6
    python benchmarks/chapters.py 04_making_it_fast  # by name (with or without .py)
    python benchmarks/chapters.py --quick            # quick mode (MINIDST_QUICK=1), as the tests
    python benchmarks/chapters.py --timeout 600 --out chapter_times.md

Not run by CI: in full mode the whole course takes ten minutes or more of CPU. The first chapter
that calls the Numba kernels pays their compilation unless the Numba cache is warm.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = ROOT / "chapters"
STDERR_TAIL_LINES = 15


@dataclass
class Outcome:
    """What one chapter run gave: times in seconds, and ``result`` for the table."""

    chapter: str
    wall_s: float
    cpu_s: float
    passed: bool
    result: str
    stderr_tail: str = ""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "chapters",
        nargs="*",
        help="chapter numbers (1, 04) or file names (04_making_it_fast[.py]); default: all",
    )
    parser.add_argument(
        "--quick", action="store_true", help="run in quick mode (MINIDST_QUICK=1) instead"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed per chapter (default 1800)"
    )
    parser.add_argument("--out", type=Path, help="also write the report to this Markdown file")
    return parser.parse_args()


def find_chapters(names: list[str]) -> list[Path]:
    """The chapter files named by number or name, in the order given; all of them if none."""
    every = sorted(CHAPTERS_DIR.glob("[0-9]*.py"))
    if not names:
        return every
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".py")
        if stem.isdigit():
            matches = [path for path in every if path.name.split("_")[0] == f"{int(stem):02d}"]
        else:
            matches = [path for path in every if path.stem == stem]
        if len(matches) != 1:
            known = ", ".join(path.stem for path in every)
            sys.exit(f"no chapter {name!r} in {CHAPTERS_DIR} (there are: {known})")
        chosen.append(matches[0])
    return chosen


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished, waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_chapter(path: Path, quick: bool, timeout: float) -> Outcome:
    """Run one chapter in its own process from the repository's root and time it."""
    with tempfile.TemporaryDirectory(prefix=f"minidst_{path.stem}_") as out:
        env = {**os.environ, "MINIDST_OUT": out, "MPLBACKEND": "Agg"}
        env.pop("MINIDST_QUICK", None)
        if quick:
            env["MINIDST_QUICK"] = "1"
        # The chapter's output goes to files, not pipes: a chapter that prints a lot never
        # blocks on a full pipe, and nothing has to be read while it runs.
        stdout_path, stderr_path = Path(out) / "stdout.txt", Path(out) / "stderr.txt"
        cpu_before = children_cpu_seconds()
        start = time.perf_counter()
        with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(path.relative_to(ROOT))],
                cwd=ROOT,
                env=env,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # its own process group, so a timeout stops all of it
            )
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                returncode = None
        wall = time.perf_counter() - start
        cpu = children_cpu_seconds() - cpu_before
        stderr_tail = "\n".join(
            stderr_path.read_text(errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        )
    if returncode == 0:
        return Outcome(path.name, wall, cpu, True, "pass")
    result = (
        f"timed out after {timeout:.0f} s" if returncode is None else f"FAIL (exit {returncode})"
    )
    return Outcome(path.name, wall, cpu, False, result, stderr_tail)


def git_commit() -> str:
    """The checked-out commit, marked when the working tree has changes; '?' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{commit} (with uncommitted changes)" if commit and dirty else commit or "?"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def table(outcomes: list[Outcome], mode: str) -> str:
    lines = [
        f"| chapter | {mode}-mode wall s | CPU s | result |",
        "|---|---|---|---|",
    ]
    for outcome in outcomes:
        lines.append(
            f"| {outcome.chapter} | {outcome.wall_s:.1f} | {outcome.cpu_s:.1f} | {outcome.result} |"
        )
    total_wall = sum(outcome.wall_s for outcome in outcomes)
    total_cpu = sum(outcome.cpu_s for outcome in outcomes)
    passed = sum(outcome.passed for outcome in outcomes)
    lines.append(
        f"| **total** | {total_wall:.1f} | {total_cpu:.1f} | {passed} of {len(outcomes)} passed |"
    )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    paths = find_chapters(args.chapters)
    mode = "quick" if args.quick else "full"
    # One Markdown list item per line, so the header reads the same printed and rendered.
    header = [
        *describe().splitlines(),
        f"Python {sys.version.split()[0]}, minidst commit {git_commit()}",
        f"Load average at start: {load_average()}",
        f"Chapters in {mode} mode, one process each, timeout {args.timeout:.0f} s per chapter",
    ]
    header = [f"- {line}" for line in header]
    print("\n".join(header), flush=True)
    outcomes = []
    for path in paths:
        print(f"running {path.name} ...", end=" ", flush=True)
        outcome = run_chapter(path, args.quick, args.timeout)
        print(
            f"{outcome.result}, {outcome.wall_s:.1f} s wall, {outcome.cpu_s:.1f} s CPU", flush=True
        )
        if not outcome.passed:
            print(f"--- last lines of its stderr ---\n{outcome.stderr_tail}\n---", flush=True)
        outcomes.append(outcome)
    report = "\n".join(
        [
            *header,
            f"- Load average at end: {load_average()}",
            "",
            table(outcomes, mode),
        ]
    )
    failures = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in failures:
        report += f"\n\n{outcome.chapter}: {outcome.result}; last lines of stderr:\n"
        report += "\n".join(f"    {line}" for line in outcome.stderr_tail.splitlines())
    print()
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
        print(f"\nwritten to {args.out}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
