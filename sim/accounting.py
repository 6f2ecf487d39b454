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

    def roll_back(self, to_productive_s: float) -> float:
        """Reclassify productive time beyond ``to_productive_s`` as lost; return how much."""
        lost = self.seconds[Bucket.PRODUCTIVE] - to_productive_s
        self.seconds[Bucket.PRODUCTIVE] -= lost
        self.seconds[Bucket.LOST_WORK] += lost
        return lost
