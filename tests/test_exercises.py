"""The exercise checks accept a right answer and reject a wrong one.

Every right answer here is computed independently of ``minidst.exercises``: by brute force,
plain loops or a different method (a linear solve instead of value iteration, Monte Carlo instead
of integration, layers actually built instead of a formula).
"""

import csv
import itertools
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import trim_mean

from minidst import exercises
from minidst.gradcheck import central_difference
from minidst.layers import DenseLinear, SparseLinear


@pytest.fixture(autouse=True)
def one_line_verdict(request, capsys):
    """Every check prints one line per call, starting with its verdict."""
    yield
    if not request.node.name.startswith("test_chapter"):
        return
    lines = capsys.readouterr().out.splitlines()
    assert lines, "a check printed nothing"
    assert all(line.startswith(("Correct: ", "Not yet: ")) for line in lines), lines


def er_density(n_in, n_out, lam):
    return min(1.0, lam * (n_in + n_out) / (n_in * n_out))


# ---- chapter 1 ------------------------------------------------------------------------------


def transpose_by_loops(indptr, indices, data, shape):
    n_rows, n_cols = shape
    rows_of_t = [[] for _ in range(n_cols)]
    for r in range(n_rows):
        for k in range(indptr[r], indptr[r + 1]):
            rows_of_t[indices[k]].append((r, data[k]))  # rows come in increasing order
    indptr_t = np.cumsum([0] + [len(row) for row in rows_of_t])
    indices_t = np.array([r for row in rows_of_t for r, _ in row], dtype=np.int64)
    data_t = np.array([v for row in rows_of_t for _, v in row])
    return indptr_t, indices_t, data_t


def test_chapter1_exercise1():
    assert exercises.chapter1_exercise1(transpose_by_loops)
    assert not exercises.chapter1_exercise1(
        lambda indptr, indices, data, shape: (indptr, indices, data)
    )


def test_unsorted_columns_get_their_own_hint_in_chapter1_exercise1(capsys):
    def transpose_with_each_row_reversed(indptr, indices, data, shape):
        indptr_t, indices_t, data_t = transpose_by_loops(indptr, indices, data, shape)
        for start, stop in itertools.pairwise(indptr_t):
            indices_t[start:stop] = indices_t[start:stop][::-1].copy()
            data_t[start:stop] = data_t[start:stop][::-1].copy()
        return indptr_t, indices_t, data_t

    assert not exercises.chapter1_exercise1(transpose_with_each_row_reversed)
    assert "not in canonical order" in capsys.readouterr().out


def test_chapter1_exercise2():
    def csc_matvec(indptr, indices, data, x, n_rows):
        y = np.zeros(n_rows)
        for c in range(len(indptr) - 1):
            for k in range(indptr[c], indptr[c + 1]):
                y[indices[k]] += data[k] * x[c]
        return y

    def read_as_csr(indptr, indices, data, x, n_rows):
        return np.array(
            [
                data[indptr[r] : indptr[r + 1]] @ x[indices[indptr[r] : indptr[r + 1]]]
                for r in range(min(n_rows, len(indptr) - 1))
            ]
        )

    assert exercises.chapter1_exercise2(csc_matvec)
    assert not exercises.chapter1_exercise2(read_as_csr)


def test_chapter1_exercise3():
    # Scan the density until CSR (value + index bytes per entry) costs as much as dense.
    def crossing(value_bytes, index_bytes):
        densities = np.linspace(0, 1, 100_001)
        return densities[np.argmax(densities * (value_bytes + index_bytes) >= value_bytes)]

    assert exercises.chapter1_exercise3((crossing(8, 4), crossing(4, 8)))
    assert not exercises.chapter1_exercise3((0.5, 0.5))
    assert not exercises.chapter1_exercise3((66.7, 33.3))  # percent, not fractions
    assert not exercises.chapter1_exercise3(0.5)


def test_chapter1_exercise4():
    densities = (er_density(348, 256, 61), er_density(348, 256, 7))
    lams = np.arange(0, 300, 0.01)
    full = [
        lams[np.argmax([er_density(a, b, lam) >= 1 for lam in lams])]
        for a, b in [(17, 256), (348, 256), (256, 256)]
    ]
    assert exercises.chapter1_exercise4(densities)
    assert exercises.chapter1_exercise4(densities, full)
    assert not exercises.chapter1_exercise4(densities[::-1])
    assert not exercises.chapter1_exercise4(densities, [256, 348, 256])


