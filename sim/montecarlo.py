"""Independent replicates from one seed, with a progress bar for runs that take a while."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from sim.engine import ReplicateOutcome, simulate_replicate
from sim.plan import JobPlan


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """Replicate i gets child i of ``SeedSequence(seed)``: the same numbers whatever the count of
    replicates, the process or the launcher."""
    return np.random.SeedSequence(seed).spawn(replicates)


def run_replicates(
    plan: JobPlan,
    *,
    seed: int,
    replicates: int,
    record_events: bool,
    progress: bool,
    workers: int = 1,
) -> list[ReplicateOutcome]:
    """Run the replicates, on ``workers`` processes when more than one (joblib); each replicate
    draws only from its own seed, so the numbers are the same however they are spread."""
    seeds = replicate_seeds(seed, replicates)
    outcomes: Iterable[ReplicateOutcome]
    if workers > 1:
        jobs = (
            delayed(simulate_replicate)(plan, s, i, record_events=record_events)
            for i, s in enumerate(seeds)
        )
        outcomes = Parallel(n_jobs=workers, return_as="generator")(jobs)
    else:
        outcomes = (
            simulate_replicate(plan, s, i, record_events=record_events) for i, s in enumerate(seeds)
        )
    bar = tqdm(
        outcomes,
        total=replicates,
        desc="replicates",
        unit="rep",
        file=sys.stderr,
        disable=None if progress else True,  # None: only on a terminal
        delay=1.0,  # appears only when the run takes more than a second
        leave=False,
    )
    return list(bar)
