"""``python -m sim scenario=NAME [overrides]``: compose the config, run it, print the summary."""

from __future__ import annotations

import logging
import math
import sys
import traceback
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.app.cli import launch
from sim.app.compare import format_comparison, run_variants
from sim.app.loading import to_config
from sim.app.simulation import run
from sim.app.sweep import objective
from sim.config import CONF_DIR
from sim.errors import ConfigError
from sim.outputs.files import ERROR_FILE, write_json
from sim.outputs.report import (
    format_capacity,
    format_line,
    format_serving,
    format_summary,
    format_trials,
)
from sim.outputs.serving_results import ServingResult

log = logging.getLogger("sim")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> float | None:
    """Run one job; return the objective (``sim.objective``) for a sweeper such as Optuna."""
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return _sweep_job(cfg, hydra_cfg)
    if "optuna" in str(hydra_cfg.sweeper.get("_target_", "")).lower():
        print("note: this scenario is an Optuna sweep; run it with -m (python -m sim -m "
              "scenario=...). Running its starting point once.", file=sys.stderr)  # fmt: skip
    try:
        return _run(cfg, hydra_cfg, quiet=False)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def _run(cfg: DictConfig, hydra_cfg: Any, *, quiet: bool) -> float | None:
    out_dir = Path(hydra_cfg.runtime.output_dir)
    scenario = hydra_cfg.runtime.choices.get("scenario") or "custom"
    config = to_config(cfg)
    overrides = list(hydra_cfg.overrides.task)
    if quiet:  # the sweep's bar stands in for each job's replicate bar
        config.sim.progress = False
        overrides.append("sim.progress=false")
    if config.compare:
        summary, results = run_variants(scenario, config.compare, overrides, out_dir)
        print(format_comparison(summary))
        for result in results.values():
            if isinstance(result, ServingResult) and result.capacity is not None:
                print(format_capacity(result.capacity))
        print(f"  results in {out_dir}")
        return None
    result = run(config, out_dir, scenario=scenario)
    label = " ".join(hydra_cfg.overrides.task) or scenario
    if quiet:
        print(format_line(result.summary, label))
    elif isinstance(result, ServingResult):
        print(format_serving(result.summary))
        if result.capacity is not None:
            print(format_capacity(result.capacity))
        if result.trials is not None:
            print(format_trials(result.summary, result.trials))
    else:
        print(format_summary(result.summary))
    print(f"  results in {out_dir}")
    return objective(result.summary, config.sim.objective, config.sim.deadline_days)


def _sweep_job(cfg: DictConfig, hydra_cfg: Any) -> float | None:
    """A job of a sweep: any failure is written to ``error.json`` and the sweep goes on."""
    out_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        return _run(cfg, hydra_cfg, quiet=True)
    except Exception as error:
        message = " ".join(str(error).split()) or type(error).__name__
        log.error("job %s failed: %s", hydra_cfg.job.num, message)
        record = {
            "error": message,
            "type": type(error).__name__,
            "key": getattr(error, "key", None),
            "value": str(getattr(error, "value", "")) or None,
            "overrides": list(hydra_cfg.overrides.task),
            "traceback": traceback.format_exc(),
        }
        write_json(out_dir / ERROR_FILE, record)
        return math.inf  # an optimiser treats a failed point as the worst


def main() -> None:
    launch(app)


if __name__ == "__main__":
    main()
