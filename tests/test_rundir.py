"""The run directory's record of which code made a run (``rundir.source_revision``)."""

import subprocess
from pathlib import Path

from minidst.rundir import source_revision


def git(folder: Path, *args: str) -> str:
    command = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def make_checkout(root: Path) -> Path:
    """A git repository holding a ``minidst`` package folder, one commit deep."""
    package = root / "minidst"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    return package


def test_a_clean_checkout_gives_its_commit(tmp_path):
    package = make_checkout(tmp_path)
    commit = git(tmp_path, "rev-parse", "HEAD")
    assert source_revision(package) == commit[:12]


def test_a_modified_tracked_file_is_flagged_and_an_untracked_one_is_not(tmp_path):
    package = make_checkout(tmp_path)
    commit = git(tmp_path, "rev-parse", "HEAD")[:12]
    (tmp_path / "notes.txt").write_text("untracked\n")
    assert source_revision(package) == commit
    (package / "__init__.py").write_text("x = 2\n")
    assert source_revision(package) == commit + "+modified"


def test_outside_a_checkout_of_its_own_there_is_no_revision(tmp_path):
    plain = tmp_path / "plain" / "minidst"
    plain.mkdir(parents=True)
    assert source_revision(plain) is None
    # A package folder deeper inside some other repository (e.g. a virtual environment kept
    # in a project) is not that repository's code.
    make_checkout(tmp_path / "project")
    nested = tmp_path / "project" / "venv" / "site-packages" / "minidst"
    nested.mkdir(parents=True)
    assert source_revision(nested) is None
