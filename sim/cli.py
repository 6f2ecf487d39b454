"""Command-line front: check the overrides before Hydra runs, so every mistake is one line.

Hydra reports a bad override as several lines and a hint about stack traces. Composing the config
once up front (single runs only; a sweep checks each point in its own job) lets us catch those
errors and our own ``ConfigError`` and say each in one line: the key, the bad value, what is valid.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence

from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from sim.config import GROUPS, Config, register_configs
from sim.errors import ConfigError
from sim.loading import CONF_DIR, compose_values, to_config
from sim.sweep import sweep_points
from sim.validation import validate

# Launchers and sweepers that come from Hydra plugins, and the project extra that installs each.
PLUGIN_EXTRAS = {
    "joblib": "sweep",
    "submitit_local": "slurm",
    "submitit_slurm": "slurm",
    "ray": "ray",
    "optuna": "optuna",
}


def preflight(argv: Sequence[str], *, check: Callable[[Config], None] = validate) -> str | None:
    """Return a one-line error for the command line, or None when it composes and passes
    ``check`` (by default the full validation)."""
    register_configs()
    args = get_args_parser().parse_args(list(argv))
    if args.help or args.hydra_help or args.shell_completion:
        return None
    overrides: list[str] = args.overrides
    if args.multirun:
        return _check_sweep(overrides)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        check(to_config(cfg))
    except ConfigError as error:
        return str(error)
    except Exception as error:  # Hydra and OmegaConf errors, reworded below
        return explain(error, overrides)
    return None


def _check_sweep(overrides: list[str]) -> str | None:
    """Check that every point of a basic sweep composes (a typo, an unknown option, a string
    where a number goes). Values the simulator refuses are left to the jobs, which record them
    in ``error.json`` while the other points run."""
    try:
        points = sweep_points(overrides)
    except OverrideParseException:
        return _malformed(overrides)
    except Exception:  # a sweep syntax only another sweeper knows (Optuna's interval): its job
        return None
    # Composing takes ~0.1 s: compose_values composes once per combination of group choices and
    # assigns each point's plain values to a copy.
    for point in points:
        try:
            to_config(compose_values(point))
        except ConfigError as error:
            return str(error)
        except Exception as error:
            return explain(error, point)
    return None


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
        return _malformed(overrides)
    cause = error.__cause__ if isinstance(error.__cause__, OmegaConfBaseException) else error
    if not isinstance(cause, OmegaConfBaseException):
        return " ".join(str(error).split())
    key = getattr(cause, "full_key", "") or ""
    attempted = next((o for o in overrides if o.lstrip("+~").startswith(key)), key)
    if isinstance(cause, ConfigKeyError | ConfigAttributeError):
        return f"{attempted}: unknown key {key!r}; valid: {_valid_keys(key)}"
    return f"{attempted}: {_first_line(cause)}"


def _malformed(overrides: Sequence[str]) -> str:
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
    group = full_key.split(".", 1)[0]
    if "." in full_key and group in GROUPS:
        return ", ".join(f"{group}.{f.name}" for f in dataclasses.fields(GROUPS[group]))
    return ", ".join(GROUPS)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0]


def launch(app: Callable[[], object], *, check: Callable[[Config], None] = validate) -> None:
    """Check the command line (the preflight registers the schema), then hand over to the Hydra
    ``app``."""
    problem = preflight(sys.argv[1:], check=check)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    app()
