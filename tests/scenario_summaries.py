"""Golden summaries: every key and value of ``summary.json`` for a few scenarios at a fixed seed.

`python tests/scenario_summaries.py` rewrites `tests/data/scenario_summaries.json` from the code as
it is; `test_scenario_summaries.py` fails when a summary's keys or values change. The file was first
written by `python -m sim scenario=NAME sim.replicates=3 sim.progress=false` at commit e0596ec, the
flat layout before the move into layer subpackages, so the move is held to the numbers it had.
Rewrite it only for a change meant to change the numbers, and say so in the commit.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import sim

GOLDEN = Path(__file__).resolve().parent / "data" / "scenario_summaries.json"
OVERRIDES = ["sim.replicates=3", "sim.progress=false"]
# Training with failures and checkpoints, two fleets side by side, a language-mix switch in two
# variants, a mixture of experts, and serving on GPUs.
SCENARIOS = ("llama_405b", "gpu_vs_cpu", "multilingual_switch", "deepseek_v2", "mlperf_llama2_70b")


def summary(scenario: str) -> dict[str, Any]:
    """What ``python -m sim scenario=SCENARIO`` with ``OVERRIDES`` writes to summary.json."""
    config = sim.load_config(scenario, OVERRIDES)
    with tempfile.TemporaryDirectory() as tmp:
        if config.compare:
            sim.run_variants(scenario, config.compare, OVERRIDES, Path(tmp))
        else:
            sim.run(config, Path(tmp), scenario=scenario)
        data: dict[str, Any] = json.loads((Path(tmp) / "summary.json").read_text())
    return data


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({s: summary(s) for s in SCENARIOS}, indent=1, sort_keys=True))
    print(f"wrote {GOLDEN}")
