"""The spare pool: repairs come back in the order they end, without an event of their own unless a
job waits for one."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import simpy

from sim.des.environment import CountingEnvironment
from sim.training.cluster import Roster, SparePool
from sim.training.events import EventLog


def pool(env: simpy.Environment, spares: list[int], repairs: list[float], retire_after: int = 0,
         failures: dict[int, int] | None = None) -> SparePool:  # fmt: skip
    roster = Roster(4, len(spares), lemon_fraction=0.0, lemon_multiplier=1.0,
                  rng=np.random.default_rng(0))  # fmt: skip
    roster.failures.update(failures or {})
    times: Iterator[float] = iter(repairs)
    return SparePool(env, spare_ids=spares, repair_time=lambda: next(times), repair_slots=0,
                     retire_after=retire_after, roster=roster, log=EventLog(True))  # fmt: skip


def test_repaired_servers_join_the_back_of_the_pool_in_the_order_their_repairs_end() -> None:
    env = CountingEnvironment()
    spares = pool(env, [10], repairs=[30.0, 10.0, 20.0])
    for server in (1, 2, 3):
        spares.send_to_repair([server], "gpu")
    env.run(until=15.0)
    assert spares.free == 2  # the spare, and server 2 (due at 10)
    env.run(until=40.0)
    assert [spares.take() for _ in range(spares.free)] == [10, 2, 3, 1]
    idle = CountingEnvironment()  # the same two runs with nothing to do
    idle.run(until=15.0)
    idle.run(until=40.0)
    assert env.processed == idle.processed  # no event was spent on a repair


def test_a_waiting_job_gets_the_first_server_back_when_its_repair_ends() -> None:
    env = simpy.Environment()
    spares = pool(env, [], repairs=[50.0, 20.0, 35.0], retire_after=1, failures={2: 1})
    for server in (1, 2, 3):
        spares.send_to_repair([server], "gpu")
    got = spares.request()
    env.run(until=got)
    # Server 2 (due at 20) is retired; server 3 (due at 35) is handed over, server 1 not yet back.
    assert (env.now, got.value, spares.retired, spares.free) == (35.0, 3, 1, 0)


def test_a_cancelled_request_leaves_the_server_in_the_pool() -> None:
    env = simpy.Environment()
    spares = pool(env, [], repairs=[20.0])
    spares.send_to_repair([1], "gpu")
    got = spares.request()
    spares.cancel()
    env.run(until=30.0)
    assert not got.triggered and spares.free == 1 and spares.take() == 1
