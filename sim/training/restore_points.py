"""The checkpoints a job can roll back to: pure bookkeeping, no SimPy, so it is tested alone.

A restore point is where the job stood when a checkpoint completed: ``storage`` (on the shared
store, survives anything) or ``memory`` (host memory, lost with its server unless a peer holds a
copy). A failure goes back to the newest point it left intact; a silent corruption found late
rules out the points taken after it was introduced. Periodic checkpoints are kept as runs (the
first point, a count and a spacing), so a run of thousands costs one entry; a failure derives the
point it needs.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

MEMORY, STORAGE = "memory", "storage"
TIE_S = 1e-6  # points this close are one checkpoint (its times are derived by different sums)
PRUNE_AT = 32  # runs kept before the unneeded ones are dropped (pruning is O(n))


class RestorePoint(NamedTuple):
    """A checkpoint the job can roll back to."""

    time_s: float
    remaining_s: float  # work left to do from it
    productive_s: float  # productive time booked when it was taken
    level: str  # MEMORY or STORAGE


class PointRun(NamedTuple):
    """``n`` points of one level, ``step_s`` apart in time and ``work_s`` apart in work done."""

    first: RestorePoint
    n: int = 1
    step_s: float = 0.0
    work_s: float = 0.0

    def point(self, j: int) -> RestorePoint:
        first = self.first
        return RestorePoint(
            self._time(j),
            first.remaining_s - j * self.work_s,
            first.productive_s + j * self.work_s,
            first.level,
        )

    @property
    def last_s(self) -> float:
        return self._time(self.n - 1)

    def until(self, time_s: float) -> PointRun | None:
        """The points at or before ``time_s``; None if there are none."""
        if self.last_s <= time_s:
            return self
        if self.first.time_s > time_s:
            return None
        j = self._index(time_s)
        if self._time(j) > time_s:
            j -= 1
        return self._replace(n=j + 1)

    def since(self, time_s: float) -> PointRun | None:
        """The points at or after ``time_s``; None if there are none."""
        if self.first.time_s >= time_s:
            return self
        if self.last_s < time_s:
            return None
        j = self._index(time_s)
        if self._time(j) < time_s:
            j += 1
        return self._replace(first=self.point(j), n=self.n - j)

    def _time(self, j: int) -> float:
        return self.first.time_s + j * self.step_s

    def _index(self, time_s: float) -> int:
        """The point nearest ``time_s``, for a time within the run."""
        return min(self.n - 1, max(0, round((time_s - self.first.time_s) / self.step_s)))


def _newest(run: PointRun) -> tuple[float, bool]:
    return run.last_s, run.first.level == MEMORY  # at equal times memory is the newer


def _order(run: PointRun) -> tuple[float, bool]:
    return run.first.time_s, run.first.level == MEMORY  # at equal times memory sorts last


class RestorePoints:
    """The point runs in time order, pruned to what a future failure can still need: the newest
    storage point, and those within ``silent_window_s`` (the longest silent-corruption
    detection) before now."""

    def __init__(self, work_s: float, silent_window_s: float) -> None:
        self.runs = [PointRun(RestorePoint(0.0, work_s, 0.0, STORAGE))]
        self.silent_window_s = silent_window_s
        self._in_order = True  # runs appended one after another: the last is the newest
        self._memory = False  # a memory run was kept: a lost server's failure must filter

    @property
    def points(self) -> list[RestorePoint]:
        """Every point kept, in time order."""
        return [run.point(j) for run in self.runs for j in range(run.n)]

    def add(self, point: RestorePoint, now: float) -> None:
        self.add_run(PointRun(point), now)

    def add_run(self, run: PointRun, now: float) -> None:
        runs = self.runs
        if run.first.time_s > runs[-1].last_s:
            runs.append(run)
        else:  # a background persist, or a memory copy
            bisect.insort(runs, run, key=_order)
            self._in_order = False
        if run.first.level == MEMORY:
            self._memory = True
        if len(runs) >= PRUNE_AT:
            self._prune(now)

    def _prune(self, now: float) -> None:
        cutoff = now - self.silent_window_s
        if self._in_order and not self._memory:
            self._prune_in_order(cutoff)
            return
        storage = [run for run in self.runs if run.first.level == STORAGE]
        before = [r for run in storage if (r := run.until(cutoff))]
        newest = max(run.last_s for run in storage)
        keep_from = min(newest, before[-1].last_s if before else storage[0].first.time_s)
        self.runs = [r for run in self.runs if (r := run.since(keep_from))]

    def _prune_in_order(self, cutoff: float) -> None:
        """Storage runs one after another: keep the newest point at or before ``cutoff`` and all
        after it, found from the newest run back (what ``_prune`` keeps, without its passes over
        every run)."""
        runs = self.runs
        i = len(runs) - 1
        while i >= 0 and runs[i].first.time_s > cutoff:
            i -= 1
        if i < 0:  # no point at or before the cutoff: all are kept
            return
        before = runs[i].until(cutoff)
        assert before is not None, "the run began by the cutoff"
        kept = runs[i].since(before.last_s)
        assert kept is not None, "its point at or before the cutoff is in it"
        self.runs = [kept, *runs[i + 1 :]]

    def roll_back(self, *, memory_lost: bool, corrupted_at: float | None) -> RestorePoint:
        """The newest point a failure left (memory points gone with their server unless a peer
        holds them; none after a corruption found late), forgetting the points after it. Runs
        may overlap in time (in-memory checkpoints and the persisted few among them)."""
        runs = self.runs
        if memory_lost and self._memory:
            runs = [run for run in runs if run.first.level == STORAGE]
        if corrupted_at is not None:
            runs = [r for run in runs if (r := run.until(corrupted_at))]
        # The start of the job is always there. Appended runs have strictly increasing times.
        best = runs[-1]
        if not self._in_order:
            best = max(runs, key=_newest)
            if best.first.level == STORAGE:  # a memory copy of the checkpoint restores faster
                same = [
                    r for r in runs if r.first.level == MEMORY and best.last_s - r.last_s < TIE_S
                ]
                best = same[-1] if same else best
        self.runs = runs  # nothing is left after the newest point
        return best.point(best.n - 1)
