"""A group's colour depends on its label, not on the other groups of the figure.

``minidst plot``, ``minidst report`` and the chapters draw the same groups in many figures with
different companions; a reader who learns a group's colour in one should find it again in the
next.
"""

import itertools
import json
import os
import subprocess
import sys

from minidst.plot import ALGO_COLOURS, group_colours

#: Labels of groups that are not a plain algorithm, whose colours all differ when drawn alone.
VARIANTS = (
    "ds-td3 90%",
    "ds-td3 95%",
    "ds-td3 80% grow=gradient",
    "td3 hidden=512",
    "static-td3 90%",
    "ds-sac 90%",
    "ds-td3 95% n_step=3",
)


def alone(label: str) -> str:
    return group_colours([label])[label]


def test_a_plain_algorithm_has_its_fixed_colour_in_every_figure():
    for algo, colour in ALGO_COLOURS.items():
        assert alone(algo) == colour
        assert group_colours([*VARIANTS, *ALGO_COLOURS])[algo] == colour
        assert group_colours([algo, "ds-td3 90%"])[algo] == colour


def test_a_label_keeps_its_colour_whatever_else_the_figure_holds():
    own = {label: alone(label) for label in VARIANTS}
    assert len(set(own.values())) == len(VARIANTS), own
    assert not set(own.values()) & set(ALGO_COLOURS.values())
    for size in range(2, len(VARIANTS) + 1):
        for labels in itertools.combinations(VARIANTS, size):
            for companions in ((), ("td3", "ds-td3"), ("sac", "ds-sac", "static-td3")):
                colours = group_colours([*labels, *companions])
                assert {label: colours[label] for label in labels} == {
                    label: own[label] for label in labels
                }, labels + companions


def test_the_groups_of_one_figure_get_distinct_colours():
    variants = [f"ds-td3 {level}%" for level in range(1, 21)]
    colours = group_colours([*ALGO_COLOURS, *variants])
    assert len(set(colours.values())) == 26
    # Two labels that pick the same colour: the first in sorted order keeps it, the other moves.
    first, second = next(
        (a, b)
        for a, b in itertools.combinations(sorted(f"ds-td3 {k}" for k in range(100)), 2)
        if alone(a) == alone(b)
    )
    both = group_colours([second, first])
    assert both[first] == alone(first) != both[second]


def test_colours_are_the_same_in_every_process():
    """Python's ``hash`` of a string changes from one process to the next; a colour must not."""
    script = (
        "import json, sys\n"
        "from minidst.plot import group_colours\n"
        "print(json.dumps({label: group_colours([label])[label] for label in sys.argv[1:]}))\n"
    )
    answers = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", script, *VARIANTS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        answers.append(json.loads(result.stdout))
    assert answers[0] == answers[1] == {label: alone(label) for label in VARIANTS}
