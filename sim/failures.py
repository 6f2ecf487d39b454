"""Failure sources: SimPy processes that interrupt the job at random times."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import simpy


@dataclass(frozen=True)
class Failure:
    """One unexpected interruption, as the job sees it."""

    cause: str
    needs_swap: bool  # the failed server must be replaced by a spare and repaired
    server: int  # index of the failed server in the job, -1 when the failure is job-wide


class Interruptible(Protocol):
    def fail(self, failure: Failure) -> None: ...


def node_rate_failures(
    env: simpy.Environment,
    job: Interruptible,
    *,
    servers: int,
    rate_per_server_s: float,
    swap_fraction: float,
    rng: np.random.Generator,
) -> Generator[simpy.Event, Any, None]:
    """Superposition of ``servers`` independent exponential streams: one exponential stream at
    ``servers`` times the rate, whose failures land on a uniformly drawn server. The clock runs
    whenever the job holds its servers, recovery included."""
    mean_gap_s = 1.0 / (servers * rate_per_server_s)
    while True:
        yield env.timeout(rng.exponential(mean_gap_s))
        job.fail(
            Failure(
                cause="node_failure",
                needs_swap=bool(rng.random() < swap_fraction),
                server=int(rng.integers(servers)),
            )
        )
