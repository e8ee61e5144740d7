"""The score of a uniform-random policy: the zero of normalised scores.

``minidst report`` normalises a final return as ``(x - random) / (dense - random)``, so 0 is a
random policy, 1 the dense baseline, and higher is better also for negative returns. The random
score is measured as an evaluation is (10 episodes on the evaluation env, seeded ``seed + 100``
with the paper's seed 0), with actions drawn uniformly from the action box by one seeded
generator. Common envs are shipped in ``data/random_scores.csv`` (made by
:func:`write_table`, so a report needs no simulator); others are measured on first use.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np

TABLE = Path(__file__).parent / "data" / "random_scores.csv"
EVAL_SEED = 100  #: the evaluation env's seed of a run with seed 0 (``seed + 100``)
EPISODES = 10
SHIPPED_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5",
                "Pendulum-v1")  # fmt: skip


def measure(env_id: str, episodes: int = EPISODES, seed: int = EVAL_SEED) -> float:
    """Mean return of ``episodes`` episodes of uniform-random actions on ``env_id``."""
    from minidst.envs import make_env

    env = make_env(env_id)
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    total = 0.0
    try:
        for episode in range(episodes):
            env.reset(seed=seed if episode == 0 else None)
            done = False
            while not done:
                _, reward, terminated, truncated, _ = env.step(rng.uniform(low, high))
                total += float(reward)
                done = terminated or truncated
    finally:
        env.close()
    return total / episodes


def shipped() -> dict[str, float]:
    """``env id -> random score`` from the shipped table."""
    if not TABLE.is_file():
        return {}
    with open(TABLE, newline="") as file:
        return {row["env"]: float(row["random_score"]) for row in csv.DictReader(file)}


@cache  # a report asks once per group and env; an unshipped env is simulated only once
def random_score(env_id: str) -> float:
    """The random policy's score on ``env_id``: shipped, or measured now (seconds)."""
    table = shipped()
    return table[env_id] if env_id in table else measure(env_id)


def write_table(path: Path = TABLE, envs: tuple[str, ...] = SHIPPED_ENVS) -> None:
    """Measure every env of ``envs`` and write the table (``python -m minidst.random_policy``)."""
    rows = [{"env": env, "random_score": f"{measure(env):.2f}"} for env in envs]
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, ["env", "random_score"])
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    write_table()
