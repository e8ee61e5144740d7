"""TD3, DS-TD3, SAC and DS-SAC actually learn Pendulum-v1 within a small budget.

A random policy scores about -1,200 to -1,500 per episode on Pendulum-v1; a policy that swings
the pendulum up and balances it scores above -400 (the best are near -150). Each run uses the
paper's settings and networks (256-256) except a shorter random warm-up, and is scored once, at
the end, over 10 deterministic episodes on the separately seeded evaluation env.
"""

import csv

import pytest

from minidst.config import TrainConfig
from minidst.train import Trainer

THRESHOLD = -400.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("algo", "steps"), [("td3", 7000), ("ds-td3", 7000), ("sac", 6000), ("ds-sac", 6000)]
)
def test_learns_pendulum(algo, steps, tmp_path):
    config = TrainConfig(
        algo=algo,
        env="Pendulum-v1",
        steps=steps,
        start_steps=1000,
        eval_every=steps,
        buffer_size=steps,
        seed=0,
    )
    trainer = Trainer.start(config, tmp_path / algo, out=None)
    assert trainer.run() == "done"
    with open(tmp_path / algo / "evaluations.csv", newline="") as file:
        first, last = list(csv.DictReader(file))
    assert int(last["step"]) == steps
    assert float(first["return_mean"]) < -900  # the untrained policy really is bad
    assert float(last["return_mean"]) > THRESHOLD, last
    if algo.startswith("ds-"):
        stats = trainer.agent.layer_stats()
        assert stats["topology/sparsity"] > 0.4  # it learned while genuinely sparse