def humanoid_sparsity_by_building_layers():
    """Build the actor and both critics' layers for Humanoid-v5 and count what they store."""
    rng = np.random.default_rng(0)
    layers = []
    for n_in, n_out in [(348, 17), (365, 1), (365, 1)]:
        layers += [
            SparseLinear(n_in, 256, er_density(n_in, 256, 61), rng),
            SparseLinear(256, 256, er_density(256, 256, 64), rng),
            DenseLinear(256, n_out, rng),
        ]
    stored = sum(layer.nnz for layer in layers)
    dense = sum(layer.in_features * layer.out_features for layer in layers)
    return 1 - stored / dense


def test_chapter1_exercise5():
    sparsity = humanoid_sparsity_by_building_layers()
    assert exercises.chapter1_exercise5(sparsity)
    assert not exercises.chapter1_exercise5(0.51)  # HalfCheetah's
    assert not exercises.chapter1_exercise5(100 * sparsity)


# ---- chapter 2 ------------------------------------------------------------------------------


def test_chapter2_exercise4():
    def transposed_index(indptr, indices, n_in):
        entries = sorted(
            (indices[k], r, k)
            for r in range(len(indptr) - 1)
            for k in range(indptr[r], indptr[r + 1])
        )
        counts = np.bincount([c for c, _, _ in entries], minlength=n_in)
        return (
            np.concatenate([[0], np.cumsum(counts)]),
            np.array([r for _, r, _ in entries]),
            np.array([k for _, _, k in entries]),
        )

    def identity_perm(indptr, indices, n_in):
        indptr_t, indices_t, perm = transposed_index(indptr, indices, n_in)
        return indptr_t, indices_t, np.arange(len(perm))

    assert exercises.chapter2_exercise4(transposed_index)
    assert not exercises.chapter2_exercise4(identity_perm)
    assert not exercises.chapter2_exercise4(lambda *args: 1 / 0)


def test_chapter2_exercise5():
    layer = SparseLinear(256, 256, 0.1, np.random.default_rng(0))
    batch = 256
    assert exercises.chapter2_exercise5(256 * 256 * batch / (layer.nnz * batch))
    assert not exercises.chapter2_exercise5(3.0)


# ---- chapter 3 ------------------------------------------------------------------------------


def leaky_relu(z):
    return np.where(z > 0, z, 0.01 * z)


def test_chapter3_exercise1():
    def from_z(z, y, dy):
        return dy * np.where(z > 0, 1.0, 0.01)

    def from_y(z, y, dy):
        return dy * np.where(y > 0, 1.0, 0.01)

    def steep_at_the_kink(z, y, dy):
        return dy * np.where(z >= 0, 1.0, 0.01)

    def in_place(z):
        z[z < 0] *= 0.01
        return z

    # Away from the kink, both backward passes agree with central differences.
    z = np.random.default_rng(0).standard_normal((4, 5))
    dy = np.random.default_rng(1).standard_normal(z.shape)
    numeric = central_difference(lambda: float(np.sum(dy * leaky_relu(z))), z)
    for backward in (from_z, from_y):
        assert np.allclose(backward(z, leaky_relu(z), dy), numeric, atol=1e-7)

    assert exercises.chapter3_exercise1(leaky_relu, from_z)
    assert exercises.chapter3_exercise1(leaky_relu, from_y, "either")  # both passed
    assert not exercises.chapter3_exercise1(leaky_relu, from_y, "z")
    assert not exercises.chapter3_exercise1(leaky_relu, steep_at_the_kink)
    assert not exercises.chapter3_exercise1(in_place, from_z)
    assert not exercises.chapter3_exercise1(lambda z: np.maximum(z, 0), from_z)


def test_chapter3_exercise2():
    def huber_by_loop(p, t):
        total = 0.0
        for d in p - t:
            total += 0.5 * d * d if abs(d) <= 1 else abs(d) - 0.5
        return total / len(p)

    p, t = np.array([0.0, 0.5, 3.0]), np.zeros(3)
    loss = huber_by_loop(p, t)
    gradient = central_difference(lambda: huber_by_loop(p, t), p)
    assert exercises.chapter3_exercise2(loss, gradient)
    assert not exercises.chapter3_exercise2(3 * loss, gradient)  # summed
    assert not exercises.chapter3_exercise2(loss, 3 * gradient)  # not averaged
    assert not exercises.chapter3_exercise2(loss, 2 * (p - t) / 3)  # the MSE's gradient


