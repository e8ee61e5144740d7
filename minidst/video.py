"""``minidst video``: one episode of a run's saved policy, rendered to a GIF or an MP4.

The env renders itself (gymnasium's ``render_mode="rgb_array"``), the policy acts
deterministically, the env is seeded (the run's evaluation seed unless told otherwise), and
each frame goes to the file as soon as it is rendered: a ``.gif`` with Pillow, an ``.mp4`` with
imageio and ffmpeg. Memory holds one frame, not the episode, and a terminal shows how far the
episode is.

What a video needs beyond the core install is the ``video`` extra,
``pip install "minidst[video]"``: ffmpeg for ``.mp4``, and pygame, which gymnasium draws its
classic-control envs (Pendulum) with.

MuJoCo draws with OpenGL, which a headless machine must provide: OSMesa in software
(Debian/Ubuntu: ``apt-get install libosmesa6``, then ``MUJOCO_GL=osmesa``) or EGL with a GPU
driver (``MUJOCO_GL=egl``). The backend is chosen when MuJoCo loads, so this module sets
``MUJOCO_GL=osmesa`` for a MuJoCo env when nothing is chosen and there is no display.

Whatever is missing is a one-line error that says what to install, and what can be checked
before rendering (the options, the output folder, ffmpeg) is checked first: rendering a long
episode takes minutes.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from minidst import rundir

GL_HINT = (
    "MuJoCo found no working OpenGL backend to render with: on a headless machine install "
    "OSMesa (Debian/Ubuntu: apt-get install libosmesa6) and set MUJOCO_GL=osmesa, or use EGL "
    "with a GPU driver (MUJOCO_GL=egl)"
)
PYGAME_HINT = (
    "rendering {env} needs pygame (gymnasium draws its classic-control envs with it): "
    'pip install "minidst[video]" (or pip install pygame)'
)
FFMPEG_HINT = 'writing .mp4 needs ffmpeg: pip install "minidst[video]" (or write a .gif)'
FORMATS = (".gif", ".mp4")
#: The camera of gymnasium's MuJoCo locomotion models that follows the robot (the default
#: camera stays put, and a fast HalfCheetah leaves the picture within seconds).
TRACKING_CAMERA = "track"
#: Seconds between two redraws of the progress line: often enough to watch it move, seldom
#: enough to cost nothing next to rendering.
PROGRESS_INTERVAL = 0.25


def record(
    run_dir: str | Path,
    out: str | Path,
    seed: int | None = None,
    max_steps: int | None = None,
    fps: int = 30,
    progress: bool = True,
) -> tuple[Path, float, int]:
    """Render one deterministic episode of ``run_dir``'s policy into ``out``, frame by frame.

    What would otherwise fail after the rendering (the output folder, ffmpeg) is checked before
    it; an existing ``out`` is replaced only by a complete video. With ``progress``, a terminal
    on stdout shows ``frame 120/1001`` while it renders.
    Returns ``(out, the episode's return, its length)``.
    """
    out = Path(out)
    _check_options(out, seed, max_steps, fps)
    _check_output(out)
    config = rundir.read_config(run_dir)
    actor_state, _ = rundir.load_policy(run_dir, config)
    load_mujoco_for_rendering(config.env)
    # pygame draws the classic-control frames off screen; left to choose, SDL looks for a window
    # system first, and on a headless machine prints an error about it.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env, agent = _env_and_policy(config, actor_state)
    shown = _Progress(sys.stdout if progress else None, _expected_frames(env, max_steps))
    try:
        with VideoFile(out, fps) as video:
            env_seed = config.seed + 100 if seed is None else seed
            total, steps = _play(env, agent, env_seed, max_steps, video, shown)
    finally:
        shown.end()
        env.close()
    return out, total, steps


def _check_options(out: Path, seed: int | None, max_steps: int | None, fps: int) -> None:
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"--out must end in {' or '.join(FORMATS)}, got {out.name}")
    if max_steps is not None and max_steps <= 0:
        raise ValueError(f"--max-steps must be positive, got {max_steps}")
    if fps <= 0:
        raise ValueError(f"--fps must be positive, got {fps}")
    if seed is not None and seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")


def _check_output(out: Path) -> None:
    """Fail now, not after minutes of rendering, if ``out`` cannot be written: its folder must
    exist and take new files, and an ``.mp4`` needs ffmpeg."""
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: no directory {out.parent}")
    if out.is_dir():
        raise ValueError(f"cannot write {out}: it is a directory")
    try:
        with tempfile.TemporaryFile(dir=out.parent):
            pass  # a file could be made there, as the video's temporary file will be
    except OSError as error:
        raise ValueError(f"cannot write {out}: {error.strerror or error}") from None
    if out.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg

            imageio_ffmpeg.get_ffmpeg_exe()  # the package may be there without its binary
        except (ImportError, RuntimeError):
            raise ValueError(FFMPEG_HINT) from None


def load_mujoco_for_rendering(env_id: str) -> None:
    """Load MuJoCo with an OpenGL backend: OSMesa for a MuJoCo env when none is chosen and no
    display exists. A backend it cannot use is a one-line error that says what to install.

    MuJoCo picks its backend once, when it loads, and ``make_env`` loads it for every env; an env
    drawn otherwise (Pendulum, with pygame) must not be handed a backend this machine lacks."""
    if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY") and _is_mujoco(env_id):
        os.environ["MUJOCO_GL"] = "osmesa"
    try:
        import mujoco  # noqa: F401
    except ImportError:
        return  # no MuJoCo at all: make_env says what is missing
    except Exception as error:  # e.g. RuntimeError: invalid value for MUJOCO_GL
        raise ValueError(f"{GL_HINT} ({type(error).__name__}: {error})") from None


def _is_mujoco(env_id: str) -> bool:
    """Whether gymnasium's registry makes ``env_id`` from a MuJoCo module (an unknown id is
    not: ``make_env`` reports it)."""
    import gymnasium as gym

    try:
        entry_point = gym.spec(env_id).entry_point
    except (ImportError, gym.error.Error):
        return False
    module = entry_point if isinstance(entry_point, str) else getattr(entry_point, "__module__", "")
    return "mujoco" in module.lower()


def _env_and_policy(config, actor_state):
    """The run's env, rendering (through the tracking camera where it has one), and its agent
    with the saved policy."""
    from minidst.envs import env_sizes, make_env
    from minidst.factory import build_agent

    env = make_env(config.env, render_mode="rgb_array")
    if _has_camera(env, TRACKING_CAMERA):
        env.close()
        env = make_env(config.env, render_mode="rgb_array", camera_name=TRACKING_CAMERA)
    agent = build_agent(config, *env_sizes(env), np.random.default_rng(config.seed))
    agent.actor.load_state_dict(actor_state)
    return env, agent


def _has_camera(env, name: str) -> bool:
    model = getattr(env.unwrapped, "model", None)
    if model is None:
        return False
    import mujoco

    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) >= 0


def _expected_frames(env, max_steps: int | None) -> int | None:
    """Frames of a full episode: the reset frame and one per step, up to the env's time limit
    and ``max_steps`` (None if neither bounds it). An episode may end sooner."""
    from minidst.envs import max_episode_steps

    limits = [n for n in (max_episode_steps(env), max_steps) if n is not None]
    return min(limits) + 1 if limits else None


def _play(
    env, agent, seed: int, max_steps: int | None, video: VideoFile, shown: _Progress
) -> tuple[float, int]:
    """Play one episode, each frame going to ``video`` as soon as it is rendered. Returns
    ``(the episode's return, its length)``."""
    obs, _ = env.reset(seed=seed)
    video.append(_render(env))
    shown.show(1)
    total, steps, done = 0.0, 0, False
    while not done and (max_steps is None or steps < max_steps):
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
        video.append(_render(env))
        total, steps, done = total + float(reward), steps + 1, terminated or truncated
        shown.show(steps + 1)
    return total, steps


def _render(env) -> np.ndarray:
    """The env's current frame. It is written before the next one is rendered, so the renderer
    may reuse its buffer."""
    try:
        frame = env.render()
    except Exception as error:  # renderers fail in many ways (ImportError, EGLError, ...)
        raise _render_error(env, error) from None
    if frame is None:
        raise _render_error(env, None)
    return frame


def _render_error(env, error: Exception | None) -> ValueError:
    """A one-line error that blames what failed: pygame missing, MuJoCo's OpenGL, or else the
    env itself."""
    if error is None:
        detail = "no frame returned"
    elif _is_missing_pygame(error):
        return ValueError(PYGAME_HINT.format(env=env.spec.id))
    else:
        detail = f"{type(error).__name__}: {_first_line(error)}"
    if getattr(env.unwrapped, "model", None) is not None:  # a MuJoCo env: OpenGL drew it
        return ValueError(f"{GL_HINT} ({detail})")
    return ValueError(f"cannot render {env.spec.id}: {detail}")


def _is_missing_pygame(error: Exception) -> bool:
    """Whether ``error`` is pygame failing to import: gymnasium raises its
    ``DependencyNotInstalled`` from the ImportError."""
    from gymnasium.error import DependencyNotInstalled

    return any(
        isinstance(link, (ImportError, DependencyNotInstalled)) and "pygame" in str(link)
        for link in (error, error.__cause__, error.__context__)
    )


def _first_line(error: Exception) -> str:
    """An error's message up to its first line break (ffmpeg's errors go on with its whole
    command line and log)."""
    lines = str(error).splitlines()
    return lines[0] if lines else ""


class VideoFile:
    """A video written frame by frame under a temporary name beside ``out``, renamed to ``out``
    when complete, so a failed or interrupted recording never replaces a good video with a
    broken one. Leaving its ``with`` block normally completes it; an exception discards it."""

    def __init__(self, out: Path, fps: int) -> None:
        self.out = out
        # The real suffix last: imageio and ffmpeg choose the container by it.
        self.partial = out.with_name(f".{out.stem}.partial{out.suffix}")
        with self._writing():
            if out.suffix.lower() == ".gif":
                self._writer = _GifWriter(self.partial, fps)
            else:
                import imageio.v2 as imageio

                self._writer = imageio.get_writer(
                    self.partial, format="FFMPEG", mode="I", fps=fps, macro_block_size=1
                )

    def append(self, frame: np.ndarray) -> None:
        """Write one more frame."""
        with self._writing():
            self._writer.append_data(frame)

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                with self._writing():
                    self._writer.close()
                    os.replace(self.partial, self.out)
            else:
                # The recording failed already: its error, not a second one, is the one to tell.
                with contextlib.suppress(Exception):
                    self._writer.close()
        finally:
            self.partial.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn a failed write (a full disk, ffmpeg quitting) into a one-line error."""
        try:
            yield
        except OSError as error:
            reason = error.strerror or _first_line(error)
            raise ValueError(f"cannot write {self.out}: {reason}") from None
        except (RuntimeError, ValueError) as error:
            raise ValueError(f"cannot write {self.out}: {_first_line(error)}") from None


class _GifWriter:
    """An animated GIF written a frame at a time, each with its own 256 colours, with Pillow's
    functions for a GIF's header and frames. (Pillow's own ``save`` and imageio's GIF writers
    keep every frame until the file is closed.)"""

    def __init__(self, path: Path, fps: int) -> None:
        self.file = path.open("wb")  # closed by close()
        self.duration_ms = 1000 / fps
        self.frames_written = 0

    def append_data(self, frame: np.ndarray) -> None:
        from PIL import GifImagePlugin, Image

        image = Image.fromarray(frame).quantize()  # the frame's own palette of 256 colours
        if self.frames_written == 0:
            header, _ = GifImagePlugin.getheader(image, info={"loop": 0})  # 0: loop forever
            self.file.write(b"".join(header))
        data = GifImagePlugin.getdata(image, duration=self.duration_ms, include_color_table=True)
        self.file.write(b"".join(data))
        self.frames_written += 1

    def close(self) -> None:
        self.file.write(b";")  # the GIF trailer
        self.file.close()


class _Progress:
    """``frame 120/1001``, redrawn in place on a terminal at most every ``PROGRESS_INTERVAL``
    seconds; nothing into a file or a pipe, where redrawn lines would pile up (as ``train``'s
    progress line)."""

    def __init__(self, stream: TextIO | None, total: int | None) -> None:
        self.stream = stream if stream is not None and stream.isatty() else None
        self.of_total = f"/{total}" if total is not None else ""
        self.shown_at = -math.inf
        self.drawn = False

    def show(self, frames: int) -> None:
        now = time.monotonic()
        if self.stream is None or now - self.shown_at < PROGRESS_INTERVAL:
            return
        self.stream.write(f"\r\033[Kframe {frames}{self.of_total}")
        self.stream.flush()
        self.shown_at, self.drawn = now, True

    def end(self) -> None:
        """Clear the line, so what is printed next starts on a clean one."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
