"""``minidst demo``: three students of one architecture learn a teacher; sparse ones store fewer
weights and cost fewer FLOPs. Chapter 5 uses the same building blocks."""

import numpy as np

from minidst.cli import main
from minidst.demo import (
    STUDENTS,
    build_students,
    compare_students,
    teacher_regression,
    train_student,
)


def test_every_student_learns_and_the_sparse_ones_are_smaller(capsys):
    rows = {row["student"]: row for row in compare_students(steps=300, hidden=64)}
    for row in rows.values():
        assert row["test_mse"] < 0.5, row  # targets are standardised: the mean scores about 1
    dense, static, dynamic = rows["dense"], rows["static sparse"], rows["dynamic sparse"]
    assert static["weights"] == dynamic["weights"] < dense["weights"]
    assert static["train_mflop_per_step"] < dense["train_mflop_per_step"]
    assert "dynamic sparse" in capsys.readouterr().out


def test_bad_demo_options_are_one_line_errors(capsys):
    assert main(["demo", "--rewire-every", "0"]) == 2
    err = capsys.readouterr().err
    assert "--rewire-every must be positive" in err and err.count("\n") == 1


def test_teacher_regression_is_standardised_contiguous_float32():
    data = teacher_regression(np.random.default_rng(0), 5, 3, [8, 8], n_train=400, n_test=100)
    assert [a.shape for a in data] == [(5, 400), (3, 400), (5, 100), (3, 100)]
    for array in data:
        assert array.dtype == np.float32 and array.flags.c_contiguous
    np.testing.assert_allclose(data.y_train.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(data.y_train.std(axis=1), 1, rtol=1e-4)
    same = teacher_regression(np.random.default_rng(0), 5, 3, [8, 8], n_train=400, n_test=100)
    assert all(np.array_equal(a, b) for a, b in zip(data, same))


def test_the_dynamic_student_starts_as_an_independent_copy_of_the_static_one():
    students = build_students([6, 16, 16, 2], [0.5, 0.5, None], np.random.default_rng(1))
    assert tuple(students) == STUDENTS
    static, dynamic = students["static sparse"], students["dynamic sparse"]
    for s, d in zip(static.sparse_layers, dynamic.sparse_layers):
        assert np.array_equal(s.positions(), d.positions())
    for p, q in zip(static.parameters(), dynamic.parameters()):
        assert np.array_equal(p, q)
    static.sparse_layers[0].weight.data[:] = 0
    assert np.any(dynamic.sparse_layers[0].weight.data != 0)
    assert not students["dense"].sparse_layers


def test_train_student_rewires_on_schedule_and_keeps_the_count():
    rng = np.random.default_rng(2)
    data = teacher_regression(rng, 6, 1, [8], n_train=200, n_test=50)
    students = build_students([6, 16, 16, 1], [0.5, 0.5, None], rng)
    schedule = rng.integers(0, 200, size=(40, 20))
    nnz = [layer.nnz for layer in students["dynamic sparse"].sparse_layers]
    history = train_student(
        students["dynamic sparse"],
        data,
        schedule,
        rng,
        rewire=True,
        zeta=0.2,
        rewire_every=10,
        eval_every=10,
    )
    assert history["updates"] == 3  # steps 10, 20, 30; never on the last step (40)
    assert history["step"] == [10, 20, 30, 40] and len(history["test"]) == 4
    assert [layer.nnz for layer in students["dynamic sparse"].sparse_layers] == nnz
    static = train_student(students["static sparse"], data, schedule, rng)
    assert static["updates"] == 0 and static["step"] == [40]
