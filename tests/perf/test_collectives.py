"""Collective communication (sim.perf.collectives): ring closed forms, and the links inside and
across servers."""

from __future__ import annotations

import pytest

import sim
import sim.app.validation
from sim.perf.collectives import Link, link


def test_ring_collectives_follow_the_closed_forms() -> None:
    # Ring all-reduce: 2 (n - 1) / n x M / bw + 2 (n - 1) x latency; reduce-scatter and
    # all-gather half of each term (DESIGN.md, section 9).
    ring = Link(bytes_per_s=100e9, latency_s=10e-6)
    n, message = 8, 1e9
    assert ring.all_reduce_s(n, message) == pytest.approx(2 * 7 / 8 * 0.01 + 14 * 10e-6)
    assert ring.reduce_scatter_s(n, message) == pytest.approx(7 / 8 * 0.01 + 7 * 10e-6)
    assert ring.all_reduce_s(1, message) == ring.reduce_scatter_s(1, message) == 0.0
    hw = sim.load_config("llama_405b").hardware
    inside, across = link(hw, 8), link(hw, 16)
    assert inside.bytes_per_s == pytest.approx(450e9 * hw.comm_efficiency)  # NVLink, one way
    assert across.bytes_per_s == pytest.approx(50e9 * hw.comm_efficiency)  # one 400 Gb/s NIC


def test_an_in_switch_all_reduce_sends_the_message_once() -> None:
    """NVLS on an NVSwitch server: M / (link x switch_reduction_efficiency) + 2 x latency for
    more than two ranks; two ranks, other servers and A100s keep the ring."""
    switch = Link(bytes_per_s=100e9, latency_s=10e-6, switch_bytes_per_s=200e9)
    assert switch.all_reduce_s(8, 1e9) == pytest.approx(1e9 / 200e9 + 20e-6)
    assert switch.all_reduce_s(2, 1e9) == pytest.approx(Link(100e9, 10e-6).all_reduce_s(2, 1e9))
    h100 = sim.load_config("llama_405b").hardware
    inside = link(h100, 8)
    assert inside.switch_bytes_per_s == pytest.approx(450e9 * h100.switch_reduction_efficiency)  # type: ignore[operator]
    assert link(h100, 16).switch_bytes_per_s is None
    a100 = sim.load_config("llama_405b", ["hardware=a100_sxm"]).hardware
    assert link(a100, 8).switch_bytes_per_s is None
