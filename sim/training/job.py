"""The training job: a state machine on the SimPy clock that trains, checkpoints, fails, recovers
and rolls back.

The job is always in one activity (a run of periodic checkpoint cycles, a training segment, a
fixed wait, a wait for a spare) and holds one pending wake-up, the activity's end
(``sim.training.activity``). An interruption settles the activity at the moment it arrives, and
the job starts the next. ``TrainingJob`` is the front the interruption sources call, and the
dispatcher; its parts, one object each, share its state by reference: ``Activity`` (the wake-up),
``Books`` (the ledger and the event log), ``CheckpointProgress`` (the work committed, the policy,
the restore points), ``Trainer`` (cycles and segments) and ``Recovery`` (failures, spares,
elastic capacity).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import simpy

from sim.training.accounting import Bucket, Ledger
from sim.training.activity import PLANNED, SPEED, STOP, Activity
from sim.training.books import Books, Steps
from sim.training.cluster import Roster, SparePool
from sim.training.events import EventLog
from sim.training.failures import Failure
from sim.training.pace import Pace
from sim.training.plan import JobPlan
from sim.training.progress import CheckpointProgress
from sim.training.recovery import Recovery
from sim.training.storage import SharedStore
from sim.training.trainer import Trainer


class TrainingJob:
    """One synchronous data-parallel job; interruption sources call its public methods."""

    def __init__(
        self,
        env: simpy.Environment,
        plan: JobPlan,
        *,
        roster: Roster,
        spares: SparePool,
        ledger: Ledger,
        log: EventLog,
        store: SharedStore | None = None,
    ) -> None:
        self.env = env
        self.plan = plan
        self.roster = roster
        self.spares = spares
        self.ledger = ledger
        self.log = log
        self.finished = env.event()  # succeeds when the job ends: work done or stopped
        self.interruptions: Counter[str] = Counter()
        self.planned = 0
        self.planned_pending = False  # a planned stop is to be carried out
        self._planned_queued = 0  # stops that came during another stop's maintenance
        self._deaf_in_recovery = not plan.fail_during_recovery
        self.pace = Pace([p.data_speed for p in plan.phase_plans])
        self.activity = Activity(env)
        self.books = Books(ledger, log, len(plan.phase_plans))
        self.progress = CheckpointProgress(env, plan, self.books, store)
        # The recovery first: the trainer holds it, and it reaches the trainer through the job.
        self.recovery = Recovery(self)
        self.trainer = Trainer(self)
        self.start_next()

    # -- what the interruption sources and the replicate read ------------------------------------

    @property
    def done(self) -> bool:
        return self.progress.remaining_s <= 0.0

    @property
    def ended(self) -> bool:
        return self.finished.triggered

    @property
    def recovering(self) -> bool:
        recovery = self.recovery
        return recovery.active and self.env.now < recovery.ends_at

    @property
    def deaf_until(self) -> float:
        """Failures before this time change nothing: a recovery in front of training, known to
        end then, ignores them when they may not strike recoveries (nothing ends it sooner)."""
        recovery = self.recovery
        if recovery.active and self._deaf_in_recovery:
            return recovery.ends_at if recovery.ends_at < math.inf else -math.inf
        return -math.inf

    @property
    def checkpoints(self) -> int:
        return self.books.checkpoints

    @property
    def intervals_s(self) -> float:
        """The sum of the checkpoint intervals used, for their mean."""
        return self.books.intervals_s

    @property
    def last_interval_s(self) -> float:
        return self.books.last_interval_s

    @property
    def phase_training_s(self) -> list[float]:
        """Wall time spent training in each phase."""
        return self.books.phase_training_s

    @property
    def restores(self) -> Counter[str]:
        return self.recovery.restores

    @property
    def persists_lost(self) -> int:
        return self.progress.persists_lost

    # -- what the interruption sources call ------------------------------------------------

    def fail(self, failure: Failure) -> None:
        if self.ended or (self._deaf_in_recovery and self.recovering):
            return
        if failure.silent and math.isnan(failure.corrupted_at):
            # Silent corruption: the job trains on until it is noticed ``detection_s`` later.
            corrupted_at = self.env.now
            noticed = self.env.timeout(failure.detection_s)
            noticed.callbacks.append(lambda _: self._noticed(failure, corrupted_at))
        else:
            self._interrupt(failure)

    def planned_stop(self) -> None:
        self.planned += 1
        if self.ended or self.recovering:
            return  # a recovery under way takes the maintenance with it
        if self.planned_pending:
            self._planned_queued += 1
        else:
            self._interrupt(PLANNED)

    def slow_down(self, slot: int, speed: float, duration_s: float) -> None:
        self.log.record(self.env.now, "slowdown", "", self.roster.slot_server[slot], duration_s)
        self.pace.slow_down(speed)
        self._speed_changed()
        over = self.env.timeout(duration_s)
        over.callbacks.append(lambda _: self._sped_up(speed))

    def stop(self) -> None:
        """End the job where it stands (the horizon), booking the activity in progress."""
        if not self.ended:
            self._interrupt(STOP)

    # -- the dispatcher ----------------------------------------------------------------------------

    def _interrupt(self, cause: object) -> None:
        if self.activity.interrupt(cause):
            return
        self.trainer.training = False
        if cause is STOP:
            self.finished.succeed()
            return
        if isinstance(cause, Failure):
            self.interruptions[cause.cause] += 1
            self.recovery.on_failure(cause)
            self.planned_pending = False  # maintenance happens during the recovery
            self._planned_queued = 0
        elif cause is PLANNED and not self.recovery.active:
            self.planned_pending = True
        self.start_next()

    def start_next(self) -> None:
        """Start what comes next: recovery, maintenance, or training."""
        if self.done:
            self.log.record(self.env.now, "training_done", "", -1, 0.0)
            self.finished.succeed()
        elif self.recovery.active:
            self.recovery.recover()
        elif self.planned_pending:
            self._maintenance()
        else:
            self.trainer.train()

    def spend(
        self, steps: Steps, then: Callable[[], None], *, started: float | None = None
    ) -> None:
        """Spend consecutive fixed lengths of time, each in its bucket, as one wait (from
        ``started``, if they began earlier); a slowdown or a planned stop changes nothing here
        (a stop is carried out after it), any other interruption still books the part of each
        step already spent."""
        env, books = self.env, self.books
        began = env.now if started is None else started

        def book() -> None:
            books.book_steps(steps, began, env.now)

        def settle(cause: object) -> bool:
            if cause is PLANNED:
                if not self.recovery.active:
                    self.planned_pending = True
                return True
            if cause is SPEED:
                return True
            book()
            return False

        def done() -> None:
            book()
            then()

        total = sum(duration for _, duration in steps)
        if total > 0.0:
            delay = total if started is None else began + total - env.now
            self.activity.wait_for(delay, done, settle)
        else:
            done()

    # -- maintenance, silent corruption, slowdowns -----------------------------------------------

    def _maintenance(self) -> None:
        self.spend(((Bucket.PLANNED_MAINTENANCE, self.plan.planned_duration_s),), self._maintained)

    def _maintained(self) -> None:
        self.log.record(self.env.now, "planned", "", -1, self.plan.planned_duration_s)
        resume = ((Bucket.RESTART, self.plan.restart_s), (Bucket.RESTORE, self.plan.restore_s))
        self.spend(resume, self._back_from_maintenance)

    def _back_from_maintenance(self) -> None:
        if self._planned_queued:
            self._planned_queued -= 1
        else:
            self.planned_pending = False
        self.start_next()

    def _noticed(self, failure: Failure, corrupted_at: float) -> None:
        if not self.ended:
            self._interrupt(
                Failure(failure.cause, failure.slots, failure.swap, 0.0, True, corrupted_at)
            )

    def _sped_up(self, speed: float) -> None:
        self.pace.speed_up(speed)
        self._speed_changed()

    def _speed_changed(self) -> None:
        if self.trainer.training and not self.ended:
            self._interrupt(SPEED)
