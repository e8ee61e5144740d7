"""Checks for the course's exercises: call one with your answer and read its verdict.

Every check is named after its chapter and exercise, ``chapter1_exercise4(...)``, computes the
right answer itself (from the library or from first principles), prints one line, ``Correct: ...``
with a short reason or ``Not yet: ...`` with a hint, and returns ``True`` or ``False``. Checks of
exercises that ask you to write a function take the function itself and try it on random inputs.

Only exercises with one well-defined answer have a check: open questions, and timings (which
depend on the machine), do not. ``show_checks(chapter)`` lists a chapter's checks.
"""

from __future__ import annotations

import copy
import inspect
import math
import sys
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


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


def _erdos_renyi_count(n_in: int, n_out: int, lam: float) -> int:
    """Connections a ``SparseLinear`` stores at the Erdős–Rényi density (chapter 1)."""
    from minidst.sparsity import erdos_renyi_density

    return round(erdos_renyi_density(n_in, n_out, lam) * n_in * n_out)


def show_checks(chapter: int) -> None:
    """Print the checks of one chapter and how to call them."""
    prefix = f"chapter{chapter}_exercise"
    checks = [
        (name, function)
        for name, function in inspect.getmembers(sys.modules[__name__], inspect.isfunction)
        if name.startswith(prefix)
    ]
    if not checks:
        print(f"chapter {chapter} has no exercise checks")
    for name, function in sorted(checks, key=lambda item: int(item[0].removeprefix(prefix))):
        arguments = ", ".join(inspect.signature(function).parameters)
        summary = " ".join((inspect.getdoc(function) or "").split("\n\n")[0].split()).replace(
            "``", "`"
        )
        print(f"{name}({arguments}): {summary}")


# --------------------------------------------------------------------------------------------
# Chapter 1: sparse matrices
# --------------------------------------------------------------------------------------------


def chapter1_exercise1(csr_transpose: Callable) -> bool:
    """Your ``csr_transpose(indptr, indices, data, shape)`` against SciPy's ``S.T.tocsr()``."""
    rng = np.random.default_rng(101)
    for shape in [(4, 6), (7, 3), (1, 5), (30, 20)]:
        S = _random_csr(rng, shape, 0.3)
        result, error = _run_student(csr_transpose, S.indptr, S.indices, S.data, shape)
        if error:
            return _verdict(False, "", error)
        try:
            indptr_t, indices_t, data_t = (np.asarray(a) for a in result)
        except (TypeError, ValueError):
            return _verdict(False, "", "return the three arrays (indptr, indices, data) of A.T")
        expected = S.T.tocsr()
        expected.sort_indices()
        same_structure = np.array_equal(indptr_t, expected.indptr) and np.array_equal(
            indices_t, expected.indices
        )
        if not (same_structure and np.array_equal(data_t, expected.data)):
            try:
                yours = sp.csr_array((data_t, indices_t, indptr_t), shape=shape[::-1])
                right_values = (yours != S.T).nnz == 0  # same entries, whatever their order
            except (TypeError, ValueError, IndexError):
                right_values = False
            hint = (
                "the values are right but not in canonical order: sort the columns within each "
                "row of the transpose"
                if right_values
                else f"wrong arrays for a {shape} matrix; check `indptr` (a cumulative count of "
                "entries per column of A) and where each entry lands"
            )
            return _verdict(False, "", hint)
    return _verdict(
        True,
        "your transpose matches SciPy's canonical CSR of A.T on four random shapes, empty rows "
        "and columns included; it works in O(nnz + n_cols), never forming a dense matrix.",
        "",
    )


