"""What one serving iteration costs a replica: the step time of prefill and decode, and what fits.

The same hardware figures as training (peaks, bandwidths, efficiencies in ``conf/hardware``):

- **Linear layers** run at the peak of the weights' compute path (FP8 or INT8 where the device has
  it, else BF16 with the weights dequantised) times the training model's GEMM efficiency at each
  GEMM's per-device widths (``gemm_efficiency / (1 + d/n + d/k)``, ``sim.perf.operators``), or at
  the memory bandwidth times ``memory_efficiency`` if reading the weights is slower (decode of a
  small batch). The training model's third term, d/m for the tokens, is left out: it stands for
  streaming the weights, which that roofline already charges.
- **Attention** over the cached keys and values: ``flash_attention_efficiency`` of the BF16 peak, or
  the KV cache read, the slower.
- **Tensor parallelism**: two all-reduces of the tokens' hidden vectors per layer, the faster of a
  ring and a one-shot algorithm (small messages), over the link the replica spans.
- **Pipeline parallelism** (``pp`` stages of ``tp`` devices): each stage holds layers / pp and its
  share of the cache. The replica keeps ``pp`` micro-batches in flight (TensorRT-LLM's in-flight
  batching with PP), each its own stream of iterations: one iteration of a micro-batch passes
  every stage in turn, so it takes the whole model's time on one stage's devices plus the
  pp - 1 sends of its hidden vectors, and each stage spends 1/pp of its time on it.
- A fixed ``step_overhead_ms`` per iteration (scheduling, sampling, launches).

So a decode step of B requests with C cached tokens in all takes ``alpha(B) + beta x C`` seconds:
a run of decode steps has a closed-form duration (``DecodeRun``), so the engine needs one event per
change of the batch, not one per token. Memory: weights, the runtime's reserve and the KV cache
must fit each device; the KV cache gets ``kv_memory_fraction`` of what is left.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sim.config import Config, EngineConfig, HardwareConfig, ModelConfig, ServingConfig
from sim.errors import ConfigError
from sim.perf.collectives import Link, link
from sim.perf.engine_overheads import (
    activation_bytes,
    cycles_s,
    kernels_per_iteration,
)
from sim.perf.linear_layers import Offload, linear_s_per_token
from sim.perf.model import (
    ffn_parameters,
    head_dim,
    moe_layers,
    parameter_count,
    qk_head_dim,
    v_head_dim,
)
from sim.units import GIB

PRECISION_BYTES = {"bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
ACTIVATION_BYTES = 2.0  # hidden vectors between layers stay BF16


def kv_bytes_per_token(model: ModelConfig, precision: str) -> float:
    """Keys and values one token leaves in the cache, all layers: 2 x kv_heads x head_dim per layer
    (grouped-query attention), or MLA's compressed latent plus its rotary key."""
    size = PRECISION_BYTES[precision]
    if model.attention == "mla":
        return model.layers * (model.kv_lora_rank + model.qk_rope_head_dim) * size
    return 2.0 * model.layers * model.kv_heads * head_dim(model) * size


def kv_copies(model: ModelConfig, tp: int) -> float:
    """How many copies of each token's cache a TP group holds: MLA's latent on every rank; grouped
    key-value heads split over the ranks, each rank keeping at least one."""
    if model.attention == "mla":
        return float(tp)
    return max(1.0, tp / model.kv_heads)


def compute_path(hw: HardwareConfig, weights: str, vector: bool = False) -> tuple[str, float]:
    """The number format the linear layers multiply in, and its peak (FLOP/s per device); with
    ``vector``, a CPU's SIMD peaks, for an engine whose kernels do not use its matrix units."""
    if vector:  # ggml's and llamafile's 8- and 4-bit formats multiply 8-bit activations
        int8 = hw.vector_tops_int8 or hw.peak_tops_int8
        if weights in ("int8", "int4") and int8:
            return "int8", int8 * 1e12
        return "bf16", (hw.vector_tflops_bf16 or hw.peak_tflops_bf16) * 1e12
    if weights == "fp8" and hw.peak_tflops_fp8:
        share = (hw.fp8_gemm_efficiency or hw.gemm_efficiency) / hw.gemm_efficiency
        return "fp8", hw.peak_tflops_fp8 * 1e12 * share
    if weights == "int8" and hw.peak_tops_int8:
        return "int8", hw.peak_tops_int8 * 1e12
    return "bf16", hw.peak_tflops_bf16 * 1e12


