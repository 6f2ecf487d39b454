"""``python -m sim scenario=NAME [overrides]``: compose the config, run it, print the summary."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.cli import launch
from sim.compare import format_comparison, run_variants
from sim.errors import ConfigError
from sim.loading import CONF_DIR, to_config
from sim.report import format_summary
from sim.simulation import run

log = logging.getLogger("sim")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    scenario = hydra_cfg.runtime.choices.get("scenario") or "custom"
    try:
        config = to_config(cfg)
        if config.compare:
            summary, _ = run_variants(scenario, config.compare, hydra_cfg.overrides.task, out_dir)
            print(format_comparison(summary))
            print(f"  results in {out_dir}")
            return
        result = run(config, out_dir, scenario=scenario)
    except ConfigError as error:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        # In a sweep, record the error and let the other points run.
        log.error("%s", error)
        record = {"error": str(error), "key": error.key, "value": str(error.value)}
        (out_dir / "error.json").write_text(json.dumps(record, indent=2))
        return
    print(format_summary(result.summary))
    print(f"  results in {out_dir}")


def main() -> None:
    launch(app)


if __name__ == "__main__":
    main()
