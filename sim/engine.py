"""One replicate: build the SimPy world from a job plan, run it, collect what happened."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import simpy

from sim.accounting import Bucket, Ledger
from sim.cluster import SparePool
from sim.events import EventLog, EventRow
from sim.failures import node_rate_failures
from sim.job import TrainingJob
from sim.plan import JobPlan


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (the engine's unit of cost)."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


@dataclass(frozen=True)
class ReplicateOutcome:
    """What one replicate measured."""

    index: int
    wall_s: float
    finished: bool
    seconds: dict[Bucket, float]
    interruptions: Counter[str]
    engine_events: int
    events: list[EventRow]


def simulate_replicate(
    plan: JobPlan, seed: np.random.SeedSequence, index: int, *, record_events: bool = True
) -> ReplicateOutcome:
    """Run one independent replicate. ``seed`` is this replicate's own SeedSequence; each component
    draws from its own child stream, so adding a component does not shift the others' numbers."""
    failure_seed, repair_seed = seed.spawn(2)
    env = CountingEnvironment()
    ledger = Ledger()
    log = EventLog(record_events)
    spares = SparePool(
        env,
        spares=plan.spare_servers,
        repair_mean_s=plan.repair_mean_s,
        rng=np.random.default_rng(repair_seed),
        log=log,
    )
    job = TrainingJob(env, plan, spares=spares, ledger=ledger, log=log)
    env.process(
        node_rate_failures(
            env,
            job,
            servers=plan.servers,
            rate_per_server_s=plan.failure_rate_per_server_s,
            swap_fraction=plan.swap_fraction,
            rng=np.random.default_rng(failure_seed),
        )
    )
    env.run(until=env.any_of([job.process, env.timeout(plan.limit_s)]))
    job.stop()
    env.run(until=job.process)
    return ReplicateOutcome(
        index=index,
        wall_s=env.now,
        finished=job.done,
        seconds=dict(ledger.seconds),
        interruptions=job.interruptions,
        engine_events=env.processed,
        events=log.rows,
    )
