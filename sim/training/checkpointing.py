"""Checkpoint policies: small objects, chosen by name, that say what the next checkpoint is.

A checkpoint is a stall of the job followed by one or more restore points: ``storage`` (on the
shared store, survives anything), or ``memory`` (in host memory, replicated on a peer or not; lost
with its server unless a peer holds a copy). Asynchronous writes stall only for the snapshot and
become a storage point once persisted in the background; a failure before that loses them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sim.perf.analytic import daly_interval_s, young_interval_s


@dataclass(frozen=True)
class Costs:
    """What checkpointing costs, in seconds."""

    write_s: float  # synchronous write to the shared store (the stall)
    snapshot_s: float  # copy to host memory (the stall of async and in-memory checkpoints)
    job_mtbf_s: float  # the configured or derived mean time between failures of the job


@dataclass(frozen=True)
class Checkpoint:
    """The next checkpoint: how much training before it, the stall, and what it leaves."""

    interval_s: float  # training time before it; inf: never
    stall_s: float
    storage: bool = False  # a storage point right after the stall
    memory: bool = False  # a memory point right after the stall
    persist: bool = False  # a storage point once persisted in the background


class Policy(Protocol):
    def next(self, now: float) -> Checkpoint: ...
    def failed(self, now: float) -> None: ...


class Periodic:
    """A synchronous write every ``interval_s`` of training (fixed, Young, Daly)."""

    def __init__(self, interval_s: float, write_s: float) -> None:
        self._checkpoint = Checkpoint(interval_s, write_s, storage=True)

    def next(self, now: float) -> Checkpoint:
        return self._checkpoint

    def failed(self, now: float) -> None:
        return None


class Never(Periodic):
    """No checkpoint: a failure sends the job back to the start (``none``), or, under
    ``lossless``, loses nothing at all: the upper bound, as some reliability models count."""

    def __init__(self) -> None:
        super().__init__(math.inf, 0.0)


class Adaptive:
    """Daly's interval from an MTBF re-estimated online: the starting guess counts as
    ``prior_failures`` observations, then every failure seen refines it."""

    def __init__(self, write_s: float, mtbf_guess_s: float, prior_failures: float = 1.0) -> None:
        self._write_s = write_s
        self._guess_s = mtbf_guess_s
        self._prior = prior_failures
        self._failures = 0

    def mtbf_estimate_s(self, now: float) -> float:
        """Exposure over failures, the guess counting as ``prior_failures`` of its own."""
        return (self._prior * self._guess_s + now) / (self._prior + self._failures)

    def next(self, now: float) -> Checkpoint:
        interval = daly_interval_s(self._write_s, self.mtbf_estimate_s(now))
        return Checkpoint(interval, self._write_s, storage=True)

    def failed(self, now: float) -> None:
        self._failures += 1


class Async(Periodic):
    """Stall only for the snapshot to host memory; persist in the background."""

    def __init__(self, interval_s: float, snapshot_s: float) -> None:
        self._checkpoint = Checkpoint(interval_s, snapshot_s, persist=True)


class Multilevel:
    """Frequent in-memory checkpoints, every ``persist_every``-th also persisted to storage in the
    background."""

    def __init__(self, interval_s: float, snapshot_s: float, persist_every: int) -> None:
        self.interval_s = interval_s
        self.snapshot_s = snapshot_s
        self.every = persist_every
        self.count = 0  # checkpoints taken (the engine counts whole runs of them at once)

    def next(self, now: float) -> Checkpoint:
        self.count += 1
        persist = self.count % self.every == 0
        return Checkpoint(self.interval_s, self.snapshot_s, memory=True, persist=persist)

    def failed(self, now: float) -> None:
        return None


@dataclass(frozen=True)
class PolicySpec:
    """What the rest of the simulator needs to know of a policy, resolved once by name."""

    make: Callable[[float, Costs, float, int], Policy]  # (first interval, costs, guess, every)
    first_interval: Callable[[float, Costs, float], float]  # (configured interval, costs, guess)
    uses_interval: bool = False  # checkpoint.interval_min sets its interval
    needs_store: bool = False  # persists in the background through the shared store
    loses_work: bool = True  # False: a failure rolls nothing back (the upper bound)


def _configured(interval_s: float, costs: Costs, guess_s: float) -> float:
    return interval_s


def _never(interval_s: float, costs: Costs, guess_s: float) -> float:
    return math.inf


REGISTRY: dict[str, PolicySpec] = {
    "none": PolicySpec(lambda *_: Never(), _never),
    "fixed": PolicySpec(lambda t, c, *_: Periodic(t, c.write_s), _configured, uses_interval=True),
    "young": PolicySpec(
        lambda t, c, *_: Periodic(t, c.write_s),
        lambda t, c, g: young_interval_s(c.write_s, c.job_mtbf_s),
    ),
    "daly": PolicySpec(
        lambda t, c, *_: Periodic(t, c.write_s),
        lambda t, c, g: daly_interval_s(c.write_s, c.job_mtbf_s),
    ),
    "adaptive": PolicySpec(
        lambda t, c, g, _: Adaptive(c.write_s, g), lambda t, c, g: daly_interval_s(c.write_s, g)
    ),
    "async": PolicySpec(
        lambda t, c, *_: Async(t, c.snapshot_s), _configured, uses_interval=True, needs_store=True
    ),
    "multilevel": PolicySpec(
        lambda t, c, g, every: Multilevel(t, c.snapshot_s, every),
        _configured,
        uses_interval=True,
        needs_store=True,
    ),
    "lossless": PolicySpec(lambda *_: Never(), _never, loses_work=False),
}


def first_interval_s(policy: str, interval_s: float, costs: Costs, mtbf_guess_s: float) -> float:
    """The interval a policy starts with (the only one, but for ``adaptive``)."""
    return REGISTRY[policy].first_interval(interval_s, costs, mtbf_guess_s)


def make_policy(
    policy: str, interval_s: float, costs: Costs, mtbf_guess_s: float, persist_every: int
) -> Policy:
    """A fresh policy object for one replicate (``adaptive`` and ``multilevel`` keep state)."""
    spec = REGISTRY[policy]
    first = spec.first_interval(interval_s, costs, mtbf_guess_s)
    return spec.make(first, costs, mtbf_guess_s, persist_every)
