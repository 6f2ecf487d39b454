"""The serving fleet (sim.serving.fleet): failures retry or drop their requests and take a replica's
every pipeline stream, and the routers spread the requests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import mlperf
from hypothesis import given
from hypothesis import strategies as st

from sim.app.simulation import run_serving
from sim.outputs.serving_results import requests_frame
from sim.perf.inference import replica_memory
from sim.serving.engine import simulate
from sim.serving.fleet import LatencyLimit, ServingFleet
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
    fleet = ServingFleet([("", config, np.random.default_rng(1))], arrivals)
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


@given(
    values=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=300),
    limit=st.floats(0.0, 10.0),
    q=st.sampled_from([50.0, 90.0, 99.0]),
)
def test_a_run_stops_at_the_limit_only_when_the_percentile_already_misses_it(
    values: list[float], limit: float, q: float
) -> None:
    """Once misses_to_fail(n) of n values exceed the limit, numpy's percentile does too; with one
    miss fewer the value of the percentile's lower rank can be within (no smaller count works)."""
    rule = LatencyLimit(limit, limit, q)
    n, misses = len(values), sum(v > limit for v in values)
    if misses >= rule.misses_to_fail(n):
        assert np.percentile(values, q) > limit
    fewer = rule.misses_to_fail(n) - 1
    within = [0.0] * (n - fewer) + [limit + 1.0] * fewer
    assert np.percentile(within, q, method="lower") <= limit


@pytest.mark.slow
def test_a_run_abandoned_at_the_limit_misses_it_when_run_to_the_end() -> None:
    config = mlperf("serving.replicas=1", "serving.requests=3000", "serving.rate_per_s=100")
    seed = np.random.SeedSequence(0)
    limit = LatencyLimit(ttft_s=2.0, tpot_s=0.2)
    stopped, whole = simulate(config, seed, limit), simulate(config, seed)
    assert stopped.abandoned and not whole.abandoned
    assert stopped.end_s < whole.end_s / 2
    frame = requests_frame(whole, config.serving, 0)  # type: ignore[arg-type]
    assert np.percentile(frame["ttft_s"].dropna(), 99) > limit.ttft_s
    easy = LatencyLimit(ttft_s=1e9, tpot_s=1e9)
    assert not simulate(config, seed, easy).abandoned
