"""The training job: a SimPy process that trains, checkpoints, fails, recovers and rolls back.

Between events, progress is elapsed time times the job's speed; the job only wakes at state
changes (segment end, checkpoint end, failure, recovery steps, slowdowns, planned stops), never once
per training step. Interrupt causes: a ``Failure``, ``PLANNED``, ``SPEED`` (the speed changed:
re-plan the current wait) and ``STOP`` (the horizon).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Generator
from typing import Any, NamedTuple

import simpy

from sim.accounting import Bucket, Ledger
from sim.checkpointing import REGISTRY, Checkpoint, Costs, Periodic, make_policy
from sim.cluster import Fleet, SparePool
from sim.events import EventLog
from sim.failures import Failure, Planned
from sim.plan import JobPlan
from sim.restore_points import MEMORY, STORAGE, RestorePoint, RestorePoints
from sim.storage import SharedStore

Steps = Generator[simpy.Event, Any, None]
STOP = object()
SPEED = object()
PLANNED = Planned()
MIN_CYCLES = 2  # periodic checkpoint cycles worth one timeout instead of one each


class Cycle(NamedTuple):
    """One periodic checkpoint cycle at the speed of the moment."""

    interval_s: float  # training work between checkpoints
    write_s: float  # the stall of one checkpoint
    train_wall_s: float  # wall time of the interval's training
    straggler: float
    data: float


class TrainingJob:
    """One synchronous data-parallel job; interruption sources call its public methods."""

    def __init__(
        self,
        env: simpy.Environment,
        plan: JobPlan,
        *,
        fleet: Fleet,
        spares: SparePool,
        ledger: Ledger,
        log: EventLog,
        store: SharedStore | None = None,
    ) -> None:
        self.env = env
        self.store = store
        self.plan = plan
        self.fleet = fleet
        self.spares = spares
        self.ledger = ledger
        self.log = log
        self.remaining_s = plan.work_s  # training work not yet committed by a checkpoint
        self.missing: list[int] = []  # slots whose server was lost and not yet replaced
        self.interruptions: Counter[str] = Counter()
        self.planned = 0
        self._training = False
        self._recovering = False
        self._planned_pending = False
        self._planned_queued = 0  # stops that came during another stop's maintenance
        self._detection_s = plan.detection_s
        self._slow: Counter[float] = Counter()  # speeds of the servers running slow now
        self._elastic_speed = 1.0
        self.policy = make_policy(
            plan.policy,
            plan.interval_s,
            Costs(plan.checkpoint_write_s, plan.snapshot_s, plan.job_mtbf_s),
            plan.mtbf_guess_s,
            plan.persist_every,
        )
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
        self._data_speed = [p.data_speed for p in phases]
        self._phase: int | None = None  # the phase the data pipeline serves; None: fresh start
        self.phase_training_s = [0.0] * len(phases)  # wall time spent training in each phase
        silent_window_s = max((c.detection_s for c in plan.categories if c.silent), default=0.0)
        self._points = RestorePoints(plan.work_s, silent_window_s)
        self.process = env.process(self._run())

    # -- what the interruption sources call ------------------------------------------------

    @property
    def done(self) -> bool:
        return self.remaining_s <= 0.0

    def fail(self, failure: Failure) -> None:
        if not self.process.is_alive or (self._recovering and not self.plan.fail_during_recovery):
            return
        if failure.silent and math.isnan(failure.corrupted_at):
            self.env.process(self._detect_late(failure))
        else:
            self.process.interrupt(failure)

    def planned_stop(self) -> None:
        self.planned += 1
        if not self.process.is_alive or self._recovering:
            return  # a recovery under way takes the maintenance with it
        if self._planned_pending:
            self._planned_queued += 1
        else:
            self.process.interrupt(PLANNED)

    def slow_down(self, slot: int, speed: float, duration_s: float) -> None:
        self.env.process(self._slow_period(slot, speed, duration_s))

    def stop(self) -> None:
        """End the job where it stands (the horizon), booking the phase in progress."""
        if self.process.is_alive:
            self.process.interrupt(STOP)

    # -- the job's life ----------------------------------------------------------------------

    @property
    def _straggler_speed(self) -> float:
        return min(self._slow) if self._slow else 1.0

    def _run(self) -> Steps:
        while not self.done:
            try:
                if self._recovering:
                    yield from self._recover()
                    self._recovering = False
                elif self._planned_pending:
                    yield from self._maintenance()
                    if self._planned_queued:
                        self._planned_queued -= 1
                    else:
                        self._planned_pending = False
                else:
                    cycles = self._cycles_ahead()
                    if cycles >= MIN_CYCLES:
                        yield from self._train_cycles(cycles)
                    else:
                        yield from self._train_segment()
            except simpy.Interrupt as interrupt:
                cause = interrupt.cause
                if cause is STOP:
                    return
                if isinstance(cause, Failure):
                    self._on_failure(cause)
                elif cause is PLANNED and not self._recovering:
                    self._planned_pending = True
        self.log.record(self.env.now, "training_done", "", -1, 0.0)

    def _cycles_ahead(self) -> int:
        """Whole checkpoint cycles of a periodic policy that can run as one timeout: the same
        interval, the phase already being served, no elastic state to revisit at checkpoints,
        and one cycle left to the ordinary path before the work or the phase ends."""
        if type(self.policy) is not Periodic or self.missing or self._elastic_speed != 1.0:
            return 0
        interval = self.policy.next(self.env.now).interval_s  # a Periodic's is fixed
        position = self.plan.work_s - self.remaining_s
        phase = bisect.bisect_right(self._phase_ends, position)
        if self._phase is None:  # a fresh start: the data pipeline starts on this phase
            self._phase = phase
        if phase != self._phase:
            return 0
        room = min(self.remaining_s, self._phase_ends[phase] - position)
        return max(0, math.floor(room / interval) - 1)

    def _train_cycles(self, cycles: int) -> Steps:
        """``cycles`` periodic checkpoint cycles (train an interval, stall for the write) in one
        timeout. What an interruption finds is computed: the whole cycles done, then the part of
        the current one, which the ordinary path resumes after a slowdown or a planned stop."""
        checkpoint = self.policy.next(self.env.now)
        interval, write_s = checkpoint.interval_s, checkpoint.stall_s
        straggler, data = self._straggler_speed, self._data_speed[self._phase or 0]
        speed = straggler * data
        train_wall = interval / speed
        cycle_wall = train_wall + write_s
        cycle = Cycle(interval, write_s, train_wall, straggler, data)
        start = self.env.now
        self._training = True
        try:
            yield self.env.timeout(cycles * cycle_wall)
        except simpy.Interrupt as interrupt:
            elapsed = self.env.now - start
            done = min(cycles, math.floor(elapsed / cycle_wall))
            self._cycles_done(start, done, cycle)
            into = elapsed - done * cycle_wall
            trained = min(into, train_wall)
            if trained > 0.0:
                self._book_training(trained, straggler, 1.0, data, self._phase or 0)
            stalled = self._book_stall(start + done * cycle_wall + train_wall, into - trained)
            if interrupt.cause is not PLANNED and interrupt.cause is not SPEED:
                raise
            if interrupt.cause is PLANNED:
                self._planned_pending = True
            self._training = False
            yield from self._train_segment(
                trained * speed,
                write_s - stalled,
                cut=interrupt.cause is PLANNED and into < train_wall,
            )
            return
        finally:
            self._training = False
        self._cycles_done(start, cycles, cycle)

    def _cycles_done(self, start: float, cycles: int, cycle: Cycle) -> None:
        """Book whole periodic cycles and keep the restore points a later failure can need: the
        newest, and those a silent corruption found late could roll back to."""
        if cycles <= 0:
            return
        interval, write_s, train_wall, straggler, data = cycle
        phase = self._phase or 0
        self._book_training(cycles * train_wall, straggler, 1.0, data, phase)
        self.ledger.seconds[Bucket.CHECKPOINT_STALL] += cycles * write_s
        cycle_wall = train_wall + write_s
        if write_s > 0.0:
            self.log.record_every(start + train_wall, cycle_wall, cycles, "checkpoint", write_s)
        self.checkpoints += cycles
        self.intervals_s += cycles * interval
        self.last_interval_s = interval
        remaining, productive = self.remaining_s, self.ledger.seconds[Bucket.PRODUCTIVE]
        end = start + cycles * cycle_wall
        oldest_needed = end - self._points.silent_window_s - cycle_wall
        first = max(1, cycles - math.ceil((end - oldest_needed) / cycle_wall))
        for j in range(first, cycles + 1):
            back = cycles - j
            self._points.add(
                RestorePoint(
                    start + j * cycle_wall,
                    remaining - j * interval,
                    productive - back * interval,
                    STORAGE,
                ),
                self.env.now,
            )
        self.remaining_s = remaining - cycles * interval

    def _train_segment(
        self, done_s: float = 0.0, write_left: float | None = None, *, cut: bool = False
    ) -> Steps:
        """Train to the next checkpoint and write it, in one timeout split on interruption. A
        slowdown re-plans the rest; a planned stop checkpoints what is done and stops. ``done_s``
        and ``write_left`` resume a checkpoint cycle under way; ``cut``: a planned stop came
        while it trained, so the checkpoint comes now."""
        checkpoint = self.policy.next(self.env.now)
        segment_s = min(checkpoint.interval_s, self.remaining_s)
        if write_left is None:
            write_left = 0.0 if math.isinf(checkpoint.interval_s) else checkpoint.stall_s
        if cut:
            segment_s = done_s
            write_left = self.plan.checkpoint_write_s
            checkpoint = Checkpoint(segment_s, write_left, storage=True)
        self._training = True
        ends = self._phase_ends
        try:
            while True:
                position = self.plan.work_s - self.remaining_s + done_s
                phase = bisect.bisect_right(ends, position) if len(ends) > 1 else 0
                if phase != self._phase:
                    if self._phase is not None and self.plan.switch_s > 0.0:
                        yield from self._spend((Bucket.DATA_STALL, self.plan.switch_s))
                        if self._planned_pending and segment_s > done_s:
                            # a planned stop came during the pipeline restart: checkpoint now
                            segment_s = done_s
                            write_left = self.plan.checkpoint_write_s
                            checkpoint = Checkpoint(segment_s, write_left, storage=True)
                    self._phase = phase
                left = segment_s - done_s
                piece = min(left, ends[phase] - position)
                last = piece >= left
                straggler = min(self._slow) if self._slow else 1.0
                elastic = self._elastic_speed
                data = self._data_speed[phase]
                speed = straggler * elastic * data
                train_wall = piece / speed
                tail = write_left if last else 0.0
                start = self.env.now
                try:
                    yield self.env.timeout(train_wall + tail)
                except simpy.Interrupt as interrupt:
                    elapsed = self.env.now - start
                    trained = min(elapsed, train_wall)
                    self._book_training(trained, straggler, elastic, data, phase)
                    done_s += trained * speed
                    if elapsed > train_wall:
                        write_left -= self._book_stall(start + train_wall, elapsed - train_wall)
                    if interrupt.cause is PLANNED:
                        # Write the work done so far to storage (unless the checkpoint is under
                        # way already), then stop for maintenance.
                        self._planned_pending = True
                        if elapsed < train_wall:
                            segment_s = done_s
                            write_left = self.plan.checkpoint_write_s
                            checkpoint = Checkpoint(segment_s, write_left, storage=True)
                        continue
                    if interrupt.cause is SPEED:
                        continue
                    raise
                self._book_training(train_wall, straggler, elastic, data, phase)
                done_s += piece
                if last:
                    self._book_stall(start + train_wall, tail)
                    break
        finally:
            self._training = False
        self.remaining_s -= segment_s
        self._checkpointed(checkpoint, segment_s)
        self._regrow()

    def _book_training(
        self, wall_s: float, straggler: float, elastic: float, data: float, phase: int
    ) -> None:
        """Wall time at reduced speed: the full-speed share is productive, the rest is lost to
        the data pipeline, the slowest server or the missing replicas."""
        self.phase_training_s[phase] += wall_s
        if straggler == elastic == data == 1.0:  # the common case, kept cheap
            self.ledger.seconds[Bucket.PRODUCTIVE] += wall_s
            return
        self.ledger.add(Bucket.PRODUCTIVE, wall_s * straggler * elastic * data)
        if data < 1.0:
            self.ledger.add(Bucket.DATA_STALL, wall_s * straggler * elastic * (1.0 - data))
        if straggler < 1.0:
            self.ledger.add(Bucket.STRAGGLER_SLOWDOWN, wall_s * elastic * (1.0 - straggler))
        if elastic < 1.0:
            self.ledger.add(Bucket.DEGRADED_CAPACITY, wall_s * (1.0 - elastic))

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
        self.checkpoints += 1
        self.intervals_s += segment_s
        self.last_interval_s = checkpoint.interval_s
        now, productive = self.env.now, self.ledger.seconds[Bucket.PRODUCTIVE]
        point = RestorePoint(now, self.remaining_s, productive, STORAGE)
        if checkpoint.storage:
            self._points.add(point, now)
        if checkpoint.memory:
            self._points.add(RestorePoint(now, self.remaining_s, productive, MEMORY), now)
        if checkpoint.persist:
            self.env.process(self._persist(point))

    def _persist(self, point: RestorePoint) -> Steps:
        """Write a snapshot to the shared store in the background; a failure first loses it."""
        generation = self._generation
        assert self.store is not None, "a persisting policy needs the shared store"
        yield self.store.transfer(self.plan.checkpoint_bytes)
        if generation == self._generation:
            self._points.add(point, self.env.now)
            self.log.record(point.time_s, "persisted", "", -1, self.env.now - point.time_s)
        else:
            self.persists_lost += 1

    def _on_failure(self, failure: Failure) -> None:
        self.interruptions[failure.cause] += 1
        self.policy.failed(self.env.now)
        self._generation += 1
        # Back to the newest restore point the failure left: a lost server takes its in-memory
        # copy with it unless a peer holds one; a corruption found late rules out later points.
        memory_lost = failure.swap and bool(failure.slots) and not self.plan.peer_replica
        late = not math.isnan(failure.corrupted_at)
        lossless = not REGISTRY[self.plan.policy].loses_work
        if lossless:  # the upper bound: every second trained is kept, corrupted or not
            productive = self.ledger.seconds[Bucket.PRODUCTIVE]
            now = RestorePoint(self.env.now, self.plan.work_s - productive, productive, STORAGE)
            self._points.reset(now)
        point = self._points.roll_back(
            memory_lost=memory_lost,
            corrupted_at=failure.corrupted_at if late and not lossless else None,
        )
        lost_s = self.ledger.roll_back(to_productive_s=point.productive_s)
        self.remaining_s = point.remaining_s
        self._restore_level = point.level
        self._phase = None  # the restart restarts the data pipeline too
        # A corruption found late was detected while training: that time is already lost.
        self._detection_s = 0.0 if late else failure.detection_s
        servers = [self.fleet.slot_server[slot] for slot in failure.slots]
        first = servers[0] if servers else -1
        self.log.record(self.env.now, "failure", failure.cause, first, lost_s)
        if failure.swap and servers:
            for slot, server in zip(failure.slots, servers, strict=True):
                self.fleet.failures[server] += 1
                if slot not in self.missing:
                    self.missing.append(slot)
            self.spares.send_to_repair(servers, failure.cause)
        self._recovering = True
        self._planned_pending = False  # maintenance happens during the recovery
        self._planned_queued = 0

    def _detect_late(self, failure: Failure) -> Steps:
        """Silent corruption: the job trains on until it is noticed ``detection_s`` later."""
        corrupted_at = self.env.now
        yield self.env.timeout(failure.detection_s)
        if self.process.is_alive:
            self.process.interrupt(
                Failure(failure.cause, failure.slots, failure.swap, 0.0, True, corrupted_at)
            )

    def _recover(self) -> Steps:
        """Detection, a spare for every lost server (or, elastic, go on without), restart,
        restore. A failure at any point starts recovery over; spares already in stay. With
        enough spares free, the swap is decided now and the four steps are one timeout (the same
        spares would be taken after diagnosis: returns from repair join the back of the pool)."""
        restore_s = (
            self.plan.memory_restore_s if self._restore_level == MEMORY else self.plan.restore_s
        )
        detect = ((Bucket.DETECTION, self._detection_s), (Bucket.DIAGNOSIS, self.plan.diagnosis_s))
        resume = ((Bucket.RESTART, self.plan.restart_s), (Bucket.RESTORE, restore_s))
        if self.spares.free >= len(self.missing):
            self._swap_in_spares()
            yield from self._spend(*detect, *resume)
        else:
            yield from self._spend(*detect)
            while self.missing:
                if self.spares.free > 0:
                    self.fleet.replace(self.missing.pop(0), self.spares.take())
                elif self._can_shrink():
                    self._set_elastic_speed()
                    break
                else:
                    yield from self._acquire_spare()
            yield from self._spend(*resume)
        self.restores[self._restore_level] += 1

    def _swap_in_spares(self) -> None:
        while self.missing and self.spares.free > 0:
            self.fleet.replace(self.missing.pop(0), self.spares.take())

    def _maintenance(self) -> Steps:
        yield from self._spend((Bucket.PLANNED_MAINTENANCE, self.plan.planned_duration_s))
        self.log.record(self.env.now, "planned", "", -1, self.plan.planned_duration_s)
        yield from self._spend(
            (Bucket.RESTART, self.plan.restart_s), (Bucket.RESTORE, self.plan.restore_s)
        )

    def _spend(self, *steps: tuple[Bucket, float]) -> Steps:
        """Spend consecutive fixed lengths of time, each in its bucket, as one timeout; a slowdown
        or a planned stop changes nothing here, any other interrupt still books the part of each
        step already spent."""
        started = self.env.now
        left = sum(duration for _, duration in steps)
        try:
            while left > 0.0:
                start = self.env.now
                try:
                    yield self.env.timeout(left)
                    left = 0.0
                except simpy.Interrupt as interrupt:
                    left -= self.env.now - start
                    if interrupt.cause is PLANNED and not self._recovering:
                        self._planned_pending = True  # carried out once this wait is over
                    elif interrupt.cause is not SPEED and interrupt.cause is not PLANNED:
                        raise
        finally:
            at = started
            for bucket, duration in steps:
                spent = min(duration, self.env.now - at)
                self.ledger.add(bucket, spent)
                if duration > 0.0:
                    self.log.record(at, bucket.value, "", -1, spent)
                at += spent
                if spent < duration:
                    break

    def _acquire_spare(self) -> Steps:
        start = self.env.now
        request = self.spares.request()
        try:
            while not request.processed:
                try:
                    yield request
                except simpy.Interrupt as interrupt:
                    if interrupt.cause is SPEED or interrupt.cause is PLANNED:
                        continue
                    raise
        finally:
            if request.triggered:  # handed over, even if a failure struck at the same instant
                self.fleet.replace(self.missing.pop(0), request.value)  # type: ignore[arg-type]
            else:
                request.cancel()
            waited = self.env.now - start
            self.ledger.add(Bucket.WAITING_FOR_SERVERS, waited)
            self.log.record(start, Bucket.WAITING_FOR_SERVERS.value, "", -1, waited)

    # -- elastic capacity and slowdowns -------------------------------------------------------

    def _replicas_lost(self) -> float:
        return len(self.missing) * self.plan.replicas_per_server_lost

    def _can_shrink(self) -> bool:
        return self.plan.elastic and self._replicas_lost() < self.plan.replicas

    def _set_elastic_speed(self) -> None:
        self._elastic_speed = 1.0 - self._replicas_lost() / self.plan.replicas

    def _regrow(self) -> None:
        """Elastic: take back free spares at a checkpoint, without a restart."""
        self._swap_in_spares()
        if self._elastic_speed < 1.0:
            self._set_elastic_speed()

    def _slow_period(self, slot: int, speed: float, duration_s: float) -> Steps:
        self.log.record(self.env.now, "slowdown", "", self.fleet.slot_server[slot], duration_s)
        self._slow[speed] += 1
        self._speed_changed()
        yield self.env.timeout(duration_s)
        self._slow[speed] -= 1
        if self._slow[speed] == 0:
            del self._slow[speed]
        self._speed_changed()

    def _speed_changed(self) -> None:
        if self._training and self.process.is_alive:
            self.process.interrupt(SPEED)
