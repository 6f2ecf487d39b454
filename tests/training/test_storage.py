"""The shared store's bandwidth, split between concurrent writers (sim.training.storage); the
checkpoint sizes and times are in perf/test_checkpoints.py."""

from __future__ import annotations

import pytest
import simpy

from sim.training.storage import SharedStore


@pytest.mark.parametrize("writers", [1, 2, 4, 8])
def test_doubling_writers_on_a_saturated_store_doubles_the_write_time(writers: int) -> None:
    def write_time(n: int) -> float:
        env = simpy.Environment()
        store = SharedStore(env, bytes_per_s=1e9)
        done = [store.transfer(4e9) for _ in range(n)]
        env.run(until=env.all_of(done))
        return env.now

    assert write_time(writers) == pytest.approx(4.0 * writers)
    assert write_time(2 * writers) == pytest.approx(2 * write_time(writers))


def test_a_late_writer_shares_only_while_both_are_in_flight() -> None:
    env = simpy.Environment()
    store = SharedStore(env, bytes_per_s=1.0)
    first = store.transfer(10.0)
    finished: dict[str, float] = {}

    def late() -> simpy.events.ProcessGenerator:
        yield env.timeout(4.0)
        yield store.transfer(2.0)
        finished["late"] = env.now

    env.process(late())
    env.run(until=first)
    # 4 s alone (4 bytes), then both at 0.5 B/s: the late one's 2 bytes take 4 s, ending at 8;
    # the first had 6 - 2 = 4 bytes left, alone again at 1 B/s: done at 12.
    assert finished["late"] == pytest.approx(8.0)
    assert env.now == pytest.approx(12.0)
