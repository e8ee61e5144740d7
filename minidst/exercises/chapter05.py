"""Checks for chapters/05_prune_and_regrow.py's exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minidst.exercises._shared import _run_student, _verdict


def chapter5_exercise5(remap_keeping_moments: Callable) -> bool:
    """Your ``remap_keeping_moments(optimizer, layer, source)``: survivors keep their moments, a
    regrown connection takes those of the old entry at its slot of ``data``."""
    from minidst.layers import SparseLinear
    from minidst.optim import Adam
    from minidst.topology import grow_random, prune_per_sign, rebuild_csr

    rng = np.random.default_rng(505)
    layer = SparseLinear(12, 10, 0.4, rng)
    optimizer = Adam([layer], lr=1e-2)
    X = rng.standard_normal((12, 16)).astype(np.float32)
    for _ in range(5):
        layer.forward(X)
        layer.backward(rng.standard_normal((10, 16)).astype(np.float32))
        optimizer.step()
    old_m, old_v = optimizer.m[0][0].copy(), optimizer.v[0][0].copy()
    positions = layer.positions()
    keep = prune_per_sign(layer.weight.data, 0.25)
    grown = grow_random(positions[keep], 12 * 10, int((~keep).sum()), rng)
    source = rebuild_csr(layer, positions, keep, grown)  # the layer now has its new topology
    _, error = _run_student(remap_keeping_moments, optimizer, layer, source)
    if error:
        return _verdict(False, "", error)
    slot = np.arange(len(source))
    from_where = np.where(source >= 0, source, slot)
    for name, new, old in (("m", optimizer.m[0][0], old_m), ("v", optimizer.v[0][0], old_v)):
        if np.shape(new) != old.shape or not np.array_equal(new, old[from_where]):
            return _verdict(
                False,
                "",
                f"Adam.{name} is not what it should be: survivors take old[source[k]], and an "
                "entry with source[k] == -1 takes old[k], the moment that used to sit at its slot",
            )
    layer.forward(X)
    layer.backward(rng.standard_normal((10, 16)).astype(np.float32))
    _, error = _run_student(optimizer.step)
    if error:
        return _verdict(
            False, "", "the moments are right, but the next optimizer.step() raised: " + error
        )
    return _verdict(
        True,
        "moments carried over and the optimizer accepts the new topology. Without the guard, "
        "every weight after the first change would silently get the moments of whichever "
        "connection sat at its slot of `data` before; your remap does that on purpose, only "
        "for the regrown ones.",
        "",
    )
