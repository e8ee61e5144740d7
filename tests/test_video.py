"""minidst video: a real render of a saved HalfCheetah policy (MuJoCo through OSMesa), and the
one-line errors. The renders run in fresh processes: MuJoCo picks its OpenGL backend when it
loads, once per process.

A machine without OSMesa (``apt-get install libosmesa6``; ``.ci/run`` installs it) cannot render
headless: there the render test checks instead that the command says what to install."""

import ctypes.util
import os
import subprocess
import sys

import pytest

from minidst.cli import main


@pytest.fixture(scope="module")
def cheetah(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("video") / "cheetah"
    args = ["--env", "HalfCheetah-v5", "--steps", "200", "--start-steps", "100", "--eval-every",
            "200", "--eval-episodes", "1", "--buffer-size", "500", "--quiet"]  # fmt: skip
    assert main(["train", *args, "--run-dir", str(run_dir)]) == 0
    return run_dir


def video(run_dir, out, gl="osmesa", *extra):
    command = [sys.executable, "-m", "minidst.cli", "video", str(run_dir), "--out", str(out)]
    environment = {**os.environ, "MUJOCO_GL": gl}
    return subprocess.run(
        [*command, *extra], capture_output=True, text=True, env=environment, timeout=300
    )


HAVE_OSMESA = ctypes.util.find_library("OSMesa") is not None


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


def test_a_missing_output_folder_is_found_before_rendering(cheetah, tmp_path, capsys):
    assert main(["video", str(cheetah), "--out", str(tmp_path / "no" / "x.gif")]) == 2
    assert "no directory" in capsys.readouterr().err


def test_evaluate_refuses_a_negative_seed(cheetah, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(cheetah), "--seed", "-3"])
    assert exit_.value.code == 2 and "--seed: must be >= 0" in capsys.readouterr().err
