"""Checks for chapters/03_networks_and_optimizers.py's exercises."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from minidst.exercises._shared import _as_floats, _one_word, _run_student, _verdict


class _Weights:
    """A bag of parameters for :class:`~minidst.optim.Adam`: one array and its gradient."""

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float64)
        self.grad = np.zeros_like(self.values)

    def parameters(self) -> list[np.ndarray]:
        return [self.values]

    def gradients(self) -> list[np.ndarray]:
        return [self.grad]


def chapter3_exercise1(
    leaky_relu: Callable, leaky_relu_backward: Callable, needs: str | None = None
) -> bool:
    """Your ``leaky_relu(z)`` and ``leaky_relu_backward(z, y, dy)``, slope 0.01 for ``z <= 0``;
    optionally what the backward needs: ``"z"``, ``"y"`` or ``"either"``."""
    slope = 0.01
    rng = np.random.default_rng(301)
    for shape in [(5, 7), (1, 40)]:
        z = 3 * rng.standard_normal(shape)
        z.flat[::6] = 0.0  # the kink, where the "otherwise" side's slope applies
        dy = rng.standard_normal(shape)
        expected_y = np.where(z > 0, z, slope * z)
        expected_dz = dy * np.where(z > 0, 1.0, slope)
        z_given = z.copy()
        y, error = _run_student(leaky_relu, z_given)
        if error:
            return _verdict(False, "", error)
        if not np.array_equal(z_given, z):
            return _verdict(
                False, "", "your forward changed its input in place; the backward still needs z"
            )
        y = _as_floats(y)
        if y is None or y.shape != z.shape or not np.allclose(y, expected_y, rtol=1e-12, atol=0):
            return _verdict(False, "", "the forward is wrong: z where z > 0, 0.01 z elsewhere")
        dz, error = _run_student(leaky_relu_backward, z.copy(), expected_y.copy(), dy.copy())
        if error:
            return _verdict(False, "", error)
        dz = _as_floats(dz)
        if dz is None or dz.shape != z.shape:
            return _verdict(False, "", "the backward must return dL/dz, one entry per entry of z")
        wrong = ~np.isclose(dz, expected_dz, rtol=1e-12, atol=0)
        if wrong.any():
            hint = (
                "right everywhere except at z == 0 exactly: there, take the slope of the "
                "'otherwise' side, as relu_backward takes the flat side at its kink"
                if np.all(z[wrong] == 0)
                else "the backward is wrong: it returns f'(z) * dy elementwise, with f'(z) = 1 "
                "for z > 0 and 0.01 otherwise"
            )
            return _verdict(False, "", hint)
    # f is strictly increasing and keeps the sign of z, so y > 0 exactly where z > 0.
    sign_kept = all(
        np.array_equal(z > 0, np.where(z > 0, z, slope * z) > 0)
        for z in (rng.standard_normal(1000), np.array([0.0, -1e-300, 1e-300, -np.inf, np.inf]))
    )
    expected_needs = "either" if sign_kept else "z"
    if needs is None:
        return _verdict(
            True,
            "forward and backward match leaky ReLU on random inputs, the kink included, and "
            "leave their inputs alone.",
            "",
        )
    answer = _one_word(needs)
    if answer != expected_needs:
        hint = (
            "your backward works from one of them; could it work from the other? compare the "
            "signs of z and y"
            if answer in ("z", "y")
            else "answer 'z', 'y' or 'either'"
        )
        return _verdict(False, "", hint)
    return _verdict(
        True,
        "the functions are right, and so is 'either': f keeps the sign of z (its slope is "
        "positive on both sides), so `z > 0` and `y > 0` pick the same entries. ReLU's `y > 0` "
        "would work too; tanh needs y to be cheap.",
        "",
    )


def _huber(p: np.ndarray, t: np.ndarray, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """The Huber loss averaged over all entries, and its gradient with respect to ``p``."""
    d = p - t
    inside = np.abs(d) <= delta
    per_entry = np.where(inside, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
    return float(per_entry.mean()), np.where(inside, d, delta * np.sign(d)) / d.size


def chapter3_exercise2(loss: float, gradient: Sequence[float]) -> bool:
    """The Huber loss (``delta = 1``, averaged) of ``p = [0, 0.5, 3]`` against ``t = [0, 0, 0]``,
    and its gradient with respect to ``p`` (three numbers)."""
    p, t = np.array([0.0, 0.5, 3.0]), np.zeros(3)
    expected_loss, expected_gradient = _huber(p, t)
    given_loss, given_gradient = _as_floats(loss), _as_floats(gradient, 3)
    if given_loss is None or given_loss.shape != () or given_gradient is None:
        return _verdict(False, "", "give the loss (one number) and the gradient (three numbers)")
    if not math.isclose(given_loss, expected_loss, abs_tol=1e-3):
        hint = (
            "average over the entries, do not sum them"
            if math.isclose(given_loss, expected_loss * p.size, abs_tol=1e-3)
            else "per entry: 0.5 d^2 where |d| <= 1 and |d| - 0.5 elsewhere; then the mean"
        )
        return _verdict(False, "", "the loss is wrong: " + hint)
    if not np.allclose(given_gradient, expected_gradient, atol=1e-3):
        hint = (
            "the mean divides the gradient by the number of entries too"
            if np.allclose(given_gradient, expected_gradient * p.size, atol=1e-3)
            else "differentiate each branch: what is the slope of 0.5 d^2, and of |d| - 0.5?"
        )
        return _verdict(False, "", "the loss is right, the gradient not: " + hint)
    return _verdict(
        True,
        f"loss {expected_loss:.4f}, gradient "
        + ", ".join(f"{g:.4f}" for g in expected_gradient)
        + ". Inside |d| <= 1 the gradient is d / n (the MSE's, halved); outside it is capped at "
        "sign(d) / n, so an outlier such as d = 3 pulls no harder than d = 1.",
        "",
    )


def chapter3_exercise3(first_step: float, largest_step: float, at_step: int) -> bool:
    """A connection regrown when Adam's shared step count ``t`` is large, with a constant
    gradient: its first and its largest step in units of ``lr``, and at which of its own steps
    the largest one comes."""
    from minidst.optim import Adam

    weight = _Weights([0.0])
    adam = Adam([weight], lr=1.0)  # lr = 1: each step is measured in units of lr
    adam.t = 1_000_000  # late in training: both bias corrections are 1 to float precision
    sizes = []
    for _ in range(1000):
        before = weight.values[0]
        weight.grad[:] = 0.5
        adam.step()
        sizes.append(before - weight.values[0])
    sizes = np.array(sizes)
    expected = (sizes[0], sizes.max(), int(np.argmax(sizes)) + 1)
    answer = _as_floats([first_step, largest_step, at_step])
    if answer is None or answer.shape != (3,):
        return _verdict(False, "", "give three numbers: first step, largest step, its step")
    if not math.isclose(answer[0], expected[0], abs_tol=0.01):
        hint = (
            "with t large, dividing by (1 - beta^t) changes nothing, so the new connection's "
            "moments are used as they are, starting from zero"
            if math.isclose(answer[0], 1.0, abs_tol=0.01)
            else "follow m and v of the new connection from zero under a constant gradient, "
            "with both correction factors equal to 1"
        )
        return _verdict(False, "", "the first step is wrong: " + hint)
    if not (math.isclose(answer[1], expected[1], abs_tol=0.01) and answer[2] == expected[2]):
        return _verdict(
            False,
            "",
            "the first step is right; keep stepping: the steps grow for a while, then shrink "
            "towards 1. Give the largest size and its step number, counting the first as 1",
        )
    return _verdict(
        True,
        f"{expected[0]:.2f} x lr at first, then up to {expected[1]:.2f} x lr at its step "
        f"{expected[2]}: the uncorrected curve, because the correction only knows the shared t. "
        "Per-connection step counts would cost one more integer per stored connection, next to "
        "the two moments.",
        "",
    )


def chapter3_exercise4(coupled_steps: int, decoupled_steps: int) -> bool:
    """Adam steps (``lr = 1e-3``, ``wd = 2e-4``) until a weight of 1.0 with zero loss gradient
    falls below 0.01: under coupled L2 decay, and under decoupled decay."""
    from minidst.optim import Adam

    lr, wd, threshold = 1e-3, 2e-4, 0.01
    weight = _Weights([1.0])
    adam = Adam([weight], lr=lr, weight_decay=wd)  # coupled: wd * p joins the zero gradient
    coupled = 0
    while weight.values[0] >= threshold and coupled < 1_000_000:
        adam.step()
        coupled += 1
    # Decoupled: w_n = (1 - lr * wd)^n exactly; the first n with w_n < threshold.
    decoupled = math.floor(math.log(threshold) / math.log1p(-lr * wd)) + 1
    answer = _as_floats([coupled_steps, decoupled_steps])
    if answer is None or answer.shape != (2,):
        return _verdict(False, "", "give two step counts: coupled, then decoupled")
    if abs(answer[0] - coupled) > 1:
        hint = (
            "run the simulation: Adam normalises wd * p to about 1 at first, but v remembers "
            "the larger gradients of the start, so the steps shrink with the weight"
            if abs(answer[0] - (1 - threshold) / lr) < 0.05 * coupled
            else "simulate Adam on one weight with lr = 1e-3, weight_decay = 2e-4 and a zero "
            "gradient, and count the steps until it is below 0.01"
        )
        return _verdict(False, "", "the coupled count is wrong: " + hint)
    if not math.isclose(answer[1], decoupled, rel_tol=1e-4):
        return _verdict(
            False,
            "",
            "the coupled count is right; decoupled decay multiplies the weight by (1 - lr * wd) "
            "at every step: solve (1 - lr * wd)^n < 0.01 for n",
        )
    return _verdict(
        True,
        f"{coupled:,} steps coupled against {decoupled:,} decoupled. Coupled decay goes through "
        "Adam's normalisation, so the weight falls by up to lr per step whatever wd is; "
        f"decoupled decay removes the fraction lr * wd per step, {decoupled / coupled:,.0f} "
        "times slower here.",
        "",
    )
