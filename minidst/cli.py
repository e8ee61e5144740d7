"""The ``minidst`` command line: ``train``, ``sweep``, ``evaluate``, ``report``, ``video``,
``plot`` and ``demo``.

``minidst train`` runs TD3 or SAC, dense, static sparse or dynamic sparse (DS-TD3 is the
default), on a gymnasium env (default HalfCheetah-v5) into a run directory; ``--resume DIR``
continues one exactly. ``minidst sweep`` runs a grid of them (algos x envs x seeds), skipping
finished runs and resuming the others; ``minidst report DIR`` states what a sweep found, with
its statistics. ``minidst evaluate DIR`` scores a run's saved policy, ``minidst video DIR``
renders one of its episodes, and ``minidst plot DIR ... --out FILE.png`` draws learning curves.
Exit codes: 0 done, 1 training diverged (or a sweep's run failed), 2 bad input, 130 stopped by
Ctrl-C.

``minidst demo`` runs :func:`minidst.demo.compare_students`: dense, static sparse and dynamic
sparse students of one architecture on a regression problem.

This module only parses the command line and dispatches to the modules that do the work.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path


def run_demo(args: argparse.Namespace) -> int:
    from minidst.demo import compare_students

    compare_students(
        steps=args.steps,
        seed=args.seed,
        hidden=args.hidden,
        lam1=args.lam1,
        lam2=args.lam2,
        zeta=args.zeta,
        rewire_every=args.rewire_every,
    )
    return 0


def run_train(args: argparse.Namespace) -> int:
    from minidst.config import TrainConfig, check_family_options
    from minidst.train import Trainer, TrainingDiverged

    out = None if args.quiet else sys.stdout

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out)

    settings = _given_settings(args)
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
        check_family_options([settings.get("algo", TrainConfig.algo)], set(settings))
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
    finally:
        trainer.end_line()
        trainer.close()
    if status == "interrupted":
        hint = f"continue with: minidst train --resume {trainer.run_dir}"
        print(f"stopped at step {trainer.step:,}; {hint}", file=sys.stderr)
        return 130
    say(f"done: {trainer.run_dir}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from minidst import sweep

    options = {
        name: value
        for name, value in _given_settings(args).items()
        if name not in ("algo", "env", "seed")  # the grid's own (--algo, --env: lists)
    }
    grid_given = args.algo or args.env or args.seeds or options
    if args.file and grid_given:
        raise ValueError("give the sweep either as --file or as options, not both")
    spec_path = Path(args.sweep_dir) / sweep.SPEC_FILE
    if args.file:
        spec = sweep.read_spec_file(args.file)
    elif grid_given or not spec_path.is_file():
        spec = sweep.SweepSpec(
            algos=args.algo or ["ds-td3"],
            envs=args.env or ["HalfCheetah-v5"],
            seeds=sweep.parse_seeds(args.seeds or "0"),
            options=options,
        )
    else:  # the sweep directory alone: rerun the sweep it records
        spec = sweep.read_spec_file(spec_path)
    out = None if args.quiet else sys.stdout
    if args.engine == "ray":
        sweep.import_ray()  # before anything is written: say how to install it if missing
        engine = sweep.RayEngine(args.address, out, ray_logs=args.ray_logs)
        engine.connect()  # Ray starts, or fails, before the sweep writes anything
    else:
        if args.address or args.ray_logs:
            raise ValueError("--address and --ray-logs are for --engine ray")
        engine = sweep.LocalEngine(args.jobs, out)
    statuses = sweep.run_sweep(spec, args.sweep_dir, engine, args.allow_changes, out)
    counts = {status: list(statuses.values()).count(status) for status in set(statuses.values())}
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    if out is not None:
        print(f"sweep {args.sweep_dir}: {summary}", file=out)
    if counts.get("failed"):
        return 1
    return 130 if counts.get("stopped") else 0


def run_report(args: argparse.Namespace) -> int:
    from minidst.report import write_report

    print(f"wrote {write_report(args.sweep_dir, args.out)}")
    return 0


def run_video(args: argparse.Namespace) -> int:
    from minidst.video import record

    out, total, steps = record(
        args.run_dir, args.out, args.seed, args.max_steps, args.fps, progress=not args.quiet
    )
    if not args.quiet:
        print(f"wrote {out}: {steps} steps, return {total:.1f}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from minidst import rundir
    from minidst.checkpoint import CheckpointError
    from minidst.envs import env_sizes, make_env
    from minidst.factory import build_agent
    from minidst.train import evaluate

    config = rundir.read_config(args.run_dir)
    actor_state, step = rundir.load_policy(args.run_dir, config)
    env = make_env(config.env)
    agent = build_agent(config, *env_sizes(env), np.random.default_rng(config.seed))
    try:
        agent.actor.load_state_dict(actor_state)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(
            f"{args.run_dir}/{rundir.POLICY} does not fit the run's actor: {error}"
        ) from None
    seed = config.seed + 100 if args.seed is None else args.seed
    returns = evaluate(agent, env, seed, args.episodes)
    print(
        f"{config.algo} on {config.env}, policy at step {step:,}: return "
        f"{returns.mean():.1f} +- {returns.std():.1f} over {args.episodes} episodes "
        f"(min {returns.min():.1f}, max {returns.max():.1f}; env seed {seed})"
    )
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from minidst.plot import distinct_runs, plot_runs

    for skipped, kept in distinct_runs(args.run_dirs)[1]:
        print(f"{skipped}: the same run as {kept}, counted once", file=sys.stderr)
    print(f"wrote {plot_runs(args.run_dirs, args.out)}")
    return 0


def _at_least(minimum: int):
    """An argparse type: a whole number >= ``minimum`` (a one-line usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _add_train_options(parser: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> None:
    """One flag per :class:`~minidst.config.TrainConfig` field (but ``exclude``), its help and
    default from the same source; an unset flag stays unset, so ``--resume`` (and a sweep) can
    tell which were given."""
    from minidst.config import TrainConfig, default_text

    for f in dataclasses.fields(TrainConfig):
        if f.name in exclude:
            continue
        default = default_text(f.name)
        options = {
            "default": argparse.SUPPRESS,
            "help": f.metadata["help"] + (f" (default: {default})" if default else ""),
            "type": _widths if f.name == "hidden" else f.metadata.get("type") or type(f.default),
        }
        if "choices" in f.metadata:
            options["choices"] = f.metadata["choices"]
        parser.add_argument("--" + f.name.replace("_", "-"), **options)


def _given_settings(args: argparse.Namespace) -> dict:
    """The :class:`~minidst.config.TrainConfig` settings given on the command line."""
    from minidst.config import TrainConfig

    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if hasattr(args, f.name)
    }


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
    from minidst import __version__

    summary = " ".join(__doc__.split("\n\n")[0].split()).replace("``", "")
    parser = _Parser(prog="minidst", description=summary)
    parser.add_argument("--version", action="version", version=f"minidst {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser(
        "train", help="train TD3 or SAC (dense, static or dynamic sparse) on a gymnasium env"
    )
    _add_train_options(train)
    train.add_argument("--run-dir", help="run directory (default: runs/ENV_ALGO_seedSEED)")
    train.add_argument(
        "--resume", metavar="DIR", help="continue the run in DIR from its checkpoint"
    )
    train.add_argument(
        "--overwrite", action="store_true", help="replace a run already in --run-dir"
    )
    train.add_argument("--quiet", action="store_true", help="print nothing but errors")
    train.set_defaults(run=run_train)
    sweep = commands.add_parser(
        "sweep",
        help="a grid of runs (algos x envs x seeds): skips finished runs, resumes the others",
        description="Run every algo x env x seed in its own run directory, DIR/ENV/ALGO/seedK, "
        "--jobs at a time. Rerunning the same command skips finished runs and resumes the "
        "others; a sweep directory alone reruns the sweep it records. Other options are "
        "train options shared by every run.",
    )
    sweep.add_argument("--algo", nargs="+", metavar="ALGO", help="algorithms of the grid")
    sweep.add_argument("--env", nargs="+", metavar="ENV", help="environments of the grid")
    sweep.add_argument("--seeds", help="seeds of the grid, e.g. 0-4 or 0,2,5 (default: 0)")
    sweep.add_argument("--file", help="the grid and shared options as a .toml or .json file")
    sweep.add_argument("--sweep-dir", required=True, help="where the sweep's runs go")
    sweep.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1,
        help="runs at a time (default: the number of cores)",
    )  # fmt: skip
    sweep.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local: processes on this machine (default); ray: Ray tasks, one CPU each",
    )  # fmt: skip
    sweep.add_argument(
        "--address", help="--engine ray: the Ray cluster to join (default: a local Ray)"
    )
    sweep.add_argument(
        "--ray-logs", action="store_true",
        help="--engine ray: show Ray's own log lines and its workers' output (hidden by default)",
    )  # fmt: skip
    sweep.add_argument(
        "--allow-changes", action="store_true",
        help="let the grid or shared options differ from those the sweep directory records",
    )  # fmt: skip
    sweep.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_train_options(sweep, exclude=("algo", "env", "seed"))
    sweep.set_defaults(run=run_sweep)
    evaluate = commands.add_parser("evaluate", help="returns of a run's saved policy")
    evaluate.add_argument("run_dir", help="a run directory")
    evaluate.add_argument(
        "--episodes", type=_at_least(1), default=10, help="episodes (default: 10)"
    )
    evaluate.add_argument(
        "--seed", type=_at_least(0), help="env seed (default: the run's seed + 100)"
    )
    evaluate.set_defaults(run=run_evaluate)
    report = commands.add_parser(
        "report", help="a sweep's statistics: Markdown report, summary CSV/JSON, curves"
    )
    report.add_argument("sweep_dir", help="a sweep directory (or any folder of runs)")
    report.add_argument("--out", help="where the report goes (default: the sweep directory)")
    report.set_defaults(run=run_report)
    video = commands.add_parser("video", help="render one episode of a run's saved policy")
    video.add_argument("run_dir", help="a run directory")
    video.add_argument("--quiet", action="store_true", help="print nothing but errors")
    video.add_argument("--out", required=True, help="a .gif, or an .mp4 (the video extra)")
    video.add_argument("--seed", type=_at_least(0), help="env seed (default: the run's seed + 100)")
    video.add_argument(
        "--max-steps", type=_at_least(1), help="stop the episode early after this many"
    )
    video.add_argument(
        "--fps", type=_at_least(1), default=30, help="frames per second (default: 30)"
    )
    video.set_defaults(run=run_video)
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
        "--rewire-every", type=int, default=200, help="steps between topology updates"
    )
    demo.set_defaults(run=run_demo)
    return parser


