"""Serving: the step-time bounds, the closed forms the engine relies on, queueing identities,
failures, memory refusals and the capacity search."""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.app.capacity import search
from sim.app.simulation import run_serving
from sim.config import Config, SloConfig
from sim.errors import ConfigError
from sim.outputs.serving_results import requests_frame
from sim.perf.inference import (
    PRECISION_BYTES,
    compute_path,
    kv_bytes_per_token,
    replica_memory,
    step_model,
)
from sim.perf.model import NORM_PARAMETERS, matmul_parameters, moe_layers
from sim.serving.engine import prefill_s, simulate
from sim.serving.fleet import ServingFleet
from sim.serving.traffic import traffic

QUIET = ["sim.progress=false", "sim.replicates=1"]
DATA = Path(sim.__file__).parent / "data"
HARDWARE = ["a100_sxm", "b200", "epyc_9755", "h100_sxm", "h200_sxm", "mi300x", "xeon6_6980p"]


def mlperf(*overrides: str) -> Config:
    return sim.load_config("mlperf_llama2_70b", [*QUIET, *overrides])


@functools.cache
def on_hardware(name: str) -> Config:
    return mlperf(f"hardware={name}")


def fixed(prompt: int, output: int) -> list[str]:
    return [
        "serving.prompt_tokens.distribution=fixed", f"serving.prompt_tokens.mean={prompt}",
        f"serving.prompt_tokens.max={prompt}", "serving.output_tokens.distribution=fixed",
        f"serving.output_tokens.mean={output}", f"serving.output_tokens.max={output}",
    ]  # fmt: skip