def chapter1_exercise2(csc_matvec: Callable) -> bool:
    """Your ``csc_matvec(indptr, indices, data, x, n_rows)``, ``A @ x`` from CSC arrays."""
    rng = np.random.default_rng(102)
    for shape in [(4, 6), (7, 3), (25, 40)]:
        A = _random_csr(rng, shape, 0.3).toarray()
        C = sp.csc_array(A)
        x = rng.standard_normal(shape[1])
        y, error = _run_student(csc_matvec, C.indptr, C.indices, C.data, x, shape[0])
        if error:
            return _verdict(False, "", error)
        y = _as_floats(y, shape[0])
        if y is None or not np.allclose(y, A @ x, rtol=1e-10, atol=1e-12):
            return _verdict(
                False,
                "",
                f"wrong result for a {shape} matrix; in CSC, `indptr` delimits columns and "
                "`indices` holds rows, so column c scatters x[c] times its values",
            )
    return _verdict(
        True,
        "A @ x from CSC is a scatter: column c adds data[k] * x[c] into y[indices[k]]. That is "
        "why A @ x is natural in CSR (a gather per row) and A.T @ x in CSC.",
        "",
    )


def chapter1_exercise3(break_even: Sequence[float]) -> bool:
    """The break-even densities ``(float64 + int32, float32 + int64)``, as fractions."""
    expected = []
    for value_type, index_type in [(np.float64, np.int32), (np.float32, np.int64)]:
        value, index = np.dtype(value_type).itemsize, np.dtype(index_type).itemsize
        # CSR costs value + index bytes per stored entry (indptr aside), dense costs value bytes
        # per entry: equal when density * (value + index) == value.
        expected.append(value / (value + index))
    answer = _as_floats(break_even, 2)
    if answer is None:
        return _verdict(False, "", "give two numbers: (float64 with int32, float32 with int64)")
    if np.all(answer > 1) and np.all(answer <= 100):
        return _verdict(False, "", "give densities as fractions between 0 and 1, not percent")
    ok = np.allclose(answer, expected, atol=0.01)
    return _verdict(
        ok,
        f"{expected[0]:.3f} and {expected[1]:.3f}: a stored entry costs value + index bytes "
        "against value bytes for a dense entry. The indptr term, 4 or 8 bytes per row, can "
        "dominate a very tall, very sparse matrix (more rows than stored entries).",
        "CSR pays `value + index` bytes per stored entry, dense pays `value` bytes per entry; "
        "ignore indptr and solve density * (value + index) = value for each pair of types",
    )


def chapter1_exercise4(
    densities: Sequence[float], full_dense_lambdas: Sequence[float] | None = None
) -> bool:
    """Densities of 348 -> 256 at lambda 61 and 7; optionally the lambdas at which
    17 -> 256, 348 -> 256 and 256 -> 256 become fully dense."""
    from minidst.sparsity import erdos_renyi_density

    expected = [erdos_renyi_density(348, 256, lam) for lam in (61, 7)]
    answer = _as_floats(densities, 2)
    if answer is None or not np.allclose(answer, expected, atol=1e-3):
        return _verdict(
            False,
            "",
            "densities: give (density at lambda 61, density at lambda 7) for n_in = 348, "
            "n_out = 256 from lambda * (n_in + n_out) / (n_in * n_out), to 3 decimals",
        )
    if full_dense_lambdas is None:
        return _verdict(
            True, f"densities {expected[0]:.3f} and {expected[1]:.3f} for 348 -> 256.", ""
        )
    # The density reaches 1 when lambda * (n_in + n_out) = n_in * n_out.
    shapes = [(17, 256), (348, 256), (256, 256)]
    expected_lambdas = [n_in * n_out / (n_in + n_out) for n_in, n_out in shapes]
    lambdas = _as_floats(full_dense_lambdas, 3)
    ok = lambdas is not None and np.allclose(lambdas, expected_lambdas, rtol=0.01)
    return _verdict(
        ok,
        f"densities {expected[0]:.3f} and {expected[1]:.3f}; fully dense from lambda = "
        + ", ".join(f"{lam:.1f}" for lam in expected_lambdas)
        + " = n_in * n_out / (n_in + n_out), so a narrow layer saturates at a small lambda.",
        "densities right; for the lambdas, give three numbers (17 -> 256, 348 -> 256, "
        "256 -> 256): where does lambda * (n_in + n_out) / (n_in * n_out) reach 1?",
    )


