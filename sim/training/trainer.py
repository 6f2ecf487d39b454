"""The job's training: runs of whole periodic checkpoint cycles as one wait, or a segment to the
next checkpoint split at phase ends, at the pace of the moment, after the steps of a recovery in
the same wait when one comes first.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.training.accounting import Bucket
from sim.training.activity import PLANNED, SPEED
from sim.training.books import Cycle, Steps
from sim.training.checkpointing import Async, Checkpoint, Multilevel, Periodic

if TYPE_CHECKING:
    from sim.training.job import TrainingJob

MIN_CYCLES = 2  # periodic checkpoint cycles worth one wait instead of one each


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


class Trainer:
    """Trains the job between interruptions; its activities' settles book what was trained."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.recovery = job.recovery
        self.env = job.env
        self.activity = job.activity
        self.books = job.books
        self.progress = job.progress
        self.pace = job.pace
        self.plan = plan = job.plan
        self.training = False
        # Where each phase ends in work done; the last never does (no float edge to stop at).
        phases = plan.phase_plans
        self._phase_ends = [*itertools.accumulate(p.work_s for p in phases[:-1]), math.inf]
        self.phase: int | None = None  # the phase the data pipeline serves; None: fresh start

    def train(self) -> None:
        """Train from where the job stands, with nothing to recover first."""
        self._train(self.cycles_ahead())

    def train_after(self, recovery: Steps) -> bool:
        """Train after the last steps of a ``recovery``, in the same wait, when the policy's
        next checkpoint does not depend on when it is asked for; False: it may, so not yet."""
        cycles, policy = self.cycles_ahead(), self.progress.policy
        if cycles >= MIN_CYCLES or isinstance(policy, Periodic):  # its next checkpoint
            self._train(cycles, recovery)  # does not change during the recovery
            return True
        return False

    def _train(self, cycles: int, recovery: Steps = ()) -> None:
        """Train, after the steps of a ``recovery``: ``cycles`` whole checkpoint cycles as one
        wait when there are enough to count, else to the next checkpoint."""
        if cycles >= MIN_CYCLES:
            self._train_cycles(cycles, recovery)
        else:
            self._train_segment(recovery=recovery)

    def cycles_ahead(self) -> int:
        """Whole checkpoint cycles of a periodic policy that can run as one wait: the same
        interval, the phase already being served, no elastic state to revisit at checkpoints,
        and one cycle left to the ordinary path before the work or the phase ends. Async and
        multilevel checkpoints qualify when each persist ends before the next checkpoint: alone
        on the store, its time is known."""
        progress = self.progress
        policy = progress.policy
        if self.recovery.missing or self.pace.elastic != 1.0:
            return 0
        if isinstance(policy, Multilevel):
            interval = policy.interval_s
        elif type(policy) in (Periodic, Async):
            interval = policy.next(self.env.now).interval_s  # fixed, and next() keeps no state
        else:
            return 0
        if type(policy) is not Periodic and not progress.persist_s < interval:
            return 0
        remaining = progress.remaining_s
        position = self.plan.work_s - remaining
        phase = bisect.bisect_right(self._phase_ends, position)
        if self.phase is None:  # a fresh start: the data pipeline starts on this phase
            self.phase = phase
        if phase != self.phase:
            return 0
        room = min(remaining, self._phase_ends[phase] - position)
        return max(0, math.floor(room / interval) - 1)

    def _train_cycles(self, cycles: int, recovery: Steps = ()) -> None:
        """``cycles`` periodic checkpoint cycles (train an interval, stall for the write) as one
        wait, after the steps of a ``recovery`` (one wait fewer per failure). What an
        interruption finds is computed: the recovery's steps done, or the whole cycles done, then
        the part of the current one, which a training segment resumes after a slowdown or a
        planned stop."""
        policy, env, books = self.progress.policy, self.env, self.books
        if isinstance(policy, Multilevel):  # next() would count a checkpoint: counted when done
            interval, write_s, memory = policy.interval_s, policy.snapshot_s, True
            every, first = policy.every, policy.every - policy.count % policy.every
        else:
            checkpoint = policy.next(env.now)
            interval, write_s, memory = checkpoint.interval_s, checkpoint.stall_s, False
            every, first = int(checkpoint.persist), 1
        straggler, data = self.pace.straggler, self.pace.data[self.phase or 0]
        speed = straggler * data
        train_wall = interval / speed
        cycle_wall = train_wall + write_s
        cycle = Cycle(interval, write_s, train_wall, straggler, data, memory, every, first)
        start = self.recovery.begins(recovery)

        def settle(cause: object) -> bool:
            self.training = False
            elapsed = env.now - start
            done = min(cycles, math.floor(elapsed / cycle_wall))
            self._cycles_done(start, done, cycle)
            into = elapsed - done * cycle_wall
            trained = min(into, train_wall)
            if trained > 0.0:
                books.book_training(trained, straggler, 1.0, data, self.phase or 0)
            stalled = books.book_stall(start + done * cycle_wall + train_wall, into - trained)
            if cause is not PLANNED and cause is not SPEED:
                if isinstance(policy, Multilevel):
                    policy.count += 1  # the checkpoint under way counts, as on the segment path
                return False
            if cause is PLANNED:
                self.job.planned_pending = True
            self._train_segment(
                trained * speed, write_s - stalled, cut=cause is PLANNED and into < train_wall
            )
            return True

        def done() -> None:
            self.training = False
            self._cycles_done(start, cycles, cycle)
            self.job.start_next()

        self.training = True  # a slowdown during the recovery re-plans the cycles
        self.recovery.wait_from(start, cycles * cycle_wall, done, settle, recovery)

    def _cycles_done(self, start: float, cycles: int, cycle: Cycle) -> None:
        """Book whole periodic cycles and commit their work."""
        if cycles <= 0:
            return
        self.books.book_cycles(start, cycles, cycle, self.phase or 0)
        self.progress.cycles_committed(start, cycles, cycle)

    # -- a training segment ------------------------------------------------------------------

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
        progress = self.progress
        checkpoint = progress.policy.next(self.env.now)
        if write_left is None:
            write_left = 0.0 if math.isinf(checkpoint.interval_s) else checkpoint.stall_s
        segment = Segment(
            checkpoint, min(checkpoint.interval_s, progress.remaining_s), done_s, write_left
        )
        if cut:
            segment.cut(self.plan.checkpoint_write_s)
        self.training = True
        self._train_piece(segment, recovery)

    def _train_piece(self, segment: Segment, recovery: Steps = ()) -> None:
        """The segment's training up to its end or the phase's, in one wait split on
        interruption (after the steps of a ``recovery``, which a restart leaves on the same
        phase): a slowdown re-plans the rest; a planned stop checkpoints what is done."""
        ends, plan, books, env = self._phase_ends, self.plan, self.books, self.env
        position = plan.work_s - self.progress.remaining_s + segment.done_s
        phase = bisect.bisect_right(ends, position) if len(ends) > 1 else 0
        if phase != self.phase:
            if self.phase is not None and plan.switch_s > 0.0:
                assert not recovery, "a restart starts the data pipeline on its phase"
                self.job.spend(
                    ((Bucket.DATA_STALL, plan.switch_s),),
                    lambda: self._switched(segment, phase),
                )
                return
            self.phase = phase
        left = segment.segment_s - segment.done_s
        piece = min(left, ends[phase] - position)
        last = piece >= left
        straggler, elastic, data = self.pace.straggler, self.pace.elastic, self.pace.data[phase]
        speed = straggler * elastic * data
        train_wall = piece / speed
        tail = segment.write_left if last else 0.0
        start = self.recovery.begins(recovery)

        def settle(cause: object) -> bool:
            elapsed = env.now - start
            trained = min(elapsed, train_wall)
            books.book_training(trained, straggler, elastic, data, phase)
            segment.done_s += trained * speed
            if elapsed > train_wall:
                segment.write_left -= books.book_stall(start + train_wall, elapsed - train_wall)
            if cause is PLANNED:
                # Write the work done so far to storage (unless the checkpoint is under way
                # already), then stop for maintenance; a job that never checkpoints saves
                # nothing and starts over from its last restore point.
                self.job.planned_pending = True
                if plan.policy == "none":
                    self._lose_progress("planned")
                    return False
                if elapsed < train_wall:
                    segment.cut(plan.checkpoint_write_s)
            elif cause is not SPEED:
                return False
            self._train_piece(segment)
            return True

        def done() -> None:
            books.book_training(train_wall, straggler, elastic, data, phase)
            segment.done_s += piece
            if not last:
                self._train_piece(segment)
                return
            books.book_stall(start + train_wall, tail)
            self.training = False
            self.progress.committed(segment.checkpoint, segment.segment_s)
            self.recovery.regrow()
            self.job.start_next()

        self.recovery.wait_from(start, train_wall + tail, done, settle, recovery)

    def _switched(self, segment: Segment, phase: int) -> None:
        """The data pipeline restarted for a new phase; a planned stop that came meanwhile
        checkpoints now."""
        if self.job.planned_pending and segment.segment_s > segment.done_s:
            segment.cut(self.plan.checkpoint_write_s)
        self.phase = phase
        self._train_piece(segment)

    def _lose_progress(self, cause: str) -> None:
        """Back to the newest restore point, not for a failure (a planned stop under ``none``):
        the data pipeline starts over."""
        _, lost_s = self.progress.roll_back(memory_lost=False, corrupted_at=None)
        self.phase = None
        self.books.log.record(self.env.now, "lost_work", cause, -1, lost_s)
