"""What one serving iteration costs a replica (sim.perf.inference): the step time's bounds, a
decode run and a pipelined iteration against their sums, what fits in a replica's memory, the
compute paths, and what MLA caches and MoE reads."""

from __future__ import annotations

import dataclasses
import functools

import pytest
from helpers import mlperf
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import Config
from sim.errors import ConfigError
from sim.perf.engine_overheads import kernels_per_iteration
from sim.perf.inference import (
    PRECISION_BYTES,
    StepModel,
    compute_path,
    kv_bytes_per_token,
    replica_memory,
    step_model,
)
from sim.perf.model import NORM_PARAMETERS, matmul_parameters, moe_layers

HARDWARE = ["a100_sxm", "b200", "epyc_9755", "h100_sxm", "h200_sxm", "mi300x", "xeon6_6980p"]


@functools.cache
def on_hardware(name: str) -> Config:
    """The MLPerf scenario on ``name``: under its GPU engine (TensorRT-LLM) on GPUs, the
    hardware's own constants on CPUs (a GPU engine is refused there)."""
    config = mlperf(f"hardware={name}")
    return config if config.hardware.kind == "gpu" else dataclasses.replace(config, engine=None)


@pytest.mark.slow
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


@pytest.mark.slow
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

    def per_token(step: StepModel) -> float:  # the dense part and the routed experts'
        return step.linear_s_per_token + step.expert_s_per_token

    assert per_token(step_model(no_penalty)) == pytest.approx(ideal, rel=1e-6)
    narrowest = min(m.hidden, m.expert_ffn_hidden or m.ffn_hidden)
    worst = 1.0 + 2.0 * hw.gemm_half_dim / (narrowest / tp)
    assert ideal < per_token(step_model(config)) < ideal * worst


def test_a_decode_run_lasts_the_sum_of_its_steps() -> None:
    step = step_model(mlperf())
    run = step.decode_run(37, 12_345)
    steps = [step.step_s(37, 12_345 + 37 * i) for i in range(200)]
    assert run.duration_s(200) == pytest.approx(sum(steps), rel=1e-12)
    for elapsed in (0.0, steps[0] * 0.5, sum(steps[:57]) + 1e-9, sum(steps) * 0.999):
        done = run.steps_within(elapsed)
        assert run.duration_s(done) <= elapsed < run.duration_s(done + 1)


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


def test_a_replica_too_big_for_its_devices_is_refused_with_the_breakdown() -> None:
    config = mlperf("model=llama3_405b", "serving.weights=bf16", "serving.tp=8")
    with pytest.raises(ConfigError, match=r"serving\.tp=8: .*weights 94\.5 \+ reserve 4\.0 "
                       r"\+ KV cache 0\.0 of 80 GiB per device") as error:  # fmt: skip
        replica_memory(config)
    assert "\n" not in str(error.value)


def test_compute_paths_follow_the_device() -> None:
    assert compute_path(mlperf("hardware=xeon6_6980p").hardware, "int8")[0] == "int8"
    assert compute_path(mlperf("hardware=xeon6_6980p").hardware, "fp8")[0] == "bf16"
    assert compute_path(mlperf().hardware, "fp8")[0] == "fp8"
    assert compute_path(mlperf().hardware, "int4")[0] == "bf16"


@pytest.mark.slow
def test_mla_caches_the_latent_and_moe_reads_only_the_routed_experts() -> None:
    v3 = mlperf("model=deepseek_v3").model
    assert kv_bytes_per_token(v3, "bf16") == 61 * (512 + 64) * 2  # DESIGN section 10
    llama = mlperf("model=llama3_70b").model
    assert kv_bytes_per_token(llama, "bf16") == 320 * 1024  # 320 KiB (DESIGN section 11)
    step = step_model(mlperf("model=deepseek_v2", "serving.tp=8", "serving.replicas=1"))
    one, many = step.weight_bytes(1), step.weight_bytes(10_000)
    assert one == pytest.approx(step.dense_weight_bytes + 59 * 6 * step.expert_bytes)
    assert many == pytest.approx(step.dense_weight_bytes + 59 * 160 * step.expert_bytes, rel=1e-6)


def _with_engine(config: Config, **fields: object) -> Config:
    from sim.config import EngineConfig

    engine = EngineConfig(name="test", software="test", **fields)  # type: ignore[arg-type]
    return dataclasses.replace(config, engine=engine)


def test_an_engines_layer_overhead_is_its_cycles_at_the_cpus_clock() -> None:
    config = on_hardware("xeon6_6980p")
    plain = step_model(config)
    slowed = step_model(_with_engine(config, layer_overhead_kcycles=500.0))
    per_layer = 500e3 / (config.hardware.clock_ghz * 1e9)  # type: ignore[operator]
    assert slowed.step_s(4, 1000) - plain.step_s(4, 1000) == pytest.approx(
        config.model.layers * per_layer, rel=1e-9
    )
    gpu = _with_engine(on_hardware("h100_sxm"), layer_overhead_kcycles=500.0)
    with pytest.raises(ConfigError, match=r"hardware\.clock_ghz"):
        step_model(gpu)


