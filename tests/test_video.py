"""minidst video: real renders of saved policies (HalfCheetah with MuJoCo through OSMesa,
Pendulum with pygame), the one-line errors, the checks made before rendering, frames streamed to
the file, and the progress line. The MuJoCo renders run in fresh processes: MuJoCo picks its
OpenGL backend when it loads, once per process.

A machine without OSMesa (``apt-get install libosmesa6``; ``.ci/run`` installs it) cannot render
MuJoCo headless, and one without pygame (the ``video`` extra) cannot render Pendulum: there the
render tests check instead that the command says what to install. The tests of what happens
around rendering replace the renderer with one that draws small frames, so they run anywhere."""

import ctypes.util
import errno
import importlib.util
import io
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from minidst import video as video_module
from minidst.cli import main

SMALL_RUN = ["--steps", "200", "--start-steps", "100", "--eval-every", "200",
             "--eval-episodes", "1", "--buffer-size", "500", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def cheetah(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("video") / "cheetah"
    assert main(["train", "--env", "HalfCheetah-v5", *SMALL_RUN, "--run-dir", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="module")
def pendulum(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("video") / "pendulum"
    assert main(["train", "--env", "Pendulum-v1", *SMALL_RUN, "--run-dir", str(run_dir)]) == 0
    return run_dir


@pytest.fixture
def renders(monkeypatch):
    """Replace the renderer with one that logs each call and draws a small frame that changes."""
    calls = []

    def render(env):
        calls.append("render")
        return np.full((16, 24, 3), 10 * len(calls), dtype=np.uint8)

    monkeypatch.setattr(video_module, "_render", render)
    return calls


def video(run_dir, out, gl="osmesa", *extra):
    """``minidst video`` in a fresh process; ``gl=None``: no MUJOCO_GL and no display at all."""
    command = [sys.executable, "-m", "minidst.cli", "video", str(run_dir), "--out", str(out)]
    if gl is None:
        environment = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "DISPLAY")}
    else:
        environment = {**os.environ, "MUJOCO_GL": gl}
    return subprocess.run(
        [*command, *extra], capture_output=True, text=True, env=environment, timeout=300
    )


class Terminal(io.StringIO):
    """What a terminal on stdout receives."""

    def isatty(self):
        return True


HAVE_OSMESA = ctypes.util.find_library("OSMesa") is not None
HAVE_PYGAME = importlib.util.find_spec("pygame") is not None
HAVE_FFMPEG = importlib.util.find_spec("imageio_ffmpeg") is not None


def test_renders_one_episode_into_a_gif(cheetah, tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "cheetah.gif"
    result = video(cheetah, out, "osmesa", "--max-steps", "40")
    if not HAVE_OSMESA:
        assert result.returncode == 2 and "libosmesa6" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "40 steps" in result.stdout
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 41 and frames.shape[-1] == 3  # the reset frame and 40 steps
    # The tracking camera keeps the robot in view, so consecutive frames are never all alike.
    assert all((frames[i] != frames[i + 1]).any() for i in range(0, 40, 10))


def test_a_pendulum_renders_with_pygame_and_needs_no_opengl(pendulum, tmp_path):
    """Pendulum is drawn by pygame: a headless machine with no OpenGL at all renders it."""
    import imageio.v3 as iio

    out = tmp_path / "pendulum.gif"
    result = video(pendulum, out, None, "--max-steps", "5")
    if not HAVE_PYGAME:
        assert result.returncode == 2 and "pip install pygame" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "XDG_RUNTIME_DIR" not in result.stderr  # SDL looked for no window system
    frames = iio.imread(out, index=None)
    assert frames.shape == (6, 500, 500, 3)  # the reset frame and 5 steps
    assert all((frames[i] != frames[i + 1]).any() for i in range(5))  # the pendulum swings


def test_opengl_is_chosen_for_mujoco_envs_only(monkeypatch):
    import mujoco  # noqa: F401 (loaded now, with the real settings, so the calls below only choose)

    headless = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "DISPLAY")}
    monkeypatch.setattr(os, "environ", headless)
    video_module.load_mujoco_for_rendering("Pendulum-v1")
    assert "MUJOCO_GL" not in os.environ  # OSMesa, perhaps not installed, would fail Pendulum
    video_module.load_mujoco_for_rendering("HalfCheetah-v5")
    assert os.environ["MUJOCO_GL"] == "osmesa"


def test_without_pygame_the_error_names_pygame_not_opengl(pendulum, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pygame", None)  # `import pygame` fails, as when missing
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    out = tmp_path / "good.gif"
    out.write_bytes(b"a good video")
    assert main(["video", str(pendulum), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'pip install "minidst[video]"' in err and "pip install pygame" in err
    assert "OpenGL" not in err and "OSMesa" not in err and err.count("\n") == 1
    assert out.read_bytes() == b"a good video" and list(tmp_path.iterdir()) == [out]


def test_without_a_working_opengl_the_error_says_what_to_install(cheetah, tmp_path):
    result = video(cheetah, tmp_path / "x.gif", "nonsense-backend")
    assert result.returncode == 2
    assert "libosmesa6" in result.stderr and result.stderr.count("\n") == 1


def test_bad_output_names_are_one_line_errors(cheetah, tmp_path, capsys):
    assert main(["video", str(cheetah), "--out", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert "--out must end in .gif or .mp4" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--fps", "0"], "--fps: must be >= 1"),
        (["--fps", "-5"], "--fps: must be >= 1"),
        (["--seed", "-3"], "--seed: must be >= 0"),
        (["--max-steps", "0"], "--max-steps: must be >= 1"),
    ],
)
def test_bad_video_options_are_one_line_errors_and_keep_a_good_file(
    cheetah, tmp_path, capsys, extra, message
):
    out = tmp_path / "good.gif"
    out.write_bytes(b"a good video")
    with pytest.raises(SystemExit) as exit_:
        main(["video", str(cheetah), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1
    assert out.read_bytes() == b"a good video"


def _no_ffmpeg_binary():
    raise RuntimeError("No ffmpeg exe could be found")


@pytest.mark.parametrize(
    "case, message",
    [
        ("no folder", "no directory"),
        ("a folder in the way", "it is a directory"),
        ("an unwritable folder", "Permission denied"),
        ("no imageio-ffmpeg", 'writing .mp4 needs ffmpeg: pip install "minidst[video]"'),
        ("no ffmpeg binary", 'writing .mp4 needs ffmpeg: pip install "minidst[video]"'),
    ],
)
def test_what_would_fail_after_rendering_is_found_before_it(
    pendulum, tmp_path, capsys, monkeypatch, renders, case, message
):
    out = {
        "no folder": tmp_path / "no" / "x.gif",
        "a folder in the way": tmp_path / "x.gif",
        # Root may write in any folder whatever its permissions, but no one makes files in /sys.
        # (An .mp4: ffmpeg opens its file only when the first frame comes.)
        "an unwritable folder": "/sys/x.mp4",
        "no imageio-ffmpeg": tmp_path / "x.mp4",
        "no ffmpeg binary": tmp_path / "x.mp4",
    }[case]
    if case == "a folder in the way":
        out.mkdir()
    if case == "no imageio-ffmpeg":
        monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    if case == "no ffmpeg binary":
        without_binary = SimpleNamespace(get_ffmpeg_exe=_no_ffmpeg_binary)
        monkeypatch.setitem(sys.modules, "imageio_ffmpeg", without_binary)
    assert main(["video", str(pendulum), "--out", str(out), "--max-steps", "3"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert renders == []  # nothing was rendered before the error


def test_each_frame_is_written_as_soon_as_it_is_rendered(pendulum, tmp_path, monkeypatch, renders):
    import imageio.v3 as iio

    class LoggedGif(video_module._GifWriter):
        """The GIF writer, logging each frame it writes where the renderer logs its calls."""

        def append_data(self, frame):
            renders.append("write")
            super().append_data(frame)

    monkeypatch.setattr(video_module, "_GifWriter", LoggedGif)
    out = tmp_path / "x.gif"
    _, _, steps = video_module.record(pendulum, out, max_steps=3, progress=False)
    assert steps == 3 and renders == ["render", "write"] * 4  # memory holds one frame at a time
    assert iio.imread(out, index=None).shape == (4, 16, 24, 3)
    assert list(tmp_path.iterdir()) == [out]  # the temporary file became the video


class FullDisk(video_module._GifWriter):
    """A GIF writer on a disk that fills up at the third frame."""

    def append_data(self, frame):
        if self.frames_written == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().append_data(frame)


def _interrupted_render(env):
    raise KeyboardInterrupt


@pytest.mark.parametrize("failure", ["full disk", "ctrl-c"])
def test_a_failed_recording_keeps_the_good_video(
    pendulum, tmp_path, capsys, monkeypatch, renders, failure
):
    if failure == "full disk":
        monkeypatch.setattr(video_module, "_GifWriter", FullDisk)
    else:  # Ctrl-C while the first frame is rendered, the temporary file already open
        monkeypatch.setattr(video_module, "_render", _interrupted_render)
    out = tmp_path / "good.gif"
    out.write_bytes(b"a good video")
    code = main(["video", str(pendulum), "--out", str(out), "--max-steps", "5"])
    err = capsys.readouterr().err
    if failure == "full disk":
        assert code == 2 and "No space left on device" in err and err.count("\n") == 1
    else:
        assert code == 130
    assert out.read_bytes() == b"a good video"
    assert list(tmp_path.iterdir()) == [out]  # and no half-written temporary file is left


def test_the_gif_writer_keeps_every_frame_and_loops(tmp_path):
    import imageio.v3 as iio

    frames = np.random.default_rng(0).integers(0, 256, (5, 30, 40, 3), dtype=np.uint8)
    frames[:, :, :20] = [200, 30, 30]  # a plain area, which quantizing must keep exactly
    path = tmp_path / "x.gif"
    writer = video_module._GifWriter(path, fps=25)
    for frame in frames:
        writer.append_data(frame)
    writer.close()
    written = iio.imread(path, index=None)
    assert written.shape == frames.shape
    assert (written[:, :, :20] == [200, 30, 30]).all()
    assert np.abs(written.astype(int) - frames).mean() < 20  # 256 colours for random ones
    meta = iio.immeta(path)
    assert meta["loop"] == 0 and meta["duration"] == 40  # 0: forever; 40 ms a frame


def test_an_mp4_is_written_frame_by_frame_with_ffmpeg(pendulum, tmp_path, capsys, renders):
    out = tmp_path / "x.mp4"
    code = main(["video", str(pendulum), "--out", str(out), "--max-steps", "4"])
    if not HAVE_FFMPEG:
        assert code == 2 and "writing .mp4 needs ffmpeg" in capsys.readouterr().err
        return
    import imageio.v2 as imageio

    assert code == 0 and len(imageio.mimread(out, format="FFMPEG")) == 5
    assert list(tmp_path.iterdir()) == [out]


def test_progress_shows_on_a_terminal_and_ends_its_line(pendulum, tmp_path, monkeypatch, renders):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    out = tmp_path / "x.gif"
    assert main(["video", str(pendulum), "--out", str(out), "--max-steps", "3"]) == 0
    # The first frame of 4 (the reset one and 3 steps), then the line cleared for the result.
    assert terminal.getvalue().startswith("\r\033[Kframe 1/4")
    assert f"\r\033[Kwrote {out}: 3 steps" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate()
    assert main(["video", str(pendulum), "--out", str(out), "--max-steps", "3", "--quiet"]) == 0
    assert terminal.getvalue() == ""  # --quiet: nothing but errors


def test_progress_is_redrawn_a_few_times_a_second_and_only_on_a_terminal(monkeypatch):
    seconds = iter(np.arange(0.0, 10.0, 0.01))  # 100 frames a second
    monkeypatch.setattr(video_module, "time", SimpleNamespace(monotonic=lambda: next(seconds)))
    terminal, log_file = Terminal(), io.StringIO()
    for stream in (terminal, log_file, None):
        shown = video_module._Progress(stream, 201)
        for frame in range(1, 202):  # two seconds of frames
            shown.show(frame)
        shown.end()
    lines = terminal.getvalue().split("\r\033[K")
    assert lines[0] == "" and lines[1] == "frame 1/201" and lines[-1] == ""  # cleared at the end
    assert 5 <= len(lines[1:-1]) <= 9  # every quarter second, not 201 times
    assert log_file.getvalue() == ""
