"""Shared test helpers: a seeded generator, random CSR matrices, small agents and RL batches,
and comparing two run directories."""

import csv

import numpy as np
import pytest
import scipy.sparse as sp

from minidst.agent import NetworkDensities, TopologySchedule
from minidst.compiled import CompiledSAC, CompiledTD3
from minidst.sac import SAC, SACConfig
from minidst.sparsity import random_topology
from minidst.td3 import TD3, TD3Config


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def random_csr(n_rows: int, n_cols: int, density: float, rng: np.random.Generator, dtype):
    """A canonical int32 CSR matrix with exactly round(density * n_rows * n_cols) entries
    (density 0 gives an empty matrix)."""
    if density == 0:
        indptr = np.zeros(n_rows + 1, dtype=np.int32)
        indices = np.zeros(0, dtype=np.int32)
    else:
        indptr, indices = random_topology((n_rows, n_cols), density, rng)
    data = rng.standard_normal(len(indices)).astype(dtype)
    return sp.csr_array((data, indices, indptr), shape=(n_rows, n_cols))


def float_tolerance(dtype) -> dict:
    """Tolerances for kernels that reassociate sums (rounding only)."""
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


#: The small RL problem the agent tests share: 5 observations, 2 actions with unequal bounds.
OBS, ACT = 5, 2
MAX_ACTION = np.array([2.0, 0.5])
AGENTS = {
    ("td3", "reference"): (TD3, TD3Config),
    ("td3", "compiled"): (CompiledTD3, TD3Config),
    ("sac", "reference"): (SAC, SACConfig),
    ("sac", "compiled"): (CompiledSAC, SACConfig),
}


def make_batch(rng, batch=8, dtype=np.float64, max_horizon=1) -> dict:
    """A feature-major replay batch with actions inside the box and ~30% terminal flags;
    ``max_horizon > 1`` gives n-step transitions, each summing 1..max_horizon rewards (as
    episode ends cut an n-step window short)."""
    return {
        "obs": rng.standard_normal((OBS, batch)).astype(dtype),
        "action": (rng.uniform(-1, 1, (ACT, batch)) * MAX_ACTION[:, None]).astype(dtype),
        "reward": rng.standard_normal((1, batch)).astype(dtype),
        "next_obs": rng.standard_normal((OBS, batch)).astype(dtype),
        "terminated": (rng.random((1, batch)) < 0.3).astype(dtype),
        "horizon": rng.integers(1, max_horizon + 1, (1, batch)).astype(dtype),
    }


def make_agent(
    algo,
    seed=0,
    sparse=False,
    evolve=False,
    dtype=np.float64,
    engine="reference",
    topology_options=None,
    **config,
):
    """A ``"td3"`` or ``"sac"`` agent with 16-16 hidden layers; ``sparse`` makes the first two
    layers of every network sparse, ``evolve`` rewires them every 10 iterations (drop fraction
    0.2, and any other :class:`TopologySchedule` field in ``topology_options``);
    ``engine="compiled"`` gives the compiled twin of the readable agent."""
    agent_cls, config_cls = AGENTS[algo, engine]
    densities = NetworkDensities([0.5, 0.4, None], [0.5, 0.4, None]) if sparse else None
    topology = (
        TopologySchedule(rewire_every=10, drop_fraction=0.2, **(topology_options or {}))
        if evolve
        else None
    )
    return agent_cls(
        OBS,
        ACT,
        MAX_ACTION,
        np.random.default_rng(seed),
        config_cls(hidden=(16, 16), **config),
        densities,
        topology,
        dtype=dtype,
    )


TIMING_COLUMNS = {"time/steps_per_s"}  #: progress columns that differ between identical runs


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _without_timing(rows):
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in rows]


def _arrays(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def assert_same_run(run_a, run_b):
    """Two run directories hold the same numbers: evaluations, progress rows (but timing),
    and every array of the policy and the checkpoint, bit for bit."""
    assert read_csv(run_a / "evaluations.csv") == read_csv(run_b / "evaluations.csv")
    assert _without_timing(read_csv(run_a / "progress.csv")) == _without_timing(
        read_csv(run_b / "progress.csv")
    )
    for name in ("policy.npz", "checkpoint.npz"):
        a, b = _arrays(run_a / name), _arrays(run_b / name)
        assert a.keys() == b.keys()
        for key in a:
            if key != "__meta__":
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
