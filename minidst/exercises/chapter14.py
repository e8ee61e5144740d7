"""Checks for chapters/14_ds_sac.py's exercises."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minidst.exercises._shared import _as_floats, _paper_agents, _verdict


def chapter14_exercise2(ratios: Sequence[float]) -> bool:
    """The DS-SAC / SAC ratio of FLOPs per iteration at HalfCheetah sizes, ``(paper's
    convention, SAC.flops_per_iteration)``, to 3 decimals."""
    from minidst.flops import forward_flops

    dense, sparse = _paper_agents(["sac", "ds-sac"], 17, 6, "HalfCheetah-v5")

    def paper_count(agent) -> float:
        """The training passes (3x forward) of both critics and the actor, every iteration."""
        critics = sum(forward_flops(critic.layers) for critic in agent.critics)
        return 3 * critics + 3 * forward_flops(agent.actor.layers)  # the batch size cancels

    batch = 256  # any batch: it cancels in each ratio
    expected = [
        paper_count(sparse) / paper_count(dense),
        sparse.flops_per_iteration(batch) / dense.flops_per_iteration(batch),
    ]
    given = _as_floats(ratios, 2)
    if given is None:
        return _verdict(False, "", "give two numbers: (paper's convention, library's count)")
    if np.allclose(given, expected, atol=6e-4):
        critic, actor = (
            forward_flops(sparse_net.layers) / forward_flops(dense_net.layers)
            for sparse_net, dense_net in [
                (sparse.critics[0], dense.critics[0]),
                (sparse.actor, dense.actor),
            ]
        )
        return _verdict(
            True,
            f"{expected[0]:.3f} (paper) and {expected[1]:.3f} (library). The library adds one "
            "actor pass and three critic passes per iteration through the same sparse layers, "
            f"so the ratio barely moves; it shifts towards the critics' own ratio ({critic:.3f}, "
            f"against the actor's {actor:.3f}).",
            "",
        )
    weights = [sum(layer.nnz for _, layer in agent.named_layers()) for agent in (sparse, dense)]
    if np.allclose(given, weights[0] / weights[1], atol=6e-4):
        hint = (
            "that is the ratio of weights; FLOPs weigh each network by the passes it makes "
            "per iteration"
        )
    elif np.allclose(given, expected[::-1], atol=6e-4):
        hint = "the order: first the paper's convention, then SAC.flops_per_iteration"
    else:
        hint = (
            "for the paper's convention count one training pass (3x a forward pass) of both "
            "critics and of the actor per iteration, nothing else; then divide DS-SAC's count "
            "by SAC's, for both conventions"
        )
    return _verdict(False, "", hint)


def chapter14_exercise5(saved: float) -> bool:
    """The fraction of SAC's FLOPs per training iteration that DS-SAC at ``--sparsity 0.9``
    saves on Pendulum-v1 (3 observations, 1 action)."""
    from minidst.config import TrainConfig
    from minidst.factory import build_agent

    agents = {
        algo: build_agent(
            TrainConfig(algo=algo, env="Pendulum-v1", **options),
            3,
            1,
            np.ones(1, dtype=np.float32),
            np.random.default_rng(1405),
        )
        for algo, options in [("sac", {}), ("ds-sac", {"sparsity": 0.9})]
    }
    flops = {algo: agent.flops_per_iteration(256) for algo, agent in agents.items()}
    expected = 1 - flops["ds-sac"] / flops["sac"]  # the batch size cancels
    answer = _as_floats(saved)
    if answer is None or answer.shape != ():
        return _verdict(False, "", "give one number, the fraction of SAC's FLOPs saved")
    if 1 < answer <= 100:
        return _verdict(False, "", "give the saving as a fraction between 0 and 1, not percent")
    stats = agents["ds-sac"].layer_stats()
    dense_first = all(stats[f"topology/{net}_l1_density"] == 1.0 for net in ("actor", "critic1"))
    layers = (
        "ERK leaves the first layers dense (with 3 or 4 inputs their share would exceed "
        "density 1) and puts the hidden ones at density "
        f"{stats['topology/actor_l2_density']:.3f}"
        if dense_first
        else "ERK spreads the connections over the first and the hidden layers"
    )
    return _verdict(
        abs(answer - expected) < 0.005,
        f"{expected:.3f}: {layers}. ERK sets each network's sparsity to 0.9, so every pass of "
        "every network costs a tenth, and so does the whole iteration.",
        "build SAC and DS-SAC with sparsity 0.9 at Pendulum's sizes (no simulator needed) and "
        "compare their flops_per_iteration; the saving is 1 minus the ratio",
    )
