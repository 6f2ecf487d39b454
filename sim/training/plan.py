"""From configuration to the numbers the engine needs: the job plan, all in seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.config import Config, FailureCategory
from sim.perf.throughput import Throughput, throughput
from sim.perf.workload import phases, pipeline_tokens_per_s
from sim.training.checkpointing import Costs, first_interval_s
from sim.training.failures import Category
from sim.training.storage import checkpoint_bytes, snapshot_s, transfer_s

SECONDS_PER_DAY = 86_400.0
STALL_LIMIT = 100.0  # without a horizon, give up on a replicate after 100x its failure-free time


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


def per_server_s(rate_per_1000_server_days: float) -> float:
    """A configured rate (events per 1000 server-days) per server and second."""
    return rate_per_1000_server_days / 1000.0 / SECONDS_PER_DAY


def _category(name: str, c: FailureCategory, detection_s: float) -> Category:
    return Category(
        name=name,
        scope=c.scope,
        rate_per_server_s=per_server_s(c.rate_per_1000_server_days),
        distribution=c.distribution,
        shape=c.shape,
        empirical=tuple(c.empirical),
        swap=c.recovery == "swap",
        servers_down=c.servers_down,
        detection_s=detection_s if c.detection_s is None else c.detection_s,
        silent=c.silent,
    )


def _work_phases(config: Config) -> list[tuple[PhasePlan, Throughput]]:
    """Each phase's plan with its failure-free throughput."""
    plans = []
    for spec in phases(config):
        speed = throughput(spec.config)
        supply = pipeline_tokens_per_s(spec.config, spec.mix)
        phase = PhasePlan(
            name=spec.name,
            tokens=spec.config.workload.tokens,
            work_s=spec.config.workload.tokens / speed.tokens_per_s,
            data_speed=min(1.0, supply / speed.tokens_per_s),
            step_time_s=speed.step_time_s,
            tokens_per_s=speed.tokens_per_s,
        )
        plans.append((phase, speed))
    return plans


def plan_job(config: Config) -> tuple[JobPlan, Throughput]:
    """Derive the job plan and the first phase's failure-free throughput. Expects a validated
    config."""
    planned = _work_phases(config)
    work_phases = tuple(phase for phase, _ in planned)
    speed = planned[0][1]
    f, rec, par, hw = config.failures, config.recovery, config.parallelism, config.hardware
    if f.kind == "node_rate":
        rate = per_server_s(f.rate_per_1000_server_days)
        categories = node_rate_categories(
            rate, f.server_swap_fraction, rec.detection_s, f.distribution, f.shape
        )
    else:
        categories = tuple(
            _category(name, c, rec.detection_s)
            for name, c in f.categories.items()
            if c.rate_per_1000_server_days > 0
        )
    servers = config.cluster.servers
    job_rate = servers * sum(c.rate_per_server_s for c in categories)
    size = checkpoint_bytes(config)
    write_s = config.checkpoint.write_s
    if write_s is None:
        write_s = transfer_s(config, size)
    restore_s = rec.restore_s if rec.restore_s is not None else transfer_s(config, size)
    ckpt = config.checkpoint
    job_mtbf_s = 1.0 / job_rate if job_rate > 0 else math.inf
    snapshot = snapshot_s(config, size)
    guess_s = job_mtbf_s if ckpt.mtbf_guess_h is None else ckpt.mtbf_guess_h * 3600.0
    interval_s = first_interval_s(
        str(ckpt.policy), ckpt.interval_min * 60.0, Costs(write_s, snapshot, job_mtbf_s), guess_s
    )
    horizon = config.sim.horizon_days
    devices_per_replica = par.tp * par.pp * par.cp
    return (
        JobPlan(
            work_s=sum(p.work_s for p in work_phases),
            phases=work_phases,
            switch_s=config.workload.switch_restart_s,
            interval_s=interval_s,
            checkpoint_write_s=0.0 if math.isinf(interval_s) else write_s,
            detection_s=rec.detection_s,
            restart_s=rec.restart_s,
            restore_s=restore_s,
            checkpoint_bytes=size,
            policy=str(ckpt.policy),
            snapshot_s=snapshot,
            memory_restore_s=ckpt.overhead_s + snapshot,
            persist_every=ckpt.persist_every,
            peer_replica=ckpt.peer_replica,
            persist_bytes_per_s=min(
                ckpt.store_tbyte_per_s * 1e12, servers * hw.network_gbit_per_s / 8.0 * 1e9
            ),
            mtbf_guess_s=guess_s,
            repair_mean_s=rec.repair_h * 3600.0,
            servers=servers,
            spare_servers=config.cluster.spare_servers,
            categories=categories,
            horizon_s=None if horizon is None else horizon * SECONDS_PER_DAY,
            diagnosis_s=rec.diagnosis_s,
            repair_distribution=rec.repair_distribution,
            repair_shape=rec.repair_shape,
            repair_slots=rec.repair_slots,
            retire_after=f.retire_after,
            lemon_fraction=f.lemons.fraction,
            lemon_multiplier=f.lemons.rate_multiplier,
            planned_per_day=f.planned.per_day + f.planned.per_1000_server_days * servers / 1000.0,
            planned_duration_s=f.planned.duration_min * 60.0,
            straggler_rate_per_server_s=per_server_s(f.stragglers.rate_per_1000_server_days),
            straggler_speed=f.stragglers.speed,
            straggler_duration_s=f.stragglers.duration_h * 3600.0,
            elastic=rec.elastic,
            fail_during_recovery=rec.fail_during_recovery,
            replicas=par.dp,
            replicas_per_server_lost=max(1.0, hw.devices_per_server / devices_per_replica),
            max_events=config.sim.max_events,
        ),
        speed,
    )
