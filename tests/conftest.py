"""Shared test helpers: random CSR matrices and a seeded generator."""

import numpy as np
import pytest
import scipy.sparse as sp

from minidst.agent import NetworkSparsity, TopologySchedule
from minidst.sparsity import random_topology


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
        indptr, indices = random_topology(n_rows, n_cols, density, rng)
    data = rng.standard_normal(len(indices)).astype(dtype)
    return sp.csr_array((data, indices, indptr), shape=(n_rows, n_cols))


def float_tolerance(dtype) -> dict:
    """Tolerances for kernels that reassociate sums (rounding only)."""
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


def make_rl_batch(rng, obs_dim, max_action, batch=8, dtype=np.float64) -> dict:
    """A feature-major replay batch with actions inside the box and ~30% terminal flags."""
    act_dim = len(max_action)
    return {
        "obs": rng.standard_normal((obs_dim, batch)).astype(dtype),
        "action": (rng.uniform(-1, 1, (act_dim, batch)) * max_action[:, None]).astype(dtype),
        "reward": rng.standard_normal((1, batch)).astype(dtype),
        "next_obs": rng.standard_normal((obs_dim, batch)).astype(dtype),
        "terminated": (rng.random((1, batch)) < 0.3).astype(dtype),
    }


def make_small_agent(
    agent_cls,
    config_cls,
    obs_dim,
    max_action,
    seed=0,
    sparse=False,
    evolve=False,
    dtype=np.float64,
    **config,
):
    """A TD3 or SAC with 16-16 hidden layers; ``sparse`` makes the first two layers of every
    network sparse, ``evolve`` rewires them every 10 iterations (drop fraction 0.2)."""
    sparsity = NetworkSparsity([0.5, 0.4, None], [0.5, 0.4, None]) if sparse else None
    topology = TopologySchedule(update_every=10, drop_fraction=0.2) if evolve else None
    return agent_cls(
        obs_dim,
        len(max_action),
        max_action,
        np.random.default_rng(seed),
        config_cls(hidden=(16, 16), **config),
        sparsity,
        topology,
        dtype=dtype,
    )
