"""What every minidst agent shares, dense or sparse, TD3 or SAC.

An agent owns named networks (online and target), their optimizers, and the run's random
generator. Its variants differ **only** in how the networks are built (:class:`NetworkDensities`)
and whether their topology evolves (:class:`TopologySchedule`); everything here is the same for
all of them: the hyperparameters both share (:class:`AgentConfig`), when and how to rewire, the
end-of-training freeze, per-layer statistics, and the state a checkpoint saves.

Both agents have an actor and twin critics with target critics, built by :meth:`Agent.build`;
both train the critics with the same loss (:meth:`Agent.critic_loss`). What differs is declared
as abstract methods of :class:`Agent`: ``td_target``, ``act``, ``update`` and
``flops_per_iteration``.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from minidst.layers import SparseLinear
from minidst.nn import MLP, mse_loss
from minidst.optim import Adam
from minidst.target import SPARSE_TARGET_RULES
from minidst.topology import GROW_RULES, PRUNE_RULES, SCHEDULES, drop_fraction, evolve_layer


@dataclass
class AgentConfig:
    """Hyperparameters every agent has; the defaults are the DS-TD3 paper's (TD3).

    :class:`~minidst.td3.TD3Config` and :class:`~minidst.sac.SACConfig` add their own and
    override where the paper's appendix differs for SAC.
    """

    hidden: tuple[int, ...] = (256, 256)  #: hidden layer widths of actor and critics
    lr: float = 1e-3  #: Adam learning rate (actor and critics)
    weight_decay: float = 2e-4  #: L2 weight decay, added to the gradient
    gamma: float = 0.99  #: discount factor
    tau: float = 0.005  #: Polyak rate of the target networks
    init: str = "sparse-fan-in"  #: sparse weights' init rule (the paper's code: "dense-fan-in")
    draw: str = "exact"  #: initial topology draw (the paper's code: "bernoulli")


@dataclass
class NetworkDensities:
    """Per-layer densities of actor and critic, input layer first (``None`` = dense layer)."""

    actor: list[float | None]
    critic: list[float | None]


@dataclass
class TopologySchedule:
    """When and how a dynamic sparse agent rewires its networks.

    ``drop_fraction`` has no default: the paper uses 0.05 for DS-TD3 and 0.1 for DS-SAC (see
    :data:`minidst.config.FAMILY_DEFAULTS`). ``end_iteration`` is needed by the cosine schedule
    only.
    """

    drop_fraction: float  #: zeta, the fraction pruned and regrown
    rewire_every: int = 1000  #: training iterations between topology updates
    schedule: str = "constant"  #: "constant" or "cosine" (annealed to 0 at ``end_iteration``)
    end_iteration: int | None = None  #: the last training iteration (the cosine schedule's end)
    prune: str = "per-sign"  #: "per-sign" (the paper's code) or "magnitude"
    grow: str = "random"  #: "random" (SET, the paper) or "gradient" (RigL)
    target_rule: str = "topk"  #: sparse targets: "topk" magnitude (paper) or "copy" topology

    def __post_init__(self):
        for name, allowed in (
            ("schedule", SCHEDULES),
            ("prune", tuple(PRUNE_RULES)),
            ("grow", GROW_RULES),
            ("target_rule", SPARSE_TARGET_RULES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"topology {name} must be one of {', '.join(allowed)}, "
                    f"got {getattr(self, name)!r}"
                )
        if self.rewire_every < 1:
            raise ValueError(f"rewire_every must be >= 1, got {self.rewire_every}")
        if self.schedule == "cosine" and self.end_iteration is None:
            raise ValueError("the cosine drop-fraction schedule needs end_iteration")


class Agent(ABC):
    """Base class: networks, critic loss, topology evolution, statistics, checkpoint state.

    A subclass calls :meth:`build` in its constructor and provides the abstract methods.
    """

    rng: np.random.Generator
    topology: TopologySchedule | None
    actor: MLP
    critics: list[MLP]
    critic_targets: list[MLP]
    actor_target: MLP | None = None  # TD3 has one; SAC computes targets with the online actor
    actor_optimizer: Adam
    critic_optimizer: Adam
    iteration: int = 0
    frozen: bool = False  # set by freeze_topology(): no more rewiring

    def build(
        self,
        obs_dim: int,
        act_dim: int,
        max_action: np.ndarray,
        rng: np.random.Generator,
        *,
        hidden: tuple[int, ...],
        actor_outputs: int,
        actor_activation: str,
        densities: NetworkDensities | None,
        topology: TopologySchedule | None,
        lr: float,
        weight_decay: float,
        dtype,
        init: str = "sparse-fan-in",
        draw: str = "exact",
    ) -> None:
        """Make the actor ``obs -> hidden -> actor_outputs``, twin critics ``concat(obs,
        action) -> hidden -> 1`` with target copies (same topology and values), and an Adam
        for the actor and one for both critics. ``init`` and ``draw`` say how sparse layers get
        their values and connections (:func:`minidst.sparsity.init_values`,
        :func:`minidst.sparsity.random_topology`)."""
        self.rng = rng
        self.topology = topology
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.dtype = np.dtype(dtype)
        self.max_action = np.asarray(max_action, dtype=dtype).reshape(act_dim, 1)
        n_layers = len(hidden) + 1
        densities = densities or NetworkDensities([None] * n_layers, [None] * n_layers)
        sparse_options = {"init": init, "draw": draw}
        self.actor = MLP.build(
            [obs_dim, *hidden, actor_outputs],
            densities.actor,
            rng,
            output_activation=actor_activation,
            dtype=dtype,
            **sparse_options,
        )
        self.critics = [
            MLP.build(
                [obs_dim + act_dim, *hidden, 1],
                densities.critic,
                rng,
                dtype=dtype,
                **sparse_options,
            )
            for _ in range(2)
        ]
        self.critic_targets = [copy.deepcopy(critic) for critic in self.critics]
        self.actor_optimizer = Adam(self.actor.layers, lr=lr, weight_decay=weight_decay)
        self.critic_optimizer = Adam(
            [layer for critic in self.critics for layer in critic.layers],
            lr=lr,
            weight_decay=weight_decay,
        )
        self.iteration = 0
        self.frozen = False

    def critic_loss(self, batch: dict[str, np.ndarray], target: np.ndarray) -> tuple[float, list]:
        """``sum_i mean((Q_i(s, a) - y)^2)``; backprops into both critics. Returns (loss, Q's)."""
        critic_input = np.concatenate([batch["obs"], batch["action"]], axis=0)
        total, qs = 0.0, []
        for critic in self.critics:
            q = critic.forward(critic_input)
            loss, dq = mse_loss(q, target)
            critic.backward(dq)
            total += loss
            qs.append(q)
        return total, qs

    def train_critics(self, batch: dict[str, np.ndarray], rewire: bool) -> dict[str, float]:
        """The critic half of an iteration, the same for TD3 and SAC: the agent's own TD target
        (``td_target``), one Adam step on the critic loss, then the critics' topology update if
        this is a rewiring iteration (right after their step, so RigL sees their gradient)."""
        target = self.td_target(batch)
        loss, qs = self.critic_loss(batch, target)
        self.critic_optimizer.step()
        metrics = {
            "losses/critic": loss,
            "values/q1": float(np.mean(qs[0])),
            "values/q2": float(np.mean(qs[1])),
            "values/target": float(np.mean(target)),
        }
        if rewire:
            metrics.update(self.evolve_topology(["critic1", "critic2"]))
        return metrics

    @property
    def target_rule(self) -> str:
        """How sparse targets keep their count: the schedule's rule, else the paper's top-k
        (a static sparse agent's targets share its fixed pattern, so the rule never acts)."""
        return self.topology.target_rule if self.topology else "topk"

    def online_networks(self) -> dict[str, tuple[MLP, Adam]]:
        """The networks that train (no targets), by name, each with its optimizer."""
        return {
            "actor": (self.actor, self.actor_optimizer),
            "critic1": (self.critics[0], self.critic_optimizer),
            "critic2": (self.critics[1], self.critic_optimizer),
        }

    def named_layers(self) -> list[tuple[str, object]]:
        """``("actor.L1", layer)``, ... for every layer of the online networks: the weights the
        paper counts (targets excluded)."""
        return [
            (f"{name}.L{i + 1}", layer)
            for name, (net, _) in self.online_networks().items()
            for i, layer in enumerate(net.layers)
        ]

    def target_networks(self) -> dict[str, MLP]:
        """The target networks by name: ``<online name>_target``."""
        targets = {"actor_target": self.actor_target} if self.actor_target is not None else {}
        targets["critic1_target"] = self.critic_targets[0]
        targets["critic2_target"] = self.critic_targets[1]
        return targets

    def all_networks(self) -> dict[str, MLP]:
        """Online and target networks by name (what a checkpoint holds)."""
        online = {name: net for name, (net, _) in self.online_networks().items()}
        return {**online, **self.target_networks()}

    def optimizers(self) -> dict[str, Adam]:
        """Every optimizer by name (what a checkpoint holds)."""
        return {"actor": self.actor_optimizer, "critic": self.critic_optimizer}

    # ---- provided by each agent ---------------------------------------------------------------
    @abstractmethod
    def td_target(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """The critics' regression target ``y`` ``(1, B)`` for a feature-major batch."""

    @abstractmethod
    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """Action ``(act_dim,)`` for one observation ``(obs_dim,)``."""

    @abstractmethod
    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One training iteration on a feature-major batch; returns namespaced metrics."""

    @abstractmethod
    def flops_per_iteration(self, batch_size: int) -> float:
        """FLOPs of one training iteration (2 * nnz per sample per forward pass)."""

    # ---- topology ---------------------------------------------------------------------------
    def rewires_at(self, iteration: int) -> bool:
        """True if a dynamic sparse agent rewires at training ``iteration`` (1-based).

        The DS-TD3 code rewires at ``iteration % 1000 == 2``, which with TD3's policy delay 2 is
        also an actor iteration. Each network is rewired right after its own optimizer step, so
        gradient-based regrowth (RigL) sees that network's own loss gradient.
        """
        return (
            self.topology is not None
            and not self.frozen
            # The code's "== 2", as a remainder also for rewire_every of 1 and 2.
            and iteration % self.topology.rewire_every == 2 % self.topology.rewire_every
        )

    def evolve_topology(self, names: list[str], grow: str | None = None) -> dict[str, float]:
        """Prune and regrow every sparse layer of the named online networks.

        ``grow`` overrides the schedule's rule (``"none"`` prunes only, for the freeze).
        """
        t = self.topology
        fraction = drop_fraction(t.drop_fraction, self.iteration, t.end_iteration, t.schedule)
        metrics = {"topology/drop_fraction": fraction}
        for name in names:
            net, optimizer = self.online_networks()[name]
            for i, layer in enumerate(net.layers):
                if isinstance(layer, SparseLinear):
                    stats = evolve_layer(
                        layer, optimizer, fraction, self.rng, t.prune, grow or t.grow
                    )
                    metrics[f"topology/{name}_l{i + 1}_pruned"] = stats["pruned"]
                    metrics[f"topology/{name}_l{i + 1}_regrown_same"] = stats["regrown_same"]
        return metrics

    def freeze_topology(self) -> dict[str, float]:
        """End-of-training freeze (the DS-TD3 code): one last prune without regrowth, then the
        topology stays fixed. Counts drop by the drop fraction; sparse targets follow at their
        next update."""
        if self.topology is None or self.frozen:
            return {}
        metrics = self.evolve_topology(list(self.online_networks()), grow="none")
        self.frozen = True
        return metrics

    def layer_stats(self) -> dict[str, float]:
        """Density of every online layer and the weight count of the trained networks."""
        stats: dict[str, float] = {}
        weights = dense_weights = 0
        for name, (net, _) in self.online_networks().items():
            for i, layer in enumerate(net.layers):
                stats[f"topology/{name}_l{i + 1}_density"] = layer.density
                weights += layer.nnz
                dense_weights += layer.in_features * layer.out_features
        stats["topology/weights"] = weights
        stats["topology/sparsity"] = 1.0 - weights / dense_weights
        return stats

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything that changes during training (arrays are not copied).

        The run's generator ``self.rng`` is shared with the training loop, which saves it.
        """
        return {
            "iteration": self.iteration,
            "frozen": self.frozen,
            "networks": {name: net.state_dict() for name, net in self.all_networks().items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers().items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`; networks first, so the moments can be checked against
        the restored topology."""
        networks, optimizers = self.all_networks(), self.optimizers()
        if set(state["networks"]) != set(networks) or set(state["optimizers"]) != set(optimizers):
            raise ValueError(f"saved networks are not a {type(self).__name__} agent's")
        for name, net in networks.items():
            net.load_state_dict(state["networks"][name])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        self.iteration = int(state["iteration"])
        self.frozen = bool(state["frozen"])
