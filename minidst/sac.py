"""SAC (Haarnoja et al. 2018) with hand-written backprop, dense or sparse.

Like :mod:`minidst.td3`, one class serves three variants that differ only in how the networks are
built and whether their topology evolves: ``sac``, ``static-sac`` and ``ds-sac`` (the DS-TD3
paper's appendix: Erdős–Rényi init, prune-and-regrow every 1,000 iterations with zeta = 0.1,
targets kept sparse).

The policy is a **squashed Gaussian**. The actor MLP outputs ``2 * act_dim`` rows per sample: a
mean and a raw log-std. Then, with ``eps ~ N(0, 1)`` drawn outside (the reparameterisation
trick: the sample is a differentiable function of the network's outputs)::

    log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) * (tanh(raw) + 1) / 2   # smooth bound
    u       = mean + exp(log_std) * eps                                          # Gaussian sample
    a       = tanh(u)                                                            # in (-1, 1)
    action  = max_action * a

and the log-probability of ``a`` (change of variables through tanh)::

    log pi(a|s) = sum_i [ log N(u_i; mean_i, std_i) - log(1 - tanh(u_i)^2) ]
                = sum_i [ -eps_i^2 / 2 - log_std_i - log(2 pi) / 2
                          - 2 (log 2 - u_i - softplus(-2 u_i)) ]

The last form of ``log(1 - tanh(u)^2)`` is exact and stays finite where ``tanh(u)`` rounds to
+-1 (pitfall: the naive form gives ``log(0) = -inf`` for ``|u| > ~9`` in float32). The
log-probability is that of ``a`` in ``(-1, 1)``; the constant ``-sum log(max_action)`` of the
rescaling is left out, as Spinning Up and Stable-Baselines3 do, so the default target entropy
``-act_dim`` means the same for every action bound.

Entropy temperature ``alpha``: fixed (the paper's appendix, 0.2) or learned by minimising
``-log_alpha * (log pi + target_entropy)`` (Stable-Baselines3's form; target ``-act_dim``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from minidst.agent import Agent, AgentConfig, NetworkDensities, TopologySchedule
from minidst.flops import forward_flops
from minidst.nn import MLP
from minidst.optim import Adam
from minidst.target import hard_update, soft_update

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class SACConfig(AgentConfig):
    """SAC hyperparameters (with those of :class:`AgentConfig`); the defaults are the DS-TD3
    paper appendix's where it gives them."""

    lr: float = 3e-4  #: Adam learning rate (actor, critics, temperature)
    weight_decay: float = 0.0  #: the appendix gives none for SAC
    target_update_every: int = 1  #: 1: Polyak every iteration; N > 1: hard copy every N
    alpha: float = 0.2  #: entropy temperature (its initial value when learned)
    learn_alpha: bool = False  #: tune alpha toward ``target_entropy``
    target_entropy: float | None = None  #: default ``-act_dim``


