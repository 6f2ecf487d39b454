"""The job's recovery from a failure: detection and diagnosis, a spare for every lost server (or,
elastic, training on with fewer replicas), restart and restore, and the training after it in the
same wait when nothing it needs can change meanwhile.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, cast

from sim.training.accounting import Bucket
from sim.training.activity import PLANNED, SPEED, Settle
from sim.training.books import Steps
from sim.training.failures import Failure
from sim.training.restore_points import MEMORY, STORAGE

if TYPE_CHECKING:
    from sim.training.job import TrainingJob

_DURATION = itemgetter(1)  # of a step


def _steps(*steps: tuple[Bucket, float]) -> Steps:
    """The steps that take time: one of no length books nothing, yet costs a pass each time
    a recovery is booked."""
    return tuple(step for step in steps if step[1] > 0.0)


class Recovery:
    """Recovers the job from its failures, with the spares and repairs of its roster."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.env = job.env
        self.activity = job.activity
        self.books = job.books
        self.progress = job.progress
        self.pace = job.pace
        self.roster = job.roster
        self.spares = job.spares
        self.plan = plan = job.plan
        self.missing: list[int] = []  # slots whose server was lost and not yet replaced
        self.active = False  # from a failure until the training after it resumes
        self.ends_at = math.inf  # recovery merged into the training after it ends then
        self.restores: Counter[str] = Counter()  # recoveries done, by the level restored
        self._restore_level = STORAGE
        self._detection_s = plan.detection_s
        self._diagnosis = _steps((Bucket.DIAGNOSIS, plan.diagnosis_s))
        self._restarts = {  # by the level of the point restored
            level: _steps((Bucket.RESTART, plan.restart_s), (Bucket.RESTORE, restore_s))
            for level, restore_s in ((MEMORY, plan.memory_restore_s), (STORAGE, plan.restore_s))
        }

    def on_failure(self, failure: Failure) -> None:
        """Roll back to where the failure leaves the job, and send its lost servers to repair:
        the job is recovering from now on."""
        now, plan, progress = self.env.now, self.plan, self.progress
        progress.failed(now)
        late = not math.isnan(failure.corrupted_at)
        if progress.loses_work:
            # Back to the newest restore point the failure left: a lost server takes its
            # in-memory copy with it unless a peer holds one; a corruption found late rules out
            # later points.
            point, lost_s = progress.roll_back(
                memory_lost=failure.swap and bool(failure.slots) and not plan.peer_replica,
                corrupted_at=failure.corrupted_at if late else None,
            )
            self._restore_level = point.level
        else:  # the upper bound: every second trained is kept, corrupted or not; no restore
            # point is needed, the job resumes where it stood
            progress.remaining_s = plan.work_s - self.books.ledger.seconds[Bucket.PRODUCTIVE]
            lost_s = 0.0
        self.job.trainer.phase = None  # the data pipeline starts over
        # A corruption found late was detected while training: that time is already lost.
        self._detection_s = 0.0 if late else failure.detection_s
        slots = failure.slots
        servers = list(map(self.roster.slot_server.__getitem__, slots))
        log = self.books.log
        if log.enabled:
            log.record(now, "failure", failure.cause, servers[0] if servers else -1, lost_s)
        if failure.swap and servers:
            failures, missing = self.roster.failures, self.missing
            for slot, server in zip(slots, servers, strict=True):
                failures[server] += 1
                if slot not in missing:
                    missing.append(slot)
            self.spares.send_to_repair(servers, failure.cause)
        self.active = True

    def recover(self) -> None:
        """Detection, a spare for every lost server (or, elastic, go on without), restart,
        restore. A failure at any point starts recovery over; spares already in stay. With
        enough spares free, the swap is decided now and the four steps are one wait (the same
        spares would be taken after diagnosis: returns from repair join the back of the pool)."""
        detection_s = self._detection_s
        detect = (
            ((Bucket.DETECTION, detection_s), *self._diagnosis) if detection_s else self._diagnosis
        )
        resume = self._restarts[self._restore_level]
        if self.spares.free >= len(self.missing):
            self._swap_in_spares(len(self.missing))
            self._resume((*detect, *resume))
        else:
            self.job.spend(detect, lambda: self._replace_missing(resume))

    def _replace_missing(self, resume: Steps) -> None:
        while self.missing:
            if self.spares.free > 0:
                self.roster.replace(self.missing.pop(0), self.spares.take())
            elif self._can_shrink():
                self._set_elastic_speed()
                break
            else:
                self._acquire_spare(lambda: self._replace_missing(resume))
                return
        self._resume(resume)

    def _resume(self, steps: Steps) -> None:
        """The last steps of a recovery, and the training after them in the same wait if the
        trainer can plan it now."""
        if not self.job.trainer.train_after(steps):
            self.job.spend(steps, self._recovered)

    def _recovered(self) -> None:
        self.end()
        self.job.start_next()

    def end(self) -> None:
        """The recovery is over: the job restored a point of the level it rolled back to."""
        self.restores[self._restore_level] += 1
        self.active = False
        self.ends_at = math.inf

    def _swap_in_spares(self, n: int) -> None:
        """Put ``n`` free spares in the first ``n`` missing slots."""
        missing, spares = self.missing, self.spares
        for _ in range(n):
            self.roster.replace(missing.pop(0), spares.take())

    def _acquire_spare(self, then: Callable[[], None]) -> None:
        """Wait for a spare to come back from repair; a failure meanwhile still takes one
        handed over at the same instant."""
        start = self.env.now
        request = self.spares.request()

        def settle(cause: object) -> bool:
            if cause is SPEED or cause is PLANNED:
                return True
            book()
            return False

        def book() -> None:
            if request.triggered:
                self.roster.replace(self.missing.pop(0), cast(int, request.value))
            else:
                self.spares.cancel()
            self.books.book_wait(start, self.env.now)

        def done() -> None:
            book()
            then()

        self.activity.wait(request, done, settle)

    # -- a recovery in front of training, in the same wait ------------------------------------

    def begins(self, steps: Steps) -> float:
        """When an activity that comes after the ``steps`` of a recovery begins."""
        now = self.env.now
        if not steps:
            return now
        ends: float = now + sum(map(_DURATION, steps))
        self.ends_at = ends
        return ends

    def wait_from(
        self,
        start: float,
        length_s: float,
        then: Callable[[], None],
        settle: Settle,
        steps: Steps,
    ) -> None:
        """Wait for an activity of ``length_s`` that begins at ``start``, after the ``steps`` of a
        recovery (one wait fewer per failure): until then an interruption is the recovery's;
        once past, the recovery is booked when the activity ends or is interrupted."""
        activity = self.activity
        if not steps:
            activity.wait_for(length_s, then, settle)
            return
        env = self.env
        began = env.now

        def settle_after(cause: object) -> bool:
            if self.active:
                if env.now < start:
                    return self._interrupted(steps, began, cause)
                self._recovered_at(steps, began)
            return settle(cause)

        def then_after() -> None:
            if self.active:
                self._recovered_at(steps, began)
            then()

        activity.wait_for(start - began + length_s, then_after, settle_after)

    def _interrupted(self, steps: Steps, started: float, cause: object) -> bool:
        """An interruption during the recovery in front of training: a slowdown leaves the
        recovery to finish alone (the training is planned again after it); a failure or the
        horizon books the steps done."""
        self.job.trainer.training = False
        self.ends_at = math.inf
        if cause is SPEED:
            self.job.spend(steps, self._recovered, started=started)
            return True
        self.books.book_steps(steps, started, self.env.now)
        return False

    def _recovered_at(self, steps: Steps, started: float) -> None:
        """The recovery in front of training ended (found out after the fact)."""
        self.books.book_steps(steps, started, self.env.now)
        self.end()

    # -- elastic capacity ----------------------------------------------------------------------

    def _replicas_lost(self) -> float:
        return len(self.missing) * self.plan.replicas_per_server_lost

    def _can_shrink(self) -> bool:
        return self.plan.elastic and self._replicas_lost() < self.plan.replicas

    def _set_elastic_speed(self) -> None:
        self.pace.elastic = 1.0 - self._replicas_lost() / self.plan.replicas

    def regrow(self) -> None:
        """Elastic: take back free spares at a checkpoint, without a restart."""
        self._swap_in_spares(min(len(self.missing), self.spares.free))
        if self.pace.elastic < 1.0:
            self._set_elastic_speed()
