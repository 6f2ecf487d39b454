"""Compose a configuration without the CLI, and the one conversion to typed dataclasses."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from sim.config import GROUPS, Config, register_configs
from sim.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def to_config(cfg: DictConfig) -> Config:
    """Convert Hydra's DictConfig to the typed dataclasses, refusing keys the schema lacks (a
    ``+group.key=value`` override would otherwise be dropped without a word)."""
    for key in cfg:
        if key == "compare":
            continue
        if key not in GROUPS:
            raise ConfigError(str(key), cfg[key], f"unknown key; valid: {', '.join(GROUPS)}")
        known = {f.name for f in dataclasses.fields(GROUPS[str(key)])}
        for sub in cfg[key]:
            if sub not in known:
                valid = ", ".join(f"{key}.{name}" for name in sorted(known))
                raise ConfigError(f"{key}.{sub}", cfg[key][sub], f"unknown key; valid: {valid}")
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config)
    return config


def load_config(scenario: str = "llama_405b", overrides: Sequence[str] = ()) -> Config:
    """Compose ``scenario`` with command-line style ``overrides`` (``"sim.replicates=5"``)."""
    return compose_config([f"scenario={scenario}", *overrides])


def compose_config(overrides: Sequence[str]) -> Config:
    """Compose with Hydra's compose API, inside a running Hydra app or outside one."""
    register_configs()
    if GlobalHydra.instance().is_initialized():
        return to_config(compose("config", overrides=list(overrides)))
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return to_config(compose("config", overrides=list(overrides)))
