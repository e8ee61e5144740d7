"""Learning curves across runs: interquartile mean and a bootstrap confidence band.

Runs are grouped by env and by the settings that set them apart (``"ds-td3 90%"``, see
:func:`minidst.config.group_label`), and a run given twice (the same directory, or a copy: same
settings and seed) counts once. With several seeds, each curve is the **interquartile mean**
(IQM: the mean of the middle 50% of seeds, ``scipy.stats.trim_mean(x, 0.25)``; robust to one
lucky or unlucky seed, yet less noisy than the median) and the band is a **95% bootstrap
confidence interval** of that IQM (seeds resampled with replacement). The legend says so, and how
many seeds. One seed is drawn as a plain line.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from minidst import rundir
from minidst.config import group_label
from minidst.stats import iqm_with_band

#: Each algorithm's colour in every figure of minidst (matplotlib's tab10 hues), so a reader
#: who learns "DS-TD3 is green" in one chapter can trust it in the next.
ALGO_COLOURS = {"td3": "#1f77b4", "static-td3": "#ff7f0e", "ds-td3": "#2ca02c",
                "sac": "#d62728", "static-sac": "#9467bd", "ds-sac": "#8c564b"}  # fmt: skip
#: Colours for groups that are not a plain algorithm (``"ds-td3 90% grow=gradient"``): the
#: tab20 palette without the hues taken above, then grey.
_OTHER_COLOURS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#e377c2",
                  "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
                  "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")  # fmt: skip
#: The colour of a group once :data:`_OTHER_COLOURS` are all taken in one figure.
_LAST_COLOUR = "#4d4d4d"


def label_colour(label: str) -> str:
    """The colour of group ``label`` in every figure: its :data:`ALGO_COLOURS` hue for a plain
    algorithm, otherwise one of :data:`_OTHER_COLOURS` picked by a checksum of the label (CRC-32,
    the same in every process and on every machine, unlike Python's ``hash``)."""
    if label in ALGO_COLOURS:
        return ALGO_COLOURS[label]
    return _OTHER_COLOURS[zlib.crc32(label.encode()) % len(_OTHER_COLOURS)]


def group_colours(labels) -> dict[str, str]:
    """A distinct colour for every group label of one figure, each group's
    :func:`label_colour` wherever it is free: a label has the same colour in every figure unless
    two labels of the same figure pick the same colour, in which case the later one (in sorted
    order) takes the next free colour of :data:`_OTHER_COLOURS`. Up to 26 groups are distinct."""
    colours = {label: ALGO_COLOURS[label] for label in labels if label in ALGO_COLOURS}
    free = list(_OTHER_COLOURS)
    for label in sorted(set(labels) - set(ALGO_COLOURS)):
        if not free:
            colours[label] = _LAST_COLOUR
            continue
        start = _OTHER_COLOURS.index(label_colour(label))
        colour = next(c for c in _OTHER_COLOURS[start:] + _OTHER_COLOURS[:start] if c in free)
        free.remove(colour)
        colours[label] = colour
    return colours


def read_run(run_dir: str | Path) -> dict:
    """``{"algo", "label", "env", "seed", "length", "steps" (n,), "returns" (n,)}`` of one run
    directory (``label``: its group, :func:`~minidst.config.group_label`; ``length``: its total
    steps)."""
    config = rundir.read_config(run_dir)
    steps, returns = rundir.read_evaluations(run_dir)
    if len(steps) == 0:
        raise ValueError(f"{run_dir} has no evaluations yet")
    return {
        "algo": config.algo,
        "label": group_label(config),
        "length": config.steps,
        "env": config.env,
        "seed": config.seed,
        "steps": steps,
        "returns": returns,
    }


def distinct_runs(run_dirs: list[str | Path]) -> tuple[list[dict], list[tuple[Path, Path]]]:
    """The runs of ``run_dirs`` (:func:`read_run`), each experiment once, and the
    ``(skipped, kept)`` directories of those given again: the same directory twice, or a copy
    with the same env, group, seed and length."""
    runs, skipped, seen = [], [], {}
    for run_dir in run_dirs:
        run = read_run(run_dir)
        key = (run["env"], run["label"], run["seed"], run["length"])
        if key in seen:
            skipped.append((Path(run_dir), seen[key]))
            continue
        seen[key] = Path(run_dir)
        runs.append(run)
    return runs, skipped


def finish_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save ``fig`` to ``path``, show it inline when running in a notebook, then free it.

    Chapters call this for every figure, so the same file works as a script (figures saved,
    no window opened) and as a notebook (figures saved and shown under their cell).
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.savefig(path, dpi=dpi)
    show_inline(fig)
    plt.close(fig)
    return path


def show_inline(fig) -> None:
    """Show ``fig`` under the running cell when in a Jupyter notebook (its inline backend);
    do nothing in a script or a terminal."""
    import sys

    if "matplotlib" not in sys.modules:
        return  # nothing has drawn with pyplot: not a notebook that shows figures
    import matplotlib

    if "inline" in matplotlib.get_backend():
        from IPython.display import display

        display(fig)


def plot_runs(
    run_dirs: list[str | Path], out: str | Path, seed: int = 0, show: bool = True
) -> Path:
    """Draw the evaluation curves of ``run_dirs`` into the image ``out``; one panel per env.
    With ``show``, a notebook also shows the figure under its cell."""
    # A Figure of its own, not pyplot: no backend is chosen or changed, so this works headless
    # and leaves a notebook's inline figures alone.
    from matplotlib.figure import Figure

    runs, _ = distinct_runs(run_dirs)
    envs = sorted({run["env"] for run in runs})
    fig = Figure(figsize=(6 * len(envs), 4))
    axes = fig.subplots(1, len(envs), squeeze=False)
    rng = np.random.default_rng(seed)
    colours = group_colours({run["label"] for run in runs})
    for ax, env in zip(axes[0], envs):
        for algo in sorted({run["label"] for run in runs if run["env"] == env}):
            group = [run for run in runs if run["env"] == env and run["label"] == algo]
            # Seeds are compared at the evaluation steps they all reached.
            steps = group[0]["steps"]
            for run in group[1:]:
                steps = np.intersect1d(steps, run["steps"])
            curves = np.array([run["returns"][np.isin(run["steps"], steps)] for run in group])
            if len(group) == 1:
                ax.plot(steps, curves[0], color=colours[algo],
                        label=f"{algo} (seed {group[0]['seed']})")  # fmt: skip
                continue
            iqm, low, high = iqm_with_band(curves, rng)
            ax.plot(steps, iqm, color=colours[algo],
                    label=f"{algo}: IQM of {len(group)} seeds, 95% bootstrap CI")  # fmt: skip
            ax.fill_between(steps, low, high, color=colours[algo], alpha=0.2)
        ax.set_title(env)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("evaluation return (mean of episodes)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    # Written under a temporary name, then renamed: a reader never sees half a picture.
    temporary = out.with_name(f".{out.name}.tmp")
    try:
        fig.savefig(temporary, dpi=120, format=out.suffix.lstrip(".") or "png")
        os.replace(temporary, out)
        if show:
            show_inline(fig)
    except OSError as error:
        raise ValueError(f"cannot write {out}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return out
