"""Independent replicates from one seed, with a progress bar for runs that take a while."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from joblib import Parallel, delayed
from tqdm import tqdm

from sim.des.draws import replicate_seeds
from sim.training.plan import JobPlan
from sim.training.replicate import ReplicateOutcome, simulate_replicate

T = TypeVar("T")


def replicate_outcomes(
    plan: JobPlan,
    *,
    seed: int,
    replicates: int,
    record_events: bool,
    progress: bool,
    workers: int = 1,
) -> Iterator[ReplicateOutcome]:
    """The replicates as they finish, in order, on ``workers`` processes when more than one
    (joblib); each replicate draws only from its own seed, so the numbers are the same however
    they are spread. A generator, so a caller can write each one's events and let them go."""
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
    if progress and not sys.stderr.isatty():  # a log, not a terminal: a line now and then
        yield from progress_lines(outcomes, replicates, "replicates")
        return
    yield from tqdm(
        outcomes,
        total=replicates,
        desc="replicates",
        unit="rep",
        file=sys.stderr,
        disable=not progress,
        delay=1.0,  # appears only when the run takes more than a second
        leave=False,
    )


def progress_lines(items: Iterable[T], total: int, what: str, every_s: float = 5.0) -> Iterator[T]:
    """Pass ``items`` through, writing ``what: done/total`` to stderr every ``every_s`` seconds
    (for logs and CI, where a bar's carriage returns would pile up)."""
    started = last = time.monotonic()
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= every_s and done < total:
            print(f"{what}: {done}/{total} after {now - started:.0f} s", file=sys.stderr)
            last = now
