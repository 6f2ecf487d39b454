"""Compose a configuration without the CLI, and the one conversion to typed dataclasses."""

from __future__ import annotations

import copy
import csv
import dataclasses
import functools
import re
import typing
from collections.abc import Sequence
from importlib.resources.abc import Traversable
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from sim.config import (
    CONF_DIR,
    GROUPS,
    Config,
    EngineConfig,
    FailureCategory,
    FailuresConfig,
    HardwareConfig,
    MixConfig,
    ServingConfig,
)
from sim.errors import ConfigError


def data_rows(data: Traversable) -> list[dict[str, str]]:
    """The rows of a CSV in sim/data, past its ``#`` header of sources and use."""
    lines = data.read_text().splitlines()
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


@functools.cache
def register_configs() -> None:
    """Put the schema in Hydra's ConfigStore: ``base_config`` and one ``base_<group>`` per group.
    Once per process (every compose asks): storing converts each dataclass, 20 ms in all."""
    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    for group, schema in GROUPS.items():
        store.store(group=group, name=f"base_{group}", node=schema)


def to_config(cfg: DictConfig) -> Config:
    """Convert Hydra's DictConfig to the typed dataclasses, refusing keys the schema lacks at any
    depth (a ``+group.key=value`` override would otherwise be dropped without a word)."""
    for key in cfg:
        if key == "compare":
            continue
        if key in SECTIONS:  # keys of the schema that are not Hydra groups of their own
            if cfg[key] is not None:
                check_keys(cfg[key], SECTIONS[str(key)], str(key))
            continue
        if key not in GROUPS:
            raise ConfigError(str(key), cfg[key], f"unknown key; valid: {', '.join(GROUPS)}")
        if cfg[key] is not None:  # None: an optional group left unset (serving)
            check_keys(cfg[key], GROUPS[str(key)], str(key))
    if "failures" in cfg:
        _type_categories(cfg.failures.categories)
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config)
    return config


def section_schema(full_key: str) -> tuple[str, type] | None:
    """The dataclass of the section holding ``full_key`` and that section's own key, e.g.
    ``failures.categories.nic.colour`` -> (``failures.categories.nic``, FailureCategory)."""
    parts = full_key.split(".")
    roots = GROUPS | SECTIONS
    if parts[0] not in roots:
        return None
    schema, depth = roots[parts[0]], 1
    while depth < len(parts) - 1:
        inner = _nested(schema, parts[depth])
        if inner is None:
            break
        kind, schema = inner
        depth += 2 if kind == "dict" else 1
    return ".".join(parts[:depth]), schema


def check_keys(node: DictConfig, schema: type, prefix: str) -> None:
    known = {f.name for f in dataclasses.fields(schema)}
    for key in map(str, node):
        name = f"{prefix}.{key}"
        if key not in known:
            valid = ", ".join(f"{prefix}.{k}" for k in sorted(known))
            raise ConfigError(name, node[key], f"unknown key; valid: {valid}")
        inner = _nested(schema, key)
        value = node[key]
        if inner is None or not isinstance(value, DictConfig):
            continue
        kind, nested = inner
        if kind == "dataclass":
            check_keys(value, nested, name)
        else:
            for entry in map(str, value):
                if isinstance(value[entry], DictConfig):
                    check_keys(value[entry], nested, f"{name}.{entry}")


@functools.cache
def _nested(schema: type, field: str) -> tuple[str, type] | None:
    """A field's section type: ("dataclass", T) for a nested dataclass, ("dict", T) for a mapping
    of names to T (failure categories, phases, corpus, SLOs); None for a plain value."""
    if schema is FailuresConfig and field == "categories":
        return "dict", FailureCategory  # typed Any for OmegaConf (see ``Categories``)
    hint = typing.get_type_hints(schema).get(field)
    if typing.get_origin(hint) is dict:
        value = typing.get_args(hint)[1]
        return ("dict", typing.cast(type, value)) if dataclasses.is_dataclass(value) else None
    for arg in (hint, *typing.get_args(hint)):  # X, or X | None
        if dataclasses.is_dataclass(arg):
            return "dataclass", typing.cast(type, arg)
    return None


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


CATEGORY_FIELD = re.compile(r"failures\.categories\.[^.=]+\.([^.=]+)=")


def category_overrides(overrides: Sequence[str]) -> list[str]:
    """``failures.categories.NAME.FIELD=V`` sets a field the category's YAML may leave out: the
    categories are untyped for OmegaConf (see ``Categories``), so such a key must be force-added
    (``++``); any other override passes unchanged."""
    fields = {f.name for f in dataclasses.fields(FailureCategory)}
    out = []
    for override in overrides:
        match = CATEGORY_FIELD.match(override)
        out.append(f"++{override}" if match and match.group(1) in fields else override)
    return out


