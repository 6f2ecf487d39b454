"""Checkpoint policies: Daly, adaptive convergence, async persistence, multi-level restores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import simpy
from helpers import SWEEP_PLAN, SWEEP_REPLICATES, simulate

import sim
from sim.perf.analytic import daly_interval_s, young_interval_s
from sim.training.accounting import Ledger
from sim.training.cluster import Roster, SparePool
from sim.training.events import EventLog
from sim.training.failures import Failure
from sim.training.job import TrainingJob
from sim.training.storage import SharedStore

HOUR = 3600.0
BASE = SWEEP_PLAN


def ettr(p: object, replicates: int = SWEEP_REPLICATES) -> float:
    return BASE.work_s / float(np.mean([o.wall_s for o in simulate(p, replicates)]))  # type: ignore[arg-type]


@pytest.mark.slow
def test_young_and_daly_reach_ettr_within_half_a_point_of_the_best_fixed_interval(
    interval_sweep_means: tuple[float, ...],
) -> None:
    best = BASE.work_s / min(interval_sweep_means)
    for policy in ("young", "daly"):
        reached = ettr(dataclasses.replace(BASE, policy=policy))
        assert best - reached <= 0.005, policy


@pytest.mark.slow
def test_adaptive_converges_from_a_tenfold_mtbf_guess_and_beats_the_wrong_fixed_interval() -> None:
    wrong_guess = 10 * BASE.job_mtbf_s
    adaptive = dataclasses.replace(
        BASE, policy="adaptive", mtbf_guess_s=wrong_guess, work_s=300 * HOUR
    )
    outcomes = simulate(adaptive, 40)
    daly = daly_interval_s(BASE.checkpoint_write_s, BASE.job_mtbf_s)
    final = float(np.mean([o.last_interval_s for o in outcomes]))
    assert final == pytest.approx(daly, rel=0.20)
    fixed_wrong = dataclasses.replace(
        adaptive, policy="fixed", interval_s=daly_interval_s(BASE.checkpoint_write_s, wrong_guess)
    )
    wrong = np.mean([o.wall_s for o in simulate(fixed_wrong, 40)])
    assert np.mean([o.wall_s for o in outcomes]) < wrong


def run_job(
    p: object, failures: list[tuple[float, Failure]], store_bytes_per_s: float
) -> TrainingJob:
    """Drive one job by hand: no random failures, just the given ones at the given times."""
    env = simpy.Environment()
    rng = np.random.default_rng(0)
    log = EventLog(True)
    roster = Roster(p.servers, 0, lemon_fraction=0.0, lemon_multiplier=1.0, rng=rng)  # type: ignore[attr-defined]
    spares = SparePool(env, spare_ids=[], repair_time=lambda: 1.0, repair_slots=0,
                       retire_after=0, roster=roster, log=log)  # fmt: skip
    job = TrainingJob(env, p, roster=roster, spares=spares, ledger=Ledger(), log=log,  # type: ignore[arg-type]
                      store=SharedStore(env, store_bytes_per_s))  # fmt: skip

    def strike() -> simpy.events.ProcessGenerator:
        for when, failure in failures:
            yield env.timeout(when - env.now)
            job.fail(failure)

    env.process(strike())
    env.run(until=job.finished)
    return job


ASYNC = dataclasses.replace(
    BASE, policy="async", categories=(), work_s=3000.0, interval_s=600.0, snapshot_s=1.0,
    checkpoint_bytes=1000.0,
)  # fmt: skip
RESTART = Failure("bug", (), False, 0.0)


def test_async_stalls_only_for_the_snapshot() -> None:
    job = run_job(ASYNC, [], store_bytes_per_s=100.0)
    assert job.checkpoints == 5
    assert job.ledger.seconds[sim.training.accounting.Bucket.CHECKPOINT_STALL] == pytest.approx(
        5 * 1.0
    )


def test_a_failure_during_persistence_falls_back_to_the_previous_checkpoint() -> None:
    # First snapshot at 601 s; persisting 1000 bytes at 1 B/s ends at 1601 s. A failure at 1101 s
    # finds only the start to go back to: 600 + 500 s of training lost. With a fast store the first
    # checkpoint is safe by then and only the 500 s since it are lost.
    slow = run_job(ASYNC, [(1101.0, RESTART)], store_bytes_per_s=1.0)
    fast = run_job(ASYNC, [(1101.0, RESTART)], store_bytes_per_s=1000.0)
    lost = sim.training.accounting.Bucket.LOST_WORK
    assert slow.ledger.seconds[lost] == pytest.approx(1100.0)
    assert fast.ledger.seconds[lost] == pytest.approx(500.0)
    assert slow.persists_lost == 1


def test_multilevel_restores_from_memory_unless_the_lost_server_held_the_only_copy() -> None:
    multi = dataclasses.replace(ASYNC, policy="multilevel", persist_every=3, peer_replica=True)
    swap = Failure("gpu", (0,), True, 0.0)
    with_peer = run_job(multi, [(1101.0, swap)], store_bytes_per_s=1000.0)
    alone = run_job(dataclasses.replace(multi, peer_replica=False), [(1101.0, swap)], 1000.0)
    assert with_peer.restores == {"memory": 1}
    assert alone.restores == {"storage": 1}
    lost = sim.training.accounting.Bucket.LOST_WORK
    assert with_peer.ledger.seconds[lost] == pytest.approx(500.0)
    assert alone.ledger.seconds[lost] == pytest.approx(1100.0)


@pytest.mark.slow
def test_multilevel_beats_every_single_level_policy_on_llama_405b() -> None:
    # Same seeds for every policy: the same failures strike at the same times. A small plan:
    # Llama 3 405B's cluster and costs, a tenth of its tokens (about 7 days instead of 70).
    def days(checkpoint: str, *extra: str) -> sim.Result:
        config = sim.load_config(
            "llama_405b", [f"checkpoint={checkpoint}", "workload.tokens=1.56e12",
                           "sim.replicates=8", "sim.progress=false", "sim.record_events=false",
                           *extra],
        )  # fmt: skip
        return sim.run(config)

    multilevel = days("multilevel")
    singles = {
        "fixed": days("fixed"),
        "young": days("fixed", "checkpoint.policy=young"),
        "daly": days("fixed", "checkpoint.policy=daly"),
        "adaptive": days("adaptive"),
        "async": days("async"),
    }
    for name, result in singles.items():
        assert multilevel.summary["time_to_train_days"] < result.summary["time_to_train_days"], name
    assert multilevel.summary["restores_from_memory"] > 0
    assert singles["daly"].summary["restores_from_memory"] == 0


@pytest.mark.slow
def test_young_and_daly_intervals_follow_the_derived_checkpoint_cost() -> None:
    config = sim.load_config("llama_405b", ["checkpoint.policy=young"])
    result = sim.run(dataclasses.replace(config, sim=dataclasses.replace(config.sim, replicates=1)))
    s = result.summary
    assert s["checkpoint_interval_s"] == pytest.approx(
        young_interval_s(s["checkpoint_write_s"], s["job_mtbf_h"] * HOUR)
    )


@pytest.mark.slow
def test_a_planned_stop_saves_nothing_when_the_job_never_checkpoints() -> None:
    """Issue 16: under policy none a planned stop used to write a free checkpoint."""
    config = sim.load_config("cpu_llama_1b", [
        "checkpoint.policy=none", "sim.progress=false", "sim.replicates=20",
        "failures.planned.per_day=2.5", "failures.planned.duration_min=30",
        "failures=node_rate", "failures.rate_per_1000_server_days=40", "recovery.repair_h=1",
    ])  # fmt: skip
    result = sim.run(config)
    reps = result.replicates
    stopped = reps[reps["interruptions_planned"] > 0]
    assert len(stopped) > 0 and (reps["checkpoints_written"] == 0).all()
    # each stop threw away the training since the start of the attempt it interrupted
    assert (stopped["lost_work_h"] > 0).all()
