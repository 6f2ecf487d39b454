"""Command-line front: check the overrides before Hydra runs, so every mistake is one line.

Hydra reports a bad override as several lines and a hint about stack traces. Composing the config
once up front (every point of a sweep before any runs) lets us catch those errors and our own
``ConfigError`` and say each in one line: the key, the bad value, what is valid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from argparse import ArgumentError
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from hydra._internal.utils import get_args_parser
from hydra.core.plugins import Plugins
from hydra.errors import OverrideParseException

from sim.app.help import SIM, help_text
from sim.app.loading import (
    category_overrides,
    compose_values,
    explain,
    malformed,
    register_configs,
    search_path,
    to_config,
)
from sim.app.sweep import sweep_points
from sim.app.validation import validate
from sim.config import CONF_DIR, Config
from sim.errors import ConfigError

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def preflight(argv: Sequence[str], *, check: Callable[[Config], None] = validate) -> str | None:
    """Return a one-line error for the command line, or None when it composes and passes
    ``check`` (by default the full validation)."""
    register_configs()
    parser = get_args_parser()

    def refuse(message: str) -> NoReturn:
        raise ArgumentError(None, message)

    parser.error = refuse  # type: ignore[method-assign]  # one line, not argparse's usage
    try:
        args = parser.parse_args(list(argv))
    except ArgumentError as error:
        stray = "unrecognized" in error.message and "=" in error.message  # overrides after a flag
        hint = "; put -m and other flags before the overrides" if stray else ""
        flags = " ".join(a for a in argv if a.startswith("-"))
        return f"{flags}: {error.message}{hint}; see --help"
    if args.help or args.hydra_help or args.shell_completion:
        return None
    overrides: list[str] = category_overrides(args.overrides)
    problem = _check_hydra(overrides, multirun=args.multirun)
    if problem is not None:
        return problem
    if args.config_dir:  # the user's own config directory: searched before the shipped one
        if not Path(args.config_dir).is_dir():
            return f"--config-dir {args.config_dir}: no such directory"
        overrides.append(search_path(args.config_dir))
    if args.multirun:
        return _check_sweep(overrides)
    try:  # compose_values: group choices composed once per process, so checks are quick
        config = to_config(compose_values(overrides))
        check(config)
        for name, changes in config.compare.items():  # every variant before any runs
            variant = [*changes, *overrides]
            try:
                check(to_config(compose_values(variant)))
            except ConfigError as error:
                return f"compare.{name}: {error}"
            except Exception as error:
                return f"compare.{name}: {explain(error, variant)}"
    except ConfigError as error:
        return str(error)
    except Exception as error:  # Hydra and OmegaConf errors, reworded below
        return explain(error, overrides)
    return None


def _check_hydra(overrides: list[str], *, multirun: bool) -> str | None:
    """Hydra's own settings that would fail with a traceback after the run started: an output
    directory below a file, a launcher with no workers, a sweeper's syntax the chosen sweeper
    does not know."""
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir"):
            blocked = next((p for p in Path(value).parents if p.exists() and not p.is_dir()), None)
            if Path(value).is_file() or blocked is not None:
                where = value if blocked is None else str(blocked)
                return f"{override}: {where} is a file; valid: a directory path"
        if key == "hydra.launcher.n_jobs" and value.lstrip("-").isdigit() and int(value) == 0:
            return f"{override}: must be at least 1 (or -1: one per CPU core)"
    optuna = any(o.replace(" ", "") == "hydra/sweeper=optuna" for o in overrides) or any(
        o.startswith("scenario=") and "override /hydra/sweeper: optuna" in _scenario_text(o)
        for o in overrides
    )
    if not optuna and any(_optuna_syntax(o) for o in overrides):
        return (f"{next(o for o in overrides if _optuna_syntax(o))}: interval(...) and tag(...) "
                "are the Optuna sweeper's syntax; add hydra/sweeper=optuna, or sweep a list "
                "(key=1,2,3) or range(start, stop, step)")  # fmt: skip
    slurm = next((o for o in overrides if o.replace(" ", "") == "hydra/launcher=slurm"), None)
    if multirun and slurm and shutil.which("srun") is None:
        return (f"{slurm}: no SLURM on this machine (srun not found); valid here: "
                "hydra/launcher=local, hydra/launcher=joblib")  # fmt: skip
    return None


def _optuna_syntax(override: str) -> bool:
    value = override.partition("=")[2].replace(" ", "")
    return value.startswith(("interval(", "tag("))


def _scenario_text(override: str) -> str:
    path = CONF_DIR / "scenario" / f"{override.partition('=')[2]}.yaml"
    return path.read_text() if path.is_file() else ""


def _check_sweep(overrides: list[str]) -> str | None:
    """Check that every point of a basic sweep composes (a typo, an unknown option, a string
    where a number goes). Values the simulator refuses are left to the jobs, which record them
    in ``error.json`` while the other points run."""
    try:
        points = sweep_points(overrides)
    except OverrideParseException:
        return malformed(overrides)
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
    _skip_hydras_point_check()
    return None


def _skip_hydras_point_check() -> None:
    """Hydra's basic sweeper composes every point again in this process before it launches any
    (``validate_batch_is_legal``), one after another: about 0.2 s a point, 4 s of a 20-point
    sweep that takes 25 s. The preflight has just composed them all, with one-line errors, so
    that second pass is switched off. Hydra loads its plugin classes once per process, and
    instantiates the sweeper from that registry: the class patched is the one it runs."""
    sweeper = Plugins.instance().class_name_to_class[BASIC_SWEEPER]
    sweeper.validate_batch_is_legal = _points_checked  # type: ignore[attr-defined]


def _points_checked(self: object, batch: Sequence[Sequence[str]]) -> None:
    """Every point of ``batch`` was composed by the preflight."""


def launch(
    app: Callable[[], object],
    *,
    check: Callable[[Config], None] = validate,
    program: tuple[str, str] = SIM,
) -> None:
    """Print the help, or check the command line (the preflight registers the schema), then hand
    over to the Hydra ``app``."""
    if {"--help", "-h"} & set(sys.argv[1:]):
        print(help_text(program))
        sys.exit(0)
    problem = preflight(sys.argv[1:], check=check)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    sys.argv[1:] = category_overrides(sys.argv[1:])  # as the preflight composed them
    signal.signal(signal.SIGTERM, _stop_workers)
    app()


def _stop_workers(signum: int, frame: object) -> None:
    """A killed run or sweep takes its worker processes (joblib's) with it, rather than leave
    them running orphaned, then dies of the same signal. Children are found in /proc (Linux),
    without locks a worker pool might hold when the signal comes."""
    for child in _children(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:  # the parent's pid follows the state
                found.append(int(stat.parent.name))
    return found
