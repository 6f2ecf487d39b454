"""The serving engine's entry: one replicate of a fleet under its traffic, and the closed-form
latency of a lone request."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from sim.config import Config, MixConfig, RequestClassConfig, ServingConfig
from sim.des.draws import children
from sim.errors import ConfigError
from sim.perf.inference import StepModel, serving_of, step_model
from sim.serving.fleet import FleetOutcome, LatencyLimit, Routes, ServingFleet
from sim.serving.traffic import merged, traffic


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
    rng = np.random.default_rng(failure_seed)
    return ServingFleet([("", config, rng)], requests, limit).run()


def named_seed(seed: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """A stream of its own for a mixed fleet's class or group, keyed by its name: a class draws
    the same requests, and a group the same failures, whatever else the fleet holds."""
    return np.random.SeedSequence(
        seed.entropy, spawn_key=(*seed.spawn_key, zlib.crc32(name.encode()))
    )


def simulate_mix(
    config: Config, groups: dict[str, Config], seed: np.random.SeedSequence
) -> FleetOutcome:
    """One replicate of a mixed fleet (``config.mix``): each class's traffic from its own
    stream, each group's failures from its own, routed as ``mix.routing`` says."""
    mix, serving = config.mix, serving_of(config)
    assert mix is not None  # a mixed run
    traffic_seed, failure_seed = children(seed, 2)
    if serving.arrivals == "trace":  # the trace's class column labels each request
        requests = traffic(serving, np.random.default_rng(traffic_seed), list(mix.classes))
    else:
        requests = merged([
            traffic(class_serving(serving, klass),
                    np.random.default_rng(named_seed(traffic_seed, name)))
            for name, klass in mix.classes.items()
        ])  # fmt: skip
    names = list(mix.groups)
    order = None
    if mix.routing == "class_aware":
        order = tuple(
            tuple(names.index(g) for g in class_groups(mix, klass))
            for klass in mix.classes.values()
        )
    fleet = ServingFleet(
        [(n, groups[n], np.random.default_rng(named_seed(failure_seed, n))) for n in names],
        requests,
        routes=Routes(order, mix.spill_waiting, tuple(k.priority for k in mix.classes.values())),
    )  # fmt: skip
    return fleet.run()


def class_groups(mix: MixConfig, klass: RequestClassConfig) -> list[str]:
    """The groups a class's requests may go to: its own, in order, under class-aware routing
    (all when it names none); every group under class-blind routing."""
    return klass.groups if mix.routing == "class_aware" and klass.groups else list(mix.groups)


def class_serving(serving: ServingConfig, klass: RequestClassConfig) -> ServingConfig:
    """The run's serving settings with a class's rate, arrival profile and lengths."""
    return dataclasses.replace(
        serving, rate_per_s=serving.rate_per_s * klass.share, arrivals=klass.arrivals,
        diurnal_peak_h=klass.diurnal_peak_h, prompt_tokens=klass.prompt_tokens,
        output_tokens=klass.output_tokens,
        requests=None if serving.requests is None else round(serving.requests * klass.share),
    )  # fmt: skip


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
