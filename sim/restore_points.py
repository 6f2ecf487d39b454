"""The checkpoints a job can roll back to: pure bookkeeping, no SimPy, so it is tested alone.

A restore point is where the job stood when a checkpoint completed: ``storage`` (on the shared
store, survives anything) or ``memory`` (host memory, lost with its server unless a peer holds a
copy). A failure goes back to the newest point it left intact; a silent corruption found late
rules out the points taken after it was introduced.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

MEMORY, STORAGE = "memory", "storage"
PRUNE_AT = 32  # points kept before the unneeded ones are dropped (pruning is O(n))


class RestorePoint(NamedTuple):
    """A checkpoint the job can roll back to (a tuple: one is made per checkpoint kept)."""

    time_s: float
    remaining_s: float  # work left to do from it
    productive_s: float  # productive time booked when it was taken
    level: str  # MEMORY or STORAGE


class RestorePoints:
    """The points in time order, pruned to those a future failure can still need: the newest
    storage point, and those within ``silent_window_s`` (the longest silent-corruption
    detection) before now."""

    def __init__(self, work_s: float, silent_window_s: float) -> None:
        self.points = [RestorePoint(0.0, work_s, 0.0, STORAGE)]
        self.silent_window_s = silent_window_s

    def add(self, point: RestorePoint, now: float) -> None:
        points = self.points
        if point.time_s > points[-1].time_s:
            points.append(point)
        else:  # a background persist, or a memory copy: at equal times memory sorts last
            bisect.insort(points, point, key=lambda p: (p.time_s, p.level == MEMORY))
        if len(points) >= PRUNE_AT:
            self._prune(now)

    def _prune(self, now: float) -> None:
        storage = [p.time_s for p in self.points if p.level == STORAGE]
        before = [t for t in storage if t <= now - self.silent_window_s]
        keep_from = min(storage[-1], before[-1] if before else storage[0])
        self.points = [p for p in self.points if p.time_s >= keep_from]

    def roll_back(self, *, memory_lost: bool, corrupted_at: float | None) -> RestorePoint:
        """The newest point a failure left (memory points gone with their server unless a peer
        holds them; none after a corruption found late), forgetting the points after it."""
        point = next(
            p
            for p in reversed(self.points)
            if (p.level == STORAGE or not memory_lost)
            and (corrupted_at is None or p.time_s <= corrupted_at)
        )
        self.points = [
            p for p in self.points
            if p.time_s <= point.time_s and (p.level == STORAGE or not memory_lost)
        ]  # fmt: skip
        return point

    def reset(self, point: RestorePoint) -> None:
        """Only ``point`` remains (a lossless policy keeps everything trained)."""
        self.points = [point]