def test_chapter3_exercise3():
    # Both bias corrections are 1: m_k = (1 - beta1^k) g and v_k = (1 - beta2^k) g^2.
    k = np.arange(1, 1001)
    sizes = (1 - 0.9**k) / np.sqrt(1 - 0.999**k)
    first, largest, at = sizes[0], sizes.max(), int(k[np.argmax(sizes)])
    assert exercises.chapter3_exercise3(first, largest, at)
    assert not exercises.chapter3_exercise3(1.0, 1.0, 1)  # the corrected steps
    assert not exercises.chapter3_exercise3(first, largest, at - 1)


def test_chapter3_exercise4():
    lr, wd = 1e-3, 2e-4
    w, m, v, t = 1.0, 0.0, 0.0, 0
    while w >= 0.01:  # textbook Adam on one weight, L2 decay in the gradient
        t += 1
        g = wd * w
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    low, high = 1, 10**9  # bisect for the first n with (1 - lr * wd)^n < 0.01
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if (1 - lr * wd) ** mid < 0.01 else (mid + 1, high)
    assert exercises.chapter3_exercise4(t, low)
    assert not exercises.chapter3_exercise4(990, low)  # one lr per step
    assert not exercises.chapter3_exercise4(t, 100 * t)


# ---- chapter 4 ------------------------------------------------------------------------------


def test_chapter4_exercise1():
    def spmm_batch_major(indptr, indices, data, X, out):
        out[:] = 0
        for r in range(len(indptr) - 1):
            for k in range(indptr[r], indptr[r + 1]):
                out[:, r] += data[k] * X[:, indices[k]]

    def forgets_to_fill(indptr, indices, data, X, out):
        return X

    assert exercises.chapter4_exercise1(spmm_batch_major)
    assert not exercises.chapter4_exercise1(forgets_to_fill)


def test_chapter4_exercise3():
    assert exercises.chapter4_exercise3("reassoc")
    assert exercises.chapter4_exercise3('{"reassoc"}')
    assert not exercises.chapter4_exercise3("contract")


# ---- chapter 5 ------------------------------------------------------------------------------


def test_chapter5_exercise5():
    def remap_keeping_moments(optimizer, layer, source):
        i = optimizer.layers.index(layer)
        old = [optimizer.m[i][0].copy(), optimizer.v[i][0].copy()]
        optimizer.remap(layer, source)
        for moments, previous in zip((optimizer.m[i], optimizer.v[i]), old):
            for k in range(len(source)):
                if source[k] < 0:
                    moments[0][k] = previous[k]

    def zero_moments(optimizer, layer, source):
        optimizer.remap(layer, source)  # the library's rule: new connections start at zero

    assert exercises.chapter5_exercise5(remap_keeping_moments)
    assert not exercises.chapter5_exercise5(zero_moments)


# ---- chapter 6 ------------------------------------------------------------------------------


def slippery_q_by_policy_enumeration(slip=0.2, gamma=0.9, n=6):
    """Evaluate every deterministic policy exactly (a linear solve) and keep the best values."""
    goal = n - 1

    def outcomes(s, a):
        for probability, move in ((1 - slip, a), (slip, 1 - a)):
            yield probability, (max(s - 1, 0) if move == 0 else s + 1)

    best_v = np.full(n, -np.inf)
    for policy in itertools.product((0, 1), repeat=goal):
        P, r = np.zeros((n, n)), np.zeros(n)
        for s in range(goal):
            for probability, s_next in outcomes(s, policy[s]):
                r[s] += probability * (s_next == goal)
                if s_next != goal:
                    P[s, s_next] += probability
        best_v = np.maximum(best_v, np.linalg.solve(np.eye(n) - gamma * P, r))
    Q = np.zeros((n, 2))
    for s, a in itertools.product(range(goal), (0, 1)):
        Q[s, a] = sum(p * (1.0 if s2 == goal else gamma * best_v[s2]) for p, s2 in outcomes(s, a))
    return Q


