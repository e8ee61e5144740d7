"""The ``minidst`` command line.

``minidst demo`` trains three students of one architecture on a regression problem generated in
NumPy - dense, static sparse (Erdős–Rényi, never rewired) and dynamic sparse (prune-and-regrow) -
and prints their test loss next to their parameter and FLOP counts.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from minidst import MLP, Adam, evolve_layer, mse_loss, warmup
from minidst.flops import count_parameters, training_flops
from minidst.sparsity import erdos_renyi_density


def _teacher_data(rng: np.random.Generator, n_inputs: int, n_samples: int):
    """A random dense teacher MLP labels Gaussian inputs.

    Returns ``X`` ``(n_inputs, n_samples)`` and ``y`` ``(1, n_samples)``.
    """
    teacher = MLP.build([n_inputs, 64, 1], [None, None], rng, hidden_activation="tanh")
    for layer in teacher.layers:
        layer.weight *= 3.0
    X = rng.standard_normal((n_inputs, n_samples)).astype(np.float32)
    return X, teacher.forward(X)


def run_demo(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    n_in, hidden = 32, args.hidden
    X, y = _teacher_data(rng, n_in, 6000)
    # Column slices of feature-major arrays are strided: copy them once into contiguous blocks.
    X_train, y_train, X_test, y_test = (
        np.ascontiguousarray(a) for a in (X[:, :5000], y[:, :5000], X[:, 5000:], y[:, 5000:])
    )
    densities = [
        erdos_renyi_density(n_in, hidden, args.lam1),
        erdos_renyi_density(hidden, hidden, args.lam2),
        None,
    ]
    print(
        f"minidst demo: teacher-student regression, {n_in}->{hidden}->{hidden}->1, "
        f"{args.steps} Adam steps, batch 100, seed {args.seed}"
    )
    print(f"sparse layer densities (Erdős–Rényi): {densities[0]:.3f}, {densities[1]:.3f}")
    warmup()
    print(f"{'student':<16}{'weights':>9}{'train MFLOP/step':>18}{'test MSE':>11}{'seconds':>9}")
    for name, layer_densities, evolve in (
        ("dense", [None, None, None], False),
        ("static sparse", densities, False),
        ("dynamic sparse", densities, True),
    ):
        student_rng = np.random.default_rng(args.seed + 1)  # same data order for every student
        net = MLP.build([n_in, hidden, hidden, 1], layer_densities, student_rng)
        optimizer = Adam(net.layers, lr=1e-3)
        start = time.perf_counter()
        for step in range(1, args.steps + 1):
            batch = student_rng.integers(0, X_train.shape[1], 100)
            _, dY = mse_loss(net.forward(X_train[:, batch]), y_train[:, batch])
            net.backward(dY)
            optimizer.step()
            if evolve and step % args.evolve_every == 0:
                for layer in net.sparse_layers:
                    evolve_layer(layer, optimizer, args.zeta, student_rng)
        seconds = time.perf_counter() - start
        test_loss, _ = mse_loss(net.forward(X_test), y_test)
        weights = count_parameters(net.layers)["weights"]
        mflops = training_flops(net.layers, batch=100) / 1e6
        print(f"{name:<16}{weights:>9}{mflops:>18.1f}{test_loss:>11.4f}{seconds:>9.1f}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minidst", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="dense vs static vs dynamic sparse on a regression")
    demo.add_argument("--steps", type=int, default=3000, help="Adam steps per student")
    demo.add_argument("--seed", type=int, default=0, help="seed of the run's random generator")
    demo.add_argument("--hidden", type=int, default=256, help="width of the two hidden layers")
    demo.add_argument("--lam1", type=float, default=7.0, help="Erdős–Rényi lambda, first layer")
    demo.add_argument("--lam2", type=float, default=64.0, help="Erdős–Rényi lambda, second layer")
    demo.add_argument("--zeta", type=float, default=0.05, help="drop fraction per topology update")
    demo.add_argument(
        "--evolve-every", type=int, default=200, help="steps between topology updates"
    )
    demo.set_defaults(run=run_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", 1) <= 0:
        print("minidst: error: --steps must be positive", file=sys.stderr)
        return 2
    try:
        args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"minidst: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minidst: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
