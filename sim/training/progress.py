"""The job's checkpointed progress: the work not yet committed, the policy that says when the next
checkpoint comes, the restore points the checkpoints left, their persists to the shared store, and
the roll-back a failure makes to the newest point it left intact.
"""

from __future__ import annotations

import math

import simpy

from sim.training.accounting import Bucket
from sim.training.books import Books, Cycle
from sim.training.checkpointing import REGISTRY, Checkpoint, Costs, Multilevel, make_policy
from sim.training.plan import JobPlan
from sim.training.restore_points import MEMORY, STORAGE, PointRun, RestorePoint, RestorePoints
from sim.training.storage import SharedStore


class CheckpointProgress:
    """Work committed by checkpoints, and what a failure can go back to."""

    def __init__(
        self, env: simpy.Environment, plan: JobPlan, books: Books, store: SharedStore | None
    ) -> None:
        self.env = env
        self.plan = plan
        self.books = books
        self.store = store
        self.remaining_s = plan.work_s  # training work not yet committed by a checkpoint
        self.policy = make_policy(
            plan.policy,
            plan.interval_s,
            Costs(plan.checkpoint_write_s, plan.snapshot_s, plan.job_mtbf_s),
            plan.mtbf_guess_s,
            plan.persist_every,
        )
        self.loses_work = REGISTRY[plan.policy].loses_work
        # A persist's time alone on the store (none: no policy that persists).
        self.persist_s = plan.checkpoint_bytes / store.bytes_per_s if store else math.inf
        self.persists_lost = 0
        self._generation = 0  # bumped by every failure: persists in flight are lost
        silent_window_s = max((c.detection_s for c in plan.categories if c.silent), default=0.0)
        self._points = RestorePoints(plan.work_s, silent_window_s)

    def committed(self, checkpoint: Checkpoint, segment_s: float) -> None:
        """A training segment of ``segment_s`` and its checkpoint are done: the work is
        committed; record the restore points the checkpoint left, or start persisting it."""
        self.remaining_s -= segment_s
        if math.isinf(checkpoint.interval_s):
            return
        self.books.count_checkpoints(1, segment_s, checkpoint.interval_s)
        now, productive = self.env.now, self.books.ledger.seconds[Bucket.PRODUCTIVE]
        point = RestorePoint(now, self.remaining_s, productive, STORAGE)
        if checkpoint.storage:
            self._points.add(point, now)
        if checkpoint.memory:
            self._points.add(RestorePoint(now, self.remaining_s, productive, MEMORY), now)
        if checkpoint.persist:
            self._persist(point)

    def cycles_committed(self, start: float, cycles: int, cycle: Cycle) -> None:
        """Whole periodic cycles from ``start`` are done (and booked): commit their work and
        record the runs of restore points they left: storage points, or in-memory ones, and
        those persisted (the newest may still be persisting)."""
        interval, write_s, train_wall, _, _, memory, every, first = cycle
        if isinstance(self.policy, Multilevel):
            self.policy.count += cycles
        remaining, productive = self.remaining_s, self.books.ledger.seconds[Bucket.PRODUCTIVE]
        self.remaining_s = remaining - cycles * interval
        cycle_wall = train_wall + write_s
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
        persisted = n if newest.time_s + self.persist_s <= self.env.now else n - 1
        if persisted:
            self._points.add_run(persists._replace(n=persisted), self.env.now)
            self.books.log.record_every(
                persists.first.time_s, persists.step_s, persisted, "persisted", self.persist_s
            )
        if persisted < n:
            wait = newest.time_s + self.persist_s - self.env.now
            self._persisting(newest, self.env.timeout(wait))

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
                self.books.log.record(
                    point.time_s, "persisted", "", -1, self.env.now - point.time_s
                )
            else:
                self.persists_lost += 1

        done.callbacks.append(persisted)

    def failed(self, now: float) -> None:
        """A failure: the policy learns of it, and the persists in flight are lost."""
        self.policy.failed(now)
        self._generation += 1

    def roll_back(
        self, *, memory_lost: bool, corrupted_at: float | None
    ) -> tuple[RestorePoint, float]:
        """Back to the newest restore point left (``RestorePoints.roll_back``): the training
        since then is lost. Returns the point and the loss; the trainer's data pipeline is the
        caller's to start over."""
        point = self._points.roll_back(memory_lost=memory_lost, corrupted_at=corrupted_at)
        lost_s = self.books.ledger.roll_back(to_productive_s=point.productive_s)
        self.remaining_s = point.remaining_s
        return point, lost_s
