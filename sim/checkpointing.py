"""Checkpoint policies: small objects, chosen by name, that say what the next checkpoint is.

A checkpoint is a stall of the job followed by one or more restore points: ``storage`` (on the
shared store, survives anything), or ``memory`` (in host memory, replicated on a peer or not; lost
with its server unless a peer holds a copy). Asynchronous writes stall only for the snapshot and
become a storage point once persisted in the background; a failure before that loses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from sim.analytic import daly_interval_s, young_interval_s


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
        self._interval_s = interval_s
        self._snapshot_s = snapshot_s
        self._every = persist_every
        self._count = 0

    def next(self, now: float) -> Checkpoint:
        self._count += 1
        persist = self._count % self._every == 0
        return Checkpoint(self._interval_s, self._snapshot_s, memory=True, persist=persist)

    def failed(self, now: float) -> None:
        return None


POLICIES = ("none", "fixed", "young", "daly", "adaptive", "async", "multilevel", "lossless")


def first_interval_s(policy: str, interval_s: float, costs: Costs, mtbf_guess_s: float) -> float:
    """The interval a policy starts with (the only one, but for ``adaptive``)."""
    if policy in ("none", "lossless"):
        return math.inf
    if policy == "young":
        return young_interval_s(costs.write_s, costs.job_mtbf_s)
    if policy == "daly":
        return daly_interval_s(costs.write_s, costs.job_mtbf_s)
    if policy == "adaptive":
        return daly_interval_s(costs.write_s, mtbf_guess_s)
    return interval_s


def make_policy(
    policy: str, interval_s: float, costs: Costs, mtbf_guess_s: float, persist_every: int
) -> Policy:
    """A fresh policy object for one replicate (``adaptive`` and ``multilevel`` keep state)."""
    first = first_interval_s(policy, interval_s, costs, mtbf_guess_s)
    if policy in ("none", "lossless"):
        return Never()
    if policy == "adaptive":
        return Adaptive(costs.write_s, mtbf_guess_s)
    if policy == "async":
        return Async(first, costs.snapshot_s)
    if policy == "multilevel":
        return Multilevel(first, costs.snapshot_s, persist_every)
    return Periodic(first, costs.write_s)
