"""Speed of the step-time model. Run with `make bench` (excluded from the default test run).

Issue 12: one evaluation of the step-time model stays below 1 ms, so the plan explorer ranks
thousands of plans in seconds.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import sim
from sim.app.explore import explore
from sim.perf.throughput import throughput

pytestmark = pytest.mark.benchmark


def test_one_step_time_evaluation(benchmark: Any) -> None:
    config = sim.load_config("llama_405b")
    benchmark(throughput, config)
    mean_ms = benchmark.stats["mean"] * 1e3
    print(f"\nstep-time model, llama_405b plan: mean {mean_ms:.3f} ms per evaluation")
    assert mean_ms < 1.0


def test_explorer_on_llama_405b() -> None:
    config = sim.load_config("llama_405b")
    started = time.perf_counter()
    plans = explore(config)
    seconds = time.perf_counter() - started
    print(f"\nexplorer: {len(plans)} plans that fit, ranked in {seconds:.1f} s")