@settings(deadline=None)
@given(
    hardware=st.sampled_from(HARDWARE),
    weights=st.sampled_from(["bf16", "fp8", "int8", "int4"]),
    layers=st.integers(2, 96),
    heads=st.sampled_from([8, 16, 32, 64]),
    width=st.sampled_from([64, 128]),
    group=st.sampled_from([1, 2, 8]),
    batch=st.integers(1, 512),
    context=st.integers(0, 2_000_000),
    prompt=st.integers(1, 16384),
)
def test_decode_never_beats_bandwidth_and_prefill_never_beats_the_peak(
    hardware: str, weights: str, layers: int, heads: int, width: int, group: int,
    batch: int, context: int, prompt: int,
) -> None:  # fmt: skip
    base = on_hardware(hardware)
    assert base.serving is not None
    architecture = {"layers": layers, "heads": heads, "hidden": heads * width,
                    "kv_heads": heads // group, "ffn_hidden": 4 * heads * width}  # fmt: skip
    config = dataclasses.replace(
        base,
        model=dataclasses.replace(base.model, **architecture),
        serving=dataclasses.replace(base.serving, weights=weights, kv_cache="bf16"),
    )
    hw, model = config.hardware, config.model
    step = step_model(config)
    tp = config.serving.tp if config.serving else 1
    bandwidth = tp * hw.memory_bandwidth_tbyte_per_s * 1e12  # the datasheet bound, 100%
    weight_bytes = matmul_parameters(model) * PRECISION_BYTES[weights]
    cache = context * kv_bytes_per_token(model, "bf16")
    assert step.step_s(batch, context) >= (weight_bytes + cache) / bandwidth * (1 - 1e-12)
    _, peak = compute_path(hw, weights)
    flops = 2.0 * matmul_parameters(model) * prompt
    assert step.step_s(0, 0, prompt, prompt * prompt / 2.0) >= flops / (tp * peak) * (1 - 1e-12)


@pytest.mark.parametrize("model", ["llama2_70b", "llama3_405b", "mixtral_8x7b", "qwen3_235b_a22b"])
@pytest.mark.parametrize("tp", [1, 2, 8])
def test_linear_layers_do_the_active_parameters_work_at_the_layer_widths_efficiency(
    model: str, tp: int
) -> None:
    """Every token passes through each active matmul parameter once, split over TP: with no
    shape penalty the linear time is 2 x active matmul parameters at the compute-path peak; with
    the training model's gemm_half_dim it is slower, by at most its widest penalty."""
    config = mlperf(f"model={model}", f"serving.tp={tp}", "serving.replicas=1")
    hw = config.hardware
    _, peak = compute_path(hw, "fp8")
    m = config.model
    norms = NORM_PARAMETERS[m.norm] * m.hidden * (2 * m.layers + 1)  # parameters, not GEMMs
    router = moe_layers(m) * m.experts * m.hidden  # every rank routes its tokens: not split
    per_device = (matmul_parameters(m) - norms - router) / tp + router
    ideal = 2.0 * per_device / (peak * hw.gemm_efficiency)
    no_penalty = dataclasses.replace(config, hardware=dataclasses.replace(hw, gemm_half_dim=1e-9))
    assert step_model(no_penalty).linear_s_per_token == pytest.approx(ideal, rel=1e-6)
    narrowest = min(m.hidden, m.expert_ffn_hidden or m.ffn_hidden)
    worst = 1.0 + 2.0 * hw.gemm_half_dim / (narrowest / tp)
    assert ideal < step_model(config).linear_s_per_token < ideal * worst


def test_mlperf_prompt_lengths_are_the_datasets() -> None:
    """The scenario's prompt mean and log-spread are those of the 24,576 MLPerf samples."""
    lengths = pd.read_csv(DATA / "mlperf_llama2_70b_lengths.csv", comment="#")["input_length"]
    prompts = mlperf().serving.prompt_tokens  # type: ignore[union-attr]
    assert prompts.mean == pytest.approx(lengths.mean(), abs=0.005)
    assert prompts.sigma == pytest.approx(np.log(lengths).std(), abs=0.0005)
    assert prompts.max >= lengths.max()


def test_a_decode_run_lasts_the_sum_of_its_steps() -> None:
    step = step_model(mlperf())
    run = step.decode_run(37, 12_345)
    steps = [step.step_s(37, 12_345 + 37 * i) for i in range(200)]
    assert run.duration_s(200) == pytest.approx(sum(steps), rel=1e-12)
    for elapsed in (0.0, steps[0] * 0.5, sum(steps[:57]) + 1e-9, sum(steps) * 0.999):
        done = run.steps_within(elapsed)
        assert run.duration_s(done) <= elapsed < run.duration_s(done + 1)


@pytest.mark.parametrize("prompt", [300, 20_000])  # one prefill chunk, and three
def test_an_unloaded_server_matches_the_closed_form_step_sum(prompt: int) -> None:
    config = mlperf("serving.arrivals=offline", "serving.requests=1", "serving.replicas=1",
                    *fixed(prompt, 120), "serving.prompt_tokens.max=20000")  # fmt: skip
    outcome = simulate(config, np.random.SeedSequence(0))
    (request,) = outcome.requests
    step = step_model(config)
    ttft = prefill_s(step, prompt, 8192)
    decode = sum(step.step_s(1, prompt + i) for i in range(119))
    assert request.first_token_s == pytest.approx(ttft, rel=1e-12)
    assert request.finish_s - request.first_token_s == pytest.approx(decode, rel=1e-12)


def test_littles_law_holds_on_the_simulated_queue() -> None:
    """Mean requests in the system (time average, sampled) = arrival rate x mean time in it."""
    config = mlperf("serving.rate_per_s=40", "serving.requests=null", "serving.duration_s=1200")
    outcome = simulate(config, np.random.SeedSequence(3))
    frame = requests_frame(outcome, config.serving, 0)  # type: ignore[arg-type]
    start, end = 200.0, 1000.0  # steady state: away from the empty start and the drain
    arrivals, finishes = frame["arrival_s"].to_numpy(), frame["finish_s"].to_numpy()
    probes = np.random.default_rng(1).uniform(start, end, 4000)
    in_system = ((arrivals[:, None] <= probes) & (finishes[:, None] > probes)).sum(axis=0).mean()
    window = frame[(frame["arrival_s"] >= start) & (frame["arrival_s"] < end)]
    rate = len(window) / (end - start)
    assert in_system == pytest.approx(rate * window["e2e_s"].mean(), rel=0.02)


def test_same_seed_same_requests_and_latencies() -> None:
    config = mlperf("serving.requests=400")
    first = run_serving(config).requests
    again = run_serving(config).requests
    pd.testing.assert_frame_equal(first, again)
    seed = np.random.SeedSequence(0)  # one SeedSequence object twice: spawn would move on
    once, twice = simulate(config, seed), simulate(config, seed)
    assert [r.finish_s for r in once.requests] == [r.finish_s for r in twice.requests]
    other = run_serving(mlperf("serving.requests=400", "sim.seed=1")).requests
    assert not first["arrival_s"].equals(other["arrival_s"])


def test_a_full_cache_preempts_and_every_request_still_finishes_whole() -> None:
    config = mlperf("serving.arrivals=offline", "serving.requests=300", "serving.replicas=1",
                    "serving.kv_memory_fraction=0.01")  # fmt: skip
    frame = run_serving(config).requests
    assert frame["preemptions"].sum() > 0
    assert frame["finish_s"].notna().all()
    assert (frame["finish_s"] >= frame["first_token_s"]).all()


@pytest.mark.parametrize("policy", ["retry", "drop"])
def test_failed_replicas_retry_or_drop_their_requests(policy: str) -> None:
    config = mlperf(
        "failures=node_rate", "failures.rate_per_1000_server_days=2e6", "recovery.restart_s=5",
        "serving.load_weights_s=5", "recovery.detection_s=1", f"serving.on_failure={policy}",
        "serving.requests=2000",
    )  # fmt: skip
    summary = run_serving(config).summary
    frame = run_serving(config).requests
    assert summary["failures"] > 0
    assert summary["availability"] < 1.0
    if policy == "retry":
        assert summary["retried"] > 0 and summary["dropped"] == 0
        assert frame["finish_s"].notna().all()
    else:
        assert summary["dropped"] > 0 and frame.loc[frame["dropped"], "ttft_s"].isna().all()
        assert summary["slo_attainment"] <= 1 - summary["dropped"] / summary["requests"]


def test_pipeline_stages_split_weights_and_cache_as_tensor_parallelism_does() -> None:
    # Llama 2 70B has 8 KV heads: neither two stages nor two TP ranks copy any of the cache.
    staged, split = replica_memory(mlperf("serving.tp=1", "serving.pp=2")), replica_memory(mlperf())
    assert staged.weights_gib == pytest.approx(split.weights_gib)
    assert staged.kv_tokens == split.kv_tokens


def test_a_pipelined_iteration_is_the_whole_model_on_one_stage_plus_its_sends() -> None:
    staged = step_model(mlperf("serving.tp=1", "serving.pp=2"))
    whole = step_model(mlperf("serving.tp=1"))  # one device's time for every layer
    assert whole.stage_link is None and staged.stage_link is not None
    send = staged.stage_link.send_s(1500 * 8192 * 2.0)  # the hidden vectors, BF16, once
    assert staged.step_s(900, 400_000, 600, 180_000) == pytest.approx(
        whole.step_s(900, 400_000, 600, 180_000) + send
    )


def test_a_failure_takes_every_micro_batch_stream_of_its_replica() -> None:
    config = mlperf(
        "serving.tp=1", "serving.pp=2", "serving.replicas=4", "failures=node_rate",
        "failures.rate_per_1000_server_days=2e6", "recovery.restart_s=5",
        "serving.load_weights_s=5", "recovery.detection_s=1", "serving.requests=2000",
    )  # fmt: skip
    arrivals = traffic(config.serving, np.random.default_rng(0))
    fleet = ServingFleet(config, arrivals, np.random.default_rng(1))
    assert len(fleet.replicas) == 8
    assert fleet.replicas[0].kv_tokens == replica_memory(config).kv_tokens // 2
    outcome = fleet.run()
    assert outcome.failures > 0
    # One server holds all four replicas (2 devices each): every failure downs each of them
    # once, counted per replica, never per stream.
    assert outcome.failures % 4 == 0
    assert not any(math.isnan(r.finish_s) for r in outcome.requests)  # retried, all finish
    assert {r.replica for r in outcome.requests} == {0, 1, 2, 3}  # replicas, not their streams


def test_a_replica_too_big_for_its_devices_is_refused_with_the_breakdown() -> None:
    config = mlperf("model=llama3_405b", "serving.weights=bf16", "serving.tp=8")
    with pytest.raises(ConfigError, match=r"serving\.tp=8: .*weights 94\.5 \+ reserve 4\.0 "
                       r"\+ KV cache 0\.0 of 80 GiB per device") as error:  # fmt: skip
        replica_memory(config)
    assert "\n" not in str(error.value)


def test_a_missing_trace_is_refused_when_the_run_starts(tmp_path: object) -> None:
    config = mlperf("serving.arrivals=trace", "serving.trace=/no/such.csv")
    with pytest.raises(ConfigError, match=r"serving\.trace='/no/such\.csv': no such file"):
        run_serving(config)


def test_a_trace_is_replayed_as_written(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "trace.csv"  # type: ignore[operator]
    pd.DataFrame({"arrival_s": [0.0, 0.5, 3.0], "prompt_tokens": [100, 2000, 50],
                  "output_tokens": [10, 20, 300]}).to_csv(path, index=False)  # fmt: skip
    frame = run_serving(mlperf("serving.arrivals=trace", f"serving.trace={path}")).requests
    assert frame["arrival_s"].tolist() == [0.0, 0.5, 3.0]
    assert frame["output_tokens"].tolist() == [10, 20, 300]


def test_diurnal_traffic_peaks_in_the_afternoon_and_keeps_its_mean() -> None:
    config = mlperf("serving.arrivals=diurnal", "serving.rate_per_s=0.05", "serving.requests=null",
                    "serving.duration_s=864000", "serving.diurnal_peak_to_mean=2")  # fmt: skip
    from sim.serving.traffic import traffic

    assert config.serving is not None
    times = traffic(config.serving, np.random.default_rng(0)).arrival_s
    assert len(times) / 864000 == pytest.approx(0.05, rel=0.03)
    hour = (times % 86400) // 3600
    assert (hour == 6).sum() > 2.5 * (hour == 18).sum()  # sin peaks at 6 h, troughs at 18 h


@pytest.mark.parametrize("router", ["round_robin", "least_loaded"])
def test_routers_spread_the_requests(router: str) -> None:
    frame = run_serving(mlperf(f"serving.router={router}", "serving.requests=800")).requests
    counts = frame["replica"].value_counts()
    assert len(counts) == 4 and counts.min() > 0.2 * 800


def test_compute_paths_follow_the_device() -> None:
    assert compute_path(mlperf("hardware=xeon6_6980p").hardware, "int8")[0] == "int8"
    assert compute_path(mlperf("hardware=xeon6_6980p").hardware, "fp8")[0] == "bf16"
    assert compute_path(mlperf().hardware, "fp8")[0] == "fp8"
    assert compute_path(mlperf().hardware, "int4")[0] == "bf16"


def test_mla_caches_the_latent_and_moe_reads_only_the_routed_experts() -> None:
    v3 = mlperf("model=deepseek_v3").model
    assert kv_bytes_per_token(v3, "bf16") == 61 * (512 + 64) * 2  # DESIGN section 10
    llama = mlperf("model=llama3_70b").model
    assert kv_bytes_per_token(llama, "bf16") == 320 * 1024  # 320 KiB (DESIGN section 11)
    step = step_model(mlperf("model=deepseek_v2", "serving.tp=8", "serving.replicas=1"))
    one, many = step.weight_bytes(1), step.weight_bytes(10_000)
    assert one == pytest.approx(step.dense_weight_bytes + 59 * 6 * step.expert_bytes)
    assert many == pytest.approx(step.dense_weight_bytes + 59 * 160 * step.expert_bytes, rel=1e-6)


def test_capacity_search_finds_the_smallest_fleet_that_meets_the_target() -> None:
    config = mlperf("serving.requests=300", "serving.search_requests=300")
    slo = SloConfig(ttft_s=2.0, tpot_s=0.2)
    low, high = search(config, 20.0, slo), search(config, 80.0, slo)
    assert low["feasible"] and high["feasible"]
    assert low["replicas"] <= high["replicas"]
    assert high["slo_attainment"] >= 0.99
    if high["replicas"] > 1:  # one fewer replica would miss (the bisection's other end)
        from sim.app.capacity import measure, with_serving

        base = with_serving(config, rate_per_s=80.0, requests=300)
        fewer = measure(with_serving(base, replicas=high["replicas"] - 1))
        assert fewer["slo_attainment"] < 0.99
    cpu = mlperf("model=llama3_405b", "hardware=xeon6_6980p", "failures=cpu_host",
                 "serving.weights=int8", "serving.kv_cache=bf16")  # fmt: skip
    refused = search(cpu, 1.0, SloConfig(ttft_s=4.5, tpot_s=0.08))
    assert not refused["feasible"] and "TPOT" in refused["reason"]


def test_the_serving_summary_is_strict_json(tmp_path: pytest.TempPathFactory) -> None:
    import json

    sim.run(mlperf("serving.requests=100"), tmp_path)  # type: ignore[arg-type]
    text = (tmp_path / "summary.json").read_text()  # type: ignore[operator]
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert summary["mode"] == "serving"
    assert math.isfinite(summary["cost_per_m_output_tokens"])


def test_events_follow_changes_of_the_batch_not_tokens() -> None:
    def events(output: int) -> int:
        config = mlperf("serving.arrivals=offline", "serving.requests=50", "serving.replicas=1",
                        *fixed(200, output), "serving.output_tokens.max=20000")  # fmt: skip
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