def chapter1_exercise5(sparsity: float) -> bool:
    """Overall weight sparsity of actor + twin critics for Humanoid-v5, as a fraction."""
    obs_dim, act_dim, hidden, lam_1, lam_2 = 348, 17, 256, 61, 64
    stored = dense = 0
    for n_in, n_out in [(obs_dim, act_dim), (obs_dim + act_dim, 1), (obs_dim + act_dim, 1)]:
        stored += _erdos_renyi_count(n_in, hidden, lam_1) + _erdos_renyi_count(
            hidden, hidden, lam_2
        )
        stored += hidden * n_out  # the output layer stays dense
        dense += n_in * hidden + hidden * hidden + hidden * n_out
    expected = 1 - stored / dense
    answer = _as_floats(sparsity)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the sparsity as a fraction")
    if 1 < answer <= 100:
        return _verdict(False, "", "give the sparsity as a fraction between 0 and 1, not percent")
    return _verdict(
        abs(answer - expected) < 0.005,
        f"{expected:.3f}: {stored:,} of {dense:,} weights. lambda_1 = 61 keeps the wide first "
        "layers near density 0.4, so Humanoid ends a little sparser than HalfCheetah's 51%.",
        "count weights layer by layer for the actor (348 -> 256 -> 256 -> 17) and two critics "
        "(365 -> 256 -> 256 -> 1): the first two layers at their Erdős–Rényi densities "
        "(lambda 61, 64), the output layers dense; then 1 - stored / dense",
    )


# --------------------------------------------------------------------------------------------
# Chapter 2: a sparse layer by hand
# --------------------------------------------------------------------------------------------


def chapter2_exercise4(transposed_index: Callable) -> bool:
    """Your ``transposed_index(indptr, indices, n_in) -> (indptr_t, indices_t, perm)``."""
    rng = np.random.default_rng(204)
    for shape in [(4, 6), (6, 4), (40, 30)]:
        W = _random_csr(rng, shape, 0.3)
        result, error = _run_student(transposed_index, W.indptr, W.indices, shape[1])
        if error:
            return _verdict(False, "", error)
        try:
            indptr_t, indices_t, perm = (np.asarray(a) for a in result)
        except (TypeError, ValueError):
            return _verdict(False, "", "return the three arrays (indptr_t, indices_t, perm)")
        Wt = W.T.tocsr()
        Wt.sort_indices()
        if not np.array_equal(indptr_t, Wt.indptr):
            return _verdict(
                False, "", "indptr_t is wrong: count the entries per column, then accumulate"
            )
        if not np.array_equal(indices_t, Wt.indices):
            return _verdict(
                False, "", "indices_t is wrong: row t of W.T lists the rows r of W holding column t"
            )
        if perm.shape != W.data.shape or not np.array_equal(W.data[perm], Wt.data):
            return _verdict(
                False, "", "perm is wrong: data[perm] must list W's values column by column"
            )
    return _verdict(
        True,
        "a stable argsort of `indices` groups the entries by column and keeps them in row "
        "order within each, which is exactly CSR order for W.T; `perm` is that argsort.",
        "",
    )


def chapter2_exercise5(ratio: float) -> bool:
    """How many times more multiply-adds the dense ``dZ @ X.T`` costs than the SDDMM (256 x 256,
    density 0.1)."""
    n_out = n_in = 256
    nnz = round(0.1 * n_out * n_in)  # what SparseLinear stores
    batch = 100  # any batch: it cancels
    expected = (n_out * n_in * batch) / (nnz * batch)
    answer = _as_floats(ratio)
    ok = answer is not None and answer.shape == () and math.isclose(answer, expected, rel_tol=0.01)
    return _verdict(
        ok,
        f"about {expected:.1f}x: the dense product does n_out * n_in * batch multiply-adds, the "
        "SDDMM nnz * batch, so the factor is 1 / density. To find the largest empty gradients, "
        "compute dZ @ X.T one block of rows at a time and keep a running top 10.",
        "count multiply-adds: the dense product computes every position, the SDDMM only the "
        "stored ones (each a dot product of length batch)",
    )


