"""Engine speed on llama_405b. Run with `make bench` (excluded from the default test run).

Reports: wall time of one replicate, events per second against bare SimPy timeouts measured in the
same run, and the time of 1,000 replicates. Targets from issue 2: at most 100 ms per replicate and
60 s for 1,000 replicates on a 2-core machine; from issue 13: 10 ms per replicate, 10 s for 1,000,
100 ms for 131,072 GPUs and for the 4,096-server lossless job. `make bench` measures the
pure-Python engine, `make bench-compiled` the engine compiled by `make compile`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy

import sim
import sim.training.job
from sim.des.environment import CountingEnvironment
from sim.training.montecarlo import replicate_outcomes
from sim.training.plan import JobPlan, node_rate_categories
from sim.training.planning import plan_job
from sim.training.replicate import simulate_replicate

pytestmark = pytest.mark.benchmark


@pytest.fixture(scope="module")
def llama_plan() -> JobPlan:
    plan, _ = plan_job(sim.load_config("llama_405b"))
    return plan


def test_one_llama_405b_replicate(benchmark: Any, llama_plan: JobPlan) -> None:
    seed = np.random.SeedSequence(0)
    out = benchmark(simulate_replicate, llama_plan, seed, 0, record_events=False)
    engine = "compiled" if Path(sim.training.job.__file__).suffix == ".so" else "pure Python"
    print(f"\none replicate ({engine} engine): mean {benchmark.stats['mean'] * 1e3:.1f} ms, "
          f"{out.engine_events} SimPy events, {out.checkpoints} checkpoints")  # fmt: skip


@pytest.mark.parametrize("interval_min", [2, 60])
def test_one_llama_405b_replicate_at_another_interval(benchmark: Any, interval_min: int) -> None:
    # Issue 13: the cost of a replicate must not grow with the checkpoint count.
    plan, _ = plan_job(sim.load_config("llama_405b", [f"checkpoint.interval_min={interval_min}"]))
    out = benchmark(simulate_replicate, plan, np.random.SeedSequence(0), 0, record_events=False)
    print(f"\none replicate at {interval_min} min: mean {benchmark.stats['mean'] * 1e3:.1f} ms, "
          f"{out.engine_events} SimPy events, {out.checkpoints} checkpoints")  # fmt: skip


@pytest.mark.parametrize("checkpoint", ["async", "multilevel"])
def test_one_llama_405b_replicate_under_a_background_policy(
    benchmark: Any, checkpoint: str
) -> None:
    # Issue 13: async and multilevel checkpoints are counted in runs too (2-minute interval).
    plan, _ = plan_job(sim.load_config("llama_405b", [f"checkpoint={checkpoint}"]))
    out = benchmark(simulate_replicate, plan, np.random.SeedSequence(0), 0, record_events=False)
    print(f"\none {checkpoint} replicate: mean {benchmark.stats['mean'] * 1e3:.1f} ms, "
          f"{out.engine_events} SimPy events, {out.checkpoints} checkpoints")  # fmt: skip


def test_one_llama_405b_replicate_recording_events(benchmark: Any, llama_plan: JobPlan) -> None:
    seed = np.random.SeedSequence(0)
    benchmark(simulate_replicate, llama_plan, seed, 0, record_events=True)
    print(f"\none replicate with events recorded: mean {benchmark.stats['mean'] * 1e3:.1f} ms")


def _bare_timeouts(env: simpy.Environment, n: int) -> Generator[simpy.Event, Any, None]:
    for _ in range(n):
        yield env.timeout(1.0)


def test_events_per_second_against_bare_simpy(llama_plan: JobPlan) -> None:
    seeds = np.random.SeedSequence(0).spawn(20)
    started = time.perf_counter()
    events = sum(
        simulate_replicate(llama_plan, s, i, record_events=False).engine_events
        for i, s in enumerate(seeds)
    )
    engine_rate = events / (time.perf_counter() - started)

    env = CountingEnvironment()  # counted the same way as the engine: one per env.step()
    env.process(_bare_timeouts(env, 500_000))
    started = time.perf_counter()
    env.run()
    bare_rate = env.processed / (time.perf_counter() - started)
    print(f"\nengine {engine_rate:,.0f} events/s; bare SimPy timeouts {bare_rate:,.0f} events/s; "
          f"ratio {engine_rate / bare_rate:.2f}")  # fmt: skip
    assert events > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_one_thousand_replicates(llama_plan: JobPlan, workers: int) -> None:
    started = time.perf_counter()
    runs = replicate_outcomes(
        llama_plan, seed=0, replicates=1000, record_events=False, progress=False, workers=workers
    )
    outcomes = list(runs)
    elapsed = time.perf_counter() - started
    print(f"\n1,000 replicates on {workers} worker(s): {elapsed:.1f} s")
    assert len(outcomes) == 1000


def test_one_replicate_of_a_131072_gpu_cluster(benchmark: Any) -> None:
    # 16,384 servers of 8 H100s, the full Llama 3 catalogue; the batch grows with the data-parallel
    # degree (8 x 2,048 sequences) so the plan stays valid. Target: at most 1 s.
    config = sim.load_config(
        "llama_405b",
        ["cluster.servers=16384", "parallelism.dp=1024", "workload.global_batch_size=16384",
         "cluster.spare_servers=256"],
    )  # fmt: skip
    plan, _ = plan_job(config)
    out = benchmark(simulate_replicate, plan, np.random.SeedSequence(0), 0, record_events=False)
    failures = sum(out.interruptions.values())
    mean_ms = benchmark.stats["mean"] * 1e3
    events = out.engine_events
    print(f"\n131,072 GPUs: mean {mean_ms:.1f} ms, {failures} interruptions, {events} events")


@pytest.mark.parametrize("fail_during_recovery", [True, False])
def test_one_replicate_of_the_4096_server_lossless_job(
    benchmark: Any, fail_during_recovery: bool
) -> None:
    # Issue 13: 4,096 servers, 256 days of work, 10 failures per 1000 server-days, a 20-minute
    # restart, no lost work: about 10,500 failures (18,500 when they also strike recoveries).
    config = sim.load_config(
        "llama_405b",
        ["checkpoint.policy=lossless", "recovery.detection_s=0", "recovery.restart_s=1200",
         "recovery.restore_s=0", "recovery.diagnosis_s=0",
         f"recovery.fail_during_recovery={str(fail_during_recovery).lower()}"],
    )  # fmt: skip
    plan, _ = plan_job(config)
    plan = dataclasses.replace(plan, servers=4096, spare_servers=264, work_s=256 * 86_400.0,
                               phases=(), planned_per_day=0.0)  # fmt: skip
    rate = 4096 * 10 / 1000 / 86_400.0
    plan = dataclasses.replace(plan, categories=node_rate_categories(rate / 4096, 0.0, 0.0))
    out = benchmark(simulate_replicate, plan, np.random.SeedSequence(0), 0, record_events=False)
    print(f"\n4,096-server lossless job (failures during recovery: {fail_during_recovery}): "
          f"mean {benchmark.stats['mean'] * 1e3:.0f} ms, {sum(out.interruptions.values())} "
          f"failures, {out.engine_events} events")  # fmt: skip
