"""The ``minidst`` command line: ``train``, ``evaluate``, ``plot`` and ``demo``.

``minidst train`` runs TD3 or SAC, dense, static sparse or dynamic sparse (DS-TD3 is the
default), on a gymnasium env (default HalfCheetah-v5) into a run directory; ``--resume DIR``
continues one exactly. ``minidst evaluate DIR`` scores a run's saved policy; ``minidst plot
DIR ... --out FILE.png`` draws learning curves.
Exit codes: 0 done, 1 training diverged, 2 bad input, 130 stopped by Ctrl-C.

``minidst demo`` trains three students of one architecture on a regression problem generated in
NumPy - dense, static sparse (Erdős–Rényi, never rewired) and dynamic sparse (prune-and-regrow) -
and prints their test loss next to their parameter and FLOP counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

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


def run_demo(args: argparse.Namespace) -> int:
    if args.steps <= 0:
        raise ValueError(f"--steps must be positive, got {args.steps}")
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
    return 0


def run_train(args: argparse.Namespace) -> int:
    from minidst.config import TrainConfig
    from minidst.train import Trainer, TrainingDiverged

    out = None if args.quiet else sys.stdout

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out)

    settings = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if hasattr(args, f.name)
    }
    if args.resume is not None:
        fixed = sorted(set(settings) - {"steps"})
        if fixed or args.run_dir is not None or args.overwrite:
            given = ", ".join("--" + name.replace("_", "-") for name in fixed) or "--run-dir"
            raise ValueError(
                "--resume continues a run with its own settings; only --steps can change "
                f"(got {given})"
            )
        trainer = Trainer.resume(args.resume, settings.get("steps"), out=out)
        say(f"resuming {args.resume} at step {trainer.step:,} of {trainer.config.steps:,}")
    else:
        config = TrainConfig(**settings).validate()
        run_dir = args.run_dir or Path("runs") / f"{config.env}_{config.algo}_seed{config.seed}"
        trainer = Trainer.start(config, run_dir, overwrite=args.overwrite, out=out)
        what = f"{config.algo} on {config.env}, {config.steps:,} steps, seed {config.seed}"
        say(f"{what} -> {run_dir}")
    try:
        status = trainer.run()
    except TrainingDiverged as error:
        print(f"minidst: training diverged: {error}", file=sys.stderr)
        return 1
    if status == "interrupted":
        hint = f"continue with: minidst train --resume {trainer.run_dir}"
        print(f"stopped at step {trainer.step:,}; {hint}", file=sys.stderr)
        return 130
    say(f"done: {trainer.run_dir}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from minidst.checkpoint import CheckpointError, load_checkpoint
    from minidst.envs import env_sizes, make_env
    from minidst.train import build_agent, evaluate, read_run_config

    run_dir = Path(args.run_dir)
    config = read_run_config(run_dir)
    state, meta = load_checkpoint(run_dir / "policy.npz")
    if (meta.get("algo"), meta.get("env")) != (config.algo, config.env):
        raise CheckpointError(f"{run_dir}/policy.npz is not this run's policy")
    env = make_env(config.env)
    agent = build_agent(config, *env_sizes(env), np.random.default_rng(config.seed))
    try:
        agent.actor.load_state_dict(state["actor"])
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(
            f"{run_dir}/policy.npz does not fit the run's actor: {error}"
        ) from None
    seed = config.seed + 100 if args.seed is None else args.seed
    returns = evaluate(agent, env, seed, args.episodes)
    print(
        f"{config.algo} on {config.env}, policy at step {meta['step']:,}: return "
        f"{returns.mean():.1f} +- {returns.std():.1f} over {args.episodes} episodes "
        f"(min {returns.min():.1f}, max {returns.max():.1f}; env seed {seed})"
    )
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from minidst.plot import plot_runs

    print(f"wrote {plot_runs(args.run_dirs, args.out)}")
    return 0


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`~minidst.config.TrainConfig` field; an unset flag stays unset, so
    ``--resume`` can tell which were given."""
    from minidst.config import TrainConfig

    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        default = getattr(defaults, f.name)
        kind = f.metadata.get("type") or type(default)
        options = {
            "default": argparse.SUPPRESS,
            "help": f"{f.metadata['help']} (default: {default})",
        }
        if f.name == "hidden":
            options["type"] = _widths
            options["help"] = f"{f.metadata['help']} (default: {','.join(map(str, default))})"
        else:
            options["type"] = kind
        if "choices" in f.metadata:
            options["choices"] = f.metadata["choices"]
        parser.add_argument("--" + f.name.replace("_", "-"), **options)
    parser.add_argument("--run-dir", help="run directory (default: runs/ENV_ALGO_seedSEED)")
    parser.add_argument(
        "--resume", metavar="DIR", help="continue the run in DIR from its checkpoint"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a run already in --run-dir"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 256,256, got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage is a --help away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="minidst", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train td3, static-td3 or ds-td3 on a gymnasium env")
    _add_train_options(train)
    train.set_defaults(run=run_train)
    evaluate = commands.add_parser("evaluate", help="returns of a run's saved policy")
    evaluate.add_argument("run_dir", help="a run directory")
    evaluate.add_argument("--episodes", type=int, default=10, help="episodes (default: 10)")
    evaluate.add_argument("--seed", type=int, help="env seed (default: the run's seed + 100)")
    evaluate.set_defaults(run=run_evaluate)
    plot = commands.add_parser("plot", help="learning curves of runs (IQM and bootstrap CI)")
    plot.add_argument("run_dirs", nargs="+", help="run directories")
    plot.add_argument("--out", required=True, help="image file to write, e.g. curves.png")
    plot.set_defaults(run=run_plot)
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
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"minidst: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nminidst: interrupted (files written so far are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
