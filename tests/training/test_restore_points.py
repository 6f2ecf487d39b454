"""Restore points without SimPy: which one a failure goes back to, and what pruning keeps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.training.restore_points import (
    MEMORY,
    PRUNE_AT,
    STORAGE,
    PointRun,
    RestorePoint,
    RestorePoints,
)


def test_a_lost_server_takes_its_memory_copy_unless_a_peer_holds_one() -> None:
    points = RestorePoints(work_s=100.0, silent_window_s=0.0)
    points.add(RestorePoint(10.0, 90.0, 10.0, STORAGE), now=10.0)
    points.add(RestorePoint(20.0, 80.0, 20.0, MEMORY), now=20.0)
    assert points.roll_back(memory_lost=False, corrupted_at=None).time_s == 20.0
    points.add(RestorePoint(30.0, 70.0, 30.0, MEMORY), now=30.0)
    back = points.roll_back(memory_lost=True, corrupted_at=None)
    assert back == RestorePoint(10.0, 90.0, 10.0, STORAGE)
    assert [p.level for p in points.points] == [STORAGE, STORAGE]  # the memory copies are gone


def test_a_corruption_found_late_rules_out_later_points() -> None:
    points = RestorePoints(work_s=100.0, silent_window_s=50.0)
    for t in (10.0, 20.0, 30.0):
        points.add(RestorePoint(t, 100.0 - t, t, STORAGE), now=t)
    assert points.roll_back(memory_lost=False, corrupted_at=25.0).time_s == 20.0
    assert points.points[-1].time_s == 20.0


def test_pruning_keeps_the_newest_storage_point_and_the_silent_window() -> None:
    window = 100.0
    points = RestorePoints(work_s=1e6, silent_window_s=window)
    now = 0.0
    for i in range(1, 3 * PRUNE_AT):
        now = 10.0 * i
        points.add(RestorePoint(now, 1e6 - now, now, STORAGE), now=now)
    times = [p.time_s for p in points.points]
    assert len(times) < PRUNE_AT
    assert times[-1] == now
    # The newest point at or before now - window survives, so a corruption found late has one.
    assert min(times) <= now - window
    assert points.roll_back(memory_lost=False, corrupted_at=now - window).time_s == now - window


@given(
    gaps=st.lists(st.floats(1.0, 500.0), min_size=PRUNE_AT, max_size=3 * PRUNE_AT),
    counts=st.lists(st.integers(1, 20), min_size=3 * PRUNE_AT, max_size=3 * PRUNE_AT),
    window=st.floats(0.0, 5000.0),
)
def test_pruning_runs_in_order_keeps_what_the_general_pass_keeps(
    gaps: list[float], counts: list[int], window: float
) -> None:
    # Storage runs appended one after another are pruned from the newest back; the general pass,
    # which also handles memory runs and persists out of order, must keep the same points.
    def filled(in_order: bool) -> RestorePoints:
        points = RestorePoints(work_s=1e9, silent_window_s=window)
        t = 0.0
        for gap, n in zip(gaps, counts, strict=False):
            first = RestorePoint(t + gap, 1e9 - t - gap, t + gap, STORAGE)
            points.add_run(PointRun(first, n, 30.0, 25.0), now=t + gap + 30.0 * n)
            points._in_order = in_order  # False: the general pass prunes
            t = first.time_s + 30.0 * n
        return points

    assert filled(True).points == filled(False).points
