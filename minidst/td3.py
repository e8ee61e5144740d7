"""TD3 (Fujimoto et al. 2018) with hand-written backprop, dense or sparse.

One class serves the three variants of the DS-TD3 paper; they differ **only** in how the networks
are built (:class:`NetworkDensities`) and whether topology evolves (:class:`TopologySchedule`):

* ``td3``        - every layer dense;
* ``static-td3`` - every layer but the output layer of every network sparse (Erdős–Rényi; with
  the paper's two hidden layers, the first two), never rewired;
* ``ds-td3``     - as static, plus prune-and-regrow of actor and both critics every 1,000
  iterations, and target networks kept at the online networks' connection count.

All activations are feature-major ``(features, batch)``; a critic reads ``concat(obs, action)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from minidst.agent import Agent, AgentConfig, NetworkDensities, TopologySchedule
from minidst.flops import forward_flops
from minidst.nn import MLP
from minidst.target import soft_update

__all__ = ["TD3", "NetworkDensities", "TD3Config", "TopologySchedule"]


@dataclass
class TD3Config(AgentConfig):
    """TD3 hyperparameters (with those of :class:`AgentConfig`); the defaults are the DS-TD3
    paper's."""

    policy_delay: int = 2  #: critic updates per actor (and target) update
    policy_noise: float = 0.2  #: target policy smoothing noise, in units of max action
    noise_clip: float = 0.5  #: clip of that noise, in units of max action
    exploration_noise: float = 0.1  #: Gaussian action noise while collecting, x max action


class TD3(Agent):
    """The agent: ``act(obs, explore)`` and ``update(batch) -> metrics``.

    Args:
        obs_dim, act_dim: sizes of observation and action vectors.
        max_action: ``(act_dim,)`` bound of the symmetric action box ``[-max, max]``.
        rng: the run's random generator (network init, noise, topology).
        config: hyperparameters.
        densities: per-layer densities; None builds dense TD3.
        topology: a schedule makes it DS-TD3; None keeps the topology static.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        max_action: np.ndarray,
        rng: np.random.Generator,
        config: TD3Config | None = None,
        densities: NetworkDensities | None = None,
        topology: TopologySchedule | None = None,
        dtype=np.float32,
    ):
        self.config = config = config or TD3Config()
        self.build(
            obs_dim,
            act_dim,
            max_action,
            rng,
            hidden=config.hidden,
            actor_outputs=act_dim,
            actor_activation="tanh",
            densities=densities,
            topology=topology,
            lr=config.lr,
            weight_decay=config.weight_decay,
            dtype=dtype,
            init=config.init,
            draw=config.draw,
        )
        # TD3 also keeps a target actor (SAC's targets are computed with the online actor).
        self.actor_target = copy.deepcopy(self.actor)

    # ---- acting -----------------------------------------------------------------------------
    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """Action ``(act_dim,)`` for one observation ``(obs_dim,)``.

        With ``explore``, Gaussian noise of ``exploration_noise * max_action`` is added.
        """
        x = np.asarray(obs, dtype=self.max_action.dtype).reshape(-1, 1)
        action = (self.max_action * self.actor.forward(x))[:, 0]
        if explore:
            noise = self.rng.normal(0.0, self.config.exploration_noise, self.act_dim)
            action = action + noise * self.max_action[:, 0]
        return np.clip(action, -self.max_action[:, 0], self.max_action[:, 0])

    def _policy(self, actor: MLP, obs: np.ndarray) -> np.ndarray:
        return self.max_action * actor.forward(obs)

    # ---- learning ---------------------------------------------------------------------------
    def td_target(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """``y = r + gamma^h (1 - terminated) min_i Q'_i(s', clip(pi'(s') + noise))``, ``(1, B)``,
        with ``h`` the batch's ``horizon``: 1, or the rewards an n-step ``r`` sums.

        Target policy smoothing: the noise is ``N(0, policy_noise)`` clipped to ``+-noise_clip``,
        both in units of the action bound, and the smoothed action is clipped to the box.
        """
        c = self.config
        next_obs = batch["next_obs"]
        noise = self.rng.normal(0.0, c.policy_noise, (self.act_dim, next_obs.shape[1]))
        noise = np.clip(noise, -c.noise_clip, c.noise_clip) * self.max_action
        next_action = np.clip(
            self._policy(self.actor_target, next_obs) + noise, -self.max_action, self.max_action
        ).astype(next_obs.dtype)
        next_input = np.concatenate([next_obs, next_action], axis=0)
        next_q = np.minimum(*(target.forward(next_input) for target in self.critic_targets))
        discount = c.gamma ** batch["horizon"]
        return batch["reward"] + discount * (1.0 - batch["terminated"]) * next_q

    def actor_loss(self, batch: dict[str, np.ndarray]) -> float:
        """``-mean Q_1(s, pi(s))``; backprops through critic 1 into the actor.

        Only the actor is stepped afterwards, so the pass through critic 1 skips its parameter
        gradients and only carries ``dQ/d action`` back.
        """
        obs = batch["obs"]
        action = self._policy(self.actor, obs)
        q = self.critics[0].forward(np.concatenate([obs, action], axis=0))
        d_input = self.critics[0].backward(
            np.full_like(q, -1.0 / q.size), input_grad=True, param_grads=False
        )
        # d/d(tanh output) = d/d(action) * max_action, since action = max_action * tanh(z).
        self.actor.backward(d_input[self.obs_dim :] * self.max_action)
        return -float(np.mean(q))

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One training iteration on a feature-major batch; returns namespaced metrics."""
        self.iteration += 1
        c = self.config
        rewire = self.rewires_at(self.iteration)
        metrics = self.train_critics(batch, rewire)
        if self.iteration % c.policy_delay == 0:
            metrics["losses/actor"] = self.actor_loss(batch)
            self.actor_optimizer.step()
            if rewire:
                metrics.update(self.evolve_topology(["actor"]))
            soft_update(self.actor_target, self.actor, c.tau, self.target_rule)
            for target_net, critic in zip(self.critic_targets, self.critics):
                soft_update(target_net, critic, c.tau, self.target_rule)
        return metrics

    def flops_per_iteration(self, batch_size: int) -> float:
        """FLOPs of one training iteration, averaged over the policy delay (2 * nnz per sample
        per forward pass, as in :mod:`minidst.flops`).

        Critic step: target actor and both target critics forward, both critics forward and
        backward (3x). Actor step, every ``policy_delay`` iterations: actor forward and backward
        (3x), critic 1 forward and its input gradient only (2x).
        """
        critic_layers = [layer for critic in self.critics for layer in critic.layers]
        target_layers = [
            layer for net in (self.actor_target, *self.critic_targets) for layer in net.layers
        ]
        critic_step = forward_flops(target_layers) + 3 * forward_flops(critic_layers)
        actor_step = 3 * forward_flops(self.actor.layers) + 2 * forward_flops(
            self.critics[0].layers
        )
        return batch_size * (critic_step + actor_step / self.config.policy_delay)

    def paper_flops_per_iteration(self, batch_size: int) -> float:
        """FLOPs of one iteration as the paper counts them: the training passes (3x forward) of
        both critics every iteration and of the actor every ``policy_delay``; no target networks
        and no pass through critic 1 in the actor loss (compare :meth:`flops_per_iteration`)."""
        critics = sum(forward_flops(critic.layers) for critic in self.critics)
        actor = forward_flops(self.actor.layers)
        return batch_size * (3 * critics + 3 * actor / self.config.policy_delay)
