"""Independent replicates from one seed, with a progress bar for runs that take a while."""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from sim.engine import ReplicateOutcome, simulate_replicate
from sim.plan import JobPlan


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """Replicate i gets child i of ``SeedSequence(seed)``: the same numbers whatever the count of
    replicates, the process or the launcher."""
    return np.random.SeedSequence(seed).spawn(replicates)


def run_replicates(
    plan: JobPlan, *, seed: int, replicates: int, record_events: bool, progress: bool
) -> list[ReplicateOutcome]:
    seeds = replicate_seeds(seed, replicates)
    bar = tqdm(
        enumerate(seeds),
        total=replicates,
        desc="replicates",
        unit="rep",
        file=sys.stderr,
        disable=None if progress else True,  # None: only on a terminal
        delay=1.0,  # appears only when the run takes more than a second
        leave=False,
    )
    return [simulate_replicate(plan, s, i, record_events=record_events) for i, s in bar]
