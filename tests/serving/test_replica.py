"""One serving replica under continuous batching (sim.serving.replica): a full cache preempts,
events follow changes of the batch, not tokens, and the engine's closed-form decode runs give the
times of a step-by-step reference of the same scheduling policy."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import fixed_lengths, mlperf
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.app.simulation import run_serving
from sim.config import Config
from sim.perf.inference import replica_memory, step_model
from sim.serving.engine import simulate


@pytest.mark.slow
def test_a_full_cache_preempts_and_every_request_still_finishes_whole() -> None:
    config = mlperf("serving.arrivals=offline", "serving.requests=300", "serving.replicas=1",
                    "serving.kv_memory_fraction=0.01")  # fmt: skip
    frame = run_serving(config).requests
    assert frame["preemptions"].sum() > 0
    assert frame["finish_s"].notna().all()
    assert (frame["finish_s"] >= frame["first_token_s"]).all()


def test_events_follow_changes_of_the_batch_not_tokens() -> None:
    def events(output: int) -> int:
        config = mlperf("serving.arrivals=offline", "serving.requests=50", "serving.replicas=1",
                        *fixed_lengths(200, output), "serving.output_tokens.max=20000")  # fmt: skip
        return simulate(config, np.random.SeedSequence(0)).engine_events

    assert events(10_000) == events(100)  # 100x the tokens, the same events


def _reference(config: Config, seed: int) -> list[tuple[float, float]]:
    """The same scheduling policy, one loop turn per iteration (no decode runs, no cuts): the
    engine's closed-form runs must give the same first-token and finish times."""
    from sim.serving.traffic import traffic

    serving = config.serving
    assert serving is not None
    step, kv = step_model(config), replica_memory(config).kv_tokens
    demand = traffic(serving, np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0]))
    arrivals = list(zip(demand.arrival_s, demand.prompt, demand.output, strict=True))
    times: dict[int, list[float]] = {}
    waiting: list[dict[str, int]] = []
    prefilling: list[dict[str, int]] = []
    running: list[dict[str, int]] = []  # oldest first; "cached": tokens in the cache
    now, next_arrival = 0.0, 0

    def free() -> int:
        reserved = sum(r["to_prefill"] for r in prefilling)
        return kv - reserved - sum(r["cached"] for r in running)

    while next_arrival < len(arrivals) or waiting or prefilling or running:
        if not (waiting or prefilling or running):
            now = max(now, float(arrivals[next_arrival][0]))
        while next_arrival < len(arrivals) and arrivals[next_arrival][0] <= now:
            _, prompt, output = arrivals[next_arrival]
            waiting.append({"id": next_arrival, "prompt": int(prompt), "output": int(output),
                            "generated": 0, "to_prefill": int(prompt), "done": 0})  # fmt: skip
            next_arrival += 1
        while running and free() < len(running):
            victim = running.pop()
            victim["to_prefill"], victim["done"] = victim["prompt"] + victim["generated"], 0
            waiting.insert(0, victim)
        while (waiting and len(running) + len(prefilling) < serving.max_batch
               and waiting[0]["to_prefill"] + len(running) + 1 <= free()):  # fmt: skip
            prefilling.append(waiting.pop(0))
        decode, budget = len(running), serving.max_batched_tokens - len(running)
        context = sum(r["cached"] for r in running)
        chunks, pairs, cached = [], 0.0, 0
        for r in prefilling:
            if budget <= 0:
                break
            n = min(r["to_prefill"] - r["done"], budget)
            pairs, cached = pairs + n * (r["done"] + n / 2.0), cached + r["done"]
            chunks.append((r, n))
            budget -= n
        now += step.step_s(decode, context, sum(n for _, n in chunks), pairs, cached)
        for r in running:
            r["cached"] += 1
            r["generated"] += 1
        for r in [r for r in running if r["generated"] >= r["output"]]:
            running.remove(r)
            times[r["id"]].append(now)
        for r, n in chunks:
            r["done"] += n
            if r["done"] == r["to_prefill"]:
                prefilling.remove(r)
                times.setdefault(r["id"], [now])
                r["generated"] += 1
                if r["generated"] >= r["output"]:
                    times[r["id"]].append(now)
                else:
                    r["cached"] = r["to_prefill"]
                    running.append(r)
    return [(times[i][0], times[i][-1]) for i in range(len(arrivals))]


@pytest.mark.slow
@settings(deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(0.5, 40.0),
    kv_fraction=st.sampled_from([0.005, 0.01, 0.9]),  # the first two force preemptions
    max_batch=st.integers(1, 64),
    chunk=st.sampled_from([256, 1024, 8192]),
)
def test_the_engine_matches_a_step_by_step_reference(
    seed: int, rate: float, kv_fraction: float, max_batch: int, chunk: int
) -> None:
    config = mlperf(
        "serving.replicas=1", "serving.requests=60", f"serving.rate_per_s={rate}",
        f"serving.kv_memory_fraction={kv_fraction}", f"serving.max_batch={max_batch}",
        f"serving.max_batched_tokens={chunk}", "failures=node_rate",
        "failures.rate_per_1000_server_days=1e-9",
    )  # fmt: skip
    outcome = simulate(config, np.random.SeedSequence(seed))
    expected = _reference(config, seed)
    for request, (first, finish) in zip(outcome.requests, expected, strict=True):
        assert request.first_token_s == pytest.approx(first, rel=1e-9)
        assert request.finish_s == pytest.approx(finish, rel=1e-9)


def test_the_load_the_router_reads_counts_what_the_replica_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The counter kept per submit and completion equals the queue, prefill and batch lengths
    at every scheduling decision, preemptions included."""
    from sim.serving import replica

    checked = []
    scheduler = replica.Replica._next

    def counted(self: replica.Replica) -> None:
        checked.append(self.load == len(self.waiting) + len(self.prefilling) + len(self.running))
        scheduler(self)

    monkeypatch.setattr(replica.Replica, "_next", counted)
    config = mlperf("serving.arrivals=offline", "serving.requests=200", "serving.replicas=2",
                    "serving.kv_memory_fraction=0.01")  # fmt: skip
    outcome = simulate(config, np.random.SeedSequence(0))
    assert sum(r.preemptions for r in outcome.requests) > 0
    assert len(checked) > 100 and all(checked)