def test_an_engines_matrix_efficiency_sets_prefill_and_int8_has_its_own() -> None:
    config = on_hardware("xeon6_6980p")
    config = dataclasses.replace(
        config,
        serving=dataclasses.replace(config.serving, weights="int8"),  # type: ignore[arg-type]
    )
    half = step_model(_with_engine(config, matrix_efficiency=0.3))
    full = step_model(_with_engine(config, matrix_efficiency=0.6))
    assert half.linear_s_per_token == pytest.approx(2 * full.linear_s_per_token, rel=1e-9)
    own = step_model(_with_engine(config, matrix_efficiency=0.6, int8_matrix_efficiency=0.3))
    assert own.linear_s_per_token == pytest.approx(half.linear_s_per_token, rel=1e-9)
    vector = step_model(_with_engine(config, matrix_efficiency=0.6, vector_kernels=True))
    amx_over_avx = config.hardware.peak_tops_int8 / config.hardware.vector_tops_int8  # type: ignore[operator]
    assert vector.linear_s_per_token == pytest.approx(amx_over_avx * full.linear_s_per_token)


def test_experts_on_their_own_kernels_take_their_own_efficiency() -> None:
    """llama.cpp computes the routed experts one after another at a fraction of its dense GEMMs'
    efficiency: halving the experts' efficiency doubles their compute and leaves the dense
    GEMMs' alone (the bandwidth bound lifted to see the compute)."""
    config = mlperf("model=mixtral_8x7b", "serving.replicas=1", "serving.tp=8")

    def model(expert: float | None) -> StepModel:
        engine = _with_engine(config, matrix_efficiency=0.4, expert_matrix_efficiency=expert,
                              bandwidth_efficiency=1e9)  # fmt: skip
        return step_model(engine)

    same, half = model(None), model(0.2)
    assert same.expert_s_per_token > 0
    assert half.expert_s_per_token == pytest.approx(2 * same.expert_s_per_token, rel=1e-9)
    assert half.linear_s_per_token == same.linear_s_per_token
    assert half.linear_s(4096) > same.linear_s(4096)


def test_a_gpu_engine_charges_its_floor_on_every_kernel_of_an_iteration() -> None:
    config = on_hardware("h100_sxm")
    plain = step_model(_with_engine(config))
    engine = _with_engine(config, kernel_floor_us=5.0, kernels_per_layer=4.0)
    kernels = kernels_per_iteration(config.model, config.serving.tp, engine.engine)  # type: ignore[arg-type]
    # Llama 2 70B: QKV, output, gate-and-up and down GEMMs and 4 others per layer, the head
    assert kernels == 80 * (4 + 4) + 1
    assert step_model(engine).step_s(8, 4000) - plain.step_s(8, 4000) == pytest.approx(
        kernels * 5e-6, rel=1e-9
    )
    moe = mlperf("model=deepseek_v3", "hardware=h200_sxm", "serving.tp=8", "serving.weights=fp8")
    moe_engine = _with_engine(moe, kernels_per_layer=4.0, kernels_per_moe_layer=5.0).engine
    # MLA's five GEMMs and three more, a MoE layer's router, shared and two grouped GEMMs
    assert (
        kernels_per_iteration(moe.model, 8, moe_engine)
        == 61 * (5 + 3 + 4) + 3 * 2 + 58 * (5 + 5) + 1
    )  # type: ignore[arg-type]


def test_gpus_stream_each_tokens_activations_and_cpus_keep_them_in_cache() -> None:
    gpu, cpu = step_model(on_hardware("h100_sxm")), step_model(on_hardware("xeon6_6980p"))
    # each of the replica's two TP ranks: the whole hidden vector's norms, its share of rotary
    # and of the SwiGLU
    per_layer = 16 * 8192 + 4 * (8192 + 2 * 1024) / 2 + 6 * 28672 / 2
    assert gpu.activation_bytes == 2 * 80 * per_layer
    assert cpu.activation_bytes == 0.0
    extra = gpu.linear_s(2000) - gpu.linear_s(1000)
    compute = 1000 * gpu.linear_s_per_token
    assert extra == pytest.approx(compute + 1000 * gpu.activation_bytes / gpu.memory_bytes_per_s)


def test_an_unfused_attention_pays_serial_cycles_on_every_score() -> None:
    """ITREX's unfused attention: every query-key pair of every head and layer costs the
    engine's cycles on one thread, in prefill and as the cache grows in decode."""
    config = on_hardware("xeon_spr_amx")
    plain = step_model(_with_engine(config))
    serial = step_model(_with_engine(config, unfused_attention=True, score_cycles=10.0))
    per_pair = 80 * 64 * 10.0 / 2.0e9  # Llama 2 70B's layers x heads, at 2.0 GHz
    assert serial.step_s(1, 5000) - plain.step_s(1, 5000) == pytest.approx(5000 * per_pair)
    run, base = serial.decode_run(1, 5000), plain.decode_run(1, 5000)
    assert run.growth_s - base.growth_s == pytest.approx(per_pair)
