"""Checks for chapters/07_td3_from_scratch.py's exercises."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from minidst.exercises._shared import _run_student, _verdict


def chapter7_exercise5(polyak_flat: Callable) -> bool:
    """Your ``polyak_flat(target_net, online_net, tau)``: one update of a flat parameter vector,
    written back into ``target_net``."""
    from minidst.nn import MLP

    rng = np.random.default_rng(705)
    online = MLP.build([5, 16, 16, 2], [None, None, None], rng)
    target = MLP.build([5, 16, 16, 2], [None, None, None], rng)
    before = [p.copy() for p in target.parameters()]
    tau = 0.25
    _, error = _run_student(polyak_flat, target, copy.deepcopy(online), tau)
    if error:
        return _verdict(False, "", error)
    for old, new, theta in zip(before, target.parameters(), online.parameters()):
        if not np.allclose(new, tau * theta + (1 - tau) * old, rtol=1e-6, atol=1e-7):
            return _verdict(
                False,
                "",
                "the target's parameters are not tau * online + (1 - tau) * target: check the "
                "formula, and that the flat result is written back into every array in place",
            )
    return _verdict(
        True,
        "one operation on the flat vector equals the per-array update, because every "
        "position in one vector means the same weight as in the other. With a sparse layer "
        "whose topology changed, slot k of the two `data` arrays belongs to different "
        "connections, so the flat average mixes unrelated weights.",
        "",
    )
