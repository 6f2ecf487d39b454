"""A mixed fleet's groups as full configurations: each group's hardware, engine and failure
catalogue composed by option name, the run's serving settings with the group's changes; and the
checks of the mix itself (``sim.app.validation`` checks each group as a serving run)."""

from __future__ import annotations

import dataclasses
import functools
import math

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.app.loading import compose_config
from sim.config import CONF_DIR, Config, MixConfig, ServingConfig
from sim.errors import ConfigError
from sim.serving.engine import class_groups

ENGINE_KEYS = ("step_overhead_ms", "max_batched_tokens")  # a group's engine states them


def mix_of(config: Config) -> MixConfig:
    assert config.mix is not None  # a mixed run
    return config.mix


def check_mix(config: Config) -> dict[str, Config]:
    """Refuse a mix the simulator cannot run, in one line naming the key; return each group's
    configuration."""
    mix, serving = mix_of(config), config.serving
    if serving is None:
        raise ConfigError("mix", "set", "a mixed fleet serves requests: pick a serving option "
                          "(serving=NAME) or a serving scenario")  # fmt: skip
    if not mix.classes:
        raise ConfigError("mix.classes", "{}", "name at least one request class")
    if not mix.groups:
        raise ConfigError("mix.groups", "{}", "name at least one replica group")
    if serving.arrivals not in ("poisson", "diurnal", "trace"):
        raise ConfigError("serving.arrivals", serving.arrivals, "a mixed fleet's classes arrive "
                          "on their own (poisson, diurnal) or from a trace with a class "
                          "column (trace)")  # fmt: skip
    if serving.rates_per_s:
        raise ConfigError("serving.rates_per_s", list(serving.rates_per_s), "the capacity search "
                          "runs one fleet; for a mix, leave it empty")  # fmt: skip
    shares = [k.share for k in mix.classes.values()]
    for name, klass in mix.classes.items():
        key = f"mix.classes.{name}"
        if not klass.share > 0:
            raise ConfigError(f"{key}.share", klass.share, "must be > 0")
        if klass.arrivals not in ("poisson", "diurnal"):
            raise ConfigError(f"{key}.arrivals", klass.arrivals, "valid: poisson, diurnal")
        for limit in ("slo_ttft_s", "slo_tpot_s"):
            if not getattr(klass, limit) > 0:
                raise ConfigError(f"{key}.{limit}", getattr(klass, limit), "must be > 0")
        if not 0 < klass.slo_attainment <= 1:
            raise ConfigError(f"{key}.slo_attainment", klass.slo_attainment, "must be in (0, 1]")
        unknown = [g for g in klass.groups if g not in mix.groups]
        if unknown:
            raise ConfigError(f"{key}.groups", unknown[0],
                              f"no such group; valid: {', '.join(mix.groups)}")  # fmt: skip
    if not math.isclose(sum(shares), 1.0, rel_tol=1e-6):
        raise ConfigError("mix.classes", f"shares summing to {sum(shares):g}", "the classes' "
                          "shares of serving.rate_per_s must sum to 1")  # fmt: skip
    if mix.spill_waiting < 1:
        raise ConfigError("mix.spill_waiting", mix.spill_waiting, "must be >= 1")
    for name, klass in mix.classes.items():
        allowed = class_groups(mix, klass)
        if not any(mix.groups[g].replicas > 0 for g in allowed):
            raise ConfigError(f"mix.classes.{name}.groups", allowed, "no replica serves this "
                              "class: give one of these groups replicas > 0")  # fmt: skip
    return group_configs(config)


def group_configs(config: Config) -> dict[str, Config]:
    return {name: group_config(config, name) for name in mix_of(config).groups}


def group_config(config: Config, name: str) -> Config:
    """Group ``name`` as a serving run of its own: its hardware, engine and failures by option,
    the run's serving settings with its changes, its replica count. A group with an engine takes
    the engine's per-iteration overhead and token budget unless its ``serving`` sets them."""
    group, serving = mix_of(config).groups[name], config.serving
    assert serving is not None  # validated
    key = f"mix.groups.{name}"
    if group.replicas < 0:
        raise ConfigError(f"{key}.replicas", group.replicas, "must be >= 0")
    options = _options(group.hardware, group.engine, group.failures or "", group.host or "",
                       group.host_engine or "", key)  # fmt: skip
    changes = dict(group.serving)
    if options.engine is not None:
        changes = {k: getattr(options.engine, k) for k in ENGINE_KEYS} | changes
    known = {f.name for f in dataclasses.fields(ServingConfig)}
    for bad in (k for k in changes if k not in known):
        raise ConfigError(f"{key}.serving.{bad}", changes[bad],
                          f"unknown key; valid: {', '.join(sorted(known))}")  # fmt: skip
    changes["replicas"] = group.replicas
    try:
        merged = OmegaConf.merge(OmegaConf.structured(serving), changes)
        own = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        bad = getattr(error, "full_key", "") or "serving"
        raise ConfigError(f"{key}.serving.{bad}", getattr(error, "value", None),
                          str(error).strip().splitlines()[0]) from None  # fmt: skip
    assert isinstance(own, ServingConfig)
    return dataclasses.replace(
        config, hardware=options.hardware, engine=options.engine,
        failures=options.failures if group.failures else config.failures, serving=own, mix=None,
        host=options.host, host_engine=options.host_engine,
    )  # fmt: skip


@functools.cache
def _options(
    hardware: str, engine: str | None, failures: str, host: str, host_engine: str, key: str
) -> Config:
    """The hardware, engine, failure and host options a group names, composed once per process."""
    named = (("hardware", "hardware", hardware), ("engine", "engine", engine),
             ("failures", "failures", failures), ("hardware", "host", host),
             ("engine", "host_engine", host_engine))  # fmt: skip
    for group, field, option in named:
        valid = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        if option and option not in valid:
            listed = ", ".join(valid)
            raise ConfigError(f"{key}.{field}", option, f"no such option; valid: {listed}")
    picks = [f"hardware={hardware}"] + ([f"engine={engine}"] if engine else [])  # default: none
    picks += [f"failures={failures}"] if failures else []
    picks += [f"+hardware@host={host}"] if host else []
    picks += [f"+engine@host_engine={host_engine}"] if host_engine else []
    return compose_config(picks)
