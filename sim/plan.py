"""From configuration to the numbers the engine needs: the job plan, all in seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.checkpointing import POLICIES, PolicyInputs
from sim.config import Config
from sim.throughput import Throughput, throughput

SECONDS_PER_DAY = 86_400.0
STALL_LIMIT = 100.0  # without a horizon, give up on a replicate after 100x its failure-free time


@dataclass(frozen=True)
class JobPlan:
    """One training job on a cluster, reduced to rates and durations in seconds."""

    work_s: float  # failure-free training time
    interval_s: float  # training time between checkpoints; inf: never checkpoint
    checkpoint_write_s: float
    detection_s: float
    restart_s: float
    restore_s: float
    repair_mean_s: float
    servers: int
    spare_servers: int
    failure_rate_per_server_s: float
    swap_fraction: float
    horizon_s: float | None  # None: run until the work is done

    @property
    def failure_free_s(self) -> float:
        """Wall-clock time with no failure: the work and its checkpoints."""
        checkpoints = (
            0.0 if math.isinf(self.interval_s) else math.ceil(self.work_s / self.interval_s)
        )
        return self.work_s + checkpoints * self.checkpoint_write_s

    @property
    def limit_s(self) -> float:
        """Where a replicate stops: the horizon, or else STALL_LIMIT times the failure-free time,
        so a job that can never finish (say, broken servers pile up faster than repairs return
        them) ends as unfinished instead of running forever."""
        return self.horizon_s if self.horizon_s is not None else STALL_LIMIT * self.failure_free_s

    @property
    def job_mtbf_s(self) -> float:
        return 1.0 / (self.servers * self.failure_rate_per_server_s)

    @property
    def recovery_s(self) -> float:
        """Fixed cost of one interruption, spares permitting."""
        return self.detection_s + self.restart_s + self.restore_s


def plan_job(config: Config) -> tuple[JobPlan, Throughput]:
    """Derive the job plan and its failure-free throughput. Expects a validated config."""
    speed = throughput(config)
    rate_per_server_s = config.failures.rate_per_1000_server_days / 1000.0 / SECONDS_PER_DAY
    job_mtbf_s = 1.0 / (config.cluster.servers * rate_per_server_s)
    policy = POLICIES[config.checkpoint.policy]
    interval_s = policy(
        PolicyInputs(
            interval_min=config.checkpoint.interval_min,
            write_s=config.checkpoint.write_s,
            job_mtbf_s=job_mtbf_s,
        )
    )
    horizon = config.sim.horizon_days
    return (
        JobPlan(
            work_s=config.workload.tokens / speed.tokens_per_s,
            interval_s=interval_s,
            checkpoint_write_s=0.0 if math.isinf(interval_s) else config.checkpoint.write_s,
            detection_s=config.recovery.detection_s,
            restart_s=config.recovery.restart_s,
            restore_s=config.recovery.restore_s,
            repair_mean_s=config.recovery.repair_h * 3600.0,
            servers=config.cluster.servers,
            spare_servers=config.cluster.spare_servers,
            failure_rate_per_server_s=rate_per_server_s,
            swap_fraction=config.failures.server_swap_fraction,
            horizon_s=None if horizon is None else horizon * SECONDS_PER_DAY,
        ),
        speed,
    )
