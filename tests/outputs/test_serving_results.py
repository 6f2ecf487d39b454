"""A serving run's tables and summary (sim.outputs.serving_results)."""

from __future__ import annotations

import math

import pytest
from helpers import mlperf

import sim


@pytest.mark.slow
def test_the_serving_summary_is_strict_json(tmp_path: pytest.TempPathFactory) -> None:
    import json

    sim.run(mlperf("serving.requests=100"), tmp_path)  # type: ignore[arg-type]
    text = (tmp_path / "summary.json").read_text()  # type: ignore[operator]
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert summary["mode"] == "serving"
    assert math.isfinite(summary["cost_per_m_output_tokens"])
