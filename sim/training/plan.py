"""The job plan: the numbers the training engine needs, all in seconds, as frozen data (pickled
to worker processes). ``sim.training.planning`` derives it from the configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass

STALL_LIMIT = 100.0  # without a horizon, give up on a replicate after 100x its failure-free time


@dataclass(frozen=True)
class Category:
    """A failure category reduced to what the engine needs (rates per second)."""

    name: str
    scope: str
    rate_per_server_s: float
    distribution: str
    shape: float
    empirical: tuple[float, ...]
    swap: bool
    servers_down: int
    detection_s: float
    silent: bool


@dataclass(frozen=True)
class PhasePlan:
    """One phase of the workload, as the engine needs it."""

    name: str
    tokens: float
    work_s: float  # training time at the devices' pace
    data_speed: float = 1.0  # the data pipeline's pace relative to the devices' demand, at most 1
    step_time_s: float = 0.0
    tokens_per_s: float = 0.0  # the devices' demand


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
    categories: tuple[Category, ...]
    horizon_s: float | None  # None: run until the work is done
    diagnosis_s: float = 0.0
    checkpoint_bytes: float = 0.0
    policy: str = "fixed"
    snapshot_s: float = 0.0  # copy to host memory
    memory_restore_s: float = 0.0  # restore from a host-memory or peer copy
    persist_every: int = 1  # multilevel: every n-th in-memory checkpoint is persisted
    peer_replica: bool = True  # multilevel: in-memory copies also held by a peer server
    persist_bytes_per_s: float = math.inf  # background persists: the store and the network
    mtbf_guess_s: float = math.inf  # adaptive: the starting estimate
    phases: tuple[PhasePlan, ...] = ()  # empty: one phase of work_s, never data-starved
    switch_s: float = 0.0  # data-pipeline restart at a phase switch
    repair_distribution: str = "exponential"
    repair_shape: float = 1.0
    repair_slots: int = 0  # 0: unlimited
    retire_after: int = 0  # 0: never
    lemon_fraction: float = 0.0
    lemon_multiplier: float = 1.0
    planned_per_day: float = 0.0
    planned_duration_s: float = 0.0
    straggler_rate_per_server_s: float = 0.0
    straggler_speed: float = 1.0
    straggler_duration_s: float = 3600.0
    elastic: bool = False
    fail_during_recovery: bool = True
    replicas: int = 1  # data-parallel replicas
    replicas_per_server_lost: float = 1.0  # replicas a lost server takes out
    max_events: int = 0  # SimPy events after which a replicate stops unfinished; 0: no bound

    @property
    def phase_plans(self) -> tuple[PhasePlan, ...]:
        return self.phases or (PhasePlan("main", math.nan, self.work_s),)

    @property
    def data_stall_s(self) -> float:
        """Closed form: the time the devices wait for data, and the pipeline restarts."""
        phases = self.phase_plans
        waits = sum(p.work_s * (1.0 / p.data_speed - 1.0) for p in phases)
        return waits + (len(phases) - 1) * self.switch_s

    @property
    def failure_free_s(self) -> float:
        """Wall-clock time with no failure: the work, its data stalls and its checkpoints."""
        checkpoints = (
            0.0 if math.isinf(self.interval_s) else math.ceil(self.work_s / self.interval_s)
        )
        return self.work_s + self.data_stall_s + checkpoints * self.checkpoint_write_s

    @property
    def limit_s(self) -> float:
        """Where a replicate stops: the horizon, or else STALL_LIMIT times the failure-free time,
        so a job that can never finish (say, broken servers pile up faster than repairs return
        them) ends as unfinished instead of running forever."""
        return self.horizon_s if self.horizon_s is not None else STALL_LIMIT * self.failure_free_s

    @property
    def failure_rate_per_server_s(self) -> float:
        return sum(c.rate_per_server_s for c in self.categories)

    @property
    def job_mtbf_s(self) -> float:
        rate = self.servers * self.failure_rate_per_server_s
        return 1.0 / rate if rate > 0 else math.inf

    @property
    def recovery_s(self) -> float:
        """Fixed cost of one interruption, spares permitting."""
        return self.detection_s + self.diagnosis_s + self.restart_s + self.restore_s


def node_rate_categories(
    rate_per_server_s: float,
    swap_fraction: float,
    detection_s: float,
    distribution: str = "exponential",
    shape: float = 1.0,
) -> tuple[Category, ...]:
    """``failures=node_rate``: one exponential rate per server, split into the share that needs a
    spare and the share a restart clears."""
    split = (("node_swap", swap_fraction, True), ("node_restart", 1.0 - swap_fraction, False))
    return tuple(
        Category(
            name=name,
            scope="server",
            rate_per_server_s=rate_per_server_s * share,
            distribution=distribution,
            shape=shape,
            empirical=(),
            swap=swap,
            servers_down=1,
            detection_s=detection_s,
            silent=False,
        )
        for name, share, swap in split
        if rate_per_server_s * share > 0
    )