# --------------------------------------------------------------------------------------------
# Chapter 3: networks and optimizers
# --------------------------------------------------------------------------------------------


class _Weights:
    """A bag of parameters for :class:`~minidst.optim.Adam`: one array and its gradient."""

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float64)
        self.grad = np.zeros_like(self.values)

    def parameters(self) -> list[np.ndarray]:
        return [self.values]

    def gradients(self) -> list[np.ndarray]:
        return [self.grad]


def _one_word(answer) -> str:
    """A one-word answer, lower case, without quotes or brackets around it."""
    return str(answer).strip().strip("{}[]()'\" ").lower()


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


# --------------------------------------------------------------------------------------------
# Chapter 4: making it fast
# --------------------------------------------------------------------------------------------


def chapter4_exercise1(spmm_batch_major: Callable) -> bool:
    """Your ``spmm_batch_major(indptr, indices, data, X, out)``: ``out = X @ W.T`` for
    ``X`` ``(batch, n_in)`` and ``out`` ``(batch, n_out)``, float32 (the timing is yours)."""
    rng = np.random.default_rng(401)
    for shape, batch in [((8, 5), 3), ((64, 48), 16)]:
        W = _random_csr(rng, shape, 0.2, dtype=np.float32)
        X = rng.standard_normal((batch, shape[1])).astype(np.float32)
        out = np.full((batch, shape[0]), np.nan, dtype=np.float32)
        _, error = _run_student(spmm_batch_major, W.indptr, W.indices, W.data, X, out)
        if error:
            return _verdict(False, "", error)
        if not np.allclose(out, X @ W.toarray().T, rtol=1e-4, atol=1e-4):
            return _verdict(
                False,
                "",
                "`out` is wrong (or not filled in place); output feature r of every sample is "
                "the column out[:, r], a sum of data[k] * X[:, indices[k]]",
            )
    return _verdict(
        True,
        "same numbers as X @ W.T. In this layout every stored weight reads and writes strided "
        "columns, which is what your timing against kernels.spmm measures.",
        "",
    )


def chapter4_exercise3(flag: str) -> bool:
    """Which single fastmath flag, ``"reassoc"`` or ``"contract"``, brings the SDDMM's speed
    back."""
    answer = _one_word(flag)
    # The strict dot product is a chain of dependent additions; only permission to reorder the
    # sum lets the compiler keep several partial sums in vector lanes.
    ok = answer == "reassoc"
    return _verdict(
        ok,
        "reassoc. `s += dz[j] * x[j]` in strict order is a chain where each addition waits for "
        "the last; reordering the sum splits it over vector lanes. contract only fuses each "
        "multiply with its add: the chain stays.",
        "think about what the strict loop forbids: fusing a multiply with an add, or splitting "
        "one sum into several partial sums?"
        if answer in ("contract", "")
        else "answer with the name of one flag: 'reassoc' or 'contract'",
    )


# --------------------------------------------------------------------------------------------
# Chapter 5: prune and regrow
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Chapter 6: a reinforcement-learning primer (the corridor of section 1)
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Chapter 7: TD3 from scratch
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Chapter 8: DS-TD3
# --------------------------------------------------------------------------------------------


def _paper_agents(algos: Sequence[str], obs_dim: int, act_dim: int, env: str) -> list:
    """Agents of ``algos`` built by the library for ``env``'s sizes (no simulator needed)."""
    from minidst.config import TrainConfig
    from minidst.factory import build_agent

    max_action = np.ones(act_dim, dtype=np.float32)
    return [
        build_agent(TrainConfig(algo=algo, env=env), obs_dim, act_dim, max_action, rng)
        for algo, rng in zip(algos, (np.random.default_rng(800 + i) for i in range(len(algos))))
    ]


