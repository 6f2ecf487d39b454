"""Step-time model (sim.perf.throughput): the schedule, overlapped communication, and what each
mechanism must do to the step."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

import sim
import sim.app.validation
from sim.app.calibrate import plan
from sim.config import Config, ModelConfig
from sim.perf.memory import memory_per_device
from sim.perf.operators import LayerTime, device, layer_time
from sim.perf.throughput import expert_all_to_all_s, throughput, tp_exposed_s


def with_plan(config: Config, **changes: object) -> Config:
    par = dataclasses.replace(config.parallelism, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(config, parallelism=par)


def gpt(layers: int, hidden: int, heads: int) -> ModelConfig:
    return ModelConfig(
        name="gpt", layers=layers, hidden=hidden, ffn_hidden=4 * hidden, heads=heads,
        kv_heads=heads, vocab_size=51200, tied_embeddings=True, mlp="gelu", norm="layernorm",
        position_embeddings=2048, dropout=True,
    )  # fmt: skip


def test_bubble_is_the_1f1b_fraction_without_interleaving() -> None:
    config = with_plan(sim.load_config("llama_405b"), virtual_stages=1)
    t = throughput(config)
    m, pp = 16, 16
    pipeline = t.step_time_s - t.dp_comm_s - t.optimizer_s
    assert t.bubble_s / pipeline == pytest.approx((pp - 1) / (m + pp - 1))


def test_interleaving_shrinks_the_bubble_and_multiplies_the_pipeline_sends() -> None:
    config = sim.load_config("llama_405b")
    runs = {v: throughput(with_plan(config, virtual_stages=v)) for v in (1, 2, 4, 8)}
    bubbles = [runs[v].bubble_s for v in (1, 2, 4, 8)]
    assert all(a > b for a, b in itertools.pairwise(bubbles))
    # v chunks send v times as often (DESIGN.md section 9; the old model sent once).
    assert runs[8].pp_comm_s == pytest.approx(8 * runs[1].pp_comm_s)


def test_sequence_parallel_tp_is_reduce_scatter_plus_all_gather_with_a_backward_regather() -> None:
    # Without SP: 2 all-reduces forward, 2 backward (8 ring halves). With SP: 2 all-gathers and 2
    # reduce-scatters forward, and 6 backward (the inputs of the column-parallel GEMMs are
    # gathered again for their weight gradients): 10 ring halves. Rings only: an H100's switch
    # sums the all-reduces (NVLS) in one pass instead of two halves.
    ring = sim.load_config("llama_405b", ["hardware.switch_reduction_efficiency=null"])
    config = with_plan(ring, recompute="selective")
    sp = throughput(with_plan(config, sequence_parallel=True)).tp_comm_s
    no_sp = throughput(with_plan(config, sequence_parallel=False)).tp_comm_s
    assert sp / no_sp == pytest.approx(10 / 8)
    full = throughput(with_plan(config, sequence_parallel=True, recompute="full")).tp_comm_s
    assert full / sp == pytest.approx(14 / 10)  # recomputation repeats the 4 forward collectives


@pytest.mark.parametrize(
    ("comm_s", "gemm_s", "exposed_s"),
    [
        (2.0, 8.0, 2.0 / 4),  # the GEMMs cover all chunks but one
        (8.0, 2.0, 8.0 - 2.0 + 2.0 / 4),  # communication-bound: the GEMMs hide their own length
        (4.0, 4.0, 4.0 / 4),  # the two stages balanced
    ],
)
def test_overlapped_tp_leaves_one_chunk_of_a_two_stage_pipeline_exposed(
    comm_s: float, gemm_s: float, exposed_s: float
) -> None:
    # A pipeline of t chunks, communication beside the GEMMs, takes max(c, g) + min(c, g) / t.
    config = sim.load_config("llama_405b")
    layer = LayerTime(forward_s=9.0, backward_s=9.0, recompute_s=0.0, flops=1.0, gemm_s=gemm_s)
    overlapped = with_plan(config, tp=4, tp_overlap=1.0, recompute="selective").parallelism
    assert tp_exposed_s(comm_s, layer, overlapped) == pytest.approx(exposed_s)
    half = dataclasses.replace(overlapped, tp_overlap=0.5)  # the other half stays in the open
    assert tp_exposed_s(comm_s, layer, half) == pytest.approx(
        comm_s / 2 + tp_exposed_s(comm_s / 2, layer, overlapped)
    )
    assert tp_exposed_s(comm_s, layer, dataclasses.replace(overlapped, tp_overlap=0.0)) == comm_s


def test_overlapping_tp_shortens_the_step_by_the_tp_time_hidden_and_its_bubble_share() -> None:
    config = sim.load_config("llama_405b")
    exposed, overlapped = throughput(config), throughput(with_plan(config, tp_overlap=1.0))
    assert 0.0 < overlapped.tp_comm_s < exposed.tp_comm_s / 2
    micro_batches = exposed.step_time_s - exposed.dp_comm_s - exposed.optimizer_s - exposed.bubble_s
    hidden = exposed.tp_comm_s - overlapped.tp_comm_s
    saved = exposed.step_time_s - overlapped.step_time_s
    assert saved == pytest.approx(hidden * (1 + exposed.bubble_s / micro_batches))


def test_zero_3_gathers_weights_for_every_micro_batch() -> None:
    config = sim.load_config(
        "llama_405b",
        ["model=llama3_8b", "cluster.servers=16", "parallelism.tp=1", "parallelism.pp=1",
         "parallelism.dp=128", "parallelism.zero_stage=3", "parallelism.virtual_stages=1",
         "parallelism.fewer_layers_first_last=0", "parallelism.overlap_param_gather=false",
         "workload.global_batch_size=256"],
    )  # fmt: skip
    once = throughput(config)
    twice = throughput(
        dataclasses.replace(
            config, workload=dataclasses.replace(config.workload, global_batch_size=512)
        )
    )
    assert twice.dp_comm_s == pytest.approx(2 * once.dp_comm_s)  # 2 vs 4 micro-batches
    zero2 = throughput(with_plan(config, zero_stage=2))
    assert once.dp_comm_s > 2 * zero2.dp_comm_s  # per micro-batch, not once per step


def test_a_22b_model_runs_at_lower_efficiency_than_a_175b_one_on_the_same_plan() -> None:
    # Megatron-LM on A100 (Korthikanti et al. 2022, Table 5): 22B reaches 41.5% MFU, 175B 51.4%.
    # Here the same plan (TP8, PP8, micro-batch 1, SP + selective) on both: the smaller hidden size
    # has more memory-bound and TP-communication time per FLOP.
    def mfu(model: ModelConfig) -> float:
        config = plan(
            "a100_sxm", model, seq_len=2048, gpus=64, batch=64, tp=8, pp=8, dp=1, cp=1,
            virtual_stages=1, recompute="selective", sequence_parallel=True,
            flash_attention=False, zero_stage=0, fewer_layers_first_last=0, stage_io_freed=False,
        )  # fmt: skip
        return throughput(config).mfu

    small, large = mfu(gpt(48, 6144, 64)), mfu(gpt(96, 12288, 96))
    assert small < 0.9 * large


def test_memory_bound_operators_take_time_and_weigh_more_on_narrow_models() -> None:
    # Norms, residuals, rotary and activations move O(h) bytes per token, GEMMs do O(h^2) FLOPs.
    def memory_share(model: str) -> float:
        config = sim.load_config("llama_405b", [f"model={model}"])
        hw = config.hardware
        fast = dataclasses.replace(hw, memory_bandwidth_tbyte_per_s=1e3)
        quick = throughput(dataclasses.replace(config, hardware=fast)).compute_s
        return 1.0 - quick / throughput(config).compute_s

    wide, narrow = memory_share("llama3_405b"), memory_share("llama3_8b")
    assert wide > 0.01
    assert narrow > 1.5 * wide
    assert throughput(sim.load_config("llama_405b")).optimizer_s > 0


def test_mfu_falls_as_gpus_grow_at_a_fixed_global_batch() -> None:
    # Narayanan et al. 2021, Table 2: GPT 175B at batch 1536 on 384, 768, 1536 A100s:
    # 153, 149, 141 TFLOP/s per GPU. Fewer micro-batches per replica, a larger bubble share.
    mfus = []
    for gpus in (384, 768, 1536):
        config = plan(
            "a100_sxm", gpt(96, 12288, 96), seq_len=2048, gpus=gpus, batch=1536, tp=8, pp=12,
            dp=gpus // 96, cp=1, virtual_stages=1, recompute="full", sequence_parallel=False,
            flash_attention=False, zero_stage=0, fewer_layers_first_last=0, stage_io_freed=False,
        )  # fmt: skip
        mfus.append(throughput(config).mfu)
    assert mfus[0] > mfus[1] > mfus[2]
    assert mfus[2] / mfus[0] == pytest.approx(141 / 153, abs=0.02)


def test_communication_terms_vanish_without_their_parallelism() -> None:
    config = sim.load_config(
        "llama_405b",
        ["model=llama3_1b", "cluster.servers=1", "parallelism.tp=1", "parallelism.pp=1",
         "parallelism.dp=8", "workload.global_batch_size=64", "parallelism.virtual_stages=1",
         "parallelism.fewer_layers_first_last=0", "parallelism.overlap_grad_reduce=false"],
    )  # fmt: skip
    t = throughput(config)
    assert t.tp_comm_s == t.cp_comm_s == t.pp_comm_s == t.bubble_s == 0
    assert t.dp_comm_s > 0
    # Overlapped, the reduce-scatter hides behind the last micro-batch's backward.
    overlapped = with_plan(config, overlap_grad_reduce=True, overlap_param_gather=True)
    assert throughput(overlapped).dp_comm_s < t.dp_comm_s


def test_cpu_data_loader_cores_come_out_of_the_compute() -> None:
    # A CPU server that tokenises on 16 of its 112 cores computes on 96.
    def compute_s(loaders: int) -> float:
        config = sim.load_config("cpu_llama_1b", [f"workload.loader_cores_per_server={loaders}"])
        return throughput(config).compute_s

    few, many = compute_s(1), compute_s(16)
    assert many > few
    assert many / few < (112 - 1) / (112 - 16) + 1e-9  # memory-bound work does not scale


def test_mfu_is_model_flops_over_peak() -> None:
    t = throughput(sim.load_config("llama_405b"))
    assert t.mfu == pytest.approx(t.tflops_per_device / 989)
    assert t.hardware_flops_per_token > t.model_flops_per_token  # selective recompute
    assert sum(t.breakdown().values()) == pytest.approx(t.step_time_s)


def test_fp8_speeds_up_the_gemms_only() -> None:
    # Issue 14: FP8 doubles the H100's peak (1979 against 989 TFLOP/s dense) but only the linear
    # layers' GEMMs use it; attention, the output layer, norms, the loss and communication do not.
    bf16 = sim.load_config("llama_405b")
    fp8 = sim.load_config("llama_405b", ["parallelism.dtype=fp8"])
    layer_bf16, layer_fp8 = layer_time(bf16, device(bf16)), layer_time(fp8, device(fp8))
    assert layer_fp8.gemm_s == pytest.approx(layer_bf16.gemm_s / 2.0, rel=0.01)  # compute-bound
    saved = layer_bf16.total_s - layer_fp8.total_s
    assert 0.0 < saved < layer_bf16.gemm_s / 2.0  # the casts to FP8 cost something back
    speedup = throughput(bf16).step_time_s / throughput(fp8).step_time_s
    assert 1.2 < speedup < 2.0
    assert throughput(fp8).tp_comm_s == throughput(bf16).tp_comm_s  # collectives stay in BF16


# -- mixture of experts and expert parallelism (issue 14) --------------------------------------


def deepseek_v2(*overrides: str) -> Config:
    return sim.load_config("deepseek_v2", list(overrides))


def test_doubling_ep_halves_expert_memory_and_adds_all_to_all_time() -> None:
    # Unsharded model states (ZeRO-0) so that every byte of an expert is on its EP rank.
    plans = {
        ep: deepseek_v2("parallelism.zero_stage=0", f"parallelism.ep={ep}") for ep in (1, 4, 8)
    }
    memory = {ep: memory_per_device(config) for ep, config in plans.items()}
    assert memory[8].experts_gib == pytest.approx(memory[4].experts_gib / 2.0, rel=1e-9)
    assert memory[4].experts_gib == pytest.approx(memory[1].experts_gib / 4.0, rel=1e-9)
    comm = {ep: throughput(config).ep_comm_s for ep, config in plans.items()}
    assert comm[1] == 0.0 < comm[4] < comm[8]


def test_a_moe_plan_whose_experts_do_not_fit_is_refused_with_the_breakdown() -> None:
    config = deepseek_v2("parallelism.ep=1", "parallelism.zero_stage=0")
    with pytest.raises(sim.ConfigError, match=r"routed experts [0-9.]+ \+ dense [0-9.]+\) \+ "
                                             r"activations [0-9.]+"):  # fmt: skip
        sim.app.validation.validate(config)


def test_ep_must_divide_the_experts_and_the_data_parallel_ranks() -> None:
    with pytest.raises(sim.ConfigError, match=r"parallelism\.ep=3: must divide model\.experts"):
        sim.app.validation.validate(deepseek_v2("parallelism.ep=3"))
    with pytest.raises(sim.ConfigError, match=r"parallelism\.ep=80: must divide parallelism\.dp"):
        sim.app.validation.validate(deepseek_v2("parallelism.ep=80"))
    with pytest.raises(sim.ConfigError, match=r"has no experts"):
        sim.app.validation.validate(sim.load_config("llama_405b", ["parallelism.ep=2"]))


def test_device_limited_routing_sends_each_token_to_fewer_devices() -> None:
    # DeepSeek-V2 (Section 2): a token's 6 experts lie on at most 3 of the 8 EP devices, so the
    # dispatch and combine move 3 copies of it instead of 6: half the bytes, the same latency.
    limited = deepseek_v2()
    free = dataclasses.replace(
        limited, model=dataclasses.replace(limited.model, max_devices_per_token=0)
    )
    tokens = 4096.0
    latency = 7 * limited.hardware.intra_server_latency_us * 1e-6  # 7 ring steps among 8
    assert expert_all_to_all_s(limited, tokens) - latency == pytest.approx(
        (expert_all_to_all_s(free, tokens) - latency) / 2.0
    )
