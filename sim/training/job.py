"""The training job: a state machine on the SimPy clock that trains, checkpoints, fails, recovers
and rolls back.

The job is always in one activity (a run of periodic checkpoint cycles, a training segment, a
fixed wait, a wait for a spare) and holds one pending wake-up, the activity's end. An interruption
(a ``Failure``, ``PLANNED``, ``SPEED``: the speed changed, ``STOP``: the horizon) settles the
activity at the moment it arrives, booking what was done, and starts the next, whose end reuses
a timeout already pending before it (``_wait_for``). So the job costs events at state changes
only, never one per training step or per checkpoint, and no generator or SimPy interrupt per
change.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple, cast

import simpy

from sim.training.accounting import Bucket, Ledger
from sim.training.checkpointing import (
    REGISTRY,
    Async,
    Checkpoint,
    Costs,
    Multilevel,
    Periodic,
    make_policy,
)
from sim.training.cluster import Roster, SparePool
from sim.training.events import EventLog
from sim.training.failures import Failure, Planned
from sim.training.pace import Pace
from sim.training.plan import JobPlan
from sim.training.restore_points import MEMORY, STORAGE, PointRun, RestorePoint, RestorePoints
from sim.training.storage import SharedStore

STOP = object()
SPEED = object()
ALARM = object()  # the current activity ends at ``_ends_at``, on one of the job's timeouts
PLANNED = Planned()
MIN_CYCLES = 2  # periodic checkpoint cycles worth one wait instead of one each

Steps = tuple[tuple[Bucket, float], ...]
Settle = Callable[[object], bool]  # an activity's answer to an interruption: True, it carries on
_DURATION = itemgetter(1)  # of a step


def _steps(*steps: tuple[Bucket, float]) -> Steps:
    """The steps that take time: one of no length books nothing, yet costs a pass each time
    a recovery is booked."""
    return tuple(step for step in steps if step[1] > 0.0)


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


@dataclass(slots=True)
class Segment:
    """Training up to the next checkpoint, and its write; split into pieces at phase ends."""

    checkpoint: Checkpoint
    segment_s: float  # training work up to the checkpoint
    done_s: float  # of which done
    write_left: float  # stall still to come once the work is done

    def cut(self, write_s: float) -> None:
        """A planned stop: checkpoint the work done so far to storage, now."""
        self.segment_s = self.done_s
        self.write_left = write_s
        self.checkpoint = Checkpoint(self.done_s, write_s, storage=True)


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
        self.store = store
        self.plan = plan
        self.roster = roster
        self.spares = spares
        self.ledger = ledger
        self.log = log
        self.finished = env.event()  # succeeds when the job ends: work done or stopped
        self.remaining_s = plan.work_s  # training work not yet committed by a checkpoint
        self.missing: list[int] = []  # slots whose server was lost and not yet replaced
        self.interruptions: Counter[str] = Counter()
        self.planned = 0
        self._training = False
        self._recovering = False
        self._recovery_ends = math.inf  # recovery merged into the training after it ends then
        self._planned_pending = False
        self._planned_queued = 0  # stops that came during another stop's maintenance
        self._detection_s = plan.detection_s
        self._deaf_in_recovery = not plan.fail_during_recovery
        self._diagnosis = _steps((Bucket.DIAGNOSIS, plan.diagnosis_s))
        self._restarts = {  # by the level of the point restored
            level: _steps((Bucket.RESTART, plan.restart_s), (Bucket.RESTORE, restore_s))
            for level, restore_s in ((MEMORY, plan.memory_restore_s), (STORAGE, plan.restore_s))
        }
        self.policy = make_policy(
            plan.policy,
            plan.interval_s,
            Costs(plan.checkpoint_write_s, plan.snapshot_s, plan.job_mtbf_s),
            plan.mtbf_guess_s,
            plan.persist_every,
        )
        self._loses_work = REGISTRY[plan.policy].loses_work
        # A persist's time alone on the store (none: no policy that persists).
        self._persist_s = plan.checkpoint_bytes / store.bytes_per_s if store else math.inf
        self.checkpoints = 0
        self.intervals_s = 0.0  # sum of the intervals used, for their mean
        self.last_interval_s = math.nan
        self.restores: Counter[str] = Counter()
        self.persists_lost = 0
        self._restore_level = STORAGE
        self._generation = 0  # bumped by every failure: persists in flight are lost
        phases = plan.phase_plans
        # Where each phase ends in work done; the last never does (no float edge to stop at).
        self._phase_ends = [*itertools.accumulate(p.work_s for p in phases[:-1]), math.inf]
        self.pace = Pace([p.data_speed for p in phases])
        self._phase: int | None = None  # the phase the data pipeline serves; None: fresh start
        self.phase_training_s = [0.0] * len(phases)  # wall time spent training in each phase
        silent_window_s = max((c.detection_s for c in plan.categories if c.silent), default=0.0)
        self._points = RestorePoints(plan.work_s, silent_window_s)
        self._wake: object = None  # the current activity's end: an event, or ALARM (timed)
        self._ends_at = math.inf  # the current activity's end when it is timed (ALARM)
        self._alarms: list[float] = []  # when the job's pending timeouts fire (a heap)
        self._then: Callable[[], None] = self._next
        self._settle: Settle = lambda cause: False
        self._next()

    # -- what the interruption sources call ------------------------------------------------

    @property
    def done(self) -> bool:
        return self.remaining_s <= 0.0

    @property
    def ended(self) -> bool:
        return self.finished.triggered

    @property
    def recovering(self) -> bool:
        return self._recovering and self.env.now < self._recovery_ends

    @property
    def deaf_until(self) -> float:
        """Failures before this time change nothing: a recovery in front of training, known to
        end then, ignores them when they may not strike recoveries (nothing ends it sooner)."""
        if self._recovering and self._deaf_in_recovery:
            return self._recovery_ends if self._recovery_ends < math.inf else -math.inf
        return -math.inf

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
        if self._planned_pending:
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

    # -- the state machine ---------------------------------------------------------------------

    def _wait(self, event: simpy.Event, then: Callable[[], None], settle: Settle) -> None:
        """Make ``event`` the current activity's end: ``then`` runs when it fires, ``settle``
        if an interruption comes first."""
        event.callbacks.append(self._woken)
        self._wake, self._then, self._settle = event, then, settle

    def _woken(self, event: simpy.Event) -> None:
        if event is self._wake:
            self._wake = None
            self._then()

    def _wait_for(self, delay_s: float, then: Callable[[], None], settle: Settle) -> None:
        """Make ``delay_s`` from now the current activity's end. A timeout of the job's already
        pending by then is kept instead of adding one, and moved on when it fires early: an
        interruption replaces the activity, and the timeout of the one it replaced would
        otherwise fire for nothing (stale wake-ups were 44% of a replicate's events)."""
        ends_at = self.env.now + delay_s  # the sum SimPy's own schedule does
        self._wake, self._then, self._settle, self._ends_at = ALARM, then, settle, ends_at
        if not self._alarms or self._alarms[0] > ends_at:
            self._set_alarm(ends_at, delay_s)

    def _set_alarm(self, at: float, delay_s: float) -> None:
        heapq.heappush(self._alarms, at)
        self.env.timeout(delay_s).callbacks.append(self._alarm)

    def _alarm(self, _: simpy.Event) -> None:
        heapq.heappop(self._alarms)  # timeouts fire in time order: this one is the earliest
        if self._wake is not ALARM:
            return
        now, ends_at = self.env.now, self._ends_at
        if now >= ends_at:
            self._wake = None
            self._then()
        elif not self._alarms or self._alarms[0] > ends_at:
            self._set_alarm(ends_at, ends_at - now)

    def _interrupt(self, cause: object) -> None:
        if self._settle(cause):
            return
        self._wake = None
        self._training = False
        if cause is STOP:
            self.finished.succeed()
            return
        if isinstance(cause, Failure):
            self._on_failure(cause)
        elif cause is PLANNED and not self._recovering:
            self._planned_pending = True
        self._next()

    def _next(self) -> None:
        """Start what comes next: recovery, maintenance, or training."""
        if self.done:
            self.log.record(self.env.now, "training_done", "", -1, 0.0)
            self.finished.succeed()
        elif self._recovering:
            self._recover()
        elif self._planned_pending:
            self._maintenance()
        else:
            self._train(self._cycles_ahead())

    def _train(self, cycles: int, recovery: Steps = ()) -> None:
        """Train, after the steps of a ``recovery``: ``cycles`` whole checkpoint cycles as one
        wait when there are enough to count, else to the next checkpoint."""
        if cycles >= MIN_CYCLES:
            self._train_cycles(cycles, recovery)
        else:
            self._train_segment(recovery=recovery)

    # -- training --------------------------------------------------------------------------------

    def _cycles_ahead(self) -> int:
        """Whole checkpoint cycles of a periodic policy that can run as one wait: the same
        interval, the phase already being served, no elastic state to revisit at checkpoints,
        and one cycle left to the ordinary path before the work or the phase ends. Async and
        multilevel checkpoints qualify when each persist ends before the next checkpoint: alone
        on the store, its time is known."""
        policy = self.policy
        if self.missing or self.pace.elastic != 1.0:
            return 0
        if isinstance(policy, Multilevel):
            interval = policy.interval_s
        elif type(policy) in (Periodic, Async):
            interval = policy.next(self.env.now).interval_s  # fixed, and next() keeps no state
        else:
            return 0
        if type(policy) is not Periodic and not self._persist_s < interval:
            return 0
        position = self.plan.work_s - self.remaining_s
        phase = bisect.bisect_right(self._phase_ends, position)
        if self._phase is None:  # a fresh start: the data pipeline starts on this phase
            self._phase = phase
        if phase != self._phase:
            return 0
        room = min(self.remaining_s, self._phase_ends[phase] - position)
        return max(0, math.floor(room / interval) - 1)

    def _train_cycles(self, cycles: int, recovery: Steps = ()) -> None:
        """``cycles`` periodic checkpoint cycles (train an interval, stall for the write) as one
        wait, after the steps of a ``recovery`` (one wait fewer per failure). What an
        interruption finds is computed: the recovery's steps done, or the whole cycles done, then
        the part of the current one, which a training segment resumes after a slowdown or a
        planned stop."""
        policy = self.policy
        if isinstance(policy, Multilevel):  # next() would count a checkpoint: counted when done
            interval, write_s, memory = policy.interval_s, policy.snapshot_s, True
            every, first = policy.every, policy.every - policy.count % policy.every
        else:
            checkpoint = policy.next(self.env.now)
            interval, write_s, memory = checkpoint.interval_s, checkpoint.stall_s, False
            every, first = int(checkpoint.persist), 1
        straggler, data = self.pace.straggler, self.pace.data[self._phase or 0]
        speed = straggler * data
        train_wall = interval / speed
        cycle_wall = train_wall + write_s
        cycle = Cycle(interval, write_s, train_wall, straggler, data, memory, every, first)
        start = self._begins(recovery)

        def settle(cause: object) -> bool:
            self._training = False
            elapsed = self.env.now - start
            done = min(cycles, math.floor(elapsed / cycle_wall))
            self._cycles_done(start, done, cycle)
            into = elapsed - done * cycle_wall
            trained = min(into, train_wall)
            if trained > 0.0:
                self._book_training(trained, straggler, 1.0, data, self._phase or 0)
            stalled = self._book_stall(start + done * cycle_wall + train_wall, into - trained)
            if cause is not PLANNED and cause is not SPEED:
                if isinstance(policy, Multilevel):
                    policy.count += 1  # the checkpoint under way counts, as on the segment path
                return False
            if cause is PLANNED:
                self._planned_pending = True
            self._train_segment(
                trained * speed, write_s - stalled, cut=cause is PLANNED and into < train_wall
            )
            return True

        def done() -> None:
            self._training = False
            self._cycles_done(start, cycles, cycle)
            self._next()

        self._training = True  # a slowdown during the recovery re-plans the cycles
        self._wait_from(start, cycles * cycle_wall, done, settle, recovery)

    # -- a recovery in front of training, in the same wait ------------------------------------

    def _begins(self, recovery: Steps) -> float:
        """When an activity that comes after the steps of ``recovery`` begins."""
        now = self.env.now
        if not recovery:
            return now
        ends: float = now + sum(map(_DURATION, recovery))
        self._recovery_ends = ends
        return ends

    def _wait_from(
        self,
        start: float,
        length_s: float,
        then: Callable[[], None],
        settle: Settle,
        recovery: Steps,
    ) -> None:
        """Wait for an activity of ``length_s`` that begins at ``start``, after the steps of a
        ``recovery`` (one wait fewer per failure): until then an interruption is the recovery's;
        once past, the recovery is booked when the activity ends or is interrupted."""
        if not recovery:
            self._wait_for(length_s, then, settle)
            return
        began = self.env.now

        def settle_after(cause: object) -> bool:
            if self._recovering:
                if self.env.now < start:
                    return self._recovery_interrupted(recovery, began, cause)
                self._recovered_at(recovery, began)
            return settle(cause)

        def then_after() -> None:
            if self._recovering:
                self._recovered_at(recovery, began)
            then()

        self._wait_for(start - began + length_s, then_after, settle_after)

    def _recovery_interrupted(self, recovery: Steps, started: float, cause: object) -> bool:
        """An interruption during the recovery in front of training: a slowdown leaves the
        recovery to finish alone (the training is planned again after it); a failure or the
        horizon books the steps done."""
        self._training = False
        self._recovery_ends = math.inf
        if cause is SPEED:
            self._spend(recovery, self._recovered, started=started)
            return True
        self._book_steps(recovery, started)
        return False

    def _recovered_at(self, recovery: Steps, started: float) -> None:
        """The recovery in front of training ended (found out after the fact)."""
        self._book_steps(recovery, started)
        self._end_recovery()

    def _cycles_done(self, start: float, cycles: int, cycle: Cycle) -> None:
        """Book whole periodic cycles and the runs of restore points they left: storage points,
        or in-memory ones, and those persisted (the newest may still be persisting)."""
        if cycles <= 0:
            return
        interval, write_s, train_wall, straggler, data, memory, every, first = cycle
        phase = self._phase or 0
        self._book_training(cycles * train_wall, straggler, 1.0, data, phase)
        self.ledger.seconds[Bucket.CHECKPOINT_STALL] += cycles * write_s
        cycle_wall = train_wall + write_s
        if write_s > 0.0:
            self.log.record_every(start + train_wall, cycle_wall, cycles, "checkpoint", write_s)
        self._count_checkpoints(cycles, cycles * interval, interval)
        if isinstance(self.policy, Multilevel):
            self.policy.count += cycles
        remaining, productive = self.remaining_s, self.ledger.seconds[Bucket.PRODUCTIVE]
        self.remaining_s = remaining - cycles * interval
        run = PointRun(
            RestorePoint(
                start + cycle_wall,
                remaining - interval,
                productive - (cycles - 1) * interval,
                MEMORY if memory else STORAGE,
            ),
            cycles,
            cycle_wall,
            interval,
        )
        if memory or not every:
            self._points.add_run(run, self.env.now)
        if not every or first > cycles:
            return
        n = (cycles - first) // every + 1
        persists = PointRun(
            run.point(first - 1)._replace(level=STORAGE), n, every * cycle_wall, every * interval
        )
        newest = persists.point(n - 1)
        persisted = n if newest.time_s + self._persist_s <= self.env.now else n - 1
        if persisted:
            self._points.add_run(persists._replace(n=persisted), self.env.now)
            self.log.record_every(
                persists.first.time_s, persists.step_s, persisted, "persisted", self._persist_s
            )
        if persisted < n:
            wait = newest.time_s + self._persist_s - self.env.now
            self._persisting(newest, self.env.timeout(wait))

    def _train_segment(
        self,
        done_s: float = 0.0,
        write_left: float | None = None,
        *,
        cut: bool = False,
        recovery: Steps = (),
    ) -> None:
        """Train to the next checkpoint and write it, after the steps of a ``recovery``.
        ``done_s`` and ``write_left`` resume a checkpoint cycle under way; ``cut``: a planned
        stop came while it trained, so the checkpoint comes now."""
        checkpoint = self.policy.next(self.env.now)
        if write_left is None:
            write_left = 0.0 if math.isinf(checkpoint.interval_s) else checkpoint.stall_s
        segment = Segment(
            checkpoint, min(checkpoint.interval_s, self.remaining_s), done_s, write_left
        )
        if cut:
            segment.cut(self.plan.checkpoint_write_s)
        self._training = True
        self._train_piece(segment, recovery)

    def _train_piece(self, segment: Segment, recovery: Steps = ()) -> None:
        """The segment's training up to its end or the phase's, in one wait split on
        interruption (after the steps of a ``recovery``, which a restart leaves on the same
        phase): a slowdown re-plans the rest; a planned stop checkpoints what is done."""
        ends = self._phase_ends
        position = self.plan.work_s - self.remaining_s + segment.done_s
        phase = bisect.bisect_right(ends, position) if len(ends) > 1 else 0
        if phase != self._phase:
            if self._phase is not None and self.plan.switch_s > 0.0:
                assert not recovery, "a restart starts the data pipeline on its phase"
                self._spend(
                    ((Bucket.DATA_STALL, self.plan.switch_s),),
                    lambda: self._switched(segment, phase),
                )
                return
            self._phase = phase
        left = segment.segment_s - segment.done_s
        piece = min(left, ends[phase] - position)
        last = piece >= left
        straggler, elastic, data = self.pace.straggler, self.pace.elastic, self.pace.data[phase]
        speed = straggler * elastic * data
        train_wall = piece / speed
        tail = segment.write_left if last else 0.0
        start = self._begins(recovery)

        def settle(cause: object) -> bool:
            elapsed = self.env.now - start
            trained = min(elapsed, train_wall)
            self._book_training(trained, straggler, elastic, data, phase)
            segment.done_s += trained * speed
            if elapsed > train_wall:
                segment.write_left -= self._book_stall(start + train_wall, elapsed - train_wall)
            if cause is PLANNED:
                # Write the work done so far to storage (unless the checkpoint is under way
                # already), then stop for maintenance; a job that never checkpoints saves
                # nothing and starts over from its last restore point.
                self._planned_pending = True
                if self.plan.policy == "none":
                    self._lose_progress("planned")
                    return False
                if elapsed < train_wall:
                    segment.cut(self.plan.checkpoint_write_s)
            elif cause is not SPEED:
                return False
            self._train_piece(segment)
            return True

        def done() -> None:
            self._book_training(train_wall, straggler, elastic, data, phase)
            segment.done_s += piece
            if not last:
                self._train_piece(segment)
                return
            self._book_stall(start + train_wall, tail)
            self._training = False
            self.remaining_s -= segment.segment_s
            self._checkpointed(segment.checkpoint, segment.segment_s)
            self._regrow()
            self._next()

        self._wait_from(start, train_wall + tail, done, settle, recovery)

    def _switched(self, segment: Segment, phase: int) -> None:
        """The data pipeline restarted for a new phase; a planned stop that came meanwhile
        checkpoints now."""
        if self._planned_pending and segment.segment_s > segment.done_s:
            segment.cut(self.plan.checkpoint_write_s)
        self._phase = phase
        self._train_piece(segment)

    def _book_training(
        self, wall_s: float, straggler: float, elastic: float, data: float, phase: int
    ) -> None:
        self.phase_training_s[phase] += wall_s
        self.ledger.train(wall_s, straggler, elastic, data)

    def _book_stall(self, start: float, stall_s: float) -> float:
        if stall_s > 0.0:
            self.ledger.seconds[Bucket.CHECKPOINT_STALL] += stall_s
            if self.log.enabled:
                self.log.record(start, "checkpoint", "", -1, stall_s)
        return stall_s

    def _checkpointed(self, checkpoint: Checkpoint, segment_s: float) -> None:
        """Record the restore points the checkpoint left, or start persisting it."""
        if math.isinf(checkpoint.interval_s):
            return
        self._count_checkpoints(1, segment_s, checkpoint.interval_s)
        now, productive = self.env.now, self.ledger.seconds[Bucket.PRODUCTIVE]
        point = RestorePoint(now, self.remaining_s, productive, STORAGE)
        if checkpoint.storage:
            self._points.add(point, now)
        if checkpoint.memory:
            self._points.add(RestorePoint(now, self.remaining_s, productive, MEMORY), now)
        if checkpoint.persist:
            self._persist(point)

    def _count_checkpoints(self, n: int, work_s: float, interval_s: float) -> None:
        """``n`` checkpoints written after ``work_s`` of training, the last at ``interval_s``."""
        self.checkpoints += n
        self.intervals_s += work_s
        self.last_interval_s = interval_s

    def _persist(self, point: RestorePoint) -> None:
        """Write a snapshot to the shared store in the background."""
        assert self.store is not None, "a persisting policy needs the shared store"
        self._persisting(point, self.store.transfer(self.plan.checkpoint_bytes))

    def _persisting(self, point: RestorePoint, done: simpy.Event) -> None:
        """``point`` becomes a storage point when ``done`` fires; a failure first loses it."""
        generation = self._generation

        def persisted(_: simpy.Event) -> None:
            if generation == self._generation:
                self._points.add(point, self.env.now)
                self.log.record(point.time_s, "persisted", "", -1, self.env.now - point.time_s)
            else:
                self.persists_lost += 1

        done.callbacks.append(persisted)

    # -- failures and recovery ----------------------------------------------------------------

    def _on_failure(self, failure: Failure) -> None:
        now = self.env.now
        self.interruptions[failure.cause] += 1
        self.policy.failed(now)
        self._generation += 1
        late = not math.isnan(failure.corrupted_at)
        if self._loses_work:
            # Back to the newest restore point the failure left: a lost server takes its
            # in-memory copy with it unless a peer holds one; a corruption found late rules out
            # later points.
            point, lost_s = self._roll_back(
                memory_lost=failure.swap and bool(failure.slots) and not self.plan.peer_replica,
                corrupted_at=failure.corrupted_at if late else None,
            )
            self._restore_level = point.level
        else:  # the upper bound: every second trained is kept, corrupted or not; no restore
            # point is needed, the job resumes where it stood
            self.remaining_s = self.plan.work_s - self.ledger.seconds[Bucket.PRODUCTIVE]
            self._phase = None
            lost_s = 0.0
        # A corruption found late was detected while training: that time is already lost.
        self._detection_s = 0.0 if late else failure.detection_s
        slots = failure.slots
        servers = list(map(self.roster.slot_server.__getitem__, slots))
        if self.log.enabled:
            self.log.record(now, "failure", failure.cause, servers[0] if servers else -1, lost_s)
        if failure.swap and servers:
            failures, missing = self.roster.failures, self.missing
            for slot, server in zip(slots, servers, strict=True):
                failures[server] += 1
                if slot not in missing:
                    missing.append(slot)
            self.spares.send_to_repair(servers, failure.cause)
        self._recovering = True
        self._planned_pending = False  # maintenance happens during the recovery
        self._planned_queued = 0

    def _roll_back(
        self, *, memory_lost: bool, corrupted_at: float | None
    ) -> tuple[RestorePoint, float]:
        """Back to the newest restore point left (``RestorePoints.roll_back``): the training
        since then is lost and the data pipeline starts over. Returns the point and the loss."""
        point = self._points.roll_back(memory_lost=memory_lost, corrupted_at=corrupted_at)
        lost_s = self.ledger.roll_back(to_productive_s=point.productive_s)
        self.remaining_s = point.remaining_s
        self._phase = None
        return point, lost_s

    def _lose_progress(self, cause: str) -> None:
        """Back to the newest restore point, not for a failure (a planned stop under ``none``)."""
        _, lost_s = self._roll_back(memory_lost=False, corrupted_at=None)
        self.log.record(self.env.now, "lost_work", cause, -1, lost_s)

    def _noticed(self, failure: Failure, corrupted_at: float) -> None:
        if not self.ended:
            self._interrupt(
                Failure(failure.cause, failure.slots, failure.swap, 0.0, True, corrupted_at)
            )

    def _recover(self) -> None:
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
            self._spend(detect, lambda: self._replace_missing(resume))

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

    def _resume(self, recovery: Steps) -> None:
        """The last steps of a recovery, and the training after them in the same wait when
        the policy's next checkpoint does not depend on when it is asked for."""
        cycles = self._cycles_ahead()
        if cycles >= MIN_CYCLES or isinstance(self.policy, Periodic):  # its next checkpoint
            self._train(cycles, recovery)  # does not change during the recovery
        else:
            self._spend(recovery, self._recovered)

    def _recovered(self) -> None:
        self._end_recovery()
        self._next()

    def _end_recovery(self) -> None:
        self.restores[self._restore_level] += 1
        self._recovering = False
        self._recovery_ends = math.inf

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
            waited = self.env.now - start
            self.ledger.add(Bucket.WAITING_FOR_SERVERS, waited)
            self.log.record(start, Bucket.WAITING_FOR_SERVERS.value, "", -1, waited)

        def done() -> None:
            book()
            then()

        self._wait(request, done, settle)

    def _maintenance(self) -> None:
        self._spend(((Bucket.PLANNED_MAINTENANCE, self.plan.planned_duration_s),), self._maintained)

    def _maintained(self) -> None:
        self.log.record(self.env.now, "planned", "", -1, self.plan.planned_duration_s)
        resume = ((Bucket.RESTART, self.plan.restart_s), (Bucket.RESTORE, self.plan.restore_s))
        self._spend(resume, self._back_from_maintenance)

    def _back_from_maintenance(self) -> None:
        if self._planned_queued:
            self._planned_queued -= 1
        else:
            self._planned_pending = False
        self._next()

    def _spend(
        self, steps: Steps, then: Callable[[], None], *, started: float | None = None
    ) -> None:
        """Spend consecutive fixed lengths of time, each in its bucket, as one wait (from
        ``started``, if they began earlier); a slowdown or a planned stop changes nothing here
        (a stop is carried out after it), any other interruption still books the part of each
        step already spent."""
        began = self.env.now if started is None else started

        def book() -> None:
            self._book_steps(steps, began)

        def settle(cause: object) -> bool:
            if cause is PLANNED:
                if not self._recovering:
                    self._planned_pending = True
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
            delay = total if started is None else began + total - self.env.now
            self._wait_for(delay, done, settle)
        else:
            done()

    def _book_steps(self, steps: Steps, started: float) -> None:
        """Book the part of consecutive steps begun at ``started`` spent by now."""
        at, now, seconds, log = started, self.env.now, self.ledger.seconds, self.log
        for bucket, duration in steps:
            spent = min(duration, now - at)
            seconds[bucket] += spent
            if duration > 0.0 and log.enabled:
                log.record(at, bucket.value, "", -1, spent)
            at += spent
            if spent < duration:
                break

    # -- elastic capacity and slowdowns -------------------------------------------------------

    def _replicas_lost(self) -> float:
        return len(self.missing) * self.plan.replicas_per_server_lost

    def _can_shrink(self) -> bool:
        return self.plan.elastic and self._replicas_lost() < self.plan.replicas

    def _set_elastic_speed(self) -> None:
        self.pace.elastic = 1.0 - self._replicas_lost() / self.plan.replicas

    def _regrow(self) -> None:
        """Elastic: take back free spares at a checkpoint, without a restart."""
        self._swap_in_spares(min(len(self.missing), self.spares.free))
        if self.pace.elastic < 1.0:
            self._set_elastic_speed()

    def _sped_up(self, speed: float) -> None:
        self.pace.speed_up(speed)
        self._speed_changed()

    def _speed_changed(self) -> None:
        if self._training and not self.ended:
            self._interrupt(SPEED)
