"""One replicate: build the SimPy world from a job plan, run it, collect what happened."""

from __future__ import annotations

import contextlib
import gc
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from sim.des.draws import Sampler, children
from sim.des.environment import CountingEnvironment, EventLimit, TracingEnvironment
from sim.training.accounting import Bucket, Ledger
from sim.training.checkpointing import REGISTRY
from sim.training.cluster import Roster, SparePool
from sim.training.events import EventLog, EventRow, EventRun
from sim.training.failures import start_failures, start_planned, start_stragglers
from sim.training.job import TrainingJob
from sim.training.plan import JobPlan
from sim.training.storage import SharedStore
from sim.training.timeline import Slice, Timeline
from sim.units import SECONDS_PER_DAY


@dataclass(frozen=True)
class ReplicateOutcome:
    """What one replicate measured."""

    index: int
    wall_s: float
    finished: bool
    seconds: dict[Bucket, float]
    interruptions: Counter[str]
    planned: int
    checkpoints: int
    mean_interval_s: float
    last_interval_s: float
    restores: dict[str, int]
    persists_lost: int
    phase_training_s: list[float]
    retired: int
    engine_events: int
    events: list[EventRow]
    event_runs: list[EventRun]  # periodic rows (checkpoints), expanded by events_table
    timeline: list[Slice] = field(default_factory=list)  # with trace=True: the bucket slices


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector: a replicate allocates an event and a few tuples per state
    change, nearly all freed by reference counting, and the collector's passes over them were 9%
    of a replicate's time. Cycles left behind are collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def simulate_replicate(
    plan: JobPlan,
    seed: np.random.SeedSequence,
    index: int,
    *,
    record_events: bool = True,
    trace: bool = False,
) -> ReplicateOutcome:
    """Run one independent replicate. ``seed`` is this replicate's own SeedSequence; each component
    draws from its own child stream (roster, repairs, stragglers, then one per failure category), so
    adding a component does not shift the others' numbers."""
    fleet_seed, repair_seed, straggler_seed, *category_seeds = children(
        seed, 3 + len(plan.categories)
    )
    ledger = Ledger()
    timeline = Timeline(ledger) if trace else None
    env = (
        CountingEnvironment(plan.max_events)
        if timeline is None
        else TracingEnvironment(plan.max_events, lambda: timeline.read(env.now))
    )
    log = EventLog(record_events)
    roster = Roster(
        plan.servers,
        plan.spare_servers,
        lemon_fraction=plan.lemon_fraction,
        lemon_multiplier=plan.lemon_multiplier,
        rng=np.random.default_rng(fleet_seed),
    )
    spares = SparePool(
        env,
        spare_ids=list(range(plan.servers, plan.servers + plan.spare_servers)),
        repair_time=Sampler(
            plan.repair_distribution,
            plan.repair_mean_s,
            np.random.default_rng(repair_seed),
            plan.repair_shape,
        ),
        repair_slots=plan.repair_slots,
        retire_after=plan.retire_after,
        roster=roster,
        log=log,
    )
    store = (
        SharedStore(env, plan.persist_bytes_per_s) if REGISTRY[plan.policy].needs_store else None
    )
    job = TrainingJob(env, plan, roster=roster, spares=spares, ledger=ledger, log=log, store=store)
    for category, category_seed in zip(plan.categories, category_seeds, strict=True):
        start_failures(env, job, roster, category, np.random.default_rng(category_seed))
    if plan.planned_per_day > 0:
        start_planned(env, job, SECONDS_PER_DAY / plan.planned_per_day)
    if plan.straggler_rate_per_server_s > 0:
        start_stragglers(
            env,
            job,
            roster,
            rate_per_server_s=plan.straggler_rate_per_server_s,
            speed=plan.straggler_speed,
            duration_mean_s=plan.straggler_duration_s,
            rng=np.random.default_rng(straggler_seed),
        )
    with contextlib.suppress(EventLimit), _no_cyclic_gc():  # an event limit ends it where it stands
        env.run(until=env.any_of([job.finished, env.timeout(plan.limit_s)]))
    job.stop()
    spares.settle()
    if timeline is not None:
        timeline.read(env.now)
    return ReplicateOutcome(
        index=index,
        wall_s=env.now,
        finished=job.done,
        seconds=dict(ledger.seconds),
        interruptions=job.interruptions,
        planned=job.planned,
        checkpoints=job.checkpoints,
        mean_interval_s=job.intervals_s / job.checkpoints if job.checkpoints else math.nan,
        last_interval_s=job.last_interval_s,
        restores=dict(job.restores),
        persists_lost=job.persists_lost,
        phase_training_s=list(job.phase_training_s),
        retired=spares.retired,
        engine_events=env.processed,
        events=log.rows,
        event_runs=log.runs,
        timeline=timeline.slices if timeline is not None else [],
    )
