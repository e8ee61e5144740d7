"""Every setting of a training run, in one dataclass; the CLI flags are generated from it.

The defaults are the DS-TD3 paper's: ``minidst train`` with no flags runs DS-TD3 on
HalfCheetah-v5 for one million steps. Each default is written once, where it belongs: the
agents' hyperparameters in :class:`~minidst.td3.TD3Config` / :class:`~minidst.sac.SACConfig`,
the rewiring rules in :class:`~minidst.agent.TopologySchedule`, and here only what the agents do
not know (steps, evaluation, ...). A few defaults depend on the algorithm family (TD3 or SAC,
:data:`FAMILY_DEFAULTS`); they are ``None`` until :meth:`TrainConfig.validate` fills them in, so
``config.json`` always records the values a run used.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from minidst.agent import AgentConfig, TopologySchedule
from minidst.compiled import ENGINES
from minidst.sac import SACConfig
from minidst.sparsity import DENSITY_RULES, DRAWS, INIT_RULES, check_sparsity
from minidst.target import SPARSE_TARGET_RULES
from minidst.td3 import TD3Config
from minidst.topology import GROW_RULES, PRUNE_RULES, SCHEDULES

ALGORITHMS = ("td3", "static-td3", "ds-td3", "sac", "static-sac", "ds-sac")
#: Defaults that differ between the families: the DS-TD3 paper for TD3, its appendix for SAC.
FAMILY_DEFAULTS = {
    "td3": {
        "lr": TD3Config.lr,
        "weight_decay": TD3Config.weight_decay,
        "batch_size": 100,
        "drop_fraction": 0.05,
    },
    "sac": {
        "lr": SACConfig.lr,
        "weight_decay": SACConfig.weight_decay,
        "batch_size": 256,
        "drop_fraction": 0.1,
    },
}
#: Settings that only one family reads: given for an algorithm of the other, they would be
#: ignored without a word (``--alpha`` does nothing to TD3), so they are refused.
FAMILY_ONLY = {
    "td3": ("policy_delay", "policy_noise", "noise_clip", "exploration_noise"),
    "sac": ("alpha", "entropy", "target_entropy", "target_update_every"),
}
#: Settings renamed since runs were first recorded: older ``config.json`` files still load.
RENAMED_SETTINGS = {"update_every": "rewire_every"}
#: Settings added since: a ``config.json`` without one was made before it existed, so it ran
#: the way this value names (not today's default).
SETTINGS_BEFORE_THEY_EXISTED = {"update_engine": "reference"}


def _help(text: str, **extra) -> dict:
    return {"help": text, **extra}


@dataclass
class TrainConfig:
    """One run's settings. ``metadata["help"]`` is the CLI help line of each field."""

    # ---- what to run
    algo: str = field(
        default="ds-td3",
        metadata=_help(
            "td3 / sac (dense), static-td3 / static-sac (sparse, fixed), "
            "ds-td3 / ds-sac (sparse, evolving)",
            choices=ALGORITHMS,
        ),
    )
    env: str = field(default="HalfCheetah-v5", metadata=_help("gymnasium environment id"))
    steps: int = field(default=1_000_000, metadata=_help("environment steps in total"))
    seed: int = field(default=0, metadata=_help("seed of the run (eval env: seed + 100)"))
    # ---- data collection and evaluation
    start_steps: int = field(
        default=25_000, metadata=_help("initial steps with uniform random actions, no training")
    )
    buffer_size: int = field(default=1_000_000, metadata=_help("replay buffer capacity"))
    eval_every: int = field(default=5_000, metadata=_help("steps between evaluations"))
    eval_episodes: int = field(default=10, metadata=_help("deterministic episodes per evaluation"))
    # ---- both agents
    batch_size: int | None = field(
        default=None, metadata=_help("minibatch size per update", type=int)
    )
    hidden: tuple[int, ...] = field(
        default=AgentConfig.hidden, metadata=_help("hidden layer widths, e.g. 256,256")
    )
    lr: float | None = field(default=None, metadata=_help("Adam learning rate", type=float))
    weight_decay: float | None = field(
        default=None, metadata=_help("L2 weight decay, added to grads", type=float)
    )
    gamma: float = field(default=AgentConfig.gamma, metadata=_help("discount factor"))
    tau: float = field(
        default=AgentConfig.tau, metadata=_help("Polyak rate of the target networks")
    )
    n_step: int = field(
        default=1,
        metadata=_help(
            "TD targets from n rewards, then gamma^n Q' (RLx2); cut short at episode ends"
        ),
    )
    # ---- TD3 only
    policy_delay: int = field(
        default=TD3Config.policy_delay, metadata=_help("TD3: critic updates per actor update")
    )
    policy_noise: float = field(
        default=TD3Config.policy_noise,
        metadata=_help("TD3: target smoothing noise (x max action)"),
    )
    noise_clip: float = field(
        default=TD3Config.noise_clip, metadata=_help("TD3: clip of that noise (x max action)")
    )
    exploration_noise: float = field(
        default=TD3Config.exploration_noise,
        metadata=_help("TD3: Gaussian exploration noise (x max action)"),
    )
    # ---- SAC only
    alpha: float = field(
        default=SACConfig.alpha,
        metadata=_help("SAC: entropy temperature (its start value if learned)"),
    )
    entropy: str = field(
        default="fixed",
        metadata=_help("SAC: temperature fixed (paper) or learned", choices=("fixed", "learned")),
    )
    target_entropy: float | None = field(
        default=None,
        metadata=_help("SAC: entropy the learned temperature aims at (-act_dim)", type=float),
    )
    target_update_every: int = field(
        default=SACConfig.target_update_every,
        metadata=_help(
            "SAC: 1 = Polyak every iteration; N > 1 = hard copy every N (the appendix: 1000)"
        ),
    )
    # ---- sparsity (static-td3, ds-td3)
    sparsity: float | None = field(
        default=None,
        metadata=_help(
            "global weight sparsity per network with ERK layer densities (e.g. 0.9); "
            "default: the paper's Erdős–Rényi lambdas",
            type=float,
        ),
    )
    match_dense: int | None = field(
        default=None,
        metadata=_help(
            "a weight budget instead of a sparsity: each network stores as many weights as "
            "the dense one of this hidden width (e.g. 256, with --hidden 1024,1024)",
            type=int,
        ),
    )
    budget_fraction: float = field(
        default=1.0,
        metadata=_help("with --match-dense: store this fraction of that budget (e.g. 0.5)"),
    )
    density_rule: str = field(
        default="erk",
        metadata=_help(
            "with --sparsity or --match-dense, how layers share the weights: one Erdős–Rényi "
            "scale for all (erk, RigL's), or the paper's lambda1:lambda2 ratio scaled (er)",
            choices=DENSITY_RULES,
        ),
    )
    lambda1: float | None = field(
        default=None,
        metadata=_help(
            "Erdős–Rényi lambda of the first layer (default: the paper's per env)", type=float
        ),
    )
    lambda2: float | None = field(
        default=None,
        metadata=_help(
            "Erdős–Rényi lambda of hidden layers (default: the paper's per env and algo)",
            type=float,
        ),
    )
    init: str = field(
        default=AgentConfig.init,
        metadata=_help(
            "sparse weights' init: U(+-1/sqrt(fan-in)) over a unit's stored inputs, or over "
            "all of them (dense-fan-in, the paper's code)",
            choices=INIT_RULES,
        ),
    )
    draw: str = field(
        default=AgentConfig.draw,
        metadata=_help(
            "initial topology: exactly round(density x size) connections, or each one with "
            "probability density (bernoulli, the paper's code)",
            choices=DRAWS,
        ),
    )
    # ---- topology evolution (ds-td3)
    rewire_every: int = field(
        default=TopologySchedule.rewire_every,
        metadata=_help("training iterations between topology updates (rewiring)"),
    )
    drop_fraction: float | None = field(
        default=None, metadata=_help("zeta: fraction pruned and regrown", type=float)
    )
    schedule: str = field(
        default=TopologySchedule.schedule,
        metadata=_help("drop fraction schedule", choices=SCHEDULES),
    )
    prune: str = field(
        default=TopologySchedule.prune, metadata=_help("prune rule", choices=tuple(PRUNE_RULES))
    )
    grow: str = field(
        default=TopologySchedule.grow,
        metadata=_help("regrow rule: random (SET) or gradient (RigL)", choices=GROW_RULES),
    )
    target_rule: str = field(
        default=TopologySchedule.target_rule,
        metadata=_help(
            "sparse target: topk magnitude (paper) or copy topology", choices=SPARSE_TARGET_RULES
        ),
    )
    freeze_last: int = field(
        default=0,
        metadata=_help(
            "stop rewiring this many steps before the end, after one last prune (0: never)"
        ),
    )
    # ---- how updates run
    update_engine: str = field(
        default="compiled",
        metadata=_help(
            "compiled: each network pass in one kernel call (fast); reference: the readable "
            "layer-by-layer update (same numbers up to float rounding)",
            choices=ENGINES,
        ),
    )
    threads: int = field(
        default=1,
        metadata=_help(
            "BLAS and Numba threads; with 2+, the twin critics run on two cores (same numbers)"
        ),
    )
    # ---- bookkeeping
    log_every: int = field(default=1000, metadata=_help("steps between progress.csv rows"))
    checkpoint_every: int = field(
        default=25_000, metadata=_help("steps between checkpoints (saved at an episode's end)")
    )

    @property
    def family(self) -> str:
        """``"td3"`` or ``"sac"``."""
        return "sac" if self.algo.endswith("sac") else "td3"

    @property
    def sparse(self) -> bool:
        return self.algo not in ("td3", "sac")

    @property
    def dynamic(self) -> bool:
        return self.algo.startswith("ds-")

    def validate(self) -> TrainConfig:
        """Fill in the family defaults, then raise a one-line ValueError for the first bad
        setting; return self."""
        if self.algo not in ALGORITHMS:
            raise ValueError(f"unknown algo {self.algo!r}; choose one of {', '.join(ALGORITHMS)}")
        for name, value in FAMILY_DEFAULTS[self.family].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"--{_flag(f.name)} must be a finite number, got {value}")
        positive = (
            "steps",
            "buffer_size",
            "eval_every",
            "eval_episodes",
            "batch_size",
            "policy_delay",
            "n_step",
            "rewire_every",
            "log_every",
            "checkpoint_every",
            "alpha",
            "target_update_every",
            "threads",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"--{_flag(name)} must be positive, got {getattr(self, name)}")
        for name in ("seed", "start_steps", "freeze_last", "lr", "weight_decay", "policy_noise",
                     "noise_clip", "exploration_noise"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"--{_flag(name)} must be >= 0, got {getattr(self, name)}")
        for name in ("gamma", "tau", "drop_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"--{_flag(name)} must be in [0, 1], got {getattr(self, name)}")
        if self.steps <= self.start_steps:
            raise ValueError(
                f"--steps {self.steps:,} is not above --start-steps {self.start_steps:,} (random "
                "actions before training starts): the run would never train; lower --start-steps"
            )
        if self.batch_size > self.buffer_size:
            raise ValueError(
                f"--batch-size {self.batch_size} is larger than the replay buffer "
                f"(--buffer-size {self.buffer_size})"
            )
        if not self.hidden or any(width <= 0 for width in self.hidden):
            raise ValueError(f"--hidden needs positive widths, got {self.hidden}")
        if self.sparsity is not None:
            if not self.sparse:
                raise ValueError(f"--sparsity applies to sparse variants, not dense {self.algo}")
            check_sparsity(self.sparsity)
        if self.match_dense is not None:
            if not self.sparse:
                raise ValueError(f"--match-dense applies to sparse variants, not dense {self.algo}")
            if self.sparsity is not None:
                raise ValueError("--match-dense and --sparsity both set the weight count: pick one")
            if self.match_dense <= 0:
                raise ValueError(f"--match-dense must be a positive width, got {self.match_dense}")
        if not 0 < self.budget_fraction <= 1:
            raise ValueError(f"--budget-fraction must be in (0, 1], got {self.budget_fraction}")
        if self.budget_fraction != 1 and self.match_dense is None:
            raise ValueError("--budget-fraction is a fraction of --match-dense's budget: set both")
        if self.density_rule != "erk" and self.sparsity is None and self.match_dense is None:
            raise ValueError(
                "--density-rule shares a global weight budget: it needs --sparsity or --match-dense"
            )
        for name in ("lambda1", "lambda2"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"--{_flag(name)} must be positive, got {value}")
        choices = {
            "schedule": SCHEDULES,
            "prune": tuple(PRUNE_RULES),
            "grow": GROW_RULES,
            "target_rule": SPARSE_TARGET_RULES,
            "update_engine": ENGINES,
            "init": INIT_RULES,
            "draw": DRAWS,
            "density_rule": DENSITY_RULES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                got = getattr(self, name)
                raise ValueError(
                    f"--{_flag(name)} must be one of {', '.join(allowed)}, got {got!r}"
                )
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict` (JSON turns the ``hidden`` tuple into a list)."""
        values = {RENAMED_SETTINGS.get(name, name): value for name, value in values.items()}
        values = {**SETTINGS_BEFORE_THEY_EXISTED, **values}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings in config: {', '.join(sorted(unknown))}")
        if "hidden" in values:
            values["hidden"] = tuple(int(width) for width in values["hidden"])
        return cls(**values)


def foreign_options(algo: str) -> tuple[str, ...]:
    """The settings of the other family than ``algo``'s: ``algo`` never reads them."""
    family = "sac" if algo.endswith("sac") else "td3"
    return tuple(name for other, names in FAMILY_ONLY.items() if other != family for name in names)


def check_family_options(algos: list[str], given: set[str]) -> None:
    """Raise a one-line ValueError for a setting in ``given`` that none of ``algos`` reads: a
    TD3-only option with SAC algorithms only, or a SAC-only one with TD3 only. In a grid of both
    families (a sweep), each run reads the options of its own family."""
    for family, names in FAMILY_ONLY.items():
        ignored = [name for name in names if name in given]
        if ignored and all(ignored[0] in foreign_options(algo) for algo in algos):
            raise ValueError(
                f"--{_flag(ignored[0])} is a {family.upper()} option; "
                f"{' and '.join(sorted(set(algos)))} would ignore it"
            )


def default_text(name: str) -> str:
    """How ``--help`` shows a setting's default: its value, one value per family, or nothing
    where the help line itself says what an unset value means."""
    if name in FAMILY_DEFAULTS["td3"]:
        return ", ".join(
            f"{family.upper()} {values[name]:g}" for family, values in FAMILY_DEFAULTS.items()
        )
    default = next(f.default for f in dataclasses.fields(TrainConfig) if f.name == name)
    if default is None:
        return ""
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)


def _flag(name: str) -> str:
    return name.replace("_", "-")


#: Settings the paper has no word on: how minidst runs, logs and saves, not what it trains.
RUN_SETTINGS = ("update_engine", "log_every", "checkpoint_every", "threads")

#: The settings an experiment varies, which name a group of runs beside its algo.
LABEL_SETTINGS = ("hidden", "match_dense", "budget_fraction", "density_rule", "sparsity",
                  "grow", "prune", "n_step", "drop_fraction", "schedule", "rewire_every", "init",
                  "draw", "target_rule", "freeze_last")  # fmt: skip


def group_label(config: TrainConfig) -> str:
    """A run's group: its algo, then every setting of :data:`LABEL_SETTINGS` that differs from
    the algo's default, e.g. ``"ds-td3 90% grow=gradient n_step=3"``; runs that differ only in
    seed share a label (``minidst report`` and ``minidst plot`` group by it)."""
    default = TrainConfig(algo=config.algo, env=config.env).validate()
    parts = [config.algo]
    for name in LABEL_SETTINGS:
        value = getattr(config, name)
        if value == getattr(default, name):
            continue
        if name == "sparsity":
            parts.append(f"{value:.0%}")
        elif name == "hidden":
            widths = sorted(set(value))
            parts.append("hidden=" + ",".join(map(str, widths if len(widths) == 1 else value)))
        else:
            parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(parts)
