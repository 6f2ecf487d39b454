"""The job's clock mechanism (``Activity``) alone, on a bare SimPy environment: one pending
wake-up, timeouts reused rather than left to fire for nothing, and interruptions settled."""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from sim.training.activity import Activity, Settle


class Ends:
    """Records which activity ended when, and what interrupted it."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.ended: list[tuple[str, float]] = []
        self.settled: list[tuple[object, float]] = []

    def then(self, name: str) -> Callable[[], None]:
        return lambda: self.ended.append((name, self.env.now))

    def settle(self, carry_on: bool) -> Settle:
        def settle(cause: object) -> bool:
            self.settled.append((cause, self.env.now))
            return carry_on

        return settle


def activity() -> tuple[simpy.Environment, Activity, Ends]:
    env = simpy.Environment()
    return env, Activity(env), Ends(env)


def test_then_runs_once_at_the_end_of_a_timed_wait() -> None:
    env, job, ends = activity()
    job.wait_for(7.5, ends.then("train"), ends.settle(False))
    env.run()
    assert ends.ended == [("train", 7.5)]
    assert ends.settled == []


def test_then_runs_when_the_awaited_event_fires() -> None:
    env, job, ends = activity()
    spare = env.timeout(4.0)
    job.wait(spare, ends.then("spare"), ends.settle(False))
    env.run()
    assert ends.ended == [("spare", 4.0)]


def test_only_the_newest_wait_wakes_the_job() -> None:
    env, job, ends = activity()
    job.wait(env.timeout(3.0), ends.then("event"), ends.settle(False))
    job.wait_for(10.0, ends.then("first"), ends.settle(False))
    job.wait_for(20.0, ends.then("second"), ends.settle(False))
    env.run()
    assert ends.ended == [("second", 20.0)]


def test_a_replaced_wait_keeps_its_timeout_and_moves_it_on() -> None:
    env, job, ends = activity()
    job.wait_for(10.0, ends.then("first"), ends.settle(False))
    job.wait_for(10.0, ends.then("again"), ends.settle(False))
    job.wait_for(30.0, ends.then("later"), ends.settle(False))
    # One timeout only: the first wait's, at 10 s; it fires early and is moved on to 30 s.
    assert env.peek() == 10.0
    env.step()
    assert (env.now, ends.ended, env.peek()) == (10.0, [], 30.0)
    env.step()
    assert (env.now, ends.ended, env.peek()) == (30.0, [("later", 30.0)], math.inf)


def test_an_earlier_wait_adds_a_timeout() -> None:
    env, job, ends = activity()
    job.wait_for(30.0, ends.then("long"), ends.settle(False))
    job.wait_for(5.0, ends.then("short"), ends.settle(False))
    assert env.peek() == 5.0
    env.step()
    assert ends.ended == [("short", 5.0)]
    # The 30 s timeout is still pending, and fires for nothing: no activity waits on it.
    assert env.peek() == 30.0
    env.run()
    assert ends.ended == [("short", 5.0)]


def test_a_wait_begun_after_an_early_timeout_reuses_the_later_one() -> None:
    env, job, ends = activity()
    job.wait_for(30.0, ends.then("long"), ends.settle(False))
    job.wait_for(5.0, ends.then("short"), ends.settle(False))
    env.run(until=2.0)
    job.wait_for(28.0, ends.then("resumed"), ends.settle(False))
    env.run()
    assert ends.ended == [("resumed", 30.0)]  # on the 30 s timeout: none was added at 2 s


def test_an_interruption_settles_the_activity_and_drops_its_wake_up() -> None:
    env, job, ends = activity()
    job.wait_for(10.0, ends.then("train"), ends.settle(False))
    env.run(until=4.0)
    assert job.interrupt("failure") is False
    env.run()
    assert ends.settled == [("failure", 4.0)]
    assert ends.ended == []  # its timeout fired at 10 s, for an activity that was over


def test_an_activity_that_carries_on_keeps_its_end() -> None:
    env, job, ends = activity()
    job.wait_for(10.0, ends.then("maintenance"), ends.settle(True))
    env.run(until=4.0)
    assert job.interrupt("slowdown") is True
    env.run()
    assert ends.settled == [("slowdown", 4.0)]
    assert ends.ended == [("maintenance", 10.0)]


def test_a_settle_may_start_the_next_activity() -> None:
    env, job, ends = activity()

    def replan(cause: object) -> bool:
        job.wait_for(1.0, ends.then("replanned"), ends.settle(False))
        return True

    job.wait_for(10.0, ends.then("train"), replan)
    env.run(until=4.0)
    assert job.interrupt("slowdown") is True
    env.run()
    assert ends.ended == [("replanned", 5.0)]
