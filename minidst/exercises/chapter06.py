"""Checks for chapters/06_rl_primer.py's exercises.

The checks share the corridor of the chapter's section 1: six states in a row, the goal at
the right end, discount 0.9.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minidst.exercises._shared import _as_floats, _verdict

_N_STATES, _GAMMA = 6, 0.9
_GOAL = _N_STATES - 1


def _corridor_move(s: int, a: int) -> int:
    """The corridor's deterministic move: action 0 left (the wall stops it), 1 right."""
    return max(s - 1, 0) if a == 0 else s + 1


def _slippery_q_star(slip: float) -> np.ndarray:
    """Q* of the corridor when an action moves the other way with probability ``slip``."""
    Q = np.zeros((_N_STATES, 2))
    while True:
        new_Q = np.zeros_like(Q)
        for s in range(_GOAL):
            for a in range(2):
                for probability, move in ((1 - slip, a), (slip, 1 - a)):
                    s_next = _corridor_move(s, move)
                    value = 1.0 if s_next == _GOAL else _GAMMA * Q[s_next].max()
                    new_Q[s, a] += probability * value
        if np.abs(new_Q - Q).max() < 1e-13:
            return new_Q
        Q = new_Q


def chapter6_exercise1(q_table: np.ndarray) -> bool:
    """``Q*`` of the slippery corridor (slip 0.2), a ``(6, 2)`` array: rows are states, columns
    (left, right); the goal's row is 0."""
    expected = _slippery_q_star(0.2)
    answer = _as_floats(q_table)
    if answer is None or answer.shape != expected.shape:
        return _verdict(False, "", f"give a {expected.shape} array: one row per state")
    ok = np.allclose(answer, expected, atol=1e-3)
    greedy = "right" if np.all(expected[:_GOAL].argmax(axis=1) == 1) else "mixed"
    hint = (
        "close, but not Q*: "
        if np.allclose(answer, expected, atol=0.05)
        else "not Q*: each action has two outcomes, the intended move with probability 0.8 and "
        "the opposite one with 0.2; "
    )
    return _verdict(
        ok,
        f"the greedy policy is still to go {greedy} everywhere, but every value is lower than "
        "in the non-slippery corridor: slips waste steps, and each step costs a factor gamma.",
        hint + "run value iteration to convergence (change < 1e-10) and keep the goal's row at 0",
    )


def chapter6_exercise3(can_reach_q_star: bool) -> bool:
    """Can the table learned from an "always left" behaviour still reach ``Q*``? (True/False)"""
    # Collect the state-action pairs an always-left behaviour visits, as in section 3.
    visited, s = set(), 0
    for t in range(2000):
        visited.add((s, 0))
        s_next = _corridor_move(s, 0)
        s = 0 if s_next == _GOAL or t % 50 == 49 else s_next
    needed = _GOAL * 2  # every (state, action) pair outside the terminal goal
    expected = len(visited) == needed
    if not isinstance(can_reach_q_star, (bool, np.bool_)):
        return _verdict(False, "", "answer True or False")
    return _verdict(
        bool(can_reach_q_star) == expected,
        f"{'yes' if expected else 'no'}. Starting at state 0, always left only ever records "
        f"(state, action) {sorted(visited)}: "
        f"{len(visited)} of the {needed} state-action pairs. A TD update only changes the "
        "entries it has data for, so the others keep their initial value: off-policy learning "
        "needs a behaviour that tries every action in every state (again and again).",
        "list the transitions an always-left behaviour puts in the buffer, starting from "
        "state 0: which entries of the table ever receive an update?",
    )


def _expected_max_of_normals(n: int) -> float:
    """E[max of n independent standard normals], by numerical integration."""
    from scipy import integrate, stats

    def density_of_max(x: float) -> float:
        return x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1)

    return integrate.quad(density_of_max, -np.inf, np.inf)[0]


def chapter6_exercise4(overestimates: Sequence[float]) -> bool:
    """The overestimation ``E[max]`` of one critic with unit noise, for 2, 10 and 100 actions
    worth 0 each, to 2 decimals."""
    counts = (2, 10, 100)
    expected = [_expected_max_of_normals(n) for n in counts]
    answer = _as_floats(overestimates, 3)
    if answer is None:
        return _verdict(False, "", "give three numbers, for 2, 10 and 100 actions")
    ok = np.allclose(answer, expected, atol=0.03)
    return _verdict(
        ok,
        ", ".join(f"{n} actions: {e:.2f}" for n, e in zip(counts, expected))
        + ". The bias grows with the number of actions, but slowly (like sqrt(2 log n)), and "
        "in proportion to the noise's standard deviation.",
        "estimate E[max of n unit-noise values] with many draws (at least 20,000) for each n; "
        "use the max over actions of one critic, not the twin estimate",
    )
