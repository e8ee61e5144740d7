"""Every course chapter runs top to bottom in quick mode and keeps the course's shape.

Chapters are plain ``.py`` files in jupytext "percent" format under ``chapters/``; new ones are
picked up automatically. Each runs in its own Python process, as a student would run it.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CHAPTERS_DIR = Path(__file__).resolve().parent.parent / "chapters"
CHAPTERS = sorted(CHAPTERS_DIR.glob("*.py"))


def markdown_cells(source: str) -> list[str]:
    """The text of every ``# %% [markdown]`` cell (comment markers stripped)."""
    cells = re.split(r"^# %%", source, flags=re.MULTILINE)[1:]
    return [
        "\n".join(line.removeprefix("#").strip() for line in cell.splitlines()[1:])
        for cell in cells
        if cell.startswith(" [markdown]")
    ]


def test_there_are_chapters():
    assert CHAPTERS, f"no chapters found in {CHAPTERS_DIR}"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_has_summary_and_exercises(path):
    headings = [line for cell in markdown_cells(path.read_text()) for line in cell.splitlines()]
    for heading in ("## Summary", "## Exercises"):
        assert heading in headings, f"{path.name} has no '{heading}' markdown cell"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_runs_in_quick_mode(path, tmp_path):
    env = {**os.environ, "MINIDST_QUICK": "1", "MINIDST_OUT": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{path.name} failed (exit code {result.returncode})\n"
        f"--- stdout (tail) ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr}"
    )
    if "savefig" in path.read_text():
        assert list(tmp_path.glob("*.png")), f"{path.name} plots but wrote no PNG to {tmp_path}"


@pytest.mark.parametrize(
    "chapter, drawn_by",
    [("01_sparse_matrices.py", "finish_figure"), ("13_sac.py", "plot_runs")],
)
def test_a_chapter_runs_as_a_notebook_with_its_figures_inline(
    chapter, drawn_by, tmp_path, monkeypatch
):
    """Opened as a notebook (jupytext), a chapter executes cell by cell in a Jupyter kernel,
    fails on any error, and shows its figures under their cells: those drawn by
    ``finish_figure`` (chapter 1) and by ``minidst.plot.plot_runs`` (chapter 13)."""
    import jupytext
    from nbclient import NotebookClient

    monkeypatch.setenv("MINIDST_QUICK", "1")
    monkeypatch.setenv("MINIDST_OUT", str(tmp_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # a notebook's own inline backend
    notebook = jupytext.read(CHAPTERS_DIR / chapter)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    drawing = [cell for cell in notebook.cells if f"{drawn_by}(" in cell.source]
    assert drawing, f"{chapter} has no cell that calls {drawn_by}"
    for cell in drawing:
        # Every call shows its own figure under the cell: at least as many inline PNGs as calls.
        # (plot_runs draws on a Figure of its own, outside pyplot, so the inline backend never
        # shows it by itself: only plot_runs's own display can put its image here.)
        calls = cell.source.count(f"{drawn_by}(")
        images = sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
        assert images >= calls, (
            f"{chapter}: a cell calls {drawn_by} {calls} time(s) but shows {images} inline "
            f"image(s):\n{cell.source}"
        )
    assert list(tmp_path.glob("*.png"))  # and still saved to a file