@dataclass(frozen=True)
class ReplicaMemory:
    """Per device of a replica, in GiB, and the KV cache of the whole replica in tokens."""

    weights_gib: float
    reserve_gib: float
    kv_gib: float
    capacity_gib: float
    kv_tokens: int

    def describe(self) -> str:
        return (
            f"weights {self.weights_gib:.1f} + reserve {self.reserve_gib:.1f} + KV cache "
            f"{self.kv_gib:.1f} of {self.capacity_gib:g} GiB per device"
        )


def replica_memory(config: Config) -> ReplicaMemory:
    """Weights split over TP and PP, the reserve, and the KV cache in the rest; refuse a replica
    whose weights do not fit or whose cache cannot hold one request of the longest lengths."""
    serving, hw, model = serving_of(config), config.hardware, config.model
    tp, devices = serving.tp, serving.tp * serving.pp
    on_host = routed_parameters(model) if config.host is not None else 0.0  # a hybrid replica's
    if on_host:
        host_memory_gib(config)
    weights = (parameter_count(model) - on_host) * PRECISION_BYTES[serving.weights] / devices / GIB
    free = hw.memory_gib - hw.memory_reserve_gib - weights
    kv_gib = max(0.0, free) * serving.kv_memory_fraction
    per_token = kv_bytes_per_token(model, serving.kv_cache) * kv_copies(model, tp) / devices
    memory = ReplicaMemory(
        weights_gib=weights,
        reserve_gib=hw.memory_reserve_gib,
        kv_gib=kv_gib,
        capacity_gib=hw.memory_gib,
        kv_tokens=int(kv_gib * GIB / per_token),
    )
    longest = serving.prompt_tokens.max + serving.output_tokens.max
    if free <= 0 or memory.kv_tokens < longest:
        need = f"room for {longest:,} tokens of KV cache ({per_token * longest / GIB:.2f} GiB)"
        raise ConfigError(
            "serving.tp",
            tp,
            f"a replica of {model.name} in {serving.weights} does not fit {hw.device}: "
            f"{memory.describe()}; needs {need}; use more devices per replica (serving.tp, "
            "serving.pp), smaller weights (serving.weights) or shorter requests",
        )
    return memory


@dataclass(frozen=True)
class StepModel:
    """Seconds of one iteration of a replica as a function of what it carries."""

    linear_s_per_token: float  # one device's GEMMs for one token, compute-bound, but the routed
    # experts' (``expert_s_per_token``)
    attention_flops_per_pair: float  # QK^T and AV for one query over one cached token, all layers
    dense_weight_bytes: float  # weights every iteration reads (all but routed experts)
    expert_bytes: float  # one routed expert of one MoE layer
    moe_layers: int
    experts: int
    experts_per_token: int
    kv_read_bytes_per_token: float  # per cached token read, all copies
    attention_flops_per_s: float
    memory_bytes_per_s: float
    allreduces: int  # per iteration (two per layer under TP)
    hidden_bytes: float  # one token's hidden vector
    tp: int
    link: Link
    overhead_s: float
    stages: int = 1  # pipeline stages an iteration passes, one send between each two
    stage_link: Link | None = None
    expert_s_per_token: float = 0.0  # the routed experts' GEMMs for one token, compute-bound
    expert_overhead_s: float = 0.0  # per routed expert an iteration runs, per MoE layer
    score_s: float = 0.0  # per query-key pair, all heads and layers: an unfused attention's
    # serial work on the score matrix
    activation_bytes: float = 0.0  # per token, all devices: what the norms, activations and
    # attention preprocessing read and write beside the GEMMs (GPUs: ``activation_bytes``)
    offload: Offload | None = None  # a hybrid replica: the routed experts on the host CPU

    def touched_experts(self, tokens: float) -> float:
        """Routed experts of one MoE layer that at least one of ``tokens`` goes to (expected,
        routing uniform)."""
        if not self.moe_layers or tokens <= 0:
            return 0.0
        return self.experts * (1.0 - float((1.0 - self.experts_per_token / self.experts) ** tokens))

    def weight_bytes(self, tokens: float) -> float:
        """Weights read by an iteration of ``tokens``: the dense part, and each MoE layer's experts
        that at least one token is routed to."""
        return self._bytes_read(self.touched_experts(tokens))

    def _bytes_read(self, touched: float) -> float:
        return self.dense_weight_bytes + self.moe_layers * touched * self.expert_bytes

    def linear_s(self, tokens: float) -> float:
        """The GEMMs of an iteration of ``tokens``: compute-bound or bound by the weights they
        read, whichever is longer, plus the engine's cost per routed expert it runs."""
        touched = self.touched_experts(tokens)
        compute = (self.linear_s_per_token + self.expert_s_per_token) * tokens
        overhead = self.expert_overhead_s * self.moe_layers * touched
        overhead += tokens * self.activation_bytes / self.memory_bytes_per_s  # norms, activations
        if self.offload is not None:  # the experts on the host, between the GPU's parts
            overhead += self.offload.seconds(tokens, touched, self.moe_layers)
        return max(compute, self._bytes_read(touched) / self.memory_bytes_per_s) + overhead

    def attention_s(self, pairs: float, cached_tokens: float) -> float:
        """``pairs`` query-key products over a cache of which ``cached_tokens`` are read."""
        compute = self.attention_flops_per_pair * pairs / self.attention_flops_per_s
        read = cached_tokens * self.kv_read_bytes_per_token / self.memory_bytes_per_s
        return max(compute, read) + pairs * self.score_s

    def comm_s(self, tokens: float) -> float:
        if tokens <= 0:
            return 0.0
        message = tokens * self.hidden_bytes
        sends = 0.0
        if self.stage_link is not None:
            sends = (self.stages - 1) * self.stage_link.send_s(message)
        if self.tp <= 1:
            return sends
        each = min(
            self.link.all_reduce_s(self.tp, message),
            self.link.one_shot_all_reduce_s(self.tp, message),
        )
        return self.allreduces * each + sends

    def step_s(
        self, decode: int, context: float, prefill: int = 0, prefill_pairs: float = 0.0,
        prefill_cached: float = 0.0,
    ) -> float:  # fmt: skip
        """One iteration: ``decode`` requests each add a token over ``context`` cached tokens in
        all; ``prefill`` prompt tokens with ``prefill_pairs`` query-key pairs among them and their
        prompts' ``prefill_cached`` tokens from earlier chunks."""
        tokens = decode + prefill
        return (
            self.linear_s(tokens)
            + self.attention_s(context + prefill_pairs, context + prefill_cached + prefill)
            + self.comm_s(tokens)
            + self.overhead_s
        )

    def decode_run(self, decode: int, context: float) -> DecodeRun:
        """Steps of ``decode`` requests from ``context`` cached tokens: each adds ``decode``."""
        alpha = self.linear_s(decode) + self.comm_s(decode) + self.overhead_s
        per_cached = self.score_s + max(
            self.attention_flops_per_pair / self.attention_flops_per_s,
            self.kv_read_bytes_per_token / self.memory_bytes_per_s,
        )
        return DecodeRun(alpha + per_cached * context, per_cached * decode)


