"""From configuration to the job plan: the one module of the training engine that reads
``Config``."""

from __future__ import annotations

import math

from sim.config import Config, FailureCategory
from sim.perf.checkpoints import checkpoint_bytes, snapshot_s, transfer_s
from sim.perf.throughput import Throughput, throughput
from sim.perf.workload import phases, pipeline_tokens_per_s
from sim.training.checkpointing import Costs, first_interval_s
from sim.training.plan import Category, JobPlan, PhasePlan, node_rate_categories
from sim.units import SECONDS_PER_DAY, per_server_s


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
