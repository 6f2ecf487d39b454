"""The summary as nested data, flat only in summary.json (sim.outputs.summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sim


@pytest.mark.slow
def test_a_cause_named_planned_does_not_collide_with_the_planned_count(tmp_path: Path) -> None:
    # Issue 13: the summary is nested data; only summary.json is flat, its parts joined by "__".
    config = sim.load_config(
        "llama_405b",
        ["+failures.categories.planned={scope: job, rate_per_1000_server_days: 2}",
         "failures.planned.per_day=4", "failures.planned.per_1000_server_days=0",
         "sim.horizon_days=3", "sim.replicates=2",
         "sim.progress=false"],
    )  # fmt: skip
    summary = sim.run(config, tmp_path).summary
    assert summary.interruptions["planned"] > 0
    assert summary["interruptions_planned"] == pytest.approx(3 * 4, abs=1)  # 4 stops a day
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["interruptions__planned"] == summary.interruptions["planned"]
    assert written["interruptions_planned"] == summary["interruptions_planned"]
