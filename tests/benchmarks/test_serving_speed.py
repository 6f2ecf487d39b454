"""Serving speed. Run with `make bench` (excluded from the default test run).

Issue 15's target: one hour of traffic at 10 requests per second (36,000 requests) simulated in
under 5 s on 2 cores. Reported for the MLPerf Llama 2 70B server (4 replicas) and for Llama 3.1
405B on one 8x H100 server and on 12 dual Xeon 6 servers, with the SimPy events each took.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.serving.engine import simulate

pytestmark = pytest.mark.benchmark
HOUR_AT_10 = ["sim.progress=false", "serving.requests=null", "serving.rate_per_s=10",
              "serving.duration_s=3600"]  # fmt: skip
FLEETS = {
    "llama2_70b on 4x (2x H100)": ("mlperf_llama2_70b", []),
    "llama3_405b on 2 servers of 8x H100": ("serve_405b_gpu_vs_cpu", ["serving.replicas=2"]),
    "llama3_405b on 40 Xeon 6 servers": (
        "serve_405b_gpu_vs_cpu",
        ["hardware=xeon6_6980p", "engine=sglang_cpu", "failures=cpu_host", "serving.tp=2",
         "serving.weights=int8",
         "serving.kv_cache=bf16", "serving.max_batch=64", "serving.replicas=40"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("fleet", list(FLEETS))
def test_an_hour_at_ten_requests_per_second(benchmark: Any, fleet: str) -> None:
    scenario, overrides = FLEETS[fleet]
    config = sim.load_config(scenario, [*overrides, *HOUR_AT_10])
    outcome = benchmark.pedantic(simulate, (config, np.random.SeedSequence(0)), rounds=3)
    served = sum(1 for r in outcome.requests if not r.dropped)
    print(f"\n{fleet}: {len(outcome.requests):,} requests ({served:,} served) in "
          f"{benchmark.stats['mean']:.2f} s, {outcome.engine_events:,} SimPy events")  # fmt: skip
