"""What one device spends on one transformer layer for one micro-batch, operator by operator.

- **GEMMs** (QKV, attention output, MLP) at their per-device shapes under tensor, sequence and
  context parallelism, each at ``gemm_efficiency / (1 + d/m + d/n + d/k)`` of the peak
  (``d = gemm_half_dim``), or at the memory bandwidth if reading and writing the operands is slower.
  Backward does twice the forward FLOPs (input and weight gradients, the same shapes permuted).
- **Attention core**: FlashAttention-style (causal blocks skipped, nothing of size s^2 in memory,
  backward 2.5x the forward FLOPs because it recomputes QK^T) at ``flash_attention_efficiency``;
  or, without it, two batched GEMMs over the whole s x s score matrix plus the softmax and dropout
  passes over the scores in memory (Megatron-LM before FlashAttention).
- **FP8** (``parallelism.dtype=fp8``): the linear layers' GEMMs (QKV, attention output, MLP) run
  at the FP8 peak on 1-byte operands, plus a pass that casts each GEMM input to FP8 (and, in
  backward, each output gradient); attention, the output layer, norms and the loss stay in BF16
  (DeepSeek-V3 report, Section 3.3.1), so the gain is bounded by the GEMMs' share of the step.
- **Memory-bound operators** at ``memory_efficiency`` of the memory bandwidth: norms, residual
  adds (with dropout where the model has it), rotary embeddings, the MLP activation; backward
  moves twice the bytes of forward (the gradient in, the saved input, the gradient out).

The layer's time is the sum of its operators: kernels run one after another on the device.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import Config, ModelConfig
from sim.perf.memory import PRECISIONS, microbatch_tokens
from sim.perf.model import kv_dim, qk_head_dim, v_head_dim

FP32_PEAK_SHARE = 0.5  # ASSUMPTION: FP32 training runs on TF32-class units at half the BF16 rate
FP8_CAST_BYTES = 3.0  # per value cast to FP8: read 2 bytes (BF16), write 1
LOSS_PASSES = 4  # FP32 logits: softmax reads and writes them, backward reads and writes again


@dataclass(frozen=True)
class Device:
    """The speeds one device reaches: what every operator's time is computed from."""

    peak_flops: float
    gemm_efficiency: float
    gemm_half_dim: float
    flash_efficiency: float
    memory_bytes_per_s: float  # achieved by memory-bound kernels
    fp8_flops: float = 0.0  # FP8 peak x (FP8 GEMM efficiency / BF16 GEMM efficiency); 0: none

    def gemm_efficiency_at(self, m: float, n: float, k: float) -> float:
        d = self.gemm_half_dim
        return self.gemm_efficiency / (1.0 + d / m + d / n + d / k)

    def gemm_s(
        self, m: float, n: float, k: float, value_bytes: float, batch: float = 1.0, *,
        fp8: bool = False,
    ) -> float:  # fmt: skip
        """``batch`` GEMMs of (m x k) by (k x n): compute-bound or memory-bound, the slower; in
        FP8, at the FP8 peak on 1-byte operands."""
        flops = 2.0 * m * n * k * batch
        peak, operand = (self.fp8_flops, 1.0) if fp8 else (self.peak_flops, value_bytes)
        compute = flops / (peak * self.gemm_efficiency_at(m, n, k))
        traffic = ((m * k + k * n) * operand + m * n * value_bytes) * batch
        return max(compute, traffic / self.memory_bytes_per_s)

    def memory_s(self, bytes_moved: float) -> float:
        return bytes_moved / self.memory_bytes_per_s


def device(config: Config) -> Device:
    """The device of the plan: BF16 peak (half of it in FP32); on a CPU server, the sockets' peak
    less the cores the data loaders take."""
    hw, par = config.hardware, config.parallelism
    peak = hw.peak_tflops_bf16 * 1e12 * (FP32_PEAK_SHARE if par.dtype == "fp32" else 1.0)
    loaders = config.workload.loader_cores_per_server
    if hw.kind == "cpu" and loaders:
        peak *= 1.0 - loaders / hw.cpu_cores
    fp8 = 0.0
    if hw.peak_tflops_fp8:
        share = (hw.fp8_gemm_efficiency or hw.gemm_efficiency) / hw.gemm_efficiency
        fp8 = hw.peak_tflops_fp8 * 1e12 * share
    return Device(
        peak_flops=peak,
        gemm_efficiency=hw.gemm_efficiency,
        gemm_half_dim=hw.gemm_half_dim,
        flash_efficiency=hw.flash_attention_efficiency,
        memory_bytes_per_s=hw.memory_bandwidth_tbyte_per_s * 1e12 * hw.memory_efficiency,
        fp8_flops=fp8,
    )


