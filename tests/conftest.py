"""Shared helpers: small job plans for engine tests, and the repository's paths."""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

import numpy as np

from sim.engine import ReplicateOutcome, simulate_replicate
from sim.montecarlo import replicate_seeds
from sim.plan import JobPlan

REPO = Path(__file__).resolve().parent.parent

BASE_PLAN = JobPlan(
    work_s=100 * 3600.0,
    interval_s=3600.0,
    checkpoint_write_s=300.0,
    detection_s=120.0,
    restart_s=300.0,
    restore_s=180.0,
    repair_mean_s=3600.0,
    servers=100,
    spare_servers=1000,
    failure_rate_per_server_s=1.0 / (100 * 10 * 3600.0),  # job MTBF 10 h
    swap_fraction=0.0,
    horizon_s=None,
)


def plan(**changes: object) -> JobPlan:
    """BASE_PLAN with some fields changed; ``job_mtbf_s`` sets the failure rate."""
    mtbf = changes.pop("job_mtbf_s", None)
    result = dataclasses.replace(BASE_PLAN, **changes)  # type: ignore[arg-type]
    if mtbf is not None:
        rate = 1.0 / (result.servers * float(mtbf))  # type: ignore[arg-type]
        result = dataclasses.replace(result, failure_rate_per_server_s=rate)
    return result


def simulate(p: JobPlan, replicates: int, seed: int = 1) -> list[ReplicateOutcome]:
    return [
        simulate_replicate(p, s, i, record_events=False)
        for i, s in enumerate(replicate_seeds(seed, replicates))
    ]


def mean_and_sem(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / np.sqrt(len(values))