def chapter8_exercise1(sparsity: float) -> bool:
    """Overall sparsity of DS-TD3's actor + critics on Humanoid-v5 (348 observations,
    17 actions), as a fraction."""
    (agent,) = _paper_agents(["ds-td3"], 348, 17, "Humanoid-v5")
    expected = agent.layer_stats()["topology/sparsity"]
    answer = _as_floats(sparsity)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the sparsity as a fraction")
    if 1 < answer <= 100:
        return _verdict(False, "", "give the sparsity as a fraction between 0 and 1, not percent")
    from minidst.sparsity import erdos_renyi_density

    seen = {lam: erdos_renyi_density(348, 256, lam) * 348 for lam in (7, 61)}
    return _verdict(
        abs(answer - expected) < 0.005,
        f"{expected:.3f}; the second layers (0.5) are the densest sparse ones. With 348 inputs, "
        f"lambda_1 = 7 would leave each first-layer unit about {seen[7]:.0f} of them; "
        f"lambda_1 = 61 keeps about {seen[61]:.0f}.",
        "agent.layer_stats() has it; or count: stored over dense weights of the online actor "
        "and both critics, biases and targets not counted",
    )


def chapter8_exercise5(factor: float, ratios: Sequence[float] | None = None) -> bool:
    """How many times ``flops_per_iteration`` exceeds ``paper_flops_per_iteration`` for dense
    TD3 on HalfCheetah; optionally the DS-TD3 / TD3 ratio under (paper, library) counts."""
    dense, sparse = _paper_agents(["td3", "ds-td3"], 17, 6, "HalfCheetah-v5")
    from minidst.config import TrainConfig

    batch = TrainConfig(algo="td3", env="HalfCheetah-v5").validate().batch_size  # 100
    expected_factor = dense.flops_per_iteration(batch) / dense.paper_flops_per_iteration(batch)
    answer = _as_floats(factor)
    if (
        answer is None
        or answer.shape != ()
        or not math.isclose(answer, expected_factor, rel_tol=0.01)
    ):
        return _verdict(
            False,
            "",
            "divide the two per-iteration counts of the dense agent (the number of iterations "
            "cancels over a whole run); give the factor, e.g. 1.10 for 10% more",
        )
    expected_ratios = [
        sparse.paper_flops_per_iteration(batch) / dense.paper_flops_per_iteration(batch),
        sparse.flops_per_iteration(batch) / dense.flops_per_iteration(batch),
    ]
    if ratios is None:
        return _verdict(True, f"a factor of {expected_factor:.3f}.", "")
    given = _as_floats(ratios, 2)
    ok = given is not None and np.allclose(given, expected_ratios, atol=0.002)
    return _verdict(
        ok,
        f"a factor of {expected_factor:.3f}; DS-TD3 / TD3 is {expected_ratios[0]:.3f} (paper) "
        f"and {expected_ratios[1]:.3f} (library). The ratio barely moves: the extra passes run "
        "through the same sparse layers, so they shrink by the same fraction.",
        "factor right; for the ratios give two numbers, (paper's count, library's count), each "
        "DS-TD3 over dense TD3",
    )


# --------------------------------------------------------------------------------------------
# Chapter 13: SAC
# --------------------------------------------------------------------------------------------


