"""From configuration to the job plan (sim.training.planning): the work, the checkpoint's cost, the
horizon and the failure categories, each from the configuration's own figures."""

from __future__ import annotations

import math

import pytest

import sim
from sim.perf.checkpoints import checkpoint_bytes
from sim.perf.throughput import throughput
from sim.perf.workload import phases
from sim.training.planning import plan_job


@pytest.mark.slow
def test_a_failure_category_at_rate_zero_is_switched_off() -> None:
    config = sim.load_config("llama_405b", [
        "failures.categories.faulty_gpu.rate_per_1000_server_days=0", "sim.horizon_days=20",
        "sim.replicates=3", "sim.progress=false",
    ])  # fmt: skip
    summary = sim.run(config).summary
    assert summary.interruptions.get("faulty_gpu", 0) == 0  # off: not even planned
    assert summary.interruptions["gpu_hbm3_memory"] > 0


def test_plan_uses_the_derived_write_and_restore_times_unless_overridden() -> None:
    plan, _ = plan_job(sim.load_config("llama_405b"))
    assert plan.checkpoint_write_s == pytest.approx(5.0 + 5.682e12 / 2e12, rel=1e-3)
    assert plan.restore_s == plan.checkpoint_write_s
    fixed, _ = plan_job(
        sim.load_config("llama_405b", ["checkpoint.write_s=30", "recovery.restore_s=90"])
    )
    assert (fixed.checkpoint_write_s, fixed.restore_s) == (30.0, 90.0)


# -- a small plan, figure by figure -----------------------------------------------------------


def small(*overrides: str) -> sim.Config:
    """``cpu_llama_1b``: a 1B model on 64 CPU servers, planned in a fraction of a second."""
    return sim.load_config("cpu_llama_1b", list(overrides))


def test_the_work_is_the_tokens_over_the_failure_free_throughput() -> None:
    config = small()
    plan, speed = plan_job(config)
    tokens_per_s = throughput(config).tokens_per_s
    assert speed.tokens_per_s == pytest.approx(tokens_per_s, rel=1e-12)
    assert plan.work_s == pytest.approx(config.workload.tokens / tokens_per_s, rel=1e-12)
    assert [phase.work_s for phase in plan.phase_plans] == [plan.work_s]  # one phase
    twice, _ = plan_job(small(f"workload.tokens={2 * config.workload.tokens}"))
    assert twice.work_s == pytest.approx(2 * plan.work_s, rel=1e-12)


def test_each_phase_works_through_its_own_tokens_at_its_own_pace() -> None:
    config = sim.load_config("multilingual_switch")
    plan, _ = plan_job(config)
    specs = phases(config)
    assert [phase.name for phase in plan.phases] == [spec.name for spec in specs]
    for phase, spec in zip(plan.phases, specs, strict=True):
        tokens = spec.config.workload.tokens
        assert phase.tokens == tokens
        assert phase.work_s == pytest.approx(tokens / throughput(spec.config).tokens_per_s)
        assert 0.0 < phase.data_speed <= 1.0
    assert plan.work_s == pytest.approx(sum(phase.work_s for phase in plan.phases))
    assert plan.switch_s == config.workload.switch_restart_s


def test_an_unset_checkpoint_write_is_its_size_over_the_narrowest_path() -> None:
    config = small()
    ckpt, hw, servers = config.checkpoint, config.hardware, config.cluster.servers
    assert ckpt.write_s is None and config.recovery.restore_s is None
    paths = {
        "host copies": servers * hw.devices_per_server * ckpt.host_copy_gbyte_per_s * 1e9,
        "networks": servers * hw.network_gbit_per_s / 8.0 * 1e9,
        "store": ckpt.store_tbyte_per_s * 1e12,
    }
    assert min(paths, key=paths.__getitem__) == "store"  # the scenario's 100 GB/s file system
    plan, _ = plan_job(config)
    size = checkpoint_bytes(config)
    assert plan.checkpoint_bytes == size
    assert plan.checkpoint_write_s == pytest.approx(ckpt.overhead_s + size / paths["store"])
    assert plan.restore_s == plan.checkpoint_write_s  # read back the way it was written
    assert plan.interval_s == ckpt.interval_min * 60.0
    faster, _ = plan_job(small(f"checkpoint.store_tbyte_per_s={2 * ckpt.store_tbyte_per_s}"))
    assert faster.checkpoint_write_s - ckpt.overhead_s == pytest.approx(
        (plan.checkpoint_write_s - ckpt.overhead_s) / 2
    )
    stated, _ = plan_job(small("checkpoint.write_s=42"))
    assert stated.checkpoint_write_s == 42.0
    assert stated.restore_s == plan.restore_s  # a stated write time leaves the restore derived


def test_a_job_that_never_checkpoints_never_stalls_for_one() -> None:
    plan, _ = plan_job(small("checkpoint.policy=none"))
    assert plan.interval_s == math.inf
    assert plan.checkpoint_write_s == 0.0
    assert plan.failure_free_s == plan.work_s + plan.data_stall_s  # no write time in it


def test_the_horizon_is_in_seconds_and_absent_without_one() -> None:
    plan, _ = plan_job(small("sim.horizon_days=1.5"))
    assert plan.horizon_s == 1.5 * 86_400.0
    assert plan.limit_s == plan.horizon_s
    unbounded, _ = plan_job(small())
    assert unbounded.horizon_s is None


def test_node_rate_failures_give_each_server_the_rate_split_by_the_swap_share() -> None:
    config = small("failures=node_rate", "failures.rate_per_1000_server_days=5")
    plan, _ = plan_job(config)
    rate = 5 / 1000 / 86_400.0  # per server-second
    swap = config.failures.server_swap_fraction
    assert 0.0 < swap < 1.0
    rates = {c.name: c.rate_per_server_s for c in plan.categories}
    assert rates == pytest.approx({"node_swap": rate * swap, "node_restart": rate * (1 - swap)})
    assert plan.job_mtbf_s == pytest.approx(1.0 / (config.cluster.servers * rate))
    assert {c.detection_s for c in plan.categories} == {config.recovery.detection_s}


def test_hours_minutes_and_per_server_counts_become_the_plans_seconds_and_days() -> None:
    planned = ["failures.planned.per_day=1", "failures.planned.per_1000_server_days=50"]
    config = small("recovery.repair_h=2.5", "failures.planned.duration_min=30", *planned)
    plan, _ = plan_job(config)
    assert plan.repair_mean_s == 2.5 * 3600.0
    assert plan.planned_duration_s == 30 * 60.0
    assert plan.planned_per_day == pytest.approx(1 + 50 * config.cluster.servers / 1000)
    assert (plan.servers, plan.spare_servers) == (64, 2)
