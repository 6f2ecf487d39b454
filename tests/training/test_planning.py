"""From configuration to the job plan (sim.training.planning)."""

from __future__ import annotations

import pytest

import sim
from sim.training.planning import plan_job


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