def search_path(config_dir: str | Path) -> str:
    """The override that adds a user's config directory (``--config-dir``) to Hydra's search."""
    return f"hydra.searchpath=[file://{Path(config_dir).resolve()}]"


def load_config(
    scenario: str = "llama_405b",
    overrides: Sequence[str] = (),
    *,
    config_dir: str | Path | None = None,
) -> Config:
    """Compose ``scenario`` with command-line style ``overrides`` (``"sim.replicates=5"``), from
    the shipped ``conf/`` and, first, the user's ``config_dir`` (its ``scenario/`` and group
    folders). The group choices are composed once per process; plain values are applied to a
    copy (restart the process after editing a YAML file)."""
    if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides):
        raise TypeError(f"overrides must be a list of 'key=value' strings, not {overrides!r}")
    if config_dir is not None and not Path(config_dir).is_dir():
        raise ConfigError("config_dir", str(config_dir), "no such directory")
    extra = [search_path(config_dir)] if config_dir is not None else []
    arguments = [f"scenario={scenario}", *overrides, *extra]
    try:
        return to_config(compose_values(arguments))
    except ConfigError:
        raise
    except Exception as error:  # Hydra's and OmegaConf's, in the CLI's one line
        raise ConfigError.from_line(explain(error, arguments)) from None


def compose_config(overrides: Sequence[str]) -> Config:
    """Compose with Hydra's compose API, inside a running Hydra app or outside one."""
    return to_config(_compose(tuple(overrides)))


def compose_values(overrides: Sequence[str]) -> DictConfig:
    """The composed DictConfig: group choices, additions and deletions through Hydra (cached),
    plain ``key=value`` overrides assigned to a copy (the typed nodes convert or refuse)."""
    overrides = category_overrides(overrides)
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


SECTIONS = {"mix": MixConfig, "host": HardwareConfig, "host_engine": EngineConfig}
SERVING_KEYS = tuple(f.name for f in dataclasses.fields(ServingConfig))  # a mix group may change

# Launchers and sweepers that come from Hydra plugins, and the project extra that installs each.
PLUGIN_EXTRAS = {
    "joblib": "sweep",
    "submitit_local": "slurm",
    "submitit_slurm": "slurm",
    "ray": "ray",
    "optuna": "optuna",
}


def explain(error: Exception, overrides: Sequence[str]) -> str:
    """One line for an error Hydra or OmegaConf raised while composing."""
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        if option in PLUGIN_EXTRAS:
            install = f"pip install -e '.[{PLUGIN_EXTRAS[option]}]'"
            return f"{group}={option}: its Hydra plugin is not installed; {install}"
        valid = ", ".join(o for o in error.options or [] if not o.startswith("base_"))
        return f"{group}={option}: no such option; valid: {valid}"
    if isinstance(error, OverrideParseException):
        return malformed(overrides)
    chained = error.__cause__
    if not isinstance(chained, OmegaConfBaseException) and "while composing" in str(error):
        chained = error.__context__  # a YAML file's error, which Hydra keeps as the context
    cause = chained if isinstance(chained, OmegaConfBaseException) else error
    if not isinstance(cause, OmegaConfBaseException):
        return " ".join(str(error).split())
    key = getattr(cause, "full_key", "") or ""
    attempted = next((o for o in overrides if o.lstrip("+~").startswith(key)), None)
    if attempted is None:  # set in a YAML file, not on the command line
        where = re.match(r"In '([^']+)'", str(error))
        value = getattr(cause, "value", None)
        shown = f"{key}={value}" if value is not None else key
        attempted = f"{shown} (in {where.group(1)}.yaml)" if where else shown
    if isinstance(cause, ConfigKeyError | ConfigAttributeError):
        group, _, leaf = key.rpartition(".serving.")
        if group.startswith("mix.groups.") and leaf in SERVING_KEYS:  # a key the group lacks yet
            return f"{attempted}: the group does not set serving.{leaf} yet; add it: +{key}=..."
        if group.startswith("mix.groups."):
            return f"{attempted}: unknown key {key!r}; valid: {', '.join(SERVING_KEYS)}"
        return f"{attempted}: unknown key {key!r}; valid: {_valid_keys(key)}"
    return f"{attempted}: {_first_line(cause)}"


def malformed(overrides: Sequence[str]) -> str:
    """Name the first override Hydra's parser refuses, and why."""
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_overrides([override])
        except OverrideParseException as error:
            reason = _first_line(error)
            return f"{override}: malformed override ({reason}); expected key=value, e.g. sim.seed=1"
    return f"{' '.join(overrides)}: malformed overrides; expected key=value, e.g. sim.seed=1"


def _valid_keys(full_key: str) -> str:
    """The keys of the section the bad key sits in (nested sections list their own)."""
    found = section_schema(full_key) if "." in full_key else None
    if found is None:
        return ", ".join(GROUPS)
    section, schema = found
    return ", ".join(f"{section}.{f.name}" for f in dataclasses.fields(schema))


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0]
