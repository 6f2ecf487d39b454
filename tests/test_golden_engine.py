"""The engine's numbers for fixed seeds, against golden data kept from the engine before it counted
checkpoints instead of simulating each one (`tests/golden_engine.py` explains the file)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from golden_engine import CASES, GOLDEN, measure


def _same(got: Any, want: Any, where: str) -> None:
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-6, nan_ok=True), where
    else:
        assert got == want, where


@pytest.mark.parametrize("case", sorted(CASES))
def test_engine_matches_its_golden_data(case: str) -> None:
    want = json.loads(GOLDEN.read_text())[case]
    scenario, overrides = CASES[case]
    _same(json.loads(json.dumps(measure(scenario, overrides))), want, case)
