"""The job's books (``Books``) with plain numbers, no SimPy: training at reduced speed, stalls,
whole checkpoint cycles, recovery steps cut short, and waits for spares."""

from __future__ import annotations

import math

import pytest

from sim.training.accounting import Bucket, Ledger
from sim.training.books import Books, Cycle
from sim.training.events import EventLog, EventRow, EventRun


def books(phases: int = 1, *, record: bool = True) -> Books:
    return Books(Ledger(), EventLog(record), phases)


def test_training_books_productive_time_and_the_wall_time_of_its_phase() -> None:
    b = books(phases=2)
    b.book_training(100.0, 1.0, 1.0, 1.0, phase=1)
    b.book_training(50.0, 0.5, 1.0, 1.0, phase=1)
    b.book_training(10.0, 1.0, 0.8, 1.0, phase=0)
    seconds = b.ledger.seconds
    assert seconds[Bucket.PRODUCTIVE] == pytest.approx(100.0 + 25.0 + 8.0)
    assert seconds[Bucket.STRAGGLER_SLOWDOWN] == pytest.approx(25.0)
    assert seconds[Bucket.DEGRADED_CAPACITY] == pytest.approx(2.0)
    assert b.phase_training_s == [10.0, 150.0]
    assert sum(seconds.values()) == pytest.approx(160.0)


def test_a_stall_is_booked_and_logged_only_when_it_took_time() -> None:
    b = books()
    assert b.book_stall(40.0, 0.0) == 0.0
    assert b.book_stall(60.0, 12.5) == 12.5
    assert b.ledger.seconds[Bucket.CHECKPOINT_STALL] == 12.5
    assert b.log.rows == [EventRow(60.0, "checkpoint", "", -1, 12.5)]


def test_nothing_is_logged_when_the_log_is_off() -> None:
    b = books(record=False)
    b.book_stall(60.0, 12.5)
    b.book_steps(((Bucket.RESTART, 10.0),), 0.0, now=20.0)
    b.book_wait(5.0, now=9.0)
    assert b.ledger.seconds[Bucket.CHECKPOINT_STALL] == 12.5
    assert b.ledger.seconds[Bucket.RESTART] == 10.0
    assert b.ledger.seconds[Bucket.WAITING_FOR_SERVERS] == 4.0
    assert b.log.rows == [] and b.log.runs == []


def test_whole_cycles_book_training_stalls_one_run_of_rows_and_their_checkpoints() -> None:
    b = books()
    # Intervals of 100 s of work at half the data speed (200 s of wall time), 5 s stalls.
    cycle = Cycle(100.0, 5.0, 200.0, 1.0, 0.5, False, 0, 1)
    b.book_cycles(1000.0, 3, cycle, phase=0)
    seconds = b.ledger.seconds
    assert seconds[Bucket.PRODUCTIVE] == pytest.approx(300.0)
    assert seconds[Bucket.DATA_STALL] == pytest.approx(300.0)
    assert seconds[Bucket.CHECKPOINT_STALL] == pytest.approx(15.0)
    assert b.log.runs == [EventRun(1200.0, 205.0, 3, "checkpoint", 5.0)]
    assert (b.checkpoints, b.intervals_s, b.last_interval_s) == (3, 300.0, 100.0)
    assert b.phase_training_s == [600.0]


def test_cycles_without_a_stall_log_no_row() -> None:
    b = books()
    b.book_cycles(0.0, 4, Cycle(50.0, 0.0, 50.0, 1.0, 1.0, True, 2, 2), phase=0)
    assert b.log.runs == []
    assert b.checkpoints == 4


def test_checkpoints_are_counted_with_the_intervals_used() -> None:
    b = books()
    assert math.isnan(b.last_interval_s)
    b.count_checkpoints(1, 300.0, 300.0)
    b.count_checkpoints(2, 500.0, 250.0)
    assert (b.checkpoints, b.intervals_s, b.last_interval_s) == (3, 800.0, 250.0)


def test_steps_are_booked_up_to_now_and_no_further() -> None:
    b = books()
    steps = ((Bucket.DETECTION, 10.0), (Bucket.RESTART, 30.0), (Bucket.RESTORE, 20.0))
    b.book_steps(steps, 100.0, now=125.0)  # detection done, restart 15 s in, no restore yet
    seconds = b.ledger.seconds
    assert (seconds[Bucket.DETECTION], seconds[Bucket.RESTART]) == (10.0, 15.0)
    assert seconds[Bucket.RESTORE] == 0.0
    assert b.log.rows == [
        EventRow(100.0, "detection", "", -1, 10.0),
        EventRow(110.0, "restart", "", -1, 15.0),
    ]


def test_steps_spent_in_full_are_booked_in_full() -> None:
    b = books()
    b.book_steps(((Bucket.RESTART, 30.0), (Bucket.RESTORE, 20.0)), 0.0, now=90.0)
    assert b.ledger.seconds[Bucket.RESTART] == 30.0
    assert b.ledger.seconds[Bucket.RESTORE] == 20.0
    assert [row.time_s for row in b.log.rows] == [0.0, 30.0]


def test_a_wait_for_a_spare_is_booked_from_its_start() -> None:
    b = books()
    b.book_wait(200.0, now=260.0)
    assert b.ledger.seconds[Bucket.WAITING_FOR_SERVERS] == 60.0
    assert b.log.rows == [EventRow(200.0, "waiting_for_servers", "", -1, 60.0)]
