"""Timing an agent's training update on random batches: shared by ``update.py`` and ``wide.py``.

Import it only after the thread counts are set (NumPy's BLAS and Numba read them once).
"""

import time

import numpy as np

from minidst.config import TrainConfig
from minidst.factory import build_agent

OBS, ACT = 17, 6  # HalfCheetah-v5


def batch_pool(rng: np.random.Generator, batch: int, count: int = 32) -> list[dict]:
    """``count`` random replay batches of ``batch`` transitions, feature-major, HalfCheetah
    sizes (sampling is not part of the update, so the same few batches are reused)."""

    def block(rows: int) -> np.ndarray:
        return rng.standard_normal((rows, batch)).astype(np.float32)

    return [
        {
            "obs": block(OBS),
            "action": np.tanh(block(ACT)),
            "reward": block(1),
            "next_obs": block(OBS),
            "terminated": np.zeros((1, batch), dtype=np.float32),
            "horizon": np.ones((1, batch), dtype=np.float32),
        }
        for _ in range(count)
    ]


def time_updates(
    settings: dict, batch: int, engine: str, settle: int, updates: int
) -> tuple[float, float, float]:
    """``(milliseconds per update, FLOPs per update, stored weights)`` of one agent
    configuration at HalfCheetah sizes: ``settle`` untimed updates first (so that a sparse
    topology has been rewired and the targets lag), then ``updates`` timed ones, which include
    the rewiring and the sparse target merges at their real frequency."""
    config = TrainConfig(
        env="HalfCheetah-v5", batch_size=batch, update_engine=engine, **settings
    ).validate()
    rng = np.random.default_rng(0)
    agent = build_agent(config, OBS, ACT, np.ones(ACT), rng)
    pool = batch_pool(rng, batch)
    for i in range(settle):
        agent.update(pool[i % len(pool)])
    start = time.perf_counter()
    for i in range(updates):
        agent.update(pool[i % len(pool)])
    seconds = time.perf_counter() - start
    weights = agent.layer_stats()["topology/weights"]
    return 1e3 * seconds / updates, agent.flops_per_iteration(batch), weights