def test_chapter6_exercise1():
    assert exercises.chapter6_exercise1(slippery_q_by_policy_enumeration())
    assert not exercises.chapter6_exercise1(slippery_q_by_policy_enumeration(slip=0.0))
    assert not exercises.chapter6_exercise1(np.zeros(6))


def test_chapter6_exercise3():
    assert exercises.chapter6_exercise3(False)
    assert not exercises.chapter6_exercise3(True)
    assert not exercises.chapter6_exercise3("no")


def test_chapter6_exercise4():
    rng = np.random.default_rng(0)
    estimates = [
        float(rng.standard_normal((100_000, n), dtype=np.float32).max(axis=1).mean())
        for n in (2, 10, 100)
    ]
    assert exercises.chapter6_exercise4(estimates)
    assert not exercises.chapter6_exercise4([0.0, 0.0, 0.0])
    assert not exercises.chapter6_exercise4(estimates[::-1])


# ---- chapter 7 ------------------------------------------------------------------------------


def test_chapter7_exercise5():
    def polyak_flat(target_net, online_net, tau, swap=False):
        target_flat = np.concatenate([p.ravel() for p in target_net.parameters()])
        online_flat = np.concatenate([p.ravel() for p in online_net.parameters()])
        a, b = (target_flat, online_flat) if swap else (online_flat, target_flat)
        new = tau * a + (1 - tau) * b
        start = 0
        for p in target_net.parameters():
            p[...] = new[start : start + p.size].reshape(p.shape)
            start += p.size

    assert exercises.chapter7_exercise5(polyak_flat)
    assert not exercises.chapter7_exercise5(
        lambda target, online, tau: polyak_flat(target, online, tau, swap=True)
    )


# ---- chapter 8 ------------------------------------------------------------------------------


def test_chapter8_exercise1():
    sparsity = humanoid_sparsity_by_building_layers()
    assert exercises.chapter8_exercise1(sparsity)
    assert not exercises.chapter8_exercise1(0.51)


def test_chapter8_exercise5():
    def per_sample_forward(n_in, n_out, lambdas):
        """2 FLOPs per stored weight: layers n_in -> 256 -> 256 -> n_out."""
        if lambdas is None:
            stored = [n_in * 256, 256 * 256]
        else:
            stored = [
                round(er_density(a, b, lam) * a * b)
                for (a, b), lam in zip([(n_in, 256), (256, 256)], lambdas)
            ]
        return 2 * (sum(stored) + 256 * n_out)

    def counts(lambdas):
        actor, critic = per_sample_forward(17, 6, lambdas), per_sample_forward(23, 1, lambdas)
        paper = 2 * 3 * critic + 3 * actor / 2
        # plus targets (actor, two critics) every iteration and critic 1's forward and input
        # gradient in every second iteration's actor loss
        library = paper + actor + 2 * critic + 2 * critic / 2
        return paper, library

    dense, sparse = counts(None), counts((7, 64))
    factor = dense[1] / dense[0]
    ratios = (sparse[0] / dense[0], sparse[1] / dense[1])
    assert exercises.chapter8_exercise5(factor)
    assert exercises.chapter8_exercise5(factor, ratios)
    assert not exercises.chapter8_exercise5(1.0)
    assert not exercises.chapter8_exercise5(factor, (0.5, 0.6))


# ---- chapters 9 and 10: the runs kept in the repository --------------------------------------

REPOSITORY = Path(__file__).resolve().parent.parent
PAPER200K = REPOSITORY / "results" / "paper200k"
ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")


