"""The training loop: collect, learn, evaluate, record, checkpoint, resume.

One run lives in one directory::

    config.json        every setting, plus library versions
    progress.csv       a row every ``log_every`` steps: losses, Q values, topology, FLOPs, speed
    evaluations.csv    a row per evaluation: step, return_mean, return_std, ...
    checkpoint.npz     the full training state at the end of an episode (see below)
    policy.npz         the latest actor, for ``minidst evaluate``
    curve.png          the learning curve, drawn at the end

Exact resume. A checkpoint holds everything that changes: networks and targets (topology
included), Adam moments, the replay buffer, the run's random generator, the env's generator,
and the counters. It is written only **between episodes**, where the env's whole state is its
generator (the physics is reset next), so a resumed run makes the same numbers as one that never
stopped. Rows logged after the checkpoint are dropped on resume and recomputed.

Checkpoints are written every ``checkpoint_every`` steps (at the next episode end), at every
episode end within one episode of the final step (so the run can be extended), and when Ctrl-C
asks the run to stop.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import platform
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from minidst.agent import NetworkSparsity, TopologySchedule
from minidst.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minidst.config import TrainConfig
from minidst.envs import env_sizes, make_env, max_episode_steps, paper_lambdas
from minidst.kernels import warmup
from minidst.logger import CSVLog, progress_line
from minidst.replay import ReplayBuffer
from minidst.sac import SAC, SACConfig
from minidst.sparsity import erdos_renyi_density, erk_densities
from minidst.td3 import TD3, TD3Config

RUN_FILES = (
    "config.json",
    "progress.csv",
    "evaluations.csv",
    "checkpoint.npz",
    "policy.npz",
    "curve.png",
)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the run stops and keeps its last good checkpoint."""


# --------------------------------------------------------------------------------------------
# Building the agent from a config
# --------------------------------------------------------------------------------------------
def layer_densities(config: TrainConfig, sizes: list[int], lam1: float, lam2: float) -> list:
    """Densities of an MLP with layer ``sizes`` (None = dense layer).

    Output layer dense; the others sparse, by the paper's Erdős–Rényi lambdas or, with
    ``config.sparsity``, by ERK at that sparsity over the network's weights. A layer that comes
    out at density 1 is built dense: it has no empty position to regrow into.
    """
    shapes = [(n_out, n_in) for n_in, n_out in itertools.pairwise(sizes)]
    if config.sparsity is not None:
        densities = erk_densities(shapes, config.sparsity, [False] * (len(shapes) - 1) + [True])
    else:
        lambdas = [lam1] + [lam2] * (len(shapes) - 2)
        densities = [
            erdos_renyi_density(n_in, n_out, lam) for (n_out, n_in), lam in zip(shapes, lambdas)
        ]
        densities.append(1.0)
    return [None if density >= 1.0 else density for density in densities]


def build_agent(
    config: TrainConfig,
    obs_dim: int,
    act_dim: int,
    max_action: np.ndarray,
    rng: np.random.Generator,
) -> TD3 | SAC:
    """The agent of ``config.algo``: TD3 or SAC, dense, static sparse or dynamic sparse."""
    config.validate()
    sparsity = topology = None
    # SAC's actor outputs a mean and a log-std per action dimension; TD3's, the action itself.
    actor_outputs = 2 * act_dim if config.family == "sac" else act_dim
    if config.sparse:
        lam1, lam2 = paper_lambdas(config.env, config.family)
        lam1 = config.lambda1 if config.lambda1 is not None else lam1
        lam2 = config.lambda2 if config.lambda2 is not None else lam2
        sparsity = NetworkSparsity(
            layer_densities(config, [obs_dim, *config.hidden, actor_outputs], lam1, lam2),
            layer_densities(config, [obs_dim + act_dim, *config.hidden, 1], lam1, lam2),
        )
    if config.dynamic:
        topology = TopologySchedule(
            update_every=config.update_every,
            drop_fraction=config.drop_fraction,
            schedule=config.schedule,
            end_iteration=max(config.steps - config.start_steps, 1),
            prune=config.prune,
            grow=config.grow,
            target_rule=config.target_rule,
        )
    shared = {
        "hidden": tuple(config.hidden),
        "lr": config.lr,
        "weight_decay": config.weight_decay,
        "gamma": config.gamma,
        "tau": config.tau,
    }
    if config.family == "sac":
        sac_config = SACConfig(
            **shared,
            alpha=config.alpha,
            learn_alpha=config.entropy == "learned",
            target_entropy=config.target_entropy,
            target_update_every=config.target_update_every,
        )
        return SAC(obs_dim, act_dim, max_action, rng, sac_config, sparsity, topology)
    td3_config = TD3Config(
        **shared,
        policy_delay=config.policy_delay,
        policy_noise=config.policy_noise,
        noise_clip=config.noise_clip,
        exploration_noise=config.exploration_noise,
    )
    return TD3(obs_dim, act_dim, max_action, rng, td3_config, sparsity, topology)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def evaluate(agent, env, seed: int, episodes: int) -> np.ndarray:
    """Returns ``(episodes,)`` of the deterministic policy.

    The env is reseeded with ``seed`` at the first episode, so every evaluation of a run sees
    the same sequence of start states, and evaluating leaves no state behind.
    """
    returns = np.zeros(episodes)
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
            returns[episode] += reward
            done = terminated or truncated
    return returns


