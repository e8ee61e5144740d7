"""Helpers the checks of several chapters share.

The one-line verdict, reading an answer as numbers, random sparse inputs, running the student's
function, the library's agents built at a paper environment's sizes, and the runs kept in the
repository's ``results/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def _verdict(ok: bool, correct: str, hint: str) -> bool:
    """Print ``Correct: correct`` or ``Not yet: hint``; return ``ok``."""
    print(f"Correct: {correct}" if ok else f"Not yet: {hint}")
    return bool(ok)


def _as_floats(answer, length: int | None = None) -> np.ndarray | None:
    """``answer`` as a float64 array, or ``None`` if it is not numbers (of ``length``)."""
    try:
        values = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if length is not None and values.shape != (length,):
        return None
    return values


def _random_csr(
    rng: np.random.Generator, shape: tuple[int, int], density: float, dtype=np.float64
) -> sp.csr_array:
    """A canonical random CSR array with int32 indices, distinct non-zero values and, when the
    shape allows, an empty row and an empty column."""
    dense = rng.standard_normal(shape).astype(dtype) * (rng.random(shape) < density)
    if shape[0] > 2 and shape[1] > 2:
        dense[1, :] = 0
        dense[:, 2] = 0
    matrix = sp.csr_array(dense)
    matrix.indptr = matrix.indptr.astype(np.int32)
    matrix.indices = matrix.indices.astype(np.int32)
    return matrix


def _run_student(function: Callable, *args):
    """Call the student's function; return ``(result, None)`` or ``(None, error text)``."""
    try:
        return function(*args), None
    except Exception as error:  # the student's code: report any failure as a hint
        return None, f"your function raised {type(error).__name__}: {error}"


def _one_word(answer) -> str:
    """A one-word answer, lower case, without quotes or brackets around it."""
    return str(answer).strip().strip("{}[]()'\" ").lower()


def _paper_agents(algos: Sequence[str], obs_dim: int, act_dim: int, env: str) -> list:
    """Agents of ``algos`` built by the library for ``env``'s sizes (no simulator needed)."""
    from minidst.config import TrainConfig
    from minidst.factory import build_agent

    max_action = np.ones(act_dim, dtype=np.float32)
    return [
        build_agent(TrainConfig(algo=algo, env=env), obs_dim, act_dim, max_action, rng)
        for algo, rng in zip(algos, (np.random.default_rng(800 + i) for i in range(len(algos))))
    ]


#: The hint of a check that reads the runs kept in the repository and finds none.
_NO_RUNS = (
    "no runs found: work in a clone of the repository (its results/paper200k), or set "
    "MINIDST_RESULTS to a folder of runs"
)


def _find_runs(sweep: str = "paper200k") -> Path | None:
    """The folder of runs chapters 9 and 10 read, found as chapter 10 finds it
    (:func:`minidst.rundir.find_results`); ``None`` if there is none."""
    from minidst import rundir

    return rundir.find_results(sweep)
