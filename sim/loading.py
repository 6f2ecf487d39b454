"""Compose a configuration without the CLI, and the one conversion to typed dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from sim.config import GROUPS, Config, FailureCategory, register_configs
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
        if cfg[key] is None:  # an optional group left unset (serving)
            continue
        known = {f.name for f in dataclasses.fields(GROUPS[str(key)])}
        for sub in cfg[key]:
            if sub not in known:
                valid = ", ".join(f"{key}.{name}" for name in sorted(known))
                raise ConfigError(f"{key}.{sub}", cfg[key][sub], f"unknown key; valid: {valid}")
    if "failures" in cfg:
        _type_categories(cfg.failures.categories)
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config)
    return config


def _type_categories(categories: DictConfig) -> None:
    """Merge each failure category onto the ``FailureCategory`` schema (see ``Categories``)."""
    schema = OmegaConf.structured(FailureCategory)
    for name in list(categories):
        key = f"failures.categories.{name}"
        value = categories[name]
        if not isinstance(value, DictConfig):
            raise ConfigError(key, value, "must be a mapping of FailureCategory fields")
        try:
            categories[name] = OmegaConf.merge(schema, value)
        except ConfigKeyError as error:
            valid = ", ".join(f.name for f in dataclasses.fields(FailureCategory))
            bad = f"{key}.{error.key}"
            raise ConfigError(bad, value[error.key], f"unknown key; valid: {valid}") from None
        except ValidationError as error:
            reason = str(error).strip().splitlines()[0]
            raise ConfigError(f"{key}.{error.key}", value[error.key], reason) from None


def load_config(scenario: str = "llama_405b", overrides: Sequence[str] = ()) -> Config:
    """Compose ``scenario`` with command-line style ``overrides`` (``"sim.replicates=5"``). The
    group choices are composed once per process; plain values are applied to a copy (restart the
    process after editing a YAML file)."""
    return to_config(compose_values([f"scenario={scenario}", *overrides]))


def compose_config(overrides: Sequence[str]) -> Config:
    """Compose with Hydra's compose API, inside a running Hydra app or outside one."""
    return to_config(_compose(tuple(overrides)))


def compose_values(overrides: Sequence[str]) -> DictConfig:
    """The composed DictConfig: group choices, additions and deletions through Hydra (cached),
    plain ``key=value`` overrides assigned to a copy (the typed nodes convert or refuse)."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    choices = tuple(
        line for line, o in zip(overrides, parsed, strict=True) if changes_composition(o)
    )
    cfg = copy.deepcopy(_compose(choices))
    for override in parsed:
        if not changes_composition(override):
            OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
    return cfg


def changes_composition(override: Override) -> bool:
    """A group choice (``checkpoint=young``), an addition or deletion, or a Hydra setting."""
    added_or_deleted = override.is_add() or override.is_force_add() or override.is_delete()
    key = override.key_or_group
    return added_or_deleted or override.is_hydra_override() or "." not in key


def _compose(overrides: tuple[str, ...]) -> DictConfig:
    """Inside a running Hydra app, with its search path; outside, from ``conf/``, cached."""
    register_configs()
    if GlobalHydra.instance().is_initialized():
        return compose("config", overrides=list(overrides))
    return _compose_outside(overrides)


@functools.lru_cache(maxsize=64)
def _compose_outside(overrides: tuple[str, ...]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))
