"""The job's books: where its time went (the ledger's buckets and the event log), the training
wall time per phase, and the checkpoints it wrote.

Everything here is told the times it books (``now`` among them), so it needs no SimPy clock and is
tested with plain numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from sim.training.accounting import Bucket, Ledger
from sim.training.events import EventLog

Steps = tuple[tuple[Bucket, float], ...]  # consecutive fixed lengths of time, each in its bucket


class Cycle(NamedTuple):
    """One periodic checkpoint cycle at the speed of the moment."""

    interval_s: float  # training work between checkpoints
    write_s: float  # the stall of one checkpoint
    train_wall_s: float  # wall time of the interval's training
    straggler: float
    data: float
    memory: bool  # multilevel: each checkpoint is an in-memory point
    persist_every: int  # every how many checkpoints one is persisted (0: none)
    first_persist: int  # which of the run's checkpoints (from 1) is persisted first


class Books:
    """Books the job's activities, whole or in part, into ``ledger`` and ``log``."""

    def __init__(self, ledger: Ledger, log: EventLog, phases: int) -> None:
        self.ledger = ledger
        self.log = log
        self.phase_training_s = [0.0] * phases  # wall time spent training in each phase
        self.checkpoints = 0
        self.intervals_s = 0.0  # sum of the intervals used, for their mean
        self.last_interval_s = math.nan

    def book_training(
        self, wall_s: float, straggler: float, elastic: float, data: float, phase: int
    ) -> None:
        self.phase_training_s[phase] += wall_s
        self.ledger.train(wall_s, straggler, elastic, data)

    def book_stall(self, start: float, stall_s: float) -> float:
        """A checkpoint's stall (or the part of it spent) from ``start``; returns it."""
        if stall_s > 0.0:
            self.ledger.seconds[Bucket.CHECKPOINT_STALL] += stall_s
            if self.log.enabled:
                self.log.record(start, "checkpoint", "", -1, stall_s)
        return stall_s

    def book_cycles(self, start: float, cycles: int, cycle: Cycle, phase: int) -> None:
        """Whole periodic cycles from ``start``: their training, their stalls as one run of log
        rows, and their checkpoints."""
        interval, write_s, train_wall = cycle.interval_s, cycle.write_s, cycle.train_wall_s
        self.book_training(cycles * train_wall, cycle.straggler, 1.0, cycle.data, phase)
        self.ledger.seconds[Bucket.CHECKPOINT_STALL] += cycles * write_s
        if write_s > 0.0:
            cycle_wall = train_wall + write_s
            self.log.record_every(start + train_wall, cycle_wall, cycles, "checkpoint", write_s)
        self.count_checkpoints(cycles, cycles * interval, interval)

    def count_checkpoints(self, n: int, work_s: float, interval_s: float) -> None:
        """``n`` checkpoints written after ``work_s`` of training, the last at ``interval_s``."""
        self.checkpoints += n
        self.intervals_s += work_s
        self.last_interval_s = interval_s

    def book_steps(self, steps: Steps, started: float, now: float) -> None:
        """Book the part of consecutive steps begun at ``started`` spent by ``now``."""
        at, seconds, log = started, self.ledger.seconds, self.log
        for bucket, duration in steps:
            spent = min(duration, now - at)
            seconds[bucket] += spent
            if duration > 0.0 and log.enabled:
                log.record(at, bucket.value, "", -1, spent)
            at += spent
            if spent < duration:
                break

    def book_wait(self, start: float, now: float) -> None:
        """A wait for a spare server from ``start`` to ``now``."""
        waited = now - start
        self.ledger.add(Bucket.WAITING_FOR_SERVERS, waited)
        self.log.record(start, Bucket.WAITING_FOR_SERVERS.value, "", -1, waited)
