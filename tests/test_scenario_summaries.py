"""Every key and value of a few scenarios' ``summary.json`` against golden data
(`tests/scenario_summaries.py` says where they came from): a refactoring changes no number."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from scenario_summaries import GOLDEN, SCENARIOS, summary

pytestmark = pytest.mark.slow  # five whole scenarios

WANT: dict[str, dict[str, Any]] = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_scenario_summary_keeps_its_keys_and_values(scenario: str) -> None:
    got, want = summary(scenario), WANT[scenario]
    assert sorted(got) == sorted(want)
    changed = {
        key: (got[key], value)
        for key, value in want.items()
        if not (
            got[key] == value
            or (isinstance(value, float) and math.isclose(got[key], value, rel_tol=1e-12))
        )
    }
    assert changed == {}  # key: (now, golden)
