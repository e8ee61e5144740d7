"""Dense vs static sparse vs dynamic sparse, on a problem small enough to run in seconds.

A random dense *teacher* MLP labels Gaussian inputs; three *students* of one architecture learn
it with Adam: dense, static sparse (Erdős–Rényi, never rewired) and dynamic sparse
(prune-and-regrow every ``rewire_every`` steps). Their test loss is printed next to their weight
and FLOP counts. This is ``minidst demo``.
"""

from __future__ import annotations

import time

import numpy as np

from minidst.flops import count_parameters, training_flops
from minidst.kernels import warmup
from minidst.nn import MLP, mse_loss
from minidst.optim import Adam
from minidst.sparsity import erdos_renyi_density
from minidst.topology import evolve_layer


def teacher_data(
    rng: np.random.Generator, n_inputs: int, n_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """A random dense teacher MLP labels Gaussian inputs.

    Returns ``X`` ``(n_inputs, n_samples)`` and ``y`` ``(1, n_samples)``.
    """
    teacher = MLP.build([n_inputs, 64, 1], [None, None], rng, hidden_activation="tanh")
    for layer in teacher.layers:
        layer.weight *= 3.0
    X = rng.standard_normal((n_inputs, n_samples)).astype(np.float32)
    return X, teacher.forward(X)


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

    Each row: ``{"student", "weights", "train_mflop_per_step", "test_mse", "seconds"}``.
    """
    for flag, value in (("--steps", steps), ("--rewire-every", rewire_every)):
        if value <= 0:
            raise ValueError(f"{flag} must be positive, got {value}")
    rng = np.random.default_rng(seed)
    n_in = 32
    X, y = teacher_data(rng, n_in, 6000)
    # Column slices of feature-major arrays are strided: copy them once into contiguous blocks.
    X_train, y_train, X_test, y_test = (
        np.ascontiguousarray(a) for a in (X[:, :5000], y[:, :5000], X[:, 5000:], y[:, 5000:])
    )
    densities = [
        erdos_renyi_density(n_in, hidden, lam1),
        erdos_renyi_density(hidden, hidden, lam2),
        None,
    ]
    print(
        f"minidst demo: teacher-student regression, {n_in}->{hidden}->{hidden}->1, "
        f"{steps} Adam steps, batch 100, seed {seed}"
    )
    print(f"sparse layer densities (Erdős–Rényi): {densities[0]:.3f}, {densities[1]:.3f}")
    warmup()
    print(f"{'student':<16}{'weights':>9}{'train MFLOP/step':>18}{'test MSE':>11}{'seconds':>9}")
    rows = []
    for name, student_densities, evolve in (
        ("dense", [None, None, None], False),
        ("static sparse", densities, False),
        ("dynamic sparse", densities, True),
    ):
        student_rng = np.random.default_rng(seed + 1)  # same data order for every student
        net = MLP.build([n_in, hidden, hidden, 1], student_densities, student_rng)
        optimizer = Adam(net.layers, lr=1e-3)
        start = time.perf_counter()
        for step in range(1, steps + 1):
            batch = student_rng.integers(0, X_train.shape[1], 100)
            _, dY = mse_loss(net.forward(X_train[:, batch]), y_train[:, batch])
            net.backward(dY)
            optimizer.step()
            if evolve and step % rewire_every == 0:
                for layer in net.sparse_layers:
                    evolve_layer(layer, optimizer, zeta, student_rng)
        seconds = time.perf_counter() - start
        row = {
            "student": name,
            "weights": count_parameters(net.layers)["weights"],
            "train_mflop_per_step": training_flops(net.layers, batch=100) / 1e6,
            "test_mse": mse_loss(net.forward(X_test), y_test)[0],
            "seconds": seconds,
        }
        print(
            f"{name:<16}{row['weights']:>9}{row['train_mflop_per_step']:>18.1f}"
            f"{row['test_mse']:>11.4f}{row['seconds']:>9.1f}"
        )
        rows.append(row)
    return rows
