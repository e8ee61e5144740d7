"""Checks for the course's exercises: call one with your answer and read its verdict.

Every check is named after its chapter and exercise, ``chapter1_exercise4(...)``, computes the
right answer itself (from the library or from first principles), prints one line, ``Correct: ...``
with a short reason or ``Not yet: ...`` with a hint, and returns ``True`` or ``False``. Checks of
exercises that ask you to write a function take the function itself and try it on random inputs.

Only exercises with one well-defined answer have a check: open questions, and timings (which
depend on the machine), do not. ``show_checks(chapter)`` lists a chapter's checks.

Each chapter's checks live in a module of their own, ``chapter05`` for
chapters/05_prune_and_regrow.py, and the helpers they share (the verdict line, reading an answer
as numbers, random inputs) in ``_shared``. This package gathers every check, so
``exercises.chapter5_exercise5(...)`` works the same from any chapter.
"""

from __future__ import annotations

import inspect
import sys

from minidst.exercises.chapter01 import (
    chapter1_exercise1,
    chapter1_exercise2,
    chapter1_exercise3,
    chapter1_exercise4,
    chapter1_exercise5,
)
from minidst.exercises.chapter02 import chapter2_exercise4, chapter2_exercise5
from minidst.exercises.chapter03 import (
    chapter3_exercise1,
    chapter3_exercise2,
    chapter3_exercise3,
    chapter3_exercise4,
)
from minidst.exercises.chapter04 import chapter4_exercise1, chapter4_exercise3
from minidst.exercises.chapter05 import chapter5_exercise5
from minidst.exercises.chapter06 import chapter6_exercise1, chapter6_exercise3, chapter6_exercise4
from minidst.exercises.chapter07 import chapter7_exercise5
from minidst.exercises.chapter08 import chapter8_exercise1, chapter8_exercise5
from minidst.exercises.chapter09 import chapter9_exercise4
from minidst.exercises.chapter10 import (
    chapter10_exercise3,
    chapter10_exercise5,
    chapter10_exercise6,
)
from minidst.exercises.chapter11 import chapter11_exercise5
from minidst.exercises.chapter12 import chapter12_exercise1
from minidst.exercises.chapter13 import chapter13_exercise1
from minidst.exercises.chapter14 import chapter14_exercise2, chapter14_exercise5

__all__ = [
    "chapter1_exercise1",
    "chapter1_exercise2",
    "chapter1_exercise3",
    "chapter1_exercise4",
    "chapter1_exercise5",
    "chapter2_exercise4",
    "chapter2_exercise5",
    "chapter3_exercise1",
    "chapter3_exercise2",
    "chapter3_exercise3",
    "chapter3_exercise4",
    "chapter4_exercise1",
    "chapter4_exercise3",
    "chapter5_exercise5",
    "chapter6_exercise1",
    "chapter6_exercise3",
    "chapter6_exercise4",
    "chapter7_exercise5",
    "chapter8_exercise1",
    "chapter8_exercise5",
    "chapter9_exercise4",
    "chapter10_exercise3",
    "chapter10_exercise5",
    "chapter10_exercise6",
    "chapter11_exercise5",
    "chapter12_exercise1",
    "chapter13_exercise1",
    "chapter14_exercise2",
    "chapter14_exercise5",
    "show_checks",
]


def show_checks(chapter: int) -> None:
    """Print the checks of one chapter and how to call them."""
    prefix = f"chapter{chapter}_exercise"
    checks = [
        (name, function)
        for name, function in inspect.getmembers(sys.modules[__name__], inspect.isfunction)
        if name.startswith(prefix)
    ]
    if not checks:
        print(f"chapter {chapter} has no exercise checks")
    for name, function in sorted(checks, key=lambda item: int(item[0].removeprefix(prefix))):
        arguments = ", ".join(inspect.signature(function).parameters)
        summary = " ".join((inspect.getdoc(function) or "").split("\n\n")[0].split()).replace(
            "``", "`"
        )
        print(f"{name}({arguments}): {summary}")