def _limit_blas_threads(argv: list[str]) -> None:
    """Give BLAS the run's thread count (``--threads``, else the resumed run's, else 1), for
    every command that computes (``train``, and ``demo``, ``evaluate``, ``video`` at 1 thread).

    It must happen before NumPy loads: OpenBLAS reads its thread count once, when it starts, and
    building the parser loads NumPy. (Numba's count is set later, by the trainer.) Without this,
    BLAS would take every core, which is slower for these small matrices and fights with any
    other run on the machine.
    """
    if not argv or argv[0] not in ("train", "demo", "evaluate", "video"):
        return
    threads = "1"
    for i, arg in enumerate(argv):
        if arg == "--resume" and i + 1 < len(argv):
            try:
                record = json.loads((Path(argv[i + 1]) / "config.json").read_text())
                threads = str(record["config"].get("threads", 1))
            except (OSError, ValueError, KeyError, TypeError):
                pass  # the resume itself reports what is wrong with the run
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            threads = argv[i + 1]
        elif arg.startswith("--threads="):
            threads = arg.split("=", 1)[1]
    if threads.isdigit() and int(threads) > 0:
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = threads


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _limit_blas_threads(argv)
        args = build_parser().parse_args(argv)
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"minidst: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Also while libraries are still loading: no traceback, nothing written is lost.
        print("\nminidst: interrupted (files written so far are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
