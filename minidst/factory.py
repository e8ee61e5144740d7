"""Building an agent from a run's settings: the one place a :class:`TrainConfig` becomes a TD3 or
a SAC, dense, static sparse or dynamic sparse.

The three variants of each family differ only in two objects handed to the agent:

* :class:`~minidst.agent.NetworkDensities` - the density of every layer (``None`` = dense), from
  the paper's Erdős–Rényi lambdas per env or, with ``--sparsity``, ERK at that global sparsity,
  or, with ``--match-dense W``, at the sparsity where each network stores the weights of its
  dense twin of hidden width ``W`` (a wide sparse network at a small dense one's budget);
* :class:`~minidst.agent.TopologySchedule` - when and how to rewire (dynamic variants only).

``config.update_engine`` picks the readable agent or its compiled twin (:mod:`minidst.compiled`);
this is the only place that reads it.
"""

from __future__ import annotations

import numpy as np

from minidst.agent import Agent, NetworkDensities, TopologySchedule
from minidst.compiled import COMPILED_AGENTS
from minidst.config import TrainConfig
from minidst.envs import paper_lambdas
from minidst.sac import SAC, SACConfig
from minidst.sparsity import budget_sparsity, layer_densities
from minidst.td3 import TD3, TD3Config


def network_densities(config: TrainConfig, obs_dim: int, act_dim: int) -> NetworkDensities:
    """Per-layer densities of the actor and the critics of a sparse ``config``."""
    lambda1, lambda2 = paper_lambdas(config.env, config.family)
    lambdas = {
        "lambda1": config.lambda1 if config.lambda1 is not None else lambda1,
        "lambda2": config.lambda2 if config.lambda2 is not None else lambda2,
        "rule": config.density_rule,
    }
    # SAC's actor outputs a mean and a log-std per action dimension; TD3's, the action itself.
    actor_outputs = 2 * act_dim if config.family == "sac" else act_dim
    densities = {}
    for name, sizes in (
        ("actor", [obs_dim, *config.hidden, actor_outputs]),
        ("critic", [obs_dim + act_dim, *config.hidden, 1]),
    ):
        sparsity = config.sparsity
        if config.match_dense is not None:
            sparsity = budget_sparsity(sizes, config.match_dense, config.budget_fraction)
        densities[name] = layer_densities(sizes, sparsity=sparsity, **lambdas)
    return NetworkDensities(**densities)


def topology_schedule(config: TrainConfig) -> TopologySchedule:
    """The rewiring schedule of a dynamic sparse ``config``; the cosine schedule ends with the
    run's last training iteration."""
    return TopologySchedule(
        drop_fraction=config.drop_fraction,
        rewire_every=config.rewire_every,
        schedule=config.schedule,
        end_iteration=max(config.steps - config.start_steps, 1),
        prune=config.prune,
        grow=config.grow,
        target_rule=config.target_rule,
    )


def build_agent(
    config: TrainConfig,
    obs_dim: int,
    act_dim: int,
    max_action: np.ndarray,
    rng: np.random.Generator,
) -> Agent:
    """The agent of ``config.algo``: TD3 or SAC, dense, static sparse or dynamic sparse."""
    config.validate()
    densities = network_densities(config, obs_dim, act_dim) if config.sparse else None
    topology = topology_schedule(config) if config.dynamic else None
    shared = {
        "hidden": tuple(config.hidden),
        "lr": config.lr,
        "weight_decay": config.weight_decay,
        "gamma": config.gamma,
        "tau": config.tau,
        "init": config.init,
        "draw": config.draw,
    }
    if config.family == "sac":
        sac_config = SACConfig(
            **shared,
            alpha=config.alpha,
            learn_alpha=config.entropy == "learned",
            target_entropy=config.target_entropy,
            target_update_every=config.target_update_every,
        )
        agent_class = COMPILED_AGENTS["sac"] if config.update_engine == "compiled" else SAC
        return agent_class(obs_dim, act_dim, max_action, rng, sac_config, densities, topology)
    td3_config = TD3Config(
        **shared,
        policy_delay=config.policy_delay,
        policy_noise=config.policy_noise,
        noise_clip=config.noise_clip,
        exploration_noise=config.exploration_noise,
    )
    agent_class = COMPILED_AGENTS["td3"] if config.update_engine == "compiled" else TD3
    return agent_class(obs_dim, act_dim, max_action, rng, td3_config, densities, topology)
