"""Load what runs wrote into tidy DataFrames: one row per run (or per replicate), the run's
command-line overrides as columns, then its summary figures.

A run directory is Hydra's output directory of one job: ``summary.json`` (or ``error.json`` when
the job failed) and ``.hydra/overrides.yaml``. A sweep directory holds run directories, at any
depth (``multirun/DATE/TIME/N``), so a whole day of sweeps loads at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from sim.config import CONF_DIR
from sim.outputs.files import ERROR_FILE, REPLICATES_FILE, SUMMARY_FILE
from sim.outputs.summary import nested_columns
from sim.training.accounting import Bucket

OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"
SWEEP_TABLE = "sweep"  # sweep.parquet and sweep.csv, written at the end of a multirun

# Llama 3 paper, Table 5 (arXiv 2407.21783): unexpected interruptions in a 54-day snapshot.
PUBLISHED_INTERRUPTIONS = (
    Path(__file__).resolve().parents[1] / "data" / "llama3_405b_interruptions.csv"
)
# Columns that say which run or replicate a row is, besides the override columns.
ID_COLUMNS = ("run_dir", "job", "variant", "replicate")

Per = Literal["run", "replicate"]


def load(path: str | os.PathLike[str], *, per: Per = "run") -> pd.DataFrame:
    """One run or every run under a sweep directory, as one DataFrame.

    Columns: ``run_dir``, ``job`` (the job number in its sweep), one column per override (key as
    typed, value typed: ``checkpoint.interval_min`` holds numbers), ``error`` (None when the job
    succeeded), then the summary figures; with ``per="replicate"`` the per-replicate table
    replaces the summary, with a ``variant`` column for side-by-side scenarios.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such directory")
    runs = [root] if is_run(root) else run_dirs(root)
    if not runs:
        raise FileNotFoundError(
            f"{root}: no runs here; a run directory holds {SUMMARY_FILE} or {ERROR_FILE}, "
            "a sweep directory holds run directories"
        )
    if per == "run":
        return pd.DataFrame([_run_row(run) for run in runs])
    if per == "replicate":
        return pd.concat([_replicate_rows(run) for run in runs], ignore_index=True)
    raise ValueError(f"per={per!r}: valid: run, replicate")


def is_run(path: Path) -> bool:
    """Hydra wrote the job's overrides (when it started) or the job wrote its result."""
    return (path / OVERRIDES_FILE).is_file() or is_finished(path)


def is_finished(run_dir: Path) -> bool:
    """The run wrote its error, or its summary (written last, after the tables) and its
    per-replicate table (its variants' tables, for a side-by-side run)."""
    if (run_dir / ERROR_FILE).is_file():
        return True
    tables = (run_dir / REPLICATES_FILE).is_file() or any(run_dir.glob(f"*/{REPLICATES_FILE}"))
    return (run_dir / SUMMARY_FILE).is_file() and tables


def run_dirs(sweep_dir: Path) -> list[Path]:
    """Run directories under ``sweep_dir``, in job order; a run's own sub-directories (the
    variants of a side-by-side scenario) are part of it, not runs of their own."""
    found: list[Path] = []
    # Hidden directories are Hydra's and the launchers' own (.hydra, .submitit).
    for child in (p for p in sweep_dir.iterdir() if p.is_dir() and p.name[0] != "."):
        if is_run(child):
            found.append(child)
        else:
            found.extend(run_dirs(child))
    return sorted(found, key=_job_order)


def overrides(run_dir: Path) -> dict[str, Any]:
    """The run's task overrides, typed by Hydra's own parser (``interval_min=10`` gives 10)."""
    path = run_dir / OVERRIDES_FILE
    if not path.is_file():
        return {}
    lines = [str(line) for line in OmegaConf.load(path)]
    parser = OverridesParser.create()
    parsed = parser.parse_overrides(lines)
    return {o.key_or_group: o.value() for o in parsed if not o.is_delete()}


