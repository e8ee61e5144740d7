"""The training loop: collect, learn, evaluate, record, checkpoint, resume.

One run lives in one directory (:mod:`minidst.rundir` lists its files and is the only code that
reads or writes them); the agent comes from :func:`minidst.factory.build_agent`.

The loop, once per environment step (as in CleanRL's single-file agents): act (uniformly at
random for the first ``start_steps``, then the policy with exploration noise), step the env,
store the transition, and from then on run one training iteration; at episode ends, count the
episode; on their grids, evaluate and write a progress row; between episodes, checkpoint.

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
import math
import signal
import sys
import threading
from pathlib import Path
from typing import IO

import numba
import numpy as np

from minidst import rundir
from minidst.checkpoint import CheckpointError
from minidst.config import TrainConfig
from minidst.dormant import agent_dormant_fractions
from minidst.envs import env_sizes, make_env, max_episode_steps
from minidst.factory import build_agent
from minidst.kernels import warmup
from minidst.logger import CSVLog, Speedometer, progress_line
from minidst.replay import NStepReturns, ReplayBuffer


def _check_threads(config: TrainConfig) -> TrainConfig:
    if config.threads > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"--threads {config.threads} is more than the {numba.config.NUMBA_NUM_THREADS} "
            "threads Numba can use here"
        )
    return config


@contextlib.contextmanager
def _numba_threads(threads: int):
    """Run with ``threads`` Numba threads (the compiled twin critics use two), then restore."""
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


#: Seconds of kernel loading after which the trainer says it is compiling (see
#: ``Trainer._compile_kernels``): longer than loading a warm cache takes, far shorter than a
#: cold compile.
COMPILE_NOTICE_AFTER = 5.0


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the run stops and keeps its last good checkpoint."""


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
        self.config = _check_threads(config.validate())
        self.run_dir = Path(run_dir)
        self.out = out
        self.env = make_env(config.env)
        self.eval_env = make_env(config.env)
        obs_dim, act_dim, self.max_action = env_sizes(self.env)
        self.episode_limit = max_episode_steps(self.env)
        self.rng = np.random.default_rng(config.seed)
        self.agent = build_agent(config, obs_dim, act_dim, self.max_action, self.rng)
        self.buffer = ReplayBuffer(obs_dim, act_dim, config.buffer_size)
        # Empty between episodes, where checkpoints are taken: it needs no saving.
        self.n_step = NStepReturns(config.n_step, config.gamma)
        self.progress: CSVLog  # opened by start() and resume(), once the directory is ready
        self.evaluations: CSVLog
        # Counters (all saved in checkpoints).
        self.step = 0
        self.episodes = 0
        self.flops = 0.0
        self.last_eval: tuple[int, float] | None = None
        self.last_checkpoint = -1  # step of the latest checkpoint, -1: none yet
        self.run_lock: IO | None = None  # the run directory's lock, see rundir.lock
        # The latest training batch (not saved: the next iteration after a resume refills it).
        self.last_batch: dict[str, np.ndarray] | None = None
        self.sums: dict[str, list[float]] = {}  # metric -> [sum, count] since the last row
        self.seed_env_on_reset = True  # a fresh run seeds its first reset; a resumed one not
        self.stop_requested = False
        self.speed = Speedometer(config.start_steps, config.steps)
        self._line_open = False  # a progress line is drawn in place on a terminal

    # ---- creating and resuming ----------------------------------------------------------------
    @classmethod
    def start(
        cls, config: TrainConfig, run_dir: str | Path, overwrite: bool = False, out=sys.stdout
    ) -> Trainer:
        """A new run in ``run_dir``, which must not hold another run unless ``overwrite``."""
        _check_threads(config.validate())
        rundir.check_new(run_dir, overwrite)
        # Envs, agent and buffer first: a bad setting fails here, before anything is written.
        trainer = cls(config, run_dir, out)
        trainer.run_lock = rundir.lock(run_dir)
        densities = {
            name: [layer.density for layer in net.layers]
            for name, (net, _) in trainer.agent.online_networks().items()
        }
        rundir.create(run_dir, config, overwrite, densities)
        trainer._open_logs()
        return trainer

    @classmethod
    def resume(cls, run_dir: str | Path, steps: int | None = None, out=sys.stdout) -> Trainer:
        """The run in ``run_dir``, restored to its checkpoint; ``steps`` may raise the total."""
        run_dir = Path(run_dir)
        if not (run_dir / rundir.CONFIG).is_file():
            raise ValueError(f"{run_dir} holds no run to resume (no {rundir.CONFIG})")
        config = rundir.read_config(run_dir)
        run_lock = rundir.lock(run_dir)  # before reading a checkpoint another writer may replace
        if not (run_dir / rundir.CHECKPOINT).is_file():
            raise CheckpointError(
                f"{run_dir} has no checkpoint to resume from (the run stopped before its first, "
                f"every {config.checkpoint_every:,} steps at an episode end): start it over "
                f"with minidst train --overwrite --run-dir {run_dir} and its settings"
            )
        state, meta = rundir.load_training_state(run_dir)
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
        trainer.run_lock = run_lock
        trainer._open_logs()
        try:
            trainer._load(state, meta)
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(
                f"the checkpoint in {run_dir} does not fit its run: {error}"
            ) from None
        if steps is not None:
            rundir.extend(run_dir, steps)
        rundir.record_resume(run_dir)
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

    def close(self) -> None:
        """Let go of the run directory (its lock) and the envs; the trainer is done with."""
        if self.run_lock is not None:
            self.run_lock.close()
            self.run_lock = None
        self.env.close()
        self.eval_env.close()

    def _open_logs(self) -> None:
        self.progress = rundir.progress_log(self.run_dir)
        self.evaluations = rundir.evaluations_log(self.run_dir)

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
        rundir.save_training_state(self.run_dir, *self._state())
        self.save_policy()
        self.last_checkpoint = self.step

    def save_policy(self) -> None:
        rundir.save_policy(self.run_dir, self.agent.actor.state_dict(), self.config, self.step)

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> str:
        """Train to ``config.steps``. Returns ``"done"`` or ``"interrupted"`` (Ctrl-C).

        Raises :class:`TrainingDiverged` on a non-finite loss (the last checkpoint is kept).
        """
        c = self.config
        self._compile_kernels()
        self.speed.restart(self.step)
        with self._ctrl_c_finishes_the_episode(), _numba_threads(c.threads):
            if self.step == 0 and not self.evaluations.rows:
                self._evaluate()
            obs = None
            episode_return, episode_length = 0.0, 0
            while self.step < c.steps:
                if obs is None:
                    obs, _ = self.env.reset(seed=c.seed if self.seed_env_on_reset else None)
                    self.seed_env_on_reset = False
                # 1. Act and store the transition.
                action = self._collect_action(obs)
                next_obs, reward, terminated, truncated, _ = self.env.step(action)
                # Store `terminated`, not `terminated or truncated`: a time-limit cut still
                # bootstraps from next_obs (easy to overlook). With --n-step N, transitions
                # leave the n-step window once N rewards are in, or when the episode ends.
                for transition in self.n_step.add(
                    obs, action, reward, next_obs, terminated, truncated
                ):
                    self.buffer.add(*transition)
                obs = next_obs
                episode_return += float(reward)
                episode_length += 1
                self.step += 1
                # 2. Learn: one training iteration per step once the random start is over.
                if self.step > c.start_steps:
                    self._learn()
                if c.dynamic and c.freeze_last and self.step == c.steps - c.freeze_last:
                    self._accumulate(self.agent.freeze_topology())
                # 3. Record: episode ends, evaluations and progress rows on their grids.
                if terminated or truncated:
                    self.episodes += 1
                    self._accumulate(
                        {
                            "charts/episode_return": episode_return,
                            "charts/episode_length": episode_length,
                        }
                    )
                    obs, episode_return, episode_length = None, 0.0, 0
                # The progress row first: the evaluation's line then shows this window's speed.
                if self.step % c.log_every == 0:
                    self._log_progress()
                if self.step % c.eval_every == 0:
                    self._evaluate()
                # 4. Between episodes, after this step's records (a resume does not redo them):
                # checkpoint, and stop if Ctrl-C asked to.
                if obs is None:
                    if self._checkpoint_due():
                        self.save_checkpoint()
                    if self.stop_requested:
                        return "interrupted"
        # The final policy and the last stretch of metrics, if the run ends off their grids.
        if self.step % c.log_every != 0:
            self._log_progress()
        if self.step % c.eval_every != 0:
            self._evaluate()
        self.save_policy()
        return "done"

    def _compile_kernels(self) -> None:
        """Compile the kernels this run calls, or load them from Numba's disk cache, before the
        first step. The first run on a machine compiles for 20-60 s, which would look like a
        hang: say so. Loading the cache takes 1-3 s (1.1 CPU-s on a Zen 4, 1.7 on a Zen 3), so
        the notice waits :data:`COMPILE_NOTICE_AFTER` seconds and a warm start stays silent."""
        notice = threading.Timer(
            COMPILE_NOTICE_AFTER,
            self._print,
            ["compiling kernels (first run only, up to a minute; cached afterwards)"],
            {"newline": True},
        )
        notice.start()
        try:
            # Only what this run calls: its agent's float type, serial kernels.
            warmup(dtypes=(self.agent.dtype,), parallel=False)
        finally:
            notice.cancel()

    def _collect_action(self, obs: np.ndarray) -> np.ndarray:
        if self.step < self.config.start_steps:
            return self.rng.uniform(-self.max_action, self.max_action)
        return self.agent.act(obs, explore=True)

    def _learn(self) -> None:
        # Kept for the progress row's dormant-unit count, which so draws no random numbers.
        self.last_batch = self.buffer.sample(self.config.batch_size, self.rng)
        metrics = self.agent.update(self.last_batch)
        for key, value in metrics.items():
            if key.startswith("losses/") and not math.isfinite(value):
                kept = (
                    f"the last good checkpoint (step {self.last_checkpoint}) is kept"
                    if self.last_checkpoint >= 0
                    else "no checkpoint was written yet"
                )
                raise TrainingDiverged(f"{key} became {value} at step {self.step}; {kept}")
        self._accumulate(metrics)
        # Counted from the layers at every iteration: connection counts change at rewiring, at
        # the freeze, and in sparse targets whenever they catch up with their online networks.
        self.flops += self.agent.flops_per_iteration(self.config.batch_size)

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
        self._print(self._progress_line(), newline=True)
        self._draw_curve()

    def _log_progress(self) -> None:
        row: dict[str, float | int] = {"step": self.step, "episodes": self.episodes}
        row.update({key: total / count for key, (total, count) in self.sums.items()})
        row.update(self.agent.layer_stats())
        if self.last_batch is not None:  # none before the first training iteration
            row.update(agent_dormant_fractions(self.agent, self.last_batch))
        row["flops/training_cumulative"] = self.flops
        row["time/steps_per_s"] = self.speed.window(self.step)
        self.progress.write(row)
        self.sums = {}
        self._print(self._progress_line())

    def _progress_line(self) -> str:
        return progress_line(
            self.step,
            self.config.steps,
            self.episodes,
            self.last_eval,
            self.speed.rate(self.step),
            self.speed.eta(self.step),
        )

    def _print(self, line: str, newline: bool = False) -> None:
        """On a terminal the line is redrawn in place; in a log file only evaluations print."""
        if self.out is None:
            return
        if self.out.isatty():
            self.out.write("\r\033[K" + line + ("\n" if newline else ""))
            self.out.flush()
            self._line_open = not newline
        elif newline:
            print(line, file=self.out, flush=True)

    def end_line(self) -> None:
        """End a progress line drawn in place, so what is printed next starts a line of its own."""
        if self._line_open:
            self.out.write("\n")
            self.out.flush()
            self._line_open = False

    def _draw_curve(self) -> None:
        """Redraw ``curve.png`` (atomically) after each evaluation; never inline, or a notebook
        that trains would show the curve again under its cell at every evaluation."""
        from minidst.plot import plot_runs

        plot_runs([self.run_dir], self.run_dir / rundir.CURVE, show=False)

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
