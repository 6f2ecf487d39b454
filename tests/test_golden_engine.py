"""The engine's numbers for fixed seeds, against golden data (`tests/golden_engine.py` explains the
file). They were kept from the engine before it counted checkpoints instead of simulating each one,
and rewritten once since, when failures came to be drawn in blocks (a change of random streams).
With `make compile` the same test holds the compiled engine to them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from golden_engine import CASES, GOLDEN, measure

import sim
from sim.training.planning import plan_job
from sim.training.replicate import simulate_replicate

pytestmark = pytest.mark.slow  # replicates of 12-day llama_405b runs, one set per case


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


@pytest.mark.parametrize("checkpoint", ["fixed", "async", "multilevel"])
def test_events_per_replicate_do_not_grow_with_the_checkpoint_count(checkpoint: str) -> None:
    # Issue 13: whole checkpoint cycles are counted, not simulated one by one, for periodic, async
    # and multilevel policies alike: 30 times the checkpoints, at most 1.5 times the events.
    def events(interval_min: int) -> tuple[int, int]:
        config = sim.load_config(
            "llama_405b",
            [
                f"checkpoint={checkpoint}",
                "sim.horizon_days=12",
                f"checkpoint.interval_min={interval_min}",
            ],
        )
        plan, _ = plan_job(config)
        out = simulate_replicate(plan, np.random.SeedSequence(0), 0, record_events=False)
        return out.engine_events, out.checkpoints

    (often, written_often), (rarely, written_rarely) = events(2), events(60)
    assert written_often > 25 * written_rarely
    assert often < 1.5 * rarely