def time_budget(frame: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Where the time went, long: one row per row of ``frame`` and accounting bucket, with its
    ``hours`` and its ``share`` of the wall clock."""
    by = _ids(frame) if by is None else list(by)
    columns = {f"{b.value}_h": b.value for b in Bucket}
    wide = frame[[*by, *columns]].assign(wall_h=frame["wall_clock_days"] * 24.0)
    long = wide.melt(id_vars=[*by, "wall_h"], var_name="bucket", value_name="hours")
    long["bucket"] = long["bucket"].map(columns)
    long["share"] = long["hours"] / long.pop("wall_h")
    return long


def interruptions(frame: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Unexpected interruptions by cause, long: one row per row of ``frame`` and cause."""
    by = _ids(frame) if by is None else list(by)
    causes = {part["count"]: cause for cause, part in _parts(frame, "interruptions").items()}
    long = frame[[*by, *causes]].melt(id_vars=by, var_name="cause", value_name="count")
    long["cause"] = long["cause"].map(causes)
    return long


def by_language(frame: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Tokens, days, cost and epochs of the corpus per language (summary rows only)."""
    return _entities(frame, "language", ("tokens", "days", "cost_usd", "epochs"), by)


def by_phase(frame: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Tokens, days, cost and data-pipeline stall per training phase (summary rows only)."""
    return _entities(frame, "phase", ("tokens", "days", "cost_usd", "data_stall_h"), by)


def published_interruptions() -> pd.DataFrame:
    """Llama 3 Table 5 with the failure catalogue's name for each row (``cause``): the catalogue
    ``llama3_h100`` lists the categories in the table's order."""
    table = pd.read_csv(PUBLISHED_INTERRUPTIONS, comment="#")
    catalogue = OmegaConf.load(CONF_DIR / "failures" / "llama3_h100.yaml")
    causes = list(OmegaConf.to_container(catalogue)["categories"])  # type: ignore[index,call-overload]
    return table.assign(cause=causes)[["cause", "component", "category", "count"]]


def _ids(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in ID_COLUMNS or "." in c]


def _parts(frame: pd.DataFrame, section: str) -> dict[str, dict[str, str]]:
    return nested_columns([str(c) for c in frame.columns], section)


def _entities(
    frame: pd.DataFrame, kind: str, figures: Sequence[str], by: Sequence[str] | None
) -> pd.DataFrame:
    by = _ids(frame) if by is None else list(by)
    parts = []
    for name, columns in _parts(frame, kind).items():
        part = frame[by].copy()
        part[kind] = name
        for figure in figures:
            part[figure] = frame[columns[figure]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _identity(run_dir: Path) -> dict[str, Any]:
    """The columns that say which run a row belongs to, and how the run ended."""
    row: dict[str, Any] = {"run_dir": str(run_dir), "job": _job_number(run_dir)}
    row |= overrides(run_dir)
    error = run_dir / ERROR_FILE
    row["error"] = json.loads(error.read_text())["error"] if error.is_file() else None
    if not is_finished(run_dir):
        row["error"] = "no summary.json: the job did not finish (killed or still running)"
    return row


def _run_row(run_dir: Path) -> dict[str, Any]:
    row = _identity(run_dir)
    summary = run_dir / SUMMARY_FILE
    if summary.is_file():
        row |= {k: v for k, v in json.loads(summary.read_text()).items() if k not in row}
    return row


def _replicate_rows(run_dir: Path) -> pd.DataFrame:
    keep = _identity(run_dir)
    frames = []
    for table in [run_dir / REPLICATES_FILE, *sorted(run_dir.glob(f"*/{REPLICATES_FILE}"))]:
        if table.is_file():
            variant = None if table.parent == run_dir else table.parent.name
            frame = pd.read_parquet(table)
            frames.append(frame.assign(**keep, variant=variant))
    if not frames:  # a failed job keeps its row, with its error
        return pd.DataFrame([keep | {"variant": None}])
    columns = [*keep, "variant"]
    frame = pd.concat(frames, ignore_index=True)
    return frame[columns + [c for c in frame.columns if c not in columns]]


def _job_number(run_dir: Path) -> int | None:
    return int(run_dir.name) if run_dir.name.isdigit() else None


def _job_order(run_dir: Path) -> tuple[str, int, str]:
    number = _job_number(run_dir)
    return (str(run_dir.parent), -1 if number is None else number, run_dir.name)
