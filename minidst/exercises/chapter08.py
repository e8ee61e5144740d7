"""Checks for chapters/08_ds_td3.py's exercises."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from minidst.exercises._shared import _as_floats, _paper_agents, _verdict


def chapter8_exercise1(sparsity: float) -> bool:
    """Overall sparsity of DS-TD3's actor + critics on Humanoid-v5 (348 observations,
    17 actions), as a fraction."""
    (agent,) = _paper_agents(["ds-td3"], 348, 17, "Humanoid-v5")
    expected = agent.layer_stats()["topology/sparsity"]
    answer = _as_floats(sparsity)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the sparsity as a fraction")
    if 1 < answer <= 100:
        return _verdict(False, "", "give the sparsity as a fraction between 0 and 1, not percent")
    from minidst.sparsity import erdos_renyi_density

    seen = {lam: erdos_renyi_density(348, 256, lam) * 348 for lam in (7, 61)}
    return _verdict(
        abs(answer - expected) < 0.005,
        f"{expected:.3f}; the second layers (0.5) are the densest sparse ones. With 348 inputs, "
        f"lambda_1 = 7 would leave each first-layer unit about {seen[7]:.0f} of them; "
        f"lambda_1 = 61 keeps about {seen[61]:.0f}.",
        "agent.layer_stats() has it; or count: stored over dense weights of the online actor "
        "and both critics, biases and targets not counted",
    )


def chapter8_exercise5(factor: float, ratios: Sequence[float] | None = None) -> bool:
    """How many times ``flops_per_iteration`` exceeds ``paper_flops_per_iteration`` for dense
    TD3 on HalfCheetah; optionally the DS-TD3 / TD3 ratio under (paper, library) counts."""
    dense, sparse = _paper_agents(["td3", "ds-td3"], 17, 6, "HalfCheetah-v5")
    from minidst.config import TrainConfig

    batch = TrainConfig(algo="td3", env="HalfCheetah-v5").validate().batch_size  # 100
    expected_factor = dense.flops_per_iteration(batch) / dense.paper_flops_per_iteration(batch)
    answer = _as_floats(factor)
    if (
        answer is None
        or answer.shape != ()
        or not math.isclose(answer, expected_factor, rel_tol=0.01)
    ):
        return _verdict(
            False,
            "",
            "divide the two per-iteration counts of the dense agent (the number of iterations "
            "cancels over a whole run); give the factor, e.g. 1.10 for 10% more",
        )
    expected_ratios = [
        sparse.paper_flops_per_iteration(batch) / dense.paper_flops_per_iteration(batch),
        sparse.flops_per_iteration(batch) / dense.flops_per_iteration(batch),
    ]
    if ratios is None:
        return _verdict(True, f"a factor of {expected_factor:.3f}.", "")
    given = _as_floats(ratios, 2)
    ok = given is not None and np.allclose(given, expected_ratios, atol=0.002)
    return _verdict(
        ok,
        f"a factor of {expected_factor:.3f}; DS-TD3 / TD3 is {expected_ratios[0]:.3f} (paper) "
        f"and {expected_ratios[1]:.3f} (library). The ratio barely moves: the extra passes run "
        "through the same sparse layers, so they shrink by the same fraction.",
        "factor right; for the ratios give two numbers, (paper's count, library's count), each "
        "DS-TD3 over dense TD3",
    )
