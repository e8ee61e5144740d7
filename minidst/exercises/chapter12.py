"""Checks for chapters/12_beyond_the_paper.py's exercises."""

from __future__ import annotations

import itertools
import math

from minidst.exercises._shared import _as_floats, _verdict

_SEEDS = 5  #: the testbed's seeds in a full run of the chapter


def chapter12_exercise1(probability: float) -> bool:
    """The probability that a variant which makes no difference at all comes out "lower in
    every seed" of the chapter's five, as a fraction."""
    # No difference: each seed's ratio is below or above 1 with probability 1/2 (a tie has
    # probability 0 for continuous losses), independently. Count the sign patterns.
    patterns = list(itertools.product((True, False), repeat=_SEEDS))
    expected = sum(all(lower) for lower in patterns) / len(patterns)
    either_way = sum(all(lower) or not any(lower) for lower in patterns) / len(patterns)
    answer = _as_floats(probability)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the probability as a fraction")
    if 1 < answer <= 100:
        return _verdict(
            False, "", "give the probability as a fraction between 0 and 1, not percent"
        )
    if math.isclose(answer, expected, abs_tol=1e-3):
        comparisons = 8  # the one-field variants of the chapter's figure
        chance = 1 - (1 - either_way) ** comparisons
        return _verdict(
            True,
            f"1/{len(patterns)} = {expected:.3f}: each seed is a fair coin, and all {_SEEDS} "
            f"must land the same way. The chapter calls a variant a difference either way "
            f"(lower or higher in every seed), {either_way:.4f} per null variant, so among "
            f"{comparisons} variants that make no difference, the chance that at least one "
            f"looks like one is {chance:.0%}.",
            "",
        )
    hint = (
        "that is 'the same sign in every seed', lower or higher; 'lower' is one of the two"
        if math.isclose(answer, either_way, abs_tol=1e-3)
        else "under no difference, each seed's ratio is below 1 with probability 1/2, "
        "independently of the other seeds"
    )
    return _verdict(False, "", hint)