@dataclass(frozen=True)
class LayerTime:
    """Seconds one device spends on one layer for one micro-batch, by pass."""

    forward_s: float
    backward_s: float
    recompute_s: float  # forward work repeated in backward
    flops: float  # executed, all passes
    gemm_s: float  # of which the linear layers' GEMMs, all passes (as ``flops``)

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s + self.recompute_s


def attention_shapes(model: ModelConfig, t: int) -> list[tuple[float, float]]:
    """(n, k) of each attention projection GEMM on one device of ``t``-way TP (m is the tokens):
    grouped-query Q, K, V fused and the output projection split over TP; under MLA the
    down-projections to the compressed query and key-value are replicated, the up-projections
    split."""
    h = model.hidden
    heads, qk, v = model.heads, qk_head_dim(model), v_head_dim(model)
    if model.attention == "mla":
        q = [(model.q_lora_rank, h), (heads * qk / t, model.q_lora_rank)]
        if not model.q_lora_rank:
            q = [(heads * qk / t, h)]
        kv = [(model.kv_lora_rank + model.qk_rope_head_dim, h),
              (heads * (model.qk_nope_head_dim + v) / t, model.kv_lora_rank)]  # fmt: skip
        return [*q, *kv, (h, heads * v / t)]
    return [((heads * qk + 2 * kv_dim(model)) / t, h), (h, heads * v / t)]


def ffn_shapes(model: ModelConfig, width: float, t: int) -> list[tuple[float, float]]:
    """(n, k) of the MLP GEMMs of a ``width``-wide FFN split over ``t``-way TP: up (and gate),
    down."""
    up = (2 if model.mlp == "swiglu" else 1) * width
    return [(up / t, model.hidden), (model.hidden, width / t)]