@dataclass(frozen=True)
class DecodeRun:
    """Decode steps whose i-th (from 0) takes ``first_s + growth_s x i``: the cache grows by the
    batch each step and every step reads all of it."""

    first_s: float
    growth_s: float

    def duration_s(self, steps: int) -> float:
        return steps * self.first_s + self.growth_s * steps * (steps - 1) / 2.0

    def steps_within(self, elapsed_s: float) -> int:
        """Whole steps finished ``elapsed_s`` into the run."""
        if elapsed_s <= 0:
            return 0
        a, b = self.growth_s / 2.0, self.first_s - self.growth_s / 2.0
        guess = elapsed_s / b if a == 0 else (-b + math.sqrt(b * b + 4 * a * elapsed_s)) / (2 * a)
        steps = max(0, int(guess))
        while self.duration_s(steps + 1) <= elapsed_s:  # float rounding of the root
            steps += 1
        while steps > 0 and self.duration_s(steps) > elapsed_s:
            steps -= 1
        return steps


def step_model(config: Config) -> StepModel:
    serving, hw, model = serving_of(config), config.hardware, config.model
    engine = config.engine or EngineConfig(name="hardware", software="")
    tp = serving.tp
    weight_size = PRECISION_BYTES[serving.weights]
    path, peak = compute_path(hw, serving.weights, engine.vector_kernels)
    efficiency = engine.matrix_efficiency
    if path == "int8" and engine.int8_matrix_efficiency is not None:
        efficiency = engine.int8_matrix_efficiency
    dense_s, routed_s = linear_s_per_token(model, hw, tp, peak, efficiency)
    if engine.expert_matrix_efficiency is not None:  # the experts on their own kernels
        routed_s *= (efficiency or hw.gemm_efficiency) / engine.expert_matrix_efficiency
    share = (
        hw.memory_efficiency if engine.bandwidth_efficiency is None else engine.bandwidth_efficiency
    )
    bandwidth = hw.memory_bandwidth_tbyte_per_s * 1e12 * share
    per_layer = cycles_s(hw, engine, engine.layer_overhead_kcycles * 1e3)  # CPU serial work
    expert_params = ffn_parameters(model, model.expert_ffn_hidden) if model.experts else 0
    lookup = model.vocab_size * model.hidden  # the input embedding: rows looked up, not read whole
    all_matmul = parameter_count(model) - (0 if model.tied_embeddings else lookup)
    moe = moe_layers(model)
    routed = routed_parameters(model)
    offload = _offload(config) if config.host is not None else None
    on_gpu = 0.0 if offload else 1.0  # a hybrid replica's GPUs neither hold nor run the experts
    return StepModel(
        linear_s_per_token=dense_s,
        expert_s_per_token=routed_s * on_gpu,
        expert_overhead_s=engine.expert_overhead_ms / 1e3 * on_gpu,
        offload=offload,
        activation_bytes=tp * activation_bytes(model, tp) if hw.kind == "gpu" else 0.0,
        score_s=model.layers * model.heads * cycles_s(hw, engine, engine.score_cycles),
        attention_flops_per_pair=2.0 * model.layers * model.heads
        * (qk_head_dim(model) + v_head_dim(model)),
        dense_weight_bytes=(all_matmul - routed) * weight_size,
        expert_bytes=expert_params * weight_size * on_gpu,
        moe_layers=moe,
        experts=model.experts,
        experts_per_token=model.experts_per_token,
        kv_read_bytes_per_token=kv_bytes_per_token(model, serving.kv_cache) * kv_copies(model, tp),
        attention_flops_per_s=tp * compute_path(hw, "bf16", engine.vector_kernels)[1]
        * hw.flash_attention_efficiency,
        memory_bytes_per_s=tp * bandwidth,
        allreduces=2 * model.layers if tp > 1 else 0,
        hidden_bytes=model.hidden * ACTIVATION_BYTES,
        tp=tp,
        link=link(hw, tp),
        overhead_s=serving.step_overhead_ms / 1e3 + model.layers * per_layer
        + kernels_per_iteration(model, tp, engine) * engine.kernel_floor_us / 1e6,
        stages=serving.pp,
        stage_link=link(hw, tp * serving.pp) if serving.pp > 1 else None,
    )  # fmt: skip