@pytest.fixture
def committed_runs(monkeypatch):
    """The finished runs of results/paper200k, ``(env, algo) -> [(steps, returns), ...]`` in seed
    order, read with the csv module; the checks read the same folder."""
    monkeypatch.delenv("MINIDST_RESULTS", raising=False)
    curves = defaultdict(list)
    for config_path in sorted(PAPER200K.glob("*/*/seed*/config.json")):
        config = json.loads(config_path.read_text())["config"]
        with open(config_path.parent / "evaluations.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        steps = np.array([int(row["step"]) for row in rows])
        returns = np.array([float(row["return_mean"]) for row in rows])
        if len(steps) and steps[-1] == config["steps"]:
            curves[config["env"], config["algo"]].append((steps, returns))
    if not curves:
        pytest.skip(f"no runs in {PAPER200K}")
    return curves


def final_score(steps, returns):
    """The mean of the last 10 evaluations after step 0."""
    return float(returns[steps > 0][-10:].mean())


def finals_of(curves, env, algo):
    return [final_score(steps, returns) for steps, returns in curves.get((env, algo), [])]


def test_chapter9_exercise4(committed_runs):
    from minidst import stats

    def area_over_length(steps, returns):
        return float(np.trapezoid(returns, steps) / (steps[-1] - steps[0]))

    algos = ("td3", "static-td3", "ds-td3")
    runs = {algo: committed_runs["HalfCheetah-v5", algo] for algo in algos}
    scores = {algo: [area_over_length(*run) for run in runs[algo]] for algo in algos}
    intervals = {algo: stats.iqm_interval(values) for algo, values in scores.items()}
    overlaps = [
        max(intervals[a][0], intervals[b][0]) <= min(intervals[a][1], intervals[b][1])
        for a, b in [("td3", "static-td3"), ("td3", "ds-td3"), ("static-td3", "ds-td3")]
    ]
    last_ten = {algo: [final_score(*run) for run in runs[algo]] for algo in algos}
    assert exercises.chapter9_exercise4(scores)
    assert exercises.chapter9_exercise4({algo: v[::-1] for algo, v in scores.items()}, overlaps)
    assert not exercises.chapter9_exercise4(last_ten)  # the chapter's own score
    assert not exercises.chapter9_exercise4(scores, [not x for x in overlaps])


def ds_td3_cells(curves):
    """Per environment, (DS-TD3 finals, TD3 finals, random score)."""
    from minidst.random_policy import random_score

    return {
        env: (finals_of(curves, env, "ds-td3"), finals_of(curves, env, "td3"), random_score(env))
        for env in ENVS
        if finals_of(curves, env, "ds-td3") and finals_of(curves, env, "td3")
    }


def pooled_normalised_iqm(cells):
    """(x - random) / (mean baseline - random) in each environment, IQM of all runs pooled."""
    scores = [(np.array(x) - r) / (np.mean(baseline) - r) for x, baseline, r in cells.values()]
    return float(trim_mean(np.concatenate(scores), 0.25))


def test_chapter10_exercise3(committed_runs):
    from minidst import report

    cells = ds_td3_cells(committed_runs)
    full = pooled_normalised_iqm(cells)
    moves = {"ds-td3": [], "td3": []}
    for env, (ds, dense, random) in cells.items():
        for side, scores in (("ds-td3", ds), ("td3", dense)):
            for k in range(len(scores) if len(scores) > 1 else 0):
                rest = scores[:k] + scores[k + 1 :]
                changed = dict(cells)
                changed[env] = (rest, dense, random) if side == "ds-td3" else (ds, rest, random)
                moves[side].append(abs(pooled_normalised_iqm(changed) - full))
    largest, largest_ds = max(moves["ds-td3"] + moves["td3"]), max(moves["ds-td3"])
    all_runs = report.read_runs(PAPER200K)[0]
    (row,) = [row for row in report.across_environments(all_runs) if row["algo"] == "ds-td3"]
    width = row["ci_high"] - row["ci_low"]
    mean_move = float(np.mean(moves["ds-td3"] + moves["td3"]))
    assert abs(mean_move - largest) > 0.01 and abs(mean_move - largest_ds) > 0.01
    assert exercises.chapter10_exercise3(largest)
    assert exercises.chapter10_exercise3(largest_ds, largest_ds / width)  # DS-TD3's cells only
    assert exercises.chapter10_exercise3(-largest, largest / width)
    assert not exercises.chapter10_exercise3(mean_move)
    assert not exercises.chapter10_exercise3(largest, width)


def test_chapter10_exercise5(committed_runs):
    envs = [env for env in ENVS if finals_of(committed_runs, env, "static-td3")]
    probabilities = []
    for env in envs:
        x, y = finals_of(committed_runs, env, "static-td3"), finals_of(committed_runs, env, "td3")
        wins = sum((a > b) + 0.5 * (a == b) for a in x for b in y)
        probabilities.append(wins / (len(x) * len(y)))
    fewest = next(n for n in itertools.count(1) if 2 / math.comb(2 * n, n) < 0.05)
    assert exercises.chapter10_exercise5(probabilities)
    assert exercises.chapter10_exercise5(dict(zip(envs, probabilities)), fewest)
    assert exercises.chapter10_exercise5(np.round(probabilities, 3), fewest)
    assert not exercises.chapter10_exercise5([1 - p for p in probabilities])  # P(TD3 > Static)
    assert not exercises.chapter10_exercise5(probabilities, 5)  # five a side can, four can too
    assert not exercises.chapter10_exercise5(probabilities, 3)


def published_finals(env):
    """The published TD3 seeds' mean of their evaluations at 155k-200k, from the packaged CSV."""
    from minidst.envs import env_family

    by_seed = defaultdict(list)
    with open(REPOSITORY / "minidst" / "data" / "td3_fujimoto2018_curves.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["env"] == env_family(env) and 150_000 < int(row["step"]) <= 200_000:
                by_seed[int(row["seed"])].append(float(row["return"]))
    assert all(len(values) == 10 for values in by_seed.values())
    return [float(np.mean(values)) for values in by_seed.values()]


def test_chapter10_exercise6(committed_runs):
    from minidst import stats

    cells = ds_td3_cells(committed_runs)
    published = {env: (x, published_finals(env), r) for env, (x, _, r) in cells.items()}
    score = pooled_normalised_iqm(published)
    _, (low, high) = stats.normalised_iqm_interval(list(published.values()))
    verdict = "above" if low > 1 else "below" if high < 1 else "contains"
    ours = pooled_normalised_iqm(cells)
    assert abs(ours - score) > 0.005
    assert exercises.chapter10_exercise6(score)
    assert exercises.chapter10_exercise6(round(score, 3), verdict)
    assert not exercises.chapter10_exercise6(ours)  # normalised by our TD3, as in the chapter
    assert not exercises.chapter10_exercise6(score, "below" if verdict != "below" else "above")


def test_checks_of_committed_runs_say_when_there_are_none(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MINIDST_RESULTS", str(tmp_path))
    assert not exercises.chapter10_exercise5([0.5, 0.5, 0.5])
    assert not exercises.chapter9_exercise4({})
    assert capsys.readouterr().out.count("no runs found") == 2


# ---- chapter 11 -----------------------------------------------------------------------------


def never_active_by_dense_products(net, X, strictly_above=True):
    """The second layer's units that are above zero on no sample, in float64 dense products."""
    from minidst.layers import SparseLinear

    def dense(layer):
        weight = layer.weight.toarray() if isinstance(layer, SparseLinear) else layer.weight
        return weight.astype(np.float64)

    first, second = net.layers[0], net.layers[1]
    hidden = np.maximum(dense(first) @ X + first.bias[:, None], 0)
    z = dense(second) @ hidden + second.bias[:, None]
    active = z > 0 if strictly_above else z >= 0
    return int(np.sum(~active.any(axis=1)))


def test_chapter11_exercise5():
    def first_layer(net, X):
        z = net.layers[0].weight @ X + net.layers[0].bias[:, None]
        return int(np.sum(~(z > 0).any(axis=1)))

    def as_in_the_chapter(net, X):
        hidden = net.layers[0].forward(np.ascontiguousarray(X))
        z2 = net.layers[1].forward(np.maximum(hidden, 0))
        return int(((z2 > 0).mean(axis=1) == 0).sum())

    def tau_dormant(net, X):
        from minidst.dormant import TAU, unit_scores

        return int(np.sum(unit_scores(net, X)[1] <= TAU))

    assert exercises.chapter11_exercise5(never_active_by_dense_products)
    assert exercises.chapter11_exercise5(as_in_the_chapter)  # the float32 kernels
    assert not exercises.chapter11_exercise5(tau_dormant)
    assert not exercises.chapter11_exercise5(
        lambda net, X: never_active_by_dense_products(net, X, strictly_above=False)
    )
    assert not exercises.chapter11_exercise5(first_layer)


# ---- chapter 12 -----------------------------------------------------------------------------


def test_chapter12_exercise1():
    from scipy.stats import binom

    lower_in_all_five = binom.pmf(5, 5, 0.5)
    assert exercises.chapter12_exercise1(lower_in_all_five)
    assert not exercises.chapter12_exercise1(2 * lower_in_all_five)  # either direction
    assert not exercises.chapter12_exercise1(100 * lower_in_all_five)  # percent


# ---- chapter 13 -----------------------------------------------------------------------------


def test_chapter13_exercise1():
    from minidst.sac import LOG_STD_MAX, LOG_STD_MIN, squashed_gaussian

    def naive(head, eps, keys=("a", "logp", "u", "std", "eps", "raw")):
        n = head.shape[0] // 2
        mean, raw = head[:n], head[n:]
        log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(raw) + 1) / 2
        std = np.exp(log_std)
        u = mean + std * eps
        a = np.tanh(u)
        gaussian = -0.5 * eps * eps - log_std - 0.5 * math.log(2 * math.pi)
        logp = np.sum(gaussian - np.log(1 - a**2), axis=0, keepdims=True)
        sample = {"a": a, "logp": logp, "u": u, "std": std, "eps": eps, "raw": raw}
        return {key: sample[key] for key in keys}

    assert exercises.chapter13_exercise1(naive)
    assert not exercises.chapter13_exercise1(squashed_gaussian)  # the stable one stays finite
    assert not exercises.chapter13_exercise1(lambda head, eps: naive(head, eps, ("a", "logp")))


# ---- chapter 14 -----------------------------------------------------------------------------


def sac_per_sample_forward(n_in, n_out, lambdas):
    """2 FLOPs per stored weight of n_in -> 256 -> 256 -> n_out, first two layers at the
    Erdős–Rényi densities of ``lambdas`` (``None``: dense)."""
    shapes = [(n_in, 256), (256, 256)]
    if lambdas is None:
        stored = [a * b for a, b in shapes]
    else:
        stored = [round(er_density(a, b, lam) * a * b) for (a, b), lam in zip(shapes, lambdas)]
    return 2 * (sum(stored) + 256 * n_out)


def test_chapter14_exercise2():
    from minidst.envs import paper_lambdas

    def counts(lambdas):
        actor = sac_per_sample_forward(17, 2 * 6, lambdas)  # a mean and a log-std per action
        critic = sac_per_sample_forward(17 + 6, 1, lambdas)
        paper = 3 * 2 * critic + 3 * actor
        # plus the actor on s', both target critics, and both critics' forward and input
        # gradient inside the actor loss
        library = paper + actor + 2 * critic + 2 * 2 * critic
        return paper, library

    dense, sparse = counts(None), counts(paper_lambdas("HalfCheetah-v5", "sac"))
    ratios = (sparse[0] / dense[0], sparse[1] / dense[1])
    assert exercises.chapter14_exercise2(ratios)
    assert exercises.chapter14_exercise2(np.round(ratios, 3))
    assert not exercises.chapter14_exercise2(ratios[::-1])
    assert not exercises.chapter14_exercise2((0.5, 0.5))


def test_chapter14_exercise5():
    from scipy.optimize import brentq

    def erk_nnz(sizes, sparsity):
        """Stored weights per layer: Erdős–Rényi shares scaled to the sparsity, capped at 1, the
        output layer dense; the scale found by root finding."""
        shapes = list(itertools.pairwise(sizes))
        n = np.array([a * b for a, b in shapes], dtype=float)
        share = np.array([(a + b) / (a * b) for a, b in shapes])

        def density(scale):
            return np.append(np.minimum(1.0, scale * share[:-1]), 1.0)

        scale = brentq(lambda s: density(s) @ n - (1 - sparsity) * n.sum(), 1e-9, 1e9)
        return [round(d * size) for d, size in zip(density(scale), n)]

    def per_iteration(stored):
        actor = 2 * sum(stored([3, 256, 256, 2]))
        critic = 2 * sum(stored([4, 256, 256, 1]))
        return 4 * actor + 12 * critic  # SAC.flops_per_iteration, per sample

    def dense(sizes):
        return [a * b for a, b in itertools.pairwise(sizes)]

    saved = 1 - per_iteration(lambda sizes: erk_nnz(sizes, 0.9)) / per_iteration(dense)
    assert exercises.chapter14_exercise5(saved)
    assert not exercises.chapter14_exercise5(0.8)
    assert not exercises.chapter14_exercise5(100 * saved)


def test_show_checks_lists_a_chapters_checks(capsys):
    exercises.show_checks(1)
    out = capsys.readouterr().out
    assert all(f"chapter1_exercise{i}(" in out for i in (1, 2, 3, 4, 5))
    assert "chapter2_exercise" not in out
