"""The lifecycle of one simulation: validate, plan, run the replicates, tabulate, write."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.app.capacity import capacity_table
from sim.app.mix import group_configs, mix_of
from sim.app.mix_search import cheapest, search, trials_frame
from sim.app.validation import validate
from sim.config import GROUPS, Config
from sim.des.draws import replicate_seeds
from sim.errors import ConfigError
from sim.outputs.mix_results import mix_replicate_row, mix_requests_frame, summarize_mix
from sim.outputs.results import (
    EventsWriter,
    Result,
    events_frame,
    replicates_frame,
    summarize_training,
    write_result,
)
from sim.outputs.serving_results import (
    ServingResult,
    replicate_row,
    requests_frame,
    summarize_serving,
)
from sim.outputs.summary import Summary
from sim.outputs.trace import chrome_trace, write_trace
from sim.perf.inference import serving_of
from sim.perf.memory import memory_per_device
from sim.serving.engine import simulate, simulate_mix
from sim.training.montecarlo import replicate_outcomes
from sim.training.plan import STALL_LIMIT, JobPlan
from sim.training.planning import plan_job
from sim.training.replicate import simulate_replicate

log = logging.getLogger(__name__)


def check_types(config: object) -> None:
    """A ``Config`` whose every field has its schema's type (one edited by hand in Python may
    not): refused in the CLI's one line, before anything runs."""
    if not isinstance(config, Config):
        raise TypeError(f"sim.run needs a sim.Config (from sim.load_config), not a "
                        f"{type(config).__name__}")  # fmt: skip
    try:
        OmegaConf.structured(config)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", "") or "config"
        group = next((g for g, t in GROUPS.items() if t is getattr(error, "object_type", None)), "")
        key = f"{group}.{key}" if group and not key.startswith(f"{group}.") else key
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(key, getattr(error, "value", None), reason) from None


def run(
    config: Config, out_dir: Path | None = None, *, scenario: str = "custom"
) -> Result | ServingResult:
    """Simulate ``config`` and return its result; also write the files when ``out_dir`` is given.
    A configuration with ``serving`` set serves requests (``ServingResult``) instead of training.

    Raises ``ConfigError`` on a value the simulator cannot use.
    """
    started = time.perf_counter()
    check_types(config)
    validate(config)
    if config.serving is not None:
        served = (
            run_serving(config, scenario=scenario, progress=config.sim.progress)
            if config.mix is None
            else run_mix(config, scenario=scenario)
        )
        if out_dir is not None:
            served.write(out_dir)
        return served
    plan, speed = plan_job(config)
    memory = memory_per_device(config)
    finished = replicate_outcomes(
        plan,
        seed=config.sim.seed,
        replicates=config.sim.replicates,
        record_events=config.sim.record_events,
        progress=config.sim.progress,
        workers=config.sim.workers,
    )
    # A run that writes its files streams the events there as replicates finish; in memory
    # otherwise (the Python API's result.events).
    writer = EventsWriter(out_dir) if out_dir is not None else None
    outcomes = [writer.add(o) for o in finished] if writer else list(finished)
    events_file = writer.close() if writer else None
    stalled = sum(not o.finished for o in outcomes)
    limited = sum(o.engine_events >= plan.max_events > 0 for o in outcomes)
    if limited:
        log.warning(
            "%d of %d replicates stopped unfinished at sim.max_events=%d events; "
            "completed_fraction says how many finished",
            limited,
            len(outcomes),
            plan.max_events,
        )
    elif stalled and plan.horizon_s is None:
        log.warning(
            "%d of %d replicates did not finish within %.0fx their failure-free time; check the "
            "failure rate, spares and repair time",
            stalled,
            len(outcomes),
            STALL_LIMIT,
        )
    replicates = replicates_frame(outcomes, config, plan)
    summary = summarize_training(scenario, config, plan, speed, memory, replicates)
    events = None if events_file else events_frame(outcomes)
    result = Result(summary, replicates, events_table=events, events_file=events_file)
    log.info("simulated %d replicates in %.2f s", len(outcomes), time.perf_counter() - started)
    if out_dir is not None:
        if config.sim.trace:
            write_trace(replicate_trace(plan, config.sim.seed), out_dir)
        write_result(result, out_dir)
    return result


