"""``minidst video``: one episode of a run's saved policy, rendered to a GIF or an MP4.

The env renders itself (gymnasium's ``render_mode="rgb_array"``), the policy acts
deterministically, the env is seeded (the run's evaluation seed unless told otherwise), and
imageio writes the frames: a ``.gif`` with Pillow, an ``.mp4`` with ffmpeg (the ``video`` extra,
``pip install "minidst[video]"``).

MuJoCo draws with OpenGL, which a headless machine must provide: OSMesa in software
(Debian/Ubuntu: ``apt-get install libosmesa6``, then ``MUJOCO_GL=osmesa``) or EGL with a GPU
driver (``MUJOCO_GL=egl``). The backend is chosen when MuJoCo loads, so this module sets
``MUJOCO_GL=osmesa`` when nothing is chosen and there is no display; without a working backend
the command says what to install, in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from minidst import rundir

GL_HINT = (
    "MuJoCo found no working OpenGL backend to render with: on a headless machine install "
    "OSMesa (Debian/Ubuntu: apt-get install libosmesa6) and set MUJOCO_GL=osmesa, or use EGL "
    "with a GPU driver (MUJOCO_GL=egl)"
)
FORMATS = (".gif", ".mp4")
#: The camera of gymnasium's MuJoCo locomotion models that follows the robot (the default
#: camera stays put, and a fast HalfCheetah leaves the picture within seconds).
TRACKING_CAMERA = "track"


def load_mujoco_for_rendering() -> None:
    """Load MuJoCo with an OpenGL backend: OSMesa when none is chosen and no display exists.
    (MuJoCo picks its backend once, when it loads.) A backend it cannot use is a one-line
    error that says what to install."""
    if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
        os.environ["MUJOCO_GL"] = "osmesa"
    try:
        import mujoco  # noqa: F401
    except ImportError:
        return  # no MuJoCo at all: make_env says what is missing
    except Exception as error:  # e.g. RuntimeError: invalid value for MUJOCO_GL
        raise ValueError(f"{GL_HINT} ({type(error).__name__}: {error})") from None


def record(
    run_dir: str | Path,
    out: str | Path,
    seed: int | None = None,
    max_steps: int | None = None,
    fps: int = 30,
) -> tuple[Path, float, int]:
    """Render one deterministic episode of ``run_dir``'s policy into ``out``.

    Returns ``(out, the episode's return, its length)``.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"--out must end in {' or '.join(FORMATS)}, got {out.name}")
    if max_steps is not None and max_steps <= 0:
        raise ValueError(f"--max-steps must be positive, got {max_steps}")
    if fps <= 0:
        raise ValueError(f"--fps must be positive, got {fps}")
    if seed is not None and seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    # What would fail at the end is checked first: rendering a long episode takes minutes.
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: no directory {out.parent}")
    if out.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ValueError(
                'writing .mp4 needs ffmpeg: pip install "minidst[video]" (or write a .gif)'
            ) from None
    load_mujoco_for_rendering()
    from minidst.envs import env_sizes, make_env
    from minidst.factory import build_agent

    config = rundir.read_config(run_dir)
    actor_state, _ = rundir.load_policy(run_dir, config)
    env = make_env(config.env, render_mode="rgb_array")
    if _has_camera(env, TRACKING_CAMERA):  # the locomotion envs' camera that follows the body
        env.close()
        env = make_env(config.env, render_mode="rgb_array", camera_name=TRACKING_CAMERA)
    agent = build_agent(config, *env_sizes(env), np.random.default_rng(config.seed))
    agent.actor.load_state_dict(actor_state)
    obs, _ = env.reset(seed=config.seed + 100 if seed is None else seed)
    frames = [_render(env)]
    total, steps, done = 0.0, 0, False
    while not done and (max_steps is None or steps < max_steps):
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
        frames.append(_render(env))
        total, steps, done = total + float(reward), steps + 1, terminated or truncated
    env.close()
    _write(out, frames, fps)
    return out, total, steps


def _has_camera(env, name: str) -> bool:
    model = getattr(env.unwrapped, "model", None)
    if model is None:
        return False
    import mujoco

    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) >= 0


def _render(env) -> np.ndarray:
    try:
        frame = env.render()
    except Exception as error:  # the GL stack fails in many ways (ImportError, EGLError, ...)
        raise ValueError(f"{GL_HINT} ({type(error).__name__}: {error})") from None
    if frame is None:
        raise ValueError(f"{GL_HINT} (the env returned no frame)")
    return frame.copy()  # the renderer may hand back the same buffer every time


def _write(out: Path, frames: list[np.ndarray], fps: int) -> None:
    """Write ``frames`` to ``out`` atomically: under a temporary name beside it, renamed when
    complete, so a failed write never replaces a good video with a broken one."""
    import imageio.v2 as imageio

    partial = out.with_name(f".{out.stem}.partial{out.suffix}")  # imageio reads the suffix
    try:
        if out.suffix.lower() == ".gif":
            imageio.mimsave(partial, frames, duration=1000 / fps, loop=0)
        else:
            imageio.mimsave(partial, frames, fps=fps, macro_block_size=1)
        os.replace(partial, out)
    except (ImportError, ValueError, RuntimeError) as error:
        if out.suffix.lower() == ".mp4":
            raise ValueError(
                'writing .mp4 needs ffmpeg: pip install "minidst[video]" (or write a .gif)'
            ) from None
        raise ValueError(f"cannot write {out}: {error}") from None
    except OSError as error:
        raise ValueError(f"cannot write {out}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
