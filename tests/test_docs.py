"""The README's map of the code and the command line's own summary stay complete."""

import re
from pathlib import Path

from minidst import cli

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_module_table_lists_every_module():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## What is inside") :]
    listed = set(re.findall(r"`minidst/(\w+)(?:\.py|/)`", table))
    package = ROOT / "minidst"
    modules = {path.stem for path in package.glob("*.py")} - {"__init__"}
    modules |= {path.parent.name for path in package.glob("*/__init__.py")}  # subpackages
    assert modules - listed == set(), "README's module table misses these modules"
    assert listed - modules == set(), "README's module table names modules that do not exist"


def test_minidst_help_names_every_subcommand():
    parser = cli.build_parser()
    for name in parser._subparsers._group_actions[0].choices:
        assert re.search(rf"\b{name}\b", parser.description), f"minidst --help omits {name}"
