"""The job plan's derived figures (sim.training.plan): the failure-free time, the job's MTBF, the
cost of a recovery, where a replicate stops, and the node-rate failure model's categories."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.training.plan import STALL_LIMIT, Category, JobPlan, PhasePlan, node_rate_categories

HOUR = 3600.0


def job(**changes: object) -> JobPlan:
    """Ten hours of work on 8 servers, a checkpoint every 3 hours taking 2 minutes, no failures."""
    base = JobPlan(
        work_s=10 * HOUR, interval_s=3 * HOUR, checkpoint_write_s=120.0, detection_s=30.0,
        restart_s=300.0, restore_s=90.0, repair_mean_s=HOUR, servers=8, spare_servers=2,
        categories=(), horizon_s=None,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def category(name: str, rate_per_server_s: float) -> Category:
    return Category(name, "server", rate_per_server_s, "exponential", 1.0, (), True, 1, 60.0, False)


def test_failure_free_time_counts_a_checkpoint_for_every_started_interval() -> None:
    # 10 h of work in 3 h intervals: four segments (3, 3, 3 and 1 h), each followed by a write.
    assert job().failure_free_s == pytest.approx(10 * HOUR + 4 * 120.0)
    assert job(interval_s=5 * HOUR).failure_free_s == pytest.approx(10 * HOUR + 2 * 120.0)
    assert job(interval_s=math.inf).failure_free_s == 10 * HOUR  # never checkpoints


def test_failure_free_time_adds_the_data_stalls_and_the_pipeline_restarts() -> None:
    # Two phases: the second one's pipeline feeds the devices at half their pace, so its 4 h of
    # work take 8 h; one switch between them restarts the pipeline for 15 minutes.
    phases = (PhasePlan("a", 1e12, 6 * HOUR), PhasePlan("b", 1e12, 4 * HOUR, data_speed=0.5))
    p = job(phases=phases, switch_s=900.0, interval_s=math.inf)
    assert p.data_stall_s == pytest.approx(4 * HOUR + 900.0)
    assert p.failure_free_s == pytest.approx(10 * HOUR + 4 * HOUR + 900.0)
    assert job().data_stall_s == 0.0  # one phase, never data-starved
    assert [phase.work_s for phase in job().phase_plans] == [10 * HOUR]


def test_job_mtbf_is_one_over_the_servers_times_their_summed_rates() -> None:
    p = job(categories=(category("a", 1e-6), category("b", 3e-6)), servers=50)
    assert p.failure_rate_per_server_s == pytest.approx(4e-6)
    assert p.job_mtbf_s == pytest.approx(1.0 / (50 * 4e-6))
    assert job(servers=100, categories=p.categories).job_mtbf_s == pytest.approx(p.job_mtbf_s / 2)
    assert job().job_mtbf_s == math.inf  # no category: no failure


def test_recovery_is_detection_diagnosis_restart_and_restore() -> None:
    assert job().recovery_s == 30.0 + 300.0 + 90.0
    assert job(diagnosis_s=600.0).recovery_s == 30.0 + 600.0 + 300.0 + 90.0


def test_a_replicate_stops_at_the_horizon_or_else_at_the_stall_limit() -> None:
    assert job(horizon_s=5 * HOUR).limit_s == 5 * HOUR  # even before the work is done
    assert job(horizon_s=None).limit_s == pytest.approx(STALL_LIMIT * job().failure_free_s)
    assert job().limit_s > job().failure_free_s  # a job without failures always finishes


@given(
    rate=st.floats(1e-12, 1e-3),
    swap=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(1e-6, 1.0 - 1e-6)),
    detection=st.floats(0.0, 600.0),
)
def test_node_rate_splits_the_rate_by_the_swap_share(
    rate: float, swap: float, detection: float
) -> None:
    categories = node_rate_categories(rate, swap, detection, "weibull", 0.8)
    assert sum(c.rate_per_server_s for c in categories) == pytest.approx(rate, rel=1e-12)
    by_name = {c.name: c for c in categories}
    assert len(by_name) == len(categories)
    if swap > 0:
        assert by_name["node_swap"].swap
        assert by_name["node_swap"].rate_per_server_s == pytest.approx(rate * swap)
    if swap < 1:
        assert not by_name["node_restart"].swap
        assert by_name["node_restart"].rate_per_server_s == pytest.approx(rate * (1 - swap))
    for c in categories:
        assert c.rate_per_server_s > 0
        assert (c.scope, c.servers_down, c.silent) == ("server", 1, False)
        assert (c.detection_s, c.distribution, c.shape) == (detection, "weibull", 0.8)


def test_node_rate_drops_the_categories_that_never_fire() -> None:
    assert [c.name for c in node_rate_categories(1e-6, 0.0, 60.0)] == ["node_restart"]
    assert [c.name for c in node_rate_categories(1e-6, 1.0, 60.0)] == ["node_swap"]
    assert node_rate_categories(0.0, 0.5, 60.0) == ()
    halves = node_rate_categories(1e-6, 0.5, 60.0)
    assert [c.name for c in halves] == ["node_swap", "node_restart"]
    assert job(categories=halves, servers=10).job_mtbf_s == pytest.approx(1.0 / (10 * 1e-6))
