"""One replicate of a serving fleet (sim.serving.engine): a lone request against the closed form,
Little's law on the simulated queue, and the same seed giving the same requests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import fixed_lengths, mlperf

from sim.app.simulation import run_serving
from sim.outputs.serving_results import requests_frame
from sim.perf.inference import step_model
from sim.serving.engine import prefill_s, simulate


@pytest.mark.parametrize("prompt", [300, 20_000])  # one prefill chunk, and three
def test_an_unloaded_server_matches_the_closed_form_step_sum(prompt: int) -> None:
    config = mlperf("serving.arrivals=offline", "serving.requests=1", "serving.replicas=1",
                    *fixed_lengths(prompt, 120), "serving.prompt_tokens.max=20000")  # fmt: skip
    outcome = simulate(config, np.random.SeedSequence(0))
    (request,) = outcome.requests
    step = step_model(config)
    ttft = prefill_s(step, prompt, 8192)
    decode = sum(step.step_s(1, prompt + i) for i in range(119))
    assert request.first_token_s == pytest.approx(ttft, rel=1e-12)
    assert request.finish_s - request.first_token_s == pytest.approx(decode, rel=1e-12)


@pytest.mark.slow
def test_littles_law_holds_on_the_simulated_queue() -> None:
    """Mean requests in the system (time average, sampled) = arrival rate x mean time in it."""
    config = mlperf("serving.rate_per_s=40", "serving.requests=null", "serving.duration_s=1200")
    outcome = simulate(config, np.random.SeedSequence(3))
    frame = requests_frame(outcome, config.serving, 0)  # type: ignore[arg-type]
    start, end = 200.0, 1000.0  # steady state: away from the empty start and the drain
    arrivals, finishes = frame["arrival_s"].to_numpy(), frame["finish_s"].to_numpy()
    probes = np.random.default_rng(1).uniform(start, end, 4000)
    in_system = ((arrivals[:, None] <= probes) & (finishes[:, None] > probes)).sum(axis=0).mean()
    window = frame[(frame["arrival_s"] >= start) & (frame["arrival_s"] < end)]
    rate = len(window) / (end - start)
    assert in_system == pytest.approx(rate * window["e2e_s"].mean(), rel=0.02)


@pytest.mark.slow
def test_same_seed_same_requests_and_latencies() -> None:
    config = mlperf("serving.requests=400")
    first = run_serving(config).requests
    again = run_serving(config).requests
    pd.testing.assert_frame_equal(first, again)
    seed = np.random.SeedSequence(0)  # one SeedSequence object twice: spawn would move on
    once, twice = simulate(config, seed), simulate(config, seed)
    assert [r.finish_s for r in once.requests] == [r.finish_s for r in twice.requests]
    other = run_serving(mlperf("serving.requests=400", "sim.seed=1")).requests
    assert not first["arrival_s"].equals(other["arrival_s"])


def test_closed_arrivals_keep_the_concurrency_in_flight() -> None:
    """Three clients: the first three requests at 0, every later one sent the moment an earlier
    one ends, so three are in the system until the requests run out."""
    config = mlperf("serving.arrivals=closed", "serving.concurrency=3", "serving.requests=30",
                    "serving.replicas=1")  # fmt: skip
    outcome = simulate(config, np.random.SeedSequence(0))
    arrivals = sorted(r.arrival_s for r in outcome.requests)
    finishes = sorted(r.finish_s for r in outcome.requests)
    assert arrivals[:3] == [0.0, 0.0, 0.0]
    assert arrivals[3:] == pytest.approx(finishes[:27], rel=0, abs=0)
    for t in arrivals:
        in_system = sum(r.arrival_s <= t < r.finish_s for r in outcome.requests)
        assert in_system == 3 or t >= arrivals[-1]


def test_one_client_sees_the_unloaded_latency_each_time() -> None:
    config = mlperf("serving.arrivals=closed", "serving.concurrency=1", "serving.requests=4",
                    "serving.replicas=1", *fixed_lengths(300, 50))  # fmt: skip
    outcome = simulate(config, np.random.SeedSequence(0))
    step = step_model(config)
    decode = sum(step.step_s(1, 300 + i) for i in range(49))
    for request in outcome.requests:
        assert request.first_token_s - request.arrival_s == pytest.approx(
            prefill_s(step, 300, 8192), rel=1e-12
        )
        assert request.finish_s - request.first_token_s == pytest.approx(decode, rel=1e-12)
