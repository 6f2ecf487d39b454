"""Hydra multirun support: a progress bar over a sweep's jobs, the sweep-level table, and the
objective value a sweeper (Optuna) minimises.

The callback is registered in ``conf/config.yaml`` (``hydra.callbacks.sweep``). It watches the
sweep directory for finished jobs rather than hooking a launcher, so the bar counts jobs the same
way under the basic, joblib, Submitit and Ray launchers.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from tqdm import tqdm

from sim.errors import ConfigError
from sim.outputs.analysis import SWEEP_TABLE, is_finished, load
from sim.outputs.files import atomic_write, write_parquet

log = logging.getLogger(__name__)

POLL_S = 0.5


class SweepCallback(Callback):
    """A progress bar while the jobs run; ``sweep.parquet`` and ``sweep.csv`` when they are done."""

    def __init__(self) -> None:
        self._watcher: _Watcher | None = None

    # Launchers pickle the callbacks to ship them to workers; the watcher stays in this process.
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._watcher = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._watcher = _Watcher(Path(config.hydra.sweep.dir), planned_jobs(config))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        write_sweep_table(Path(config.hydra.sweep.dir))


def write_sweep_table(sweep_dir: Path) -> Path | None:
    """One row per job, as ``sim.outputs.analysis.load`` returns it; None when no job wrote
    anything."""
    try:
        table = load(sweep_dir)
    except FileNotFoundError:  # no such directory, or no job in it
        return None
    parquet = sweep_dir / f"{SWEEP_TABLE}.parquet"
    write_parquet(table, parquet)
    atomic_write(sweep_dir / f"{SWEEP_TABLE}.csv", lambda p: table.to_csv(p, index=False))
    failed = int(table["error"].notna().sum())
    log.info("sweep table: %d jobs (%d failed) in %s", len(table), failed, parquet)
    return parquet


def planned_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep will run: the product of the sweep lists for the basic sweeper,
    ``n_trials`` for Optuna, None when unknown."""
    sweeper = config.hydra.sweeper
    if "n_trials" in sweeper:
        return int(sweeper.n_trials)
    if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    params = sweeper.get("params") or {}
    arguments = [*(f"{k}={v}" for k, v in params.items()), *config.hydra.overrides.task]
    return len(sweep_points(arguments))


def sweep_points(arguments: list[str]) -> list[list[str]]:
    """The overrides of every job the basic sweeper makes of ``arguments`` (``a=1,2 b=x,y``
    gives four), in its order."""
    parsed = OverridesParser.create().parse_overrides(arguments)
    return [list(point) for batch in BasicSweeper.split_arguments(parsed, None) for point in batch]


def objective(summary: Mapping[str, Any], key: str, deadline_days: float | None) -> float:
    """The summary figure ``key`` (by default the cost), or infinity when the mean time-to-train
    misses ``deadline_days`` or some replicate never finished, or a mixed fleet misses a class's
    target: a sweeper minimising it finds the cheapest configuration that meets them."""
    if key not in summary or not isinstance(summary[key], int | float):
        numeric = sorted(k for k, v in summary.items() if isinstance(v, int | float))
        raise ConfigError("sim.objective", key, f"not a numeric summary figure; valid: {numeric}")
    if summary.get("meets_targets") is False:  # a mixed fleet with a class short of its target
        return math.inf
    days = summary.get("time_to_train_days")  # serving runs have none
    if deadline_days is not None and (days is None or days > deadline_days):
        return math.inf
    return float(summary[key])


def finished_jobs(sweep_dir: Path) -> int:
    """Jobs of the sweep that wrote their summary or their error."""
    return sum(is_finished(run) for run in sweep_dir.glob("*") if run.is_dir())


class _Watcher:
    """Counts the jobs that wrote ``summary.json`` or ``error.json``, on a daemon thread."""

    def __init__(self, sweep_dir: Path, total: int | None) -> None:
        self._dir = sweep_dir
        self._stop = threading.Event()
        self._bar = tqdm(total=total, desc="sweep", unit="job", file=sys.stderr, disable=None)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self._update()

    def _update(self) -> None:
        self._bar.update(finished_jobs(self._dir) - self._bar.n)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._update()
        self._bar.close()
