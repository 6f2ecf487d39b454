"""Checkpoint size, write and restore times, and the shared store's bandwidth."""

from __future__ import annotations

import dataclasses

import pytest
import simpy

import sim
from sim.perf.checkpoints import checkpoint_bytes, snapshot_s, transfer_s
from sim.training.planning import plan_job
from sim.training.storage import SharedStore


def test_checkpoint_size_is_weights_and_optimizer_state() -> None:
    # Llama 3.1 405B: 405.85B parameters x (2 bytes of BF16 weights + 12 of FP32 master weights
    # and Adam moments) = 5.68 TB.
    config = sim.load_config("llama_405b")
    assert checkpoint_bytes(config) == pytest.approx(405.85e9 * 14, rel=1e-3)
    par = dataclasses.replace(config.parallelism, dtype="fp32")
    assert checkpoint_bytes(dataclasses.replace(config, parallelism=par)) == pytest.approx(
        405.85e9 * 12, rel=1e-3
    )


def test_write_time_is_set_by_the_narrowest_path() -> None:
    # Llama 3 paper, Section 3.3.4: a store of 2 TB/s sustained; it is the bottleneck here.
    config = sim.load_config("llama_405b")
    size = checkpoint_bytes(config)
    assert transfer_s(config, size) == pytest.approx(5.0 + size / 2e12)
    slow_net = dataclasses.replace(config.hardware, network_gbit_per_s=1.0)
    narrow = dataclasses.replace(config, hardware=slow_net)
    assert transfer_s(narrow, size) == pytest.approx(5.0 + size / (2048 * 1e9 / 8))
    assert snapshot_s(config, size) == pytest.approx(size / 16384 / 25e9)


def test_plan_uses_the_derived_write_and_restore_times_unless_overridden() -> None:
    plan, _ = plan_job(sim.load_config("llama_405b"))
    assert plan.checkpoint_write_s == pytest.approx(5.0 + 5.682e12 / 2e12, rel=1e-3)
    assert plan.restore_s == plan.checkpoint_write_s
    fixed, _ = plan_job(
        sim.load_config("llama_405b", ["checkpoint.write_s=30", "recovery.restore_s=90"])
    )
    assert (fixed.checkpoint_write_s, fixed.restore_s) == (30.0, 90.0)


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
