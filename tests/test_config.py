"""Run settings: the defaults are the paper's, written once, and the help shows them once."""

import dataclasses

import pytest

from minidst.agent import TopologySchedule
from minidst.cli import build_parser
from minidst.config import FAMILY_DEFAULTS, TrainConfig
from minidst.envs import paper_lambdas
from minidst.sac import SACConfig
from minidst.td3 import TD3Config

#: DS-TD3 (IJCAI 2022), section 5 and its public code; DS-SAC from the paper's appendix.
PAPER_TD3 = {
    "lr": 1e-3,
    "weight_decay": 2e-4,
    "batch_size": 100,
    "gamma": 0.99,
    "tau": 0.005,
    "policy_delay": 2,
    "policy_noise": 0.2,
    "noise_clip": 0.5,
    "exploration_noise": 0.1,
    "start_steps": 25_000,
    "buffer_size": 1_000_000,
    "steps": 1_000_000,
    "eval_every": 5_000,
    "eval_episodes": 10,
    "hidden": (256, 256),
    "rewire_every": 1000,
    "drop_fraction": 0.05,
    "schedule": "constant",
    "prune": "per-sign",
    "grow": "random",
    "target_rule": "topk",
}
PAPER_SAC = {
    "lr": 3e-4,
    "weight_decay": 0.0,
    "batch_size": 256,
    "alpha": 0.2,
    "entropy": "fixed",
    "drop_fraction": 0.1,
    "rewire_every": 1000,
}
PAPER_LAMBDAS = {
    "td3": {"HalfCheetah": (7, 64), "Hopper": (7, 64), "Walker2d": (7, 64), "Ant": (40, 64),
            "Humanoid": (61, 64)},
    "sac": {"HalfCheetah": (12, 80), "Walker2d": (12, 80), "Hopper": (7, 20), "Ant": (30, 64),
            "Humanoid": (61, 64)},
}  # fmt: skip


def test_td3_defaults_are_the_papers():
    config = TrainConfig().validate()
    assert config.algo == "ds-td3" and config.env == "HalfCheetah-v5"
    for name, value in PAPER_TD3.items():
        assert getattr(config, name) == value, name


@pytest.mark.parametrize("algo", ["sac", "static-sac", "ds-sac"])
def test_sac_defaults_are_the_appendixs(algo):
    config = TrainConfig(algo=algo).validate()
    for name, value in PAPER_SAC.items():
        assert getattr(config, name) == value, name


def test_agent_configs_agree_with_the_run_defaults():
    td3, sac, run = TD3Config(), SACConfig(), TrainConfig()
    for name in ("hidden", "gamma", "tau", "policy_delay", "policy_noise", "noise_clip"):
        assert getattr(td3, name) == getattr(run, name), name
    for family, agent in (("td3", td3), ("sac", sac)):
        for name in ("lr", "weight_decay"):
            assert getattr(agent, name) == FAMILY_DEFAULTS[family][name], (family, name)
    assert (sac.alpha, sac.target_update_every) == (run.alpha, run.target_update_every)


@pytest.mark.parametrize("family", ["td3", "sac"])
def test_erdos_renyi_lambdas_are_the_papers(family):
    for env, lambdas in PAPER_LAMBDAS[family].items():
        assert paper_lambdas(f"{env}-v5", family) == lambdas, env


def test_topology_schedule_states_its_drop_fraction_and_checks_its_rules():
    with pytest.raises(TypeError):
        TopologySchedule()  # no family-blind default for zeta
    with pytest.raises(ValueError, match="cosine"):
        TopologySchedule(drop_fraction=0.1, schedule="cosine")
    with pytest.raises(ValueError, match="grow"):
        TopologySchedule(drop_fraction=0.1, grow="sideways")


def test_help_shows_each_default_once():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    text = train.format_help()
    assert "(default: None)" not in text
    assert "TD3 0.001, SAC 0.0003" in text and "TD3 100, SAC 256" in text
    for f in dataclasses.fields(TrainConfig):
        assert f"--{f.name.replace('_', '-')}" in text


def test_a_renamed_setting_in_an_older_config_still_loads():
    values = TrainConfig().to_dict()
    values["update_every"] = values.pop("rewire_every") + 1
    assert TrainConfig.from_dict(values).rewire_every == 1001


def test_an_older_config_without_a_later_setting_reads_as_it_ran():
    """Runs recorded before ``update_engine`` existed ran the readable update; a config that
    names its engine keeps it."""
    values = TrainConfig().to_dict()
    del values["update_engine"]
    assert TrainConfig.from_dict(values).update_engine == "reference"
    assert TrainConfig.from_dict(TrainConfig().to_dict()).update_engine == "compiled"