def _offload(config: Config) -> Offload:
    """The host's share of a hybrid replica: the routed experts as the host CPU's own engine runs
    them on all its sockets, and the GPU's PCIe link to it."""
    host, serving, hw = config.host, serving_of(config), config.hardware
    assert host is not None and hw.pcie_gbyte_per_s and hw.pcie_latency_us is not None  # validated
    engine = config.host_engine or EngineConfig(name="hardware", software="")
    on_host = dataclasses.replace(
        config, hardware=host, engine=engine, host=None, host_engine=None,
        serving=dataclasses.replace(serving, tp=host.devices_per_server, pp=1),
    )  # fmt: skip
    cpu = step_model(on_host)
    return Offload(
        expert_s_per_token=cpu.expert_s_per_token,
        expert_bytes=cpu.expert_bytes,
        memory_bytes_per_s=cpu.memory_bytes_per_s,
        expert_overhead_s=cpu.expert_overhead_s,
        layer_overhead_s=cycles_s(host, engine, engine.layer_overhead_kcycles * 1e3),
        hidden_bytes=config.model.hidden * ACTIVATION_BYTES,
        link_bytes_per_s=hw.pcie_gbyte_per_s * 1e9,
        link_latency_s=hw.pcie_latency_us / 1e6,
    )


def routed_parameters(model: ModelConfig) -> float:
    """The routed experts' parameters, all MoE layers."""
    return moe_layers(model) * model.experts * ffn_parameters(model, model.expert_ffn_hidden)


def host_memory_gib(config: Config) -> float:
    """A hybrid replica's routed experts in the host's memory; refused when they do not fit the
    host's sockets after their reserve."""
    host, serving, model = config.host, serving_of(config), config.model
    assert host is not None  # a hybrid replica
    need = routed_parameters(model) * PRECISION_BYTES[serving.weights] / GIB
    have = host.devices_per_server * (host.memory_gib - host.memory_reserve_gib)
    if need > have:
        raise ConfigError("host.memory_gib", host.memory_gib, f"the routed experts of "
                          f"{model.name} in {serving.weights} need {need:,.0f} GiB of host memory; "
                          f"{host.device} has {have:,.0f} GiB over its {host.devices_per_server} "
                          "sockets after the reserve; use smaller weights (serving.weights) or a "
                          "host with more memory")  # fmt: skip
    return need


def serving_of(config: Config) -> ServingConfig:
    """The serving settings, or a one-line refusal for a training configuration."""
    if config.serving is None:
        raise ConfigError("serving", None, "not a serving run; pick one with serving=NAME")
    return config.serving
