"""Checks for chapters/11_what_the_topology_learns.py's exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minidst.exercises._shared import _as_floats, _run_student, _verdict


def _probe_networks(rng: np.random.Generator) -> list:
    """Small actor- and critic-shaped networks with sparse first two layers, doctored so that
    every way of miscounting dead units shows: in the second layer some units are never active
    (a large negative bias; or no weight and no bias, a pre-activation of exactly 0), one is
    active on a single sample, a few are active but tau-dormant in ReDo's sense; and the first
    layer has dead units of its own."""
    from minidst.nn import MLP

    nets = []
    for n_in, n_out in ((17, 6), (23, 1)):
        net = MLP.build([n_in, 64, 48, n_out], [0.4, 0.5, None], rng)
        first, second = net.layers[0], net.layers[1]
        first.bias[:6] = -1e3  # six dead first-layer units
        W = second.weight
        rows = rng.permutation(second.out_features)
        second.bias[rows[:5]] = -1e3  # never active
        for r in rows[5:8]:  # exactly 0 on every sample: not above zero, so never active
            W.data[W.indptr[r] : W.indptr[r + 1]] = 0
            second.bias[r] = 0
        for r in rows[8:11]:  # active on every sample, but far below the layer's mean activity
            W.data[W.indptr[r] : W.indptr[r + 1]] *= 1e-4
            second.bias[r] = 1e-3
        nets.append((net, rows[11]))
    return nets


def _probe_batch(net, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    return np.ascontiguousarray(
        rng.standard_normal((net.layers[0].in_features, size)), dtype=np.float32
    )


def _single_sample_unit(net, unit: int, X: np.ndarray) -> None:
    """Set ``unit``'s bias in the second layer so that it is active on exactly one sample of
    ``X``, half-way between its two largest pre-activations."""
    second = net.layers[1]
    second.bias[unit] = 0
    z = np.sort(second.weight[[unit]] @ np.maximum(net.layers[0].forward(X), 0))[0]
    second.bias[unit] = -(z[-1] + z[-2]) / 2


def chapter11_exercise5(count_dead: Callable) -> bool:
    """Your ``count_dead(net, X)``: how many units of ``net``'s second layer are never active
    (pre-activation above zero on no sample) on the feature-major batch ``X`` ``(n_in, B)``."""
    from minidst.dormant import TAU, unit_scores

    rng = np.random.default_rng(1105)
    for net, unit in _probe_networks(rng):
        X = _probe_batch(net, rng)
        _single_sample_unit(net, unit, X)
        first_scores, second_scores = unit_scores(net, X)[:2]
        # Behind a ReLU, a unit's mean activity is 0 exactly when it is never above zero.
        expected = int(np.sum(second_scores == 0))
        first, second = net.layers[0], net.layers[1]
        hidden = np.maximum(first.weight @ X + first.bias[:, None], 0)
        z = second.weight @ hidden + second.bias[:, None]  # the second layer's pre-activations
        wrong = {
            int(np.sum(first_scores == 0)): "that is the first layer's count; count the second's",
            int(np.sum(second_scores <= TAU)): "that counts ReDo's tau-dormant units, some of "
            "which are active; count the units whose pre-activation is above zero on no sample",
            int(np.sum((z >= 0).sum(axis=1) == 0)): "a pre-activation of exactly 0 is not "
            "active: active means above zero",
            int(np.sum((z > 0).mean(axis=1) < 0.05)): "a unit active on a single sample is "
            "alive: count the units active on none",
        }
        wrong.pop(expected, None)
        result, error = _run_student(count_dead, net, X)
        if error:
            return _verdict(False, "", error)
        answer = _as_floats(result)
        if answer is None or answer.shape != ():
            return _verdict(False, "", "return one number, the count of never-active units")
        if 0 < answer < 1:
            return _verdict(False, "", "return the number of units, not a fraction")
        if answer != expected:
            hint = wrong.get(
                int(answer),
                "run the first layer, its ReLU and the second layer on X, and count the rows "
                "of the second layer's pre-activation with no entry above zero",
            )
            return _verdict(False, "", f"{answer:g} instead of {expected}: {hint}")
    return _verdict(
        True,
        "your count matches minidst.dormant's scores on two doctored networks: units with a "
        "pre-activation of exactly 0 counted as never active, a unit active on a single sample "
        "and units that are merely quiet (ReDo's tau-dormant) counted as alive.",
        "",
    )