def layer_time(config: Config, dev: Device, *, moe: bool = False) -> LayerTime:
    """One dense layer, or with ``moe`` one MoE layer: its router, its shared experts as a dense
    FFN, and the routed experts a device holds (experts / ep of them) as grouped GEMMs over the
    tokens routed to them, the busiest rank's ``expert_imbalance`` times the mean."""
    model, par, work = config.model, config.parallelism, config.workload
    value = PRECISIONS[par.dtype].activation
    t, h, f = par.tp, model.hidden, model.ffn_hidden
    seq_q = work.seq_len / par.cp  # this device's queries of each sequence
    tokens = microbatch_tokens(config)
    kv = kv_dim(model)
    fp8 = par.dtype == "fp8"
    if moe:
        ffn = ffn_shapes(model, model.shared_experts * model.expert_ffn_hidden, t)
        ffn = [*(ffn if model.shared_experts else []), (model.experts, h)]  # + the router
    else:
        ffn = ffn_shapes(model, f, t)
    shapes = [*attention_shapes(model, t), *ffn]
    gemm_fwd = sum(dev.gemm_s(tokens, n, k, value, fp8=fp8) for n, k in shapes)
    gemm_flops = sum(2.0 * tokens * n * k for n, k in shapes)
    routed_in = routed_out = 0.0  # values the routed GEMMs read and write, for FP8 casts
    if moe:  # each local expert's GEMMs over the tokens routed to it
        local = model.experts / par.ep
        routed = tokens * model.experts_per_token * par.ep / model.experts * par.expert_imbalance
        for n, k in ffn_shapes(model, model.expert_ffn_hidden, t):
            gemm_fwd += dev.gemm_s(routed, n, k, value, local, fp8=fp8)
            gemm_flops += 2.0 * routed * local * n * k
            routed_in += routed * local * k
            routed_out += routed * local * n
    # FP8: each GEMM's input cast forward; backward casts the output gradient and the input.
    inputs = tokens * sum(k for _, k in shapes) + routed_in
    outputs = tokens * sum(n for n, _ in shapes) + routed_out
    cast_fwd = dev.memory_s(FP8_CAST_BYTES * inputs) if fp8 else 0.0
    cast_bwd = dev.memory_s(FP8_CAST_BYTES * (inputs + outputs)) if fp8 else 0.0

    # Attention core: QK^T and AV for this device's heads, its queries against all keys.
    heads, d = model.heads / t, (qk_head_dim(model) + v_head_dim(model)) / 2.0
    pairs = par.micro_batch_size * heads * seq_q * work.seq_len  # query-key pairs, no mask
    if par.flash_attention:
        attention_flops = 4.0 * d * pairs / 2.0  # causal: half the blocks are skipped
        attn_fwd = attention_flops / (dev.peak_flops * dev.flash_efficiency)
        attn_bwd, attn_recompute, scores_fwd = 2.5 * attn_fwd, 0.0, 0.0
        attention_flops *= 3.5
    else:
        batch = par.micro_batch_size * heads
        attn_fwd = dev.gemm_s(seq_q, work.seq_len, d, value, batch) + dev.gemm_s(
            seq_q, d, work.seq_len, value, batch
        )
        attn_bwd = 2.0 * attn_fwd
        # softmax reads and writes the scores; dropout reads them, writes them and a 1-byte mask
        per_score = 2.0 * value + ((2.0 * value + 1.0) if model.dropout else 0.0)
        scores_fwd = dev.memory_s(pairs * per_score)
        recomputes_scores = par.recompute == "selective"
        attn_recompute = (attn_fwd / 2.0 + scores_fwd) if recomputes_scores else 0.0
        attention_flops = 4.0 * d * pairs * (3.0 + (0.5 if recomputes_scores else 0.0))

    # Memory-bound operators: two norms and two residual adds on the (sequence-parallel) residual
    # stream, rotary embeddings on Q and K, the MLP activation.
    residual = h / t if par.sequence_parallel else h
    stream = 10.0 * tokens * residual * value
    masks = 2.0 * tokens * residual if model.dropout else 0.0
    rotary = 2.0 * tokens * (h + kv) / t * value if model.position_embeddings == 0 else 0.0
    width: float = f
    if moe:
        width = model.expert_ffn_hidden * (
            model.shared_experts + model.experts_per_token * par.expert_imbalance
        )
    activation = (3.0 if model.mlp == "swiglu" else 2.0) * tokens * width / t * value
    memory_fwd = dev.memory_s(stream + masks + rotary + activation)

    forward = gemm_fwd + cast_fwd + attn_fwd + scores_fwd + memory_fwd
    backward = 2.0 * gemm_fwd + cast_bwd + attn_bwd + 2.0 * scores_fwd + 2.0 * memory_fwd
    recompute = forward if par.recompute == "full" else attn_recompute
    gemm_passes = 4.0 if par.recompute == "full" else 3.0  # full: the forward again
    flops = gemm_flops * gemm_passes + attention_flops
    return LayerTime(forward, backward, recompute, flops, gemm_passes * gemm_fwd)


def logits_time(config: Config, dev: Device) -> float:
    """The last stage's extra work per micro-batch: final norm, output projection (vocabulary
    split over TP) and the cross-entropy loss over FP32 logits, forward and backward."""
    model, par = config.model, config.parallelism
    value = PRECISIONS[par.dtype].activation
    tokens = microbatch_tokens(config)
    vocab = model.vocab_size / par.tp
    projection = 3.0 * dev.gemm_s(tokens, vocab, model.hidden, value)
    loss = dev.memory_s(LOSS_PASSES * tokens * vocab * 4.0)
    norm = dev.memory_s(3.0 * 2.0 * tokens * model.hidden / par.tp * value)
    return projection + loss + norm


def embedding_time(config: Config, dev: Device) -> float:
    """The first stage's lookup: write the embeddings forward, scatter-add gradients backward."""
    value = PRECISIONS[config.parallelism.dtype].activation
    return dev.memory_s(3.0 * microbatch_tokens(config) * config.model.hidden * value)


def optimizer_time(local_parameters: float, config: Config, dev: Device) -> float:
    """Adam over this device's parameters: read and write the optimizer state (FP32 master weights
    and moments), read the gradients, write the training weights."""
    p = PRECISIONS[config.parallelism.dtype]
    bytes_per_parameter = 2.0 * p.optimizer + p.gradients + p.weights
    return dev.memory_s(local_parameters * bytes_per_parameter)
