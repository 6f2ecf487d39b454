"""The serving fleet (sim.serving.fleet): failures retry or drop their requests and take a replica's
every pipeline stream, and the routers spread the requests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import mlperf

from sim.app.simulation import run_serving
from sim.perf.inference import replica_memory
from sim.serving.fleet import ServingFleet
from sim.serving.traffic import traffic


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["retry", "drop"])
def test_failed_replicas_retry_or_drop_their_requests(policy: str) -> None:
    config = mlperf(
        "failures=node_rate", "failures.rate_per_1000_server_days=2e6", "recovery.restart_s=5",
        "serving.load_weights_s=5", "recovery.detection_s=1", f"serving.on_failure={policy}",
        "serving.requests=2000",
    )  # fmt: skip
    summary = run_serving(config).summary
    frame = run_serving(config).requests
    assert summary["failures"] > 0
    assert summary["availability"] < 1.0
    if policy == "retry":
        assert summary["retried"] > 0 and summary["dropped"] == 0
        assert frame["finish_s"].notna().all()
    else:
        assert summary["dropped"] > 0 and frame.loc[frame["dropped"], "ttft_s"].isna().all()
        assert summary["slo_attainment"] <= 1 - summary["dropped"] / summary["requests"]


def test_a_failure_takes_every_micro_batch_stream_of_its_replica() -> None:
    config = mlperf(
        "serving.tp=1", "serving.pp=2", "serving.replicas=4", "failures=node_rate",
        "failures.rate_per_1000_server_days=2e6", "recovery.restart_s=5",
        "serving.load_weights_s=5", "recovery.detection_s=1", "serving.requests=2000",
    )  # fmt: skip
    arrivals = traffic(config.serving, np.random.default_rng(0))
    fleet = ServingFleet(config, arrivals, np.random.default_rng(1))
    assert len(fleet.replicas) == 8
    assert fleet.replicas[0].kv_tokens == replica_memory(config).kv_tokens // 2
    outcome = fleet.run()
    assert outcome.failures > 0
    # One server holds all four replicas (2 devices each): every failure downs each of them
    # once, counted per replica, never per stream.
    assert outcome.failures % 4 == 0
    assert not any(math.isnan(r.finish_s) for r in outcome.requests)  # retried, all finish
    assert {r.replica for r in outcome.requests} == {0, 1, 2, 3}  # replicas, not their streams


@pytest.mark.slow
@pytest.mark.parametrize("router", ["round_robin", "least_loaded"])
def test_routers_spread_the_requests(router: str) -> None:
    frame = run_serving(mlperf(f"serving.router={router}", "serving.requests=800")).requests
    counts = frame["replica"].value_counts()
    assert len(counts) == 4 and counts.min() > 0.2 * 800
