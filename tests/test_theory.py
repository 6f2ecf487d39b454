"""Simulation against theory: with exponential failures and fixed costs the Monte Carlo mean must
match the exact renewal result (Daly 2006), and the best simulated interval must sit near Daly's."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from helpers import SWEEP_FACTORS, SWEEP_PLAN, mean_and_sem, plan, simulate

from sim.perf.analytic import daly_interval_s, expected_job_time_s, lossless_job_time_s
from sim.training.accounting import Bucket

pytestmark = pytest.mark.slow  # statistical: hundreds of replicates against closed forms

HOUR = 3600.0


@pytest.mark.parametrize(
    ("mtbf_h", "interval_h", "checkpoint_s", "expect_ettr_below_0_7"),
    [
        (10.0, 1.0, 300.0, False),  # rare failures: ETTR 0.88
        (4.0, 2.0, 600.0, True),  # interval far above the optimum: ETTR 0.67
        # a failure every hour: ETTR 0.46; 17 s of replicates, so in the long run
        pytest.param(1.0, 0.5, 300.0, True, marks=pytest.mark.long),
    ],
)
def test_mean_time_to_train_matches_exact_closed_form_within_1_percent(
    mtbf_h: float, interval_h: float, checkpoint_s: float, expect_ettr_below_0_7: bool
) -> None:
    p = plan(
        work_s=200 * HOUR,
        interval_s=interval_h * HOUR,
        checkpoint_write_s=checkpoint_s,
        job_mtbf_s=mtbf_h * HOUR,
    )
    outcomes = simulate(p, replicates=800)
    mean, sem = mean_and_sem([o.wall_s for o in outcomes])
    exact = expected_job_time_s(p.work_s, p.interval_s, checkpoint_s, p.recovery_s, p.job_mtbf_s)
    assert sem / exact < 0.0025, "too few replicates for a 1% test"
    assert mean == pytest.approx(exact, rel=0.01)
    assert (p.work_s / exact < 0.7) is expect_ettr_below_0_7


def test_best_interval_of_a_simulated_sweep_lies_within_10_percent_of_daly(
    interval_sweep_means: tuple[float, ...],
) -> None:
    base = SWEEP_PLAN
    daly = daly_interval_s(base.checkpoint_write_s, base.job_mtbf_s)
    factors = np.array(SWEEP_FACTORS)
    means = interval_sweep_means  # common random numbers: every interval sees the same failures
    # The cost curve is near-parabolic in log(interval); its vertex is the simulated optimum.
    a, b, _ = np.polyfit(np.log(factors), means, 2)
    best = daly * np.exp(-b / (2 * a))
    assert a > 0
    assert best == pytest.approx(daly, rel=0.10)


@pytest.mark.parametrize("fail_during_recovery", [True, False])
def test_lossless_job_matches_its_closed_form_with_and_without_failures_during_recovery(
    fail_during_recovery: bool,
) -> None:
    # 4,096 servers for 256 days of work, 10 failures per 1000 server-days (about 10,500 during
    # training), a 20-minute restart, no work lost (issue 13). Closed forms in sim.perf.analytic:
    # the job takes W e^(rR) when failures restart the recovery, W (1 + rR) when they cannot strike
    # during it; failures number r x the time they can strike in. Tolerance 1% on the means.
    day = 86_400.0
    rate = 4096 * 10 / 1000 / day
    p = plan(
        work_s=256 * day, interval_s=math.inf, checkpoint_write_s=0.0, policy="lossless",
        servers=4096, spare_servers=264, detection_s=0.0, restart_s=1200.0, restore_s=0.0,
        job_mtbf_s=1 / rate, fail_during_recovery=fail_during_recovery, planned_per_day=0.0,
    )  # fmt: skip
    outcomes = simulate(p, 3)
    wall = statistics.fmean(o.wall_s for o in outcomes)
    failures = statistics.fmean(sum(o.interruptions.values()) for o in outcomes)
    expected = lossless_job_time_s(
        p.work_s, rate, 1200.0, fail_during_recovery=fail_during_recovery
    )
    exposed = expected if fail_during_recovery else p.work_s
    assert all(o.finished for o in outcomes)
    assert wall == pytest.approx(expected, rel=0.01)
    assert failures == pytest.approx(rate * exposed, rel=0.01)
    assert all(o.seconds[Bucket.LOST_WORK] == 0.0 for o in outcomes)
    # One event per failure heard: ignored failures and the wake-ups they replace cost none.
    assert all(o.engine_events < sum(o.interruptions.values()) + 20 for o in outcomes)