def library_versions() -> dict[str, str]:
    import gymnasium
    import mujoco
    import numba
    import scipy

    import minidst

    return {
        "minidst": minidst.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "gymnasium": gymnasium.__version__,
        "mujoco": mujoco.__version__,
    }


def read_run_config(run_dir: str | Path) -> TrainConfig:
    """The settings recorded in ``run_dir/config.json``; a one-line ValueError if unreadable."""
    path = Path(run_dir) / "config.json"
    try:
        return TrainConfig.from_dict(json.loads(path.read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is missing or corrupt: {error}") from None


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
class Trainer:
    """One training run in ``run_dir``; make it with :meth:`start` or :meth:`resume`.

    Args:
        config: the run's settings (validated here).
        run_dir: where the run's files go.
        out: where progress lines go (``None``: silent).
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path, out=sys.stdout):
        self.config = config.validate()
        self.run_dir = Path(run_dir)
        self.out = out
        self.env = make_env(config.env)
        self.eval_env = make_env(config.env)
        obs_dim, act_dim, self.max_action = env_sizes(self.env)
        self.episode_limit = max_episode_steps(self.env)
        self.rng = np.random.default_rng(config.seed)
        self.agent = build_agent(config, obs_dim, act_dim, self.max_action, self.rng)
        self.buffer = ReplayBuffer(obs_dim, act_dim, config.buffer_size)
        self.progress = CSVLog(self.run_dir / "progress.csv")
        self.evaluations = CSVLog(self.run_dir / "evaluations.csv")
        # Counters (all saved in checkpoints).
        self.step = 0
        self.episodes = 0
        self.flops = 0.0
        self.last_eval: tuple[int, float] | None = None
        self.last_checkpoint = -1  # step of the latest checkpoint, -1: none yet
        self.sums: dict[str, list[float]] = {}  # metric -> [sum, count] since the last row
        self.seed_env_on_reset = True  # a fresh run seeds its first reset; a resumed one not
        self.stop_requested = False
        self._flops_per_update: float | None = None
        self._clock: tuple[float, int] = (time.perf_counter(), 0)

    # ---- creating and resuming ----------------------------------------------------------------
    @classmethod
    def start(
        cls, config: TrainConfig, run_dir: str | Path, overwrite: bool = False, out=sys.stdout
    ) -> Trainer:
        """A new run in ``run_dir``, which must not hold another run unless ``overwrite``."""
        config.validate()
        make_env(config.env).close()  # a bad env id fails here, before anything is written
        run_dir = Path(run_dir)
        if run_dir.exists() and not run_dir.is_dir():
            raise ValueError(f"run directory {run_dir} exists and is not a directory")
        existing = [name for name in RUN_FILES if (run_dir / name).exists()]
        if existing and not overwrite:
            raise ValueError(
                f"{run_dir} already holds a run ({existing[0]}); continue it with "
                f"--resume {run_dir}, or start over with --overwrite"
            )
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            for name in existing:
                (run_dir / name).unlink()
            record = {"config": config.to_dict(), "versions": library_versions()}
            (run_dir / "config.json").write_text(json.dumps(record, indent=2) + "\n")
        except OSError as error:
            raise ValueError(f"cannot write to run directory {run_dir}: {error.strerror}") from None
        return cls(config, run_dir, out)

    @classmethod
    def resume(cls, run_dir: str | Path, steps: int | None = None, out=sys.stdout) -> Trainer:
        """The run in ``run_dir``, restored to its checkpoint; ``steps`` may raise the total."""
        run_dir = Path(run_dir)
        config_path = run_dir / "config.json"
        if not config_path.is_file():
            raise ValueError(f"{run_dir} holds no run to resume (no config.json)")
        config = read_run_config(run_dir)
        state, meta = load_checkpoint(run_dir / "checkpoint.npz")
        try:
            saved = TrainConfig.from_dict(meta["config"])
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(
                f"the checkpoint in {run_dir} holds no readable settings"
            ) from None
        saved.steps = config.steps  # the only setting a resume may change
        differing = [
            name for name, value in config.to_dict().items() if getattr(saved, name) != value
        ]
        if differing:
            raise CheckpointError(
                f"the checkpoint in {run_dir} is from another run than its config.json "
                f"({saved.algo} on {saved.env}, seed {saved.seed}; differs in: "
                f"{', '.join(differing)})"
            )
        if steps is not None:
            if steps < meta["step"]:
                raise ValueError(f"--steps {steps} is below the checkpoint's step {meta['step']}")
            config.steps = steps
        trainer = cls(config, run_dir, out)
        try:
            trainer._load(state, meta)
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(
                f"the checkpoint in {run_dir} does not fit its run: {error}"
            ) from None
        if steps is not None:
            record = json.loads(config_path.read_text())
            record["config"]["steps"] = steps
            config_path.write_text(json.dumps(record, indent=2) + "\n")
        # Rows past the checkpoint are recomputed, and so are the off-grid final rows of a
        # run that ended (its metrics since the last grid row are in the checkpoint).
        step = trainer.step
        trainer.progress.truncate(
            lambda row: int(row["step"]) <= step and int(row["step"]) % config.log_every == 0
        )
        trainer.evaluations.truncate(
            lambda row: int(row["step"]) <= step and int(row["step"]) % config.eval_every == 0
        )
        return trainer

    def _state(self) -> tuple[dict, dict]:
        state = {"agent": self.agent.state_dict(), "buffer": self.buffer.state_dict()}
        meta = {
            "config": self.config.to_dict(),
            "step": self.step,
            "episodes": self.episodes,
            "flops": self.flops,
            "last_eval": self.last_eval,
            "sums": self.sums,
            "rng": self.rng.bit_generator.state,
            "env_rng": self.env.unwrapped.np_random.bit_generator.state,
        }
        return state, meta

    def _load(self, state: dict, meta: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.buffer.load_state_dict(state["buffer"])
        self.rng.bit_generator.state = meta["rng"]
        self.env.reset(seed=self.config.seed)  # creates the env's generator, then overwrite it
        self.env.unwrapped.np_random.bit_generator.state = meta["env_rng"]
        self.seed_env_on_reset = False
        self.step, self.episodes = int(meta["step"]), int(meta["episodes"])
        self.flops = float(meta["flops"])
        self.last_eval = tuple(meta["last_eval"]) if meta["last_eval"] else None
        self.sums = {key: list(value) for key, value in meta["sums"].items()}
        self.last_checkpoint = self.step

    def save_checkpoint(self) -> None:
        """Checkpoint and policy, each written atomically. Call only between episodes."""
        state, meta = self._state()
        save_checkpoint(self.run_dir / "checkpoint.npz", state, meta)
        self.save_policy()
        self.last_checkpoint = self.step

    def save_policy(self) -> None:
        meta = {"algo": self.config.algo, "env": self.config.env, "step": self.step}
        save_checkpoint(self.run_dir / "policy.npz", {"actor": self.agent.actor.state_dict()}, meta)

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> str:
        """Train to ``config.steps``. Returns ``"done"`` or ``"interrupted"`` (Ctrl-C).

        Raises :class:`TrainingDiverged` on a non-finite loss (the last checkpoint is kept).
        """
        c = self.config
        warmup()
        self._clock = (time.perf_counter(), self.step)
        with self._ctrl_c_finishes_the_episode():
            if self.step == 0 and not self.evaluations.rows:
                self._evaluate()
            obs = None
            episode_return, episode_length = 0.0, 0
            while self.step < c.steps:
                if obs is None:
                    obs, _ = self.env.reset(seed=c.seed if self.seed_env_on_reset else None)
                    self.seed_env_on_reset = False
                action = self._collect_action(obs)
                next_obs, reward, terminated, truncated, _ = self.env.step(action)
                # Store `terminated`, not `terminated or truncated`: a time-limit cut still
                # bootstraps from next_obs (easy to overlook).
                self.buffer.add(obs, action, reward, next_obs, terminated)
                obs = next_obs
                episode_return += float(reward)
                episode_length += 1
                self.step += 1
                if self.step > c.start_steps:
                    self._learn()
                if c.dynamic and c.freeze_last and self.step == c.steps - c.freeze_last:
                    self._accumulate(self.agent.freeze_topology())
                    self._flops_per_update = None
                if terminated or truncated:
                    self.episodes += 1
                    self._accumulate(
                        {
                            "charts/episode_return": episode_return,
                            "charts/episode_length": episode_length,
                        }
                    )
                    obs, episode_return, episode_length = None, 0.0, 0
                if self.step % c.eval_every == 0:
                    self._evaluate()
                if self.step % c.log_every == 0:
                    self._log_progress()
                # Between episodes, after this step's records (so a resume does not redo them).
                if obs is None:
                    if self._checkpoint_due():
                        self.save_checkpoint()
                    if self.stop_requested:
                        return "interrupted"
        # The final policy and the last stretch of metrics, if the run ends off their grids.
        if self.step % c.eval_every != 0:
            self._evaluate()
        if self.step % c.log_every != 0:
            self._log_progress()
        self.save_policy()
        self._finish()
        return "done"

    def _collect_action(self, obs: np.ndarray) -> np.ndarray:
        if self.step < self.config.start_steps:
            return self.rng.uniform(-self.max_action, self.max_action)
        return self.agent.act(obs, explore=True)

    def _learn(self) -> None:
        metrics = self.agent.update(self.buffer.sample(self.config.batch_size, self.rng))
        for key, value in metrics.items():
            if key.startswith("losses/") and not math.isfinite(value):
                kept = (
                    f"the last good checkpoint (step {self.last_checkpoint}) is kept"
                    if self.last_checkpoint >= 0
                    else "no checkpoint was written yet"
                )
                raise TrainingDiverged(f"{key} became {value} at step {self.step}; {kept}")
        self._accumulate(metrics)
        if self._flops_per_update is None or "topology/drop_fraction" in metrics:
            # Counts change only when the topology does.
            self._flops_per_update = self.agent.flops_per_iteration(self.config.batch_size)
        self.flops += self._flops_per_update

    def _accumulate(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            total = self.sums.setdefault(key, [0.0, 0])
            total[0] += float(value)
            total[1] += 1

    def _checkpoint_due(self) -> bool:
        c = self.config
        near_end = c.steps - self.step < (self.episode_limit or c.checkpoint_every)
        periodic = self.step - max(self.last_checkpoint, 0) >= c.checkpoint_every
        return near_end or periodic or self.stop_requested

    def _evaluate(self) -> None:
        c = self.config
        returns = evaluate(self.agent, self.eval_env, c.seed + 100, c.eval_episodes)
        self.last_eval = (self.step, float(returns.mean()))
        self.evaluations.write(
            {
                "step": self.step,
                "return_mean": float(returns.mean()),
                "return_std": float(returns.std()),
                "return_min": float(returns.min()),
                "return_max": float(returns.max()),
                "episodes": len(returns),
            }
        )
        self._print(
            progress_line(self.step, c.steps, self.episodes, self.last_eval, self._rate()),
            newline=True,
        )

    def _log_progress(self) -> None:
        row: dict[str, float | int] = {"step": self.step, "episodes": self.episodes}
        row.update({key: total / count for key, (total, count) in self.sums.items()})
        row.update(self.agent.layer_stats())
        row["flops/training_cumulative"] = self.flops
        rate = self._rate()
        row["time/steps_per_s"] = rate
        self.progress.write(row)
        self.sums = {}
        self._clock = (time.perf_counter(), self.step)
        self._print(
            progress_line(self.step, self.config.steps, self.episodes, self.last_eval, rate)
        )

    def _rate(self) -> float:
        start_time, start_step = self._clock
        elapsed = time.perf_counter() - start_time
        return (self.step - start_step) / elapsed if elapsed > 0 else 0.0

    def _print(self, line: str, newline: bool = False) -> None:
        """On a terminal the line is redrawn in place; in a log file only evaluations print."""
        if self.out is None:
            return
        if self.out.isatty():
            self.out.write("\r\033[K" + line + ("\n" if newline else ""))
            self.out.flush()
        elif newline:
            print(line, file=self.out, flush=True)

    def _finish(self) -> None:
        from minidst.plot import plot_runs

        plot_runs([self.run_dir], self.run_dir / "curve.png")

    # ---- Ctrl-C -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _ctrl_c_finishes_the_episode(self):
        """While training, a first Ctrl-C asks the loop to stop at the episode's end (where an
        exact checkpoint can be written); a second one interrupts at once."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set from the main thread
            return

        def handle(signum, frame):
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True
            self._print(
                "Ctrl-C: finishing this episode, then saving a checkpoint "
                "(Ctrl-C again quits at once; the last checkpoint is kept)",
                newline=True,
            )

        previous = signal.signal(signal.SIGINT, handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
