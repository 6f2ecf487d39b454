"""The capacity search (sim.app.capacity): the fewest replicas that meet an SLO at a request
rate."""

from __future__ import annotations

import pytest
from helpers import mlperf

from sim.app.capacity import search
from sim.config import SloConfig


@pytest.mark.slow
def test_capacity_search_finds_the_smallest_fleet_that_meets_the_target() -> None:
    config = mlperf("serving.requests=300", "serving.search_requests=300")
    slo = SloConfig(ttft_s=2.0, tpot_s=0.2)
    low, high = search(config, 20.0, slo), search(config, 80.0, slo)
    assert low["feasible"] and high["feasible"]
    assert low["replicas"] <= high["replicas"]
    assert high["slo_attainment"] >= 0.99
    if high["replicas"] > 1:  # one fewer replica would miss (the bisection's other end)
        from sim.app.capacity import measure, with_serving

        base = with_serving(config, rate_per_s=80.0, requests=300)
        fewer = measure(with_serving(base, replicas=high["replicas"] - 1))
        assert fewer["slo_attainment"] < 0.99
    cpu = mlperf("model=llama3_405b", "hardware=xeon6_6980p", "failures=cpu_host",
                 "serving.weights=int8", "serving.kv_cache=bf16")  # fmt: skip
    refused = search(cpu, 1.0, SloConfig(ttft_s=4.5, tpot_s=0.08))
    assert not refused["feasible"] and "TPOT" in refused["reason"]
