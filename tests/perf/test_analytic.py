"""Closed-form models against hand calculations and their own limits."""

from __future__ import annotations

import math

import pytest

from sim.perf.analytic import (
    daly_interval_s,
    expected_job_time_s,
    expected_segment_time_s,
    first_order_ettr,
    mttf_of_servers_s,
    young_interval_s,
)


def test_young_interval() -> None:
    # sqrt(2 x 60 s x 10,000 s) = sqrt(1.2e6) = 1095.445 s
    assert young_interval_s(60.0, 10_000.0) == pytest.approx(1095.445, rel=1e-6)


def test_daly_interval_matches_formula_by_hand() -> None:
    c, m = 60.0, 10_000.0
    by_hand = math.sqrt(2 * c * m) * (1 + math.sqrt(c / (2 * m)) / 3 + c / (18 * m)) - c
    assert daly_interval_s(c, m) == pytest.approx(by_hand, rel=1e-12)
    assert daly_interval_s(c, m) < young_interval_s(c, m)  # Daly subtracts C, adds less


def test_daly_interval_caps_at_mtbf_when_checkpoints_cost_more_than_two_mtbf() -> None:
    assert daly_interval_s(300.0, 100.0) == 100.0


def test_segment_time_without_failures_is_work_plus_checkpoint() -> None:
    assert expected_segment_time_s(3600.0, 60.0, 600.0, 1e15) == pytest.approx(3660.0, rel=1e-9)


def test_segment_time_grows_exponentially_with_segment_over_mtbf() -> None:
    # X = M: M e^(R/M) (e - 1) with R = 0
    assert expected_segment_time_s(900.0, 100.0, 0.0, 1000.0) == pytest.approx(1000 * (math.e - 1))


def test_job_time_sums_full_and_partial_segments() -> None:
    full = expected_segment_time_s(1000.0, 10.0, 50.0, 5000.0)
    last = expected_segment_time_s(500.0, 10.0, 50.0, 5000.0)
    assert expected_job_time_s(3500.0, 1000.0, 10.0, 50.0, 5000.0) == pytest.approx(3 * full + last)


def test_first_order_ettr_agrees_with_exact_when_failures_are_rare() -> None:
    tau, c, r, m = 600.0, 20.0, 360.0, 1e6
    exact = tau / expected_segment_time_s(tau, c, r, m)
    assert first_order_ettr(tau, c, r, m) == pytest.approx(exact, abs=1e-4)


def test_mttf_of_n_servers() -> None:
    assert mttf_of_servers_s(2048, 2048 * 3600.0) == pytest.approx(3600.0)
