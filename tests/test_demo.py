"""``minidst demo``: three students of one architecture learn a teacher; sparse ones store fewer
weights and cost fewer FLOPs."""

import numpy as np

from minidst.cli import main
from minidst.demo import compare_students, teacher_data


def test_every_student_learns_and_the_sparse_ones_are_smaller(capsys):
    rows = {row["student"]: row for row in compare_students(steps=300, hidden=64)}
    _, y = teacher_data(np.random.default_rng(0), 32, 6000)
    for row in rows.values():
        assert row["test_mse"] < 0.5 * y[:, 5000:].var(), row  # far better than the mean
    dense, static, dynamic = rows["dense"], rows["static sparse"], rows["dynamic sparse"]
    assert static["weights"] == dynamic["weights"] < dense["weights"]
    assert static["train_mflop_per_step"] < dense["train_mflop_per_step"]
    assert "dynamic sparse" in capsys.readouterr().out


def test_bad_demo_options_are_one_line_errors(capsys):
    assert main(["demo", "--rewire-every", "0"]) == 2
    err = capsys.readouterr().err
    assert "--rewire-every must be positive" in err and err.count("\n") == 1