def replicate_trace(plan: JobPlan, seed: int, index: int = 0) -> dict[str, Any]:
    """The Chrome trace of replicate ``index`` (simulated again: same seed, same numbers)."""
    seeds = replicate_seeds(seed, index + 1)
    outcome = simulate_replicate(plan, seeds[index], index, record_events=True, trace=True)
    return chrome_trace(outcome.timeline, outcome.events, index)


def run_serving(
    config: Config, *, scenario: str = "custom", progress: bool = False
) -> ServingResult:
    """Simulate ``sim.replicates`` replicates (or the capacity search when ``rates_per_s`` is
    set) and summarise them."""
    started = time.perf_counter()
    serving = serving_of(config)
    seeds = replicate_seeds(config.sim.seed, config.sim.replicates)
    frames, rows = [], []
    for i, seed in enumerate(seeds):
        outcome = simulate(config, seed)
        frame = requests_frame(outcome, serving, i)
        frames.append(frame)
        rows.append(replicate_row(config, outcome, frame, i))
    requests = pd.concat(frames, ignore_index=True)
    replicates = pd.DataFrame(rows)
    capacity = capacity_table(config, progress=progress) if serving.rates_per_s else None
    summary = summarize_serving(scenario, config, replicates, requests)
    log.info("simulated %d serving replicates in %.2f s", len(rows), time.perf_counter() - started)
    return ServingResult(summary, replicates, requests, capacity)


def run_mix(config: Config, *, scenario: str = "custom") -> ServingResult:
    """Simulate ``sim.replicates`` replicates of a mixed fleet and summarise them per class and
    per group; with ``mix.search``, the cheapest replica counts that meet every class's target,
    with the table of the mixes tried."""
    if config.mix is not None and config.mix.search:
        return _search_mix(config, scenario)
    started = time.perf_counter()
    groups = group_configs(config)
    frames, rows = [], []
    for i, seed in enumerate(replicate_seeds(config.sim.seed, config.sim.replicates)):
        outcome = simulate_mix(config, groups, seed)
        frame = mix_requests_frame(outcome, config, groups, i)
        frames.append(frame)
        rows.append(mix_replicate_row(config, groups, outcome, frame, i))
    requests = pd.concat(frames, ignore_index=True)
    replicates = pd.DataFrame(rows)
    summary = summarize_mix(scenario, config, groups, replicates, requests)
    log.info(
        "simulated %d mixed-fleet replicates in %.2f s", len(rows), time.perf_counter() - started
    )
    return ServingResult(summary, replicates, requests)


def _search_mix(config: Config, scenario: str) -> ServingResult:
    started = time.perf_counter()
    plain = dataclasses.replace(config, mix=dataclasses.replace(mix_of(config), search=False))
    results: dict[tuple[int, ...], ServingResult] = {}

    def evaluate(candidate: Config) -> Summary:
        counts = tuple(g.replicas for g in mix_of(candidate).groups.values())
        quiet = dataclasses.replace(
            candidate, sim=dataclasses.replace(candidate.sim, progress=False)
        )
        results[counts] = run_mix(quiet, scenario=scenario)
        return results[counts].summary

    trials = search(plain, evaluate, progress=config.sim.progress)
    best = cheapest(trials)
    table = trials_frame(plain, trials)
    names = list(mix_of(config).groups)
    if best is None:
        ranges = ", ".join(f"{n}=0..{g.max_replicas}" for n, g in mix_of(config).groups.items())
        raise ConfigError("mix.groups.*.max_replicas", ranges, f"no mix meets every "
                          f"class's target ({len(results)} simulated); raise a group's "
                          "max_replicas")  # fmt: skip
    chosen = results[best.counts]
    summary = Summary(dict(chosen.summary.items()) | {
        "search_candidates": len(trials),
        "search_simulations": len(results),
        "search_best": " ".join(f"{n}={c}" for n, c in zip(names, best.counts, strict=True)),
        "search_seconds": time.perf_counter() - started,
    })  # fmt: skip
    log.info("mix search: %d candidates, %d simulated, in %.1f s", len(trials), len(results),
             time.perf_counter() - started)  # fmt: skip
    return ServingResult(summary, chosen.replicates, chosen.requests, trials=table)
