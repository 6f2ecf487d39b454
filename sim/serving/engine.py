"""The serving engine's entry: one replicate of a fleet under its traffic, and the closed-form
latency of a lone request."""

from __future__ import annotations

import numpy as np

from sim.config import Config
from sim.des.draws import children
from sim.errors import ConfigError
from sim.perf.inference import StepModel, serving_of, step_model
from sim.serving.fleet import FleetOutcome, LatencyLimit, ServingFleet
from sim.serving.traffic import traffic


def simulate(
    config: Config, seed: np.random.SeedSequence, limit: LatencyLimit | None = None
) -> FleetOutcome:
    """One replicate; the traffic draws from its own stream, so fleets see the same requests.
    With a ``limit``, it stops as soon as the limit's latency percentile is sure to be missed."""
    serving = serving_of(config)
    traffic_seed, failure_seed = children(seed, 2)
    requests = traffic(serving, np.random.default_rng(traffic_seed))
    if not len(requests):
        raise ConfigError("serving.duration_s", serving.duration_s, f"no request arrives at "
                          f"{serving.rate_per_s:g} per second; raise serving.duration_s or "
                          "serving.rate_per_s")  # fmt: skip
    return ServingFleet(config, requests, np.random.default_rng(failure_seed), limit).run()


def unloaded_latency(config: Config) -> tuple[float, float]:
    """TTFT and TPOT of a lone request of the mean lengths: the closed-form step sum."""
    serving = serving_of(config)
    model = step_model(config)
    prompt = round(serving.prompt_tokens.mean)
    output = max(2, round(serving.output_tokens.mean))
    ttft = prefill_s(model, prompt, serving.max_batched_tokens)
    decode = model.decode_run(1, prompt)
    return ttft, decode.duration_s(output - 1) / (output - 1)


def prefill_s(model: StepModel, prompt: int, chunk: int) -> float:
    """A lone prompt prefilled in chunks of ``chunk`` tokens, one iteration each."""
    seconds, done = 0.0, 0
    while done < prompt:
        n = min(chunk, prompt - done)
        seconds += model.step_s(0, 0, n, n * (done + n / 2.0), done)
        done += n
    return seconds
