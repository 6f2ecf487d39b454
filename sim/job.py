"""The training job: a SimPy process that trains, checkpoints, fails, recovers and rolls back.

Between events, progress is simply elapsed time at full speed; the job only wakes at state changes
(segment end, checkpoint end, failure, recovery steps), never once per training step.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Generator
from typing import Any

import simpy

from sim.accounting import Bucket, Ledger
from sim.cluster import SparePool
from sim.events import EventLog
from sim.failures import Failure
from sim.plan import JobPlan

Steps = Generator[simpy.Event, Any, None]
STOP = object()  # interrupt cause that ends the job at the horizon


class TrainingJob:
    """One synchronous data-parallel job; failure sources call :meth:`fail` to interrupt it."""

    def __init__(
        self,
        env: simpy.Environment,
        plan: JobPlan,
        *,
        spares: SparePool,
        ledger: Ledger,
        log: EventLog,
    ) -> None:
        self.env = env
        self.plan = plan
        self.spares = spares
        self.ledger = ledger
        self.log = log
        self.remaining_s = plan.work_s  # training time not yet committed by a checkpoint
        self.missing_servers = 0  # failed servers not yet replaced by a spare
        self.interruptions: Counter[str] = Counter()
        self.process = env.process(self._run())

    @property
    def done(self) -> bool:
        return self.remaining_s <= 0.0

    def fail(self, failure: Failure) -> None:
        if self.process.is_alive:
            self.process.interrupt(failure)

    def stop(self) -> None:
        """End the job where it stands (the horizon), booking the phase in progress."""
        if self.process.is_alive:
            self.process.interrupt(STOP)

    def _run(self) -> Steps:
        recovering = False
        while not self.done:
            try:
                if recovering:
                    yield from self._recover()
                    recovering = False
                else:
                    yield from self._train_segment()
            except simpy.Interrupt as interrupt:
                if not isinstance(interrupt.cause, Failure):  # STOP: the horizon
                    return
                self._on_failure(interrupt.cause)
                recovering = True
        self.log.record(self.env.now, "training_done", "", -1, 0.0)

    def _spend(self, bucket: Bucket, duration_s: float) -> Steps:
        """Spend time in one bucket; an interrupt still books the part already spent."""
        start = self.env.now
        try:
            yield self.env.timeout(duration_s)
        finally:
            spent = self.env.now - start
            self.ledger.add(bucket, spent)
            self.log.record(start, bucket.value, "", -1, spent)

    def _train_segment(self) -> Steps:
        """Train to the next checkpoint and write it: one timeout for both, split on failure."""
        segment_s = min(self.plan.interval_s, self.remaining_s)
        write_s = 0.0 if math.isinf(self.plan.interval_s) else self.plan.checkpoint_write_s
        start = self.env.now
        try:
            yield self.env.timeout(segment_s + write_s)
        except simpy.Interrupt:
            elapsed = self.env.now - start
            self._book_segment(start, min(elapsed, segment_s), max(elapsed - segment_s, 0.0))
            raise
        self._book_segment(start, segment_s, write_s)
        self.remaining_s -= segment_s
        self.ledger.commit()

    def _book_segment(self, start: float, trained_s: float, stall_s: float) -> None:
        self.ledger.add(Bucket.PRODUCTIVE, trained_s)
        if stall_s > 0.0:
            self.ledger.add(Bucket.CHECKPOINT_STALL, stall_s)
            self.log.record(start + trained_s, "checkpoint", "", -1, stall_s)

    def _on_failure(self, failure: Failure) -> None:
        self.interruptions[failure.cause] += 1
        lost_s = self.ledger.roll_back()
        self.log.record(self.env.now, "failure", failure.cause, failure.server, lost_s)
        if failure.needs_swap:
            self.missing_servers += 1
            self.spares.send_to_repair(failure.server)

    def _recover(self) -> Steps:
        """Detection, a spare for every failed server, restart, restore. A failure at any point
        starts recovery over (the servers already swapped in stay)."""
        yield from self._spend(Bucket.DETECTION, self.plan.detection_s)
        while self.missing_servers > 0:
            yield from self._acquire_spare()
        yield from self._spend(Bucket.RESTART, self.plan.restart_s)
        yield from self._spend(Bucket.RESTORE, self.plan.restore_s)

    def _acquire_spare(self) -> Steps:
        start = self.env.now
        request = self.spares.request()
        try:
            yield request
        finally:
            if request.triggered:  # handed over, even if a failure struck at the same instant
                self.missing_servers -= 1
            else:
                request.cancel()
            waited = self.env.now - start
            self.ledger.add(Bucket.WAITING_FOR_SERVERS, waited)
            self.log.record(start, Bucket.WAITING_FOR_SERVERS.value, "", -1, waited)