# --------------------------------------------------------------------------------------------
# The squashed Gaussian, forward and backward
# --------------------------------------------------------------------------------------------
def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` without overflow."""
    return np.logaddexp(0.0, x).astype(x.dtype, copy=False)


def squashed_gaussian(head: np.ndarray, eps: np.ndarray) -> dict[str, np.ndarray]:
    """Sample ``a = tanh(mean + std * eps)`` and its log-probability.

    ``head``: ``(2 * A, B)``, the actor's output (mean rows, then raw log-std rows).
    ``eps``: ``(A, B)`` standard normal noise. Returns a dict with ``a`` ``(A, B)``,
    ``logp`` ``(1, B)`` and what :func:`squashed_gaussian_backward` needs.
    """
    n_act = head.shape[0] // 2
    mean, raw = head[:n_act], head[n_act:]
    log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(raw) + 1)
    std = np.exp(log_std)
    u = mean + std * eps
    a = np.tanh(u)
    log_one_minus_a2 = 2 * (math.log(2.0) - u - softplus(-2 * u))
    logp = np.sum(
        -0.5 * eps * eps - log_std - HALF_LOG_2PI - log_one_minus_a2, axis=0, keepdims=True
    )
    return {"a": a, "logp": logp, "u": u, "std": std, "eps": eps, "raw": raw}


def squashed_gaussian_backward(
    sample: dict[str, np.ndarray], d_a: np.ndarray, d_logp: np.ndarray
) -> np.ndarray:
    """Gradient w.r.t. the actor's output ``(2 * A, B)`` from ``dL/da`` ``(A, B)`` and
    ``dL/dlogp`` ``(1, B)`` (``eps`` held fixed: the reparameterisation).

    With ``dlogp/du_i = 2 tanh(u_i)`` (the derivative of ``-log(1 - tanh(u)^2)``) and
    ``dlogp/dlog_std_i = -1`` (the Gaussian term written in ``eps``)::

        dL/du       = dL/da * (1 - a^2) + dL/dlogp * 2a
        dL/dmean    = dL/du
        dL/dlog_std = dL/du * std * eps - dL/dlogp
        dL/draw     = dL/dlog_std * (MAX - MIN) / 2 * (1 - tanh(raw)^2)
    """
    a, std, eps, raw = sample["a"], sample["std"], sample["eps"], sample["raw"]
    d_u = d_a * (1 - a * a) + d_logp * 2 * a
    d_log_std = d_u * std * eps - d_logp
    tanh_raw = np.tanh(raw)
    d_raw = d_log_std * (0.5 * (LOG_STD_MAX - LOG_STD_MIN)) * (1 - tanh_raw * tanh_raw)
    return np.concatenate([d_u, d_raw], axis=0)


class Temperature:
    """``log alpha`` as a one-element parameter, so :class:`~minidst.optim.Adam` can step it.

    Optimising ``log alpha`` keeps ``alpha`` positive without a constraint.
    """

    def __init__(self, alpha: float):
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive number, got {alpha}")
        self.log_alpha = np.array([math.log(alpha)])
        self.grad = np.zeros(1)

    @property
    def alpha(self) -> float:
        return float(np.exp(self.log_alpha[0]))

    def parameters(self) -> list[np.ndarray]:
        return [self.log_alpha]

    def gradients(self) -> list[np.ndarray]:
        return [self.grad]


# --------------------------------------------------------------------------------------------
# The agent
# --------------------------------------------------------------------------------------------
class SAC(Agent):
    """The agent: ``act(obs, explore)`` and ``update(batch) -> metrics``.

    Args:
        obs_dim, act_dim: sizes of observation and action vectors.
        max_action: ``(act_dim,)`` bound of the symmetric action box ``[-max, max]``.
        rng: the run's random generator (network init, policy noise, topology).
        config: hyperparameters.
        densities: per-layer densities; None builds dense SAC.
        topology: a schedule makes it DS-SAC; None keeps the topology static.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        max_action: np.ndarray,
        rng: np.random.Generator,
        config: SACConfig | None = None,
        densities: NetworkDensities | None = None,
        topology: TopologySchedule | None = None,
        dtype=np.float32,
    ):
        self.config = config = config or SACConfig()
        if config.target_update_every < 1:
            raise ValueError("target_update_every must be >= 1")
        # The actor's output holds a mean and a raw log-std per action dimension.
        self.build(
            obs_dim,
            act_dim,
            max_action,
            rng,
            hidden=config.hidden,
            actor_outputs=2 * act_dim,
            actor_activation="identity",
            densities=densities,
            topology=topology,
            lr=config.lr,
            weight_decay=config.weight_decay,
            dtype=dtype,
            init=config.init,
            draw=config.draw,
        )
        self.target_entropy = (
            -float(act_dim) if config.target_entropy is None else config.target_entropy
        )
        self.temperature = Temperature(config.alpha)
        self.temperature_optimizer = Adam([self.temperature], lr=config.lr)

    @property
    def alpha(self) -> float:
        return self.temperature.alpha

    # ---- acting -----------------------------------------------------------------------------
    def policy(self, obs: np.ndarray, eps: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """A squashed-Gaussian sample for a batch ``obs`` ``(obs_dim, B)``; ``eps`` ``(A, B)`` is
        drawn from the run's generator unless given (tests fix it)."""
        head = self.actor.forward(obs)
        if eps is None:
            eps = self.rng.standard_normal(head[: self.act_dim].shape).astype(self.dtype)
        return squashed_gaussian(head, eps)

    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """Action ``(act_dim,)`` for one observation: a policy sample, or ``tanh(mean)``."""
        x = np.asarray(obs, dtype=self.dtype).reshape(-1, 1)
        if explore:
            a = self.policy(x)["a"]
        else:
            a = np.tanh(self.actor.forward(x)[: self.act_dim])
        return (self.max_action * a)[:, 0]

    # ---- learning ---------------------------------------------------------------------------
    def _critic_values(
        self, critics: list[MLP], obs: np.ndarray, a: np.ndarray
    ) -> list[np.ndarray]:
        """``[Q_i(s, max_action * a)]`` ``(1, B)`` each, for a squashed action ``a`` in (-1, 1)."""
        x = np.concatenate([obs, (self.max_action * a).astype(self.dtype)], axis=0)
        return [critic.forward(x) for critic in critics]

    def td_target(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """``y = r + gamma^h (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s'))``
        with ``a' ~ pi(.|s')`` from the online actor; ``(1, B)``."""
        sample = self.policy(batch["next_obs"])
        q1, q2 = self._critic_values(self.critic_targets, batch["next_obs"], sample["a"])
        soft_value = np.minimum(q1, q2) - self.alpha * sample["logp"]
        discount = self.config.gamma ** batch["horizon"]  # h: the rewards an n-step r sums
        return batch["reward"] + discount * (1.0 - batch["terminated"]) * soft_value

    def actor_loss(self, batch: dict[str, np.ndarray], eps: np.ndarray | None = None):
        """``mean(alpha * log pi(a|s) - min_i Q_i(s, a))``, ``a`` reparameterised; backprops
        into the actor only. Returns ``(loss, logp (1, B))``.

        The gradient of the min goes to whichever critic is smaller for each sample; the
        critics pass it through to their input without touching their own gradients.
        """
        obs = batch["obs"]
        sample = self.policy(obs, eps)
        q1, q2 = self._critic_values(self.critics, obs, sample["a"])
        batch_size = obs.shape[1]
        first_is_min = q1 <= q2
        d_action = np.zeros_like(sample["a"])
        for critic, picked in ((self.critics[0], first_is_min), (self.critics[1], ~first_is_min)):
            dq = np.where(picked, -1.0 / batch_size, 0.0).astype(self.dtype)
            d_input = critic.backward(dq, input_grad=True, param_grads=False)
            d_action += d_input[self.obs_dim :]
        # action = max_action * a, so dL/da = dL/daction * max_action.
        d_logp = np.full_like(sample["logp"], self.alpha / batch_size)
        d_head = squashed_gaussian_backward(sample, d_action * self.max_action, d_logp)
        self.actor.backward(d_head.astype(self.dtype))
        loss = float(np.mean(self.alpha * sample["logp"] - np.minimum(q1, q2)))
        return loss, sample["logp"]

    def temperature_loss(self, logp: np.ndarray) -> float:
        """``-mean(log_alpha * (log pi + target_entropy))`` with ``log pi`` held fixed; sets the
        gradient ``-mean(log pi + target_entropy)``: alpha grows while the policy's entropy
        ``-log pi`` is below the target, and shrinks above it."""
        gap = float(np.mean(logp)) + self.target_entropy
        self.temperature.grad[0] = -gap
        return -self.temperature.log_alpha[0] * gap

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One training iteration on a feature-major batch; returns namespaced metrics."""
        self.iteration += 1
        c = self.config
        rewire = self.rewires_at(self.iteration)
        metrics = self.train_critics(batch, rewire)
        metrics["losses/actor"], logp = self.actor_loss(batch)
        self.actor_optimizer.step()
        metrics["values/entropy"] = -float(np.mean(logp))
        metrics["values/alpha"] = self.alpha
        if rewire:
            metrics.update(self.evolve_topology(["actor"]))
        if c.learn_alpha:
            metrics["losses/alpha"] = self.temperature_loss(logp)
            self.temperature_optimizer.step()
        for target_net, critic in zip(self.critic_targets, self.critics):
            if c.target_update_every == 1:
                soft_update(target_net, critic, c.tau, self.target_rule)
            elif self.iteration % c.target_update_every == 0:
                hard_update(target_net, critic)
        return metrics

    def optimizers(self) -> dict[str, Adam]:
        return {**super().optimizers(), "temperature": self.temperature_optimizer}

    def flops_per_iteration(self, batch_size: int) -> float:
        """FLOPs of one training iteration (2 * nnz per sample per forward pass).

        Critic step: the actor on ``s'``, both target critics forward, both critics forward and
        backward (3x). Actor step, every iteration: actor forward and backward (3x), both critics
        forward and their input gradients only (2x).
        """
        critic_layers = [layer for critic in self.critics for layer in critic.layers]
        target_layers = [layer for net in self.critic_targets for layer in net.layers]
        actor = forward_flops(self.actor.layers)
        critic_step = actor + forward_flops(target_layers) + 3 * forward_flops(critic_layers)
        actor_step = 3 * actor + 2 * forward_flops(critic_layers)
        return batch_size * (critic_step + actor_step)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["log_alpha"] = self.temperature.log_alpha
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.temperature.log_alpha[...] = np.asarray(state["log_alpha"]).reshape(1)
