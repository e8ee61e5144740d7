"""Environments: making them, checking their ids, and the paper's per-env sparsity.

Everything goes through gymnasium (>= 1.0). The DS-TD3 paper used gym's ``*-v3`` MuJoCo envs
(mujoco-py); gymnasium's maintained versions are ``*-v5``, so a ``-v2``/``-v3``/``-v4`` id gets a
hint instead of a traceback.
"""

from __future__ import annotations

import importlib
import re
import warnings

import gymnasium as gym
import numpy as np

#: The paper's Erdős–Rényi lambdas ``(first layer, hidden layers)`` per algorithm and env.
PAPER_LAMBDAS = {
    "td3": {
        "HalfCheetah": (7.0, 64.0),
        "Hopper": (7.0, 64.0),
        "Walker2d": (7.0, 64.0),
        "Ant": (40.0, 64.0),
        "Humanoid": (61.0, 64.0),
    },
    "sac": {  # the appendix (DS-SAC)
        "HalfCheetah": (12.0, 80.0),
        "Hopper": (7.0, 20.0),
        "Walker2d": (12.0, 80.0),
        "Ant": (30.0, 64.0),
        "Humanoid": (61.0, 64.0),
    },
}
#: For an env the paper did not run: its TD3 values for the small locomotion envs.
DEFAULT_LAMBDAS = (7.0, 64.0)
#: MuJoCo warnings that tell a user of these envs nothing: gymnasium's own model files cause
#: them (HalfCheetah's ``settotalmass``), three times per run, on every run.
HARMLESS_MUJOCO_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


def env_family(env_id: str) -> str:
    """``"HalfCheetah-v5"`` -> ``"HalfCheetah"``."""
    return env_id.split("-v")[0]


def paper_lambdas(env_id: str, algorithm: str = "td3") -> tuple[float, float]:
    """``(lambda1, lambda2)`` of the paper's Erdős–Rényi init for ``env_id`` and ``algorithm``
    (``"td3"`` or ``"sac"``)."""
    return PAPER_LAMBDAS[algorithm].get(env_family(env_id), DEFAULT_LAMBDAS)


def check_env_id(env_id: str) -> None:
    """Raise a one-line ValueError for an id we cannot run, with a hint if we can.

    Besides registered ids, gymnasium's ``"module:Env-v0"`` form is accepted: the module is
    imported first (registering its envs, as ``gym.make`` does), then ``Env-v0`` is looked up.
    """
    if ":" in env_id:
        module, _, env_id = env_id.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ValueError(f"cannot import {module!r} for its environments: {error}") from None
    match = re.fullmatch(r"(.+)-v(\d+)", env_id)
    if match and int(match.group(2)) < 4 and f"{match.group(1)}-v5" in gym.registry:
        # Still registered, but these need the retired mujoco-py and fail deep inside gym.make.
        raise ValueError(
            f"environment {env_id!r} needs the retired mujoco-py; use {match.group(1)}-v5 "
            f"(the paper ran -v3; v5 is gymnasium's maintained version of the same task)"
        )
    if env_id in gym.registry:
        return
    family = env_family(env_id).lower()
    similar = sorted(name for name in gym.registry if family and family in name.lower())
    hint = f"; did you mean {', '.join(similar[:4])}?" if similar else ""
    raise ValueError(f"unknown environment id {env_id!r}{hint}")


def _mujoco_warning(message: str) -> None:
    """MuJoCo's warning handler: drop the harmless ones, pass the others on as Python warnings.

    MuJoCo's default handler prints to the terminal and appends to a ``MUJOCO_LOG.TXT`` in
    whatever folder the user runs from; this one does neither, and hides no real warning."""
    if not message.startswith(HARMLESS_MUJOCO_WARNINGS):
        warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)


def make_env(env_id: str, render_mode: str | None = None, **options) -> gym.Env:
    """A gymnasium env with a bounded continuous action box, or a one-line ValueError.

    ``render_mode="rgb_array"`` makes ``env.render()`` return frames (``minidst video``);
    ``options`` go to ``gym.make`` (e.g. ``camera_name``)."""
    check_env_id(env_id)
    try:
        import mujoco

        mujoco.set_mju_user_warning(_mujoco_warning)
    except ImportError:
        pass  # not a MuJoCo env's concern until one is made; gym.make says what is missing
    try:
        env = gym.make(env_id, render_mode=render_mode, **options)
    except (ImportError, gym.error.Error) as error:
        if isinstance(error.__cause__ or error.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # Ctrl-C while MuJoCo loads is not a missing MuJoCo
        raise ValueError(f"cannot make environment {env_id!r}: {error}") from error
    space = env.action_space
    if not (isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low))):
        env.close()
        raise ValueError(f"{env_id} does not have a bounded continuous action space (Box)")
    if not np.allclose(space.low, -space.high):
        env.close()
        raise ValueError(f"{env_id}: the agents expect a symmetric action box [-max, max]")
    if (
        not isinstance(env.observation_space, gym.spaces.Box)
        or len(env.observation_space.shape) != 1
    ):
        env.close()
        raise ValueError(f"{env_id}: the agents expect a flat vector observation")
    return env


def env_sizes(env: gym.Env) -> tuple[int, int, np.ndarray]:
    """``(obs_dim, act_dim, max_action (act_dim,))`` of an env made by :func:`make_env`."""
    return (
        env.observation_space.shape[0],
        env.action_space.shape[0],
        env.action_space.high.astype(np.float64),
    )


def max_episode_steps(env: gym.Env) -> int | None:
    """The time limit of an episode, or None if the env has none."""
    return env.spec.max_episode_steps if env.spec is not None else None
