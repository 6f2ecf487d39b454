"""Where the wall-clock time went: every simulated second lands in exactly one bucket."""

from __future__ import annotations

from enum import StrEnum


class Bucket(StrEnum):
    """Accounting buckets; their sum is the wall-clock time of a replicate."""

    PRODUCTIVE = "productive"
    CHECKPOINT_STALL = "checkpoint_stall"
    LOST_WORK = "lost_work"
    DETECTION = "detection"
    DIAGNOSIS = "diagnosis"
    RESTART = "restart"
    RESTORE = "restore"
    WAITING_FOR_SERVERS = "waiting_for_servers"
    PLANNED_MAINTENANCE = "planned_maintenance"
    STRAGGLER_SLOWDOWN = "straggler_slowdown"
    DEGRADED_CAPACITY = "degraded_capacity"  # elastic: fewer data-parallel replicas
    DATA_STALL = "data_stall"  # the CPUs cannot tokenise fast enough; pipeline restarts


class Ledger:
    """Seconds per bucket. A rollback to a restore point moves the productive time since that
    point to ``LOST_WORK`` (it is redone), so the buckets still sum to wall-clock."""

    def __init__(self) -> None:
        self.seconds: dict[Bucket, float] = dict.fromkeys(Bucket, 0.0)

    def add(self, bucket: Bucket, seconds: float) -> None:
        self.seconds[bucket] += seconds

    def train(self, wall_s: float, straggler: float, elastic: float, data: float) -> None:
        """Wall time trained at reduced speed: the full-speed share is productive, the rest is
        lost to the data pipeline, the slowest server or the missing replicas."""
        seconds = self.seconds
        if straggler == elastic == data == 1.0:  # the common case, kept cheap
            seconds[Bucket.PRODUCTIVE] += wall_s
            return
        seconds[Bucket.PRODUCTIVE] += wall_s * straggler * elastic * data
        if data < 1.0:
            seconds[Bucket.DATA_STALL] += wall_s * straggler * elastic * (1.0 - data)
        if straggler < 1.0:
            seconds[Bucket.STRAGGLER_SLOWDOWN] += wall_s * elastic * (1.0 - straggler)
        if elastic < 1.0:
            seconds[Bucket.DEGRADED_CAPACITY] += wall_s * (1.0 - elastic)

    def roll_back(self, to_productive_s: float) -> float:
        """Reclassify productive time beyond ``to_productive_s`` as lost; return how much."""
        lost = self.seconds[Bucket.PRODUCTIVE] - to_productive_s
        self.seconds[Bucket.PRODUCTIVE] -= lost
        self.seconds[Bucket.LOST_WORK] += lost
        return lost