def _squashed_gaussian_reference(head: np.ndarray, eps: np.ndarray) -> dict[str, np.ndarray]:
    """``squashed_gaussian`` from first principles, in float64: scipy's Gaussian log-density of
    ``u`` minus the stable ``log(1 - tanh(u)^2)``. (Not the library's function, which an
    exercise replaces.)"""
    from scipy.stats import norm

    from minidst.sac import LOG_STD_MAX, LOG_STD_MIN

    head, eps = np.asarray(head, dtype=np.float64), np.asarray(eps, dtype=np.float64)
    n_act = head.shape[0] // 2
    mean, raw = head[:n_act], head[n_act:]
    std = np.exp(LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(raw) + 1) / 2)
    u = mean + std * eps
    log_one_minus_a2 = 2 * (math.log(2.0) - u - np.logaddexp(0.0, -2 * u))
    logp = np.sum(norm.logpdf(u, loc=mean, scale=std) - log_one_minus_a2, axis=0, keepdims=True)
    return {"a": np.tanh(u), "logp": logp, "u": u, "std": std, "eps": eps, "raw": raw}


def chapter13_exercise1(naive_squashed_gaussian: Callable) -> bool:
    """Your copy of ``squashed_gaussian(head, eps)`` with the naive correction
    ``np.log(1 - a**2)``: a drop-in replacement (the training run is yours)."""
    rng = np.random.default_rng(1301)
    n_act, batch = 3, 64
    # Moderate |u| in float64: there the naive form is accurate, so everything must agree.
    head = np.vstack([rng.normal(size=(n_act, batch)), 0.3 * rng.normal(size=(n_act, batch))])
    eps = rng.normal(size=(n_act, batch))
    expected = _squashed_gaussian_reference(head, eps)
    sample, error = _run_student(naive_squashed_gaussian, head.copy(), eps.copy())
    if error:
        return _verdict(False, "", error)
    if not isinstance(sample, dict) or not set(expected) <= set(sample):
        return _verdict(
            False,
            "",
            "return a dict with the same keys as the library's (" + ", ".join(expected) + "): "
            "the agent and squashed_gaussian_backward read them",
        )
    for key, value in expected.items():
        given = _as_floats(sample[key])
        if given is None or given.shape != value.shape:
            return _verdict(False, "", f"'{key}' should have shape {value.shape}")
        if not np.allclose(given, value, rtol=1e-9, atol=1e-12):
            return _verdict(
                False,
                "",
                f"'{key}' differs from the library's where |u| < 5, where the naive correction "
                "is still accurate: change only how log(1 - a^2) is computed",
            )
    # Saturated float32: a policy mean of 12 puts every |u| near 12, where tanh rounds to 1.
    saturated_head = np.vstack([np.full((1, 8), 12.0), np.full((1, 8), -3.0)]).astype(np.float32)
    saturated_eps = rng.normal(size=(1, 8)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sample, error = _run_student(naive_squashed_gaussian, saturated_head, saturated_eps)
    if error:
        return _verdict(False, "", "in float32 with |u| near 12, " + error)
    logp = np.asarray(sample["logp"])
    if logp.dtype != np.float32:
        return _verdict(
            False,
            "",
            f"a float32 head should give a float32 logp, not {logp.dtype}: the agent "
            "trains in float32, and that is where the naive form breaks",
        )
    if np.all(np.isfinite(logp)):
        return _verdict(
            False,
            "",
            "in float32 with |u| near 12 your logp is still finite: compute the correction "
            "the naive way, np.log(1 - a**2), so that the run shows what it breaks",
        )
    return _verdict(
        True,
        "your copy agrees with the library where |u| is moderate, and in float32 with |u| near "
        "12 its logp is +inf, because tanh(u) rounds to 1 and log(1 - 1) = -inf. One such "
        "sample makes the actor loss infinite or NaN.",
        "",
    )


# --------------------------------------------------------------------------------------------
# Chapter 14: DS-SAC
# --------------------------------------------------------------------------------------------


def chapter14_exercise2(ratios: Sequence[float]) -> bool:
    """The DS-SAC / SAC ratio of FLOPs per iteration at HalfCheetah sizes, ``(paper's
    convention, SAC.flops_per_iteration)``, to 3 decimals."""
    from minidst.flops import forward_flops

    dense, sparse = _paper_agents(["sac", "ds-sac"], 17, 6, "HalfCheetah-v5")

    def paper_count(agent) -> float:
        """The training passes (3x forward) of both critics and the actor, every iteration."""
        critics = sum(forward_flops(critic.layers) for critic in agent.critics)
        return 3 * critics + 3 * forward_flops(agent.actor.layers)  # the batch size cancels

    batch = 256  # any batch: it cancels in each ratio
    expected = [
        paper_count(sparse) / paper_count(dense),
        sparse.flops_per_iteration(batch) / dense.flops_per_iteration(batch),
    ]
    given = _as_floats(ratios, 2)
    if given is None:
        return _verdict(False, "", "give two numbers: (paper's convention, library's count)")
    if np.allclose(given, expected, atol=6e-4):
        critic, actor = (
            forward_flops(sparse_net.layers) / forward_flops(dense_net.layers)
            for sparse_net, dense_net in [
                (sparse.critics[0], dense.critics[0]),
                (sparse.actor, dense.actor),
            ]
        )
        return _verdict(
            True,
            f"{expected[0]:.3f} (paper) and {expected[1]:.3f} (library). The library adds one "
            "actor pass and three critic passes per iteration through the same sparse layers, "
            f"so the ratio barely moves; it shifts towards the critics' own ratio ({critic:.3f}, "
            f"against the actor's {actor:.3f}).",
            "",
        )
    weights = [sum(layer.nnz for _, layer in agent.named_layers()) for agent in (sparse, dense)]
    if np.allclose(given, weights[0] / weights[1], atol=6e-4):
        hint = (
            "that is the ratio of weights; FLOPs weigh each network by the passes it makes "
            "per iteration"
        )
    elif np.allclose(given, expected[::-1], atol=6e-4):
        hint = "the order: first the paper's convention, then SAC.flops_per_iteration"
    else:
        hint = (
            "for the paper's convention count one training pass (3x a forward pass) of both "
            "critics and of the actor per iteration, nothing else; then divide DS-SAC's count "
            "by SAC's, for both conventions"
        )
    return _verdict(False, "", hint)


def chapter14_exercise5(saved: float) -> bool:
    """The fraction of SAC's FLOPs per training iteration that DS-SAC at ``--sparsity 0.9``
    saves on Pendulum-v1 (3 observations, 1 action)."""
    from minidst.config import TrainConfig
    from minidst.factory import build_agent

    agents = {
        algo: build_agent(
            TrainConfig(algo=algo, env="Pendulum-v1", **options),
            3,
            1,
            np.ones(1, dtype=np.float32),
            np.random.default_rng(1405),
        )
        for algo, options in [("sac", {}), ("ds-sac", {"sparsity": 0.9})]
    }
    flops = {algo: agent.flops_per_iteration(256) for algo, agent in agents.items()}
    expected = 1 - flops["ds-sac"] / flops["sac"]  # the batch size cancels
    answer = _as_floats(saved)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the fraction of SAC's FLOPs saved")
    if 1 < answer <= 100:
        return _verdict(False, "", "give the saving as a fraction between 0 and 1, not percent")
    stats = agents["ds-sac"].layer_stats()
    dense_first = all(stats[f"topology/{net}_l1_density"] == 1.0 for net in ("actor", "critic1"))
    layers = (
        "ERK leaves the first layers dense (with 3 or 4 inputs their share would exceed "
        "density 1) and puts the hidden ones at density "
        f"{stats['topology/actor_l2_density']:.3f}"
        if dense_first
        else "ERK spreads the connections over the first and the hidden layers"
    )
    return _verdict(
        abs(answer - expected) < 0.005,
        f"{expected:.3f}: {layers}. ERK sets each network's sparsity to 0.9, so every pass of "
        "every network costs a tenth, and so does the whole iteration.",
        "build SAC and DS-SAC with sparsity 0.9 at Pendulum's sizes (no simulator needed) and "
        "compare their flops_per_iteration; the saving is 1 minus the ratio",
    )
