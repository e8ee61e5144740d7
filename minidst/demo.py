"""Dense vs static sparse vs dynamic sparse, on a problem small enough to run in seconds.

A random dense *teacher* MLP labels Gaussian inputs; three *students* of one architecture learn
it with Adam on the same minibatches: dense, static sparse (Erdős–Rényi, never rewired) and
dynamic sparse (the static student's copy, pruned and regrown every ``rewire_every`` steps).
Their test loss is printed next to their weight and FLOP counts. This is ``minidst demo``, and
chapter 5 of the course runs the same experiment from the same three building blocks:
:func:`teacher_regression`, :func:`build_students` and :func:`train_student`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from minidst.flops import count_parameters, training_flops
from minidst.kernels import warmup
from minidst.nn import MLP, mse_loss
from minidst.optim import Adam
from minidst.sparsity import erdos_renyi_density
from minidst.topology import evolve_layer

#: The three students, in the order they are trained and printed.
STUDENTS = ("dense", "static sparse", "dynamic sparse")


class Regression(NamedTuple):
    """A teacher's data, feature-major and C-contiguous float32: ``X`` ``(n_in, n)``, ``y``
    ``(n_out, n)``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def teacher_regression(
    rng: np.random.Generator,
    n_inputs: int,
    n_outputs: int,
    teacher_hidden: Sequence[int],
    n_train: int,
    n_test: int,
    weight_scale: float = 1.0,
) -> Regression:
    """Gaussian inputs labelled by a random dense tanh MLP (the *teacher*), split into a
    training and a test set.

    The teacher is ``n_inputs -> teacher_hidden... -> n_outputs`` in float64, its weights
    multiplied by ``weight_scale`` (larger means a less linear function). Targets are
    standardised per output with the *training* set's mean and standard deviation, so predicting
    the mean scores a test loss of about 1.
    """
    sizes = [n_inputs, *teacher_hidden, n_outputs]
    teacher = MLP.build(
        sizes, [None] * (len(sizes) - 1), rng, hidden_activation="tanh", dtype=np.float64
    )
    for layer in teacher.layers:
        layer.weight *= weight_scale
    X = rng.standard_normal((n_inputs, n_train + n_test))
    y = teacher.forward(X)
    mean = y[:, :n_train].mean(axis=1, keepdims=True)
    std = y[:, :n_train].std(axis=1, keepdims=True)
    y = (y - mean) / std
    # Column slices of feature-major arrays are strided: copy them once into contiguous blocks.
    return Regression(
        *(
            np.ascontiguousarray(a, dtype=np.float32)
            for a in (X[:, :n_train], y[:, :n_train], X[:, n_train:], y[:, n_train:])
        )
    )


def build_students(
    sizes: Sequence[int], densities: Sequence[float | None], rng: np.random.Generator
) -> dict[str, MLP]:
    """The three students of :data:`STUDENTS`, ReLU MLPs of layer sizes ``sizes``.

    The sparse ones use ``densities`` (``None`` = a dense layer); the dynamic student is a deep
    copy of the static one, so both start from the very same topology and weights.
    """
    static = MLP.build(sizes, densities, rng)
    return {
        "dense": MLP.build(sizes, [None] * (len(sizes) - 1), rng),
        "static sparse": static,
        "dynamic sparse": copy.deepcopy(static),
    }


def train_student(
    net: MLP,
    data: Regression,
    schedule: np.ndarray,
    rng: np.random.Generator,
    *,
    rewire: bool = False,
    zeta: float = 0.05,
    rewire_every: int = 200,
    lr: float = 1e-3,
    eval_every: int | None = None,
) -> dict:
    """Train ``net`` with Adam on the minibatches ``schedule`` (one row of training-set column
    indices per step) and MSE loss; if ``rewire``, prune and regrow every sparse layer
    (``evolve_layer``, drop fraction ``zeta``, regrowth drawn from ``rng``) every
    ``rewire_every`` steps, except on the last step.

    Returns the history: every ``eval_every`` steps (default: only at the end) the ``step``, the
    mean minibatch loss since the last record (``train``) and the loss on the test set
    (``test``); and the run's ``seconds`` and number of topology ``updates``.
    """
    steps = len(schedule)
    eval_every = eval_every or steps
    optimizer = Adam(net.layers, lr=lr)
    history: dict = {"step": [], "train": [], "test": [], "updates": 0}
    running = []
    start = time.perf_counter()
    for step, batch in enumerate(schedule, start=1):
        loss, dY = mse_loss(net.forward(data.X_train[:, batch]), data.y_train[:, batch])
        net.backward(dY)
        optimizer.step()
        running.append(loss)
        if rewire and step % rewire_every == 0 and step < steps:
            for layer in net.sparse_layers:
                evolve_layer(layer, optimizer, zeta, rng)
            history["updates"] += 1
        if step % eval_every == 0 or step == steps:
            history["step"].append(step)
            history["train"].append(float(np.mean(running)))
            history["test"].append(mse_loss(net.forward(data.X_test), data.y_test)[0])
            running = []
    history["seconds"] = time.perf_counter() - start
    return history


def compare_students(
    steps: int = 3000,
    seed: int = 0,
    hidden: int = 256,
    lam1: float = 7.0,
    lam2: float = 64.0,
    zeta: float = 0.05,
    rewire_every: int = 200,
) -> list[dict]:
    """Train the three students and print a table; returns its rows.

    The teacher is ``32 -> 64 -> 1`` (tanh, weights scaled by 3), with 5,000 training and 1,000
    test samples; the students are ``32 -> hidden -> hidden -> 1``, batch 100, Adam lr 1e-3.
    Each row: ``{"student", "weights", "train_mflop_per_step", "test_mse", "seconds"}``.
    """
    for flag, value in (("--steps", steps), ("--rewire-every", rewire_every)):
        if value <= 0:
            raise ValueError(f"{flag} must be positive, got {value}")
    rng = np.random.default_rng(seed)
    n_in, batch = 32, 100
    data = teacher_regression(rng, n_in, 1, [64], n_train=5000, n_test=1000, weight_scale=3.0)
    densities = [
        erdos_renyi_density(n_in, hidden, lam1),
        erdos_renyi_density(hidden, hidden, lam2),
        None,
    ]
    students = build_students([n_in, hidden, hidden, 1], densities, rng)
    schedule = rng.integers(0, data.X_train.shape[1], size=(steps, batch))  # shared minibatches
    print(
        f"minidst demo: teacher-student regression, {n_in}->{hidden}->{hidden}->1, "
        f"{steps} Adam steps, batch {batch}, seed {seed}"
    )
    print(f"sparse layer densities (Erdős–Rényi): {densities[0]:.3f}, {densities[1]:.3f}")
    warmup()
    print(f"{'student':<16}{'weights':>9}{'train MFLOP/step':>18}{'test MSE':>11}{'seconds':>9}")
    rows = []
    for name, net in students.items():
        history = train_student(
            net,
            data,
            schedule,
            rng,
            rewire=name == "dynamic sparse",
            zeta=zeta,
            rewire_every=rewire_every,
        )
        row = {
            "student": name,
            "weights": count_parameters(net.layers)["weights"],
            "train_mflop_per_step": training_flops(net.layers, batch=batch) / 1e6,
            "test_mse": history["test"][-1],
            "seconds": history["seconds"],
        }
        print(
            f"{name:<16}{row['weights']:>9}{row['train_mflop_per_step']:>18.1f}"
            f"{row['test_mse']:>11.4f}{row['seconds']:>9.1f}"
        )
        rows.append(row)
    return rows
