"""Memory per device of a parallelism plan: weights, gradients, optimizer state, activations.

Activations follow Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
Models" (2022), Section 4, term by term, so that grouped-query attention, SwiGLU and models without
dropout are covered; for their GPT architecture the terms add up to their Table 2. Model states
follow Rajbhandari et al., "ZeRO" (2020): in BF16 mixed precision, 2 bytes of weights, 2 of
gradients and 12 of optimizer state (FP32 master copy and two Adam moments) per parameter, sharded
by the ZeRO stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import Config, ModelConfig, ParallelismConfig
from sim.perf.model import (
    NORM_PARAMETERS,
    expert_parameters,
    layer_parameters,
    moe_layer_parameters,
    moe_layers_below,
    mtp_parameters,
    qk_head_dim,
    replicated_attention_parameters,
    v_head_dim,
)
from sim.units import GIB

LOGIT_BYTES = 4.0  # FP32 logits for the loss, on the last stage


@dataclass(frozen=True)
class Precision:
    """Bytes per parameter of each model state, and per activation value."""

    weights: float
    gradients: float
    optimizer: float
    activation: float


PRECISIONS = {
    # Mixed precision (ZeRO paper, Section 3.1): BF16 weights and gradients, FP32 master weights
    # and Adam's two moments: 2 + 2 + 12 bytes.
    "bf16": Precision(weights=2.0, gradients=2.0, optimizer=12.0, activation=2.0),
    # FP8 training (Transformer Engine; DeepSeek-V3 report, Section 3.3): only the linear layers'
    # GEMM inputs are cast to FP8; weights, gradients, optimizer states and the activations kept
    # for backward stay as under bf16. ASSUMPTION: the transient FP8 copies are not counted.
    "fp8": Precision(weights=2.0, gradients=2.0, optimizer=12.0, activation=2.0),
    # Plain FP32: no master copy, Adam's two moments: 4 + 4 + 8 bytes.
    "fp32": Precision(weights=4.0, gradients=4.0, optimizer=8.0, activation=4.0),
}


@dataclass(frozen=True)
class MemoryBreakdown:
    """Per-device memory of the fullest pipeline stage, in GiB."""

    stage: int
    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    reserve_gib: float
    capacity_gib: float
    experts_gib: float = 0.0  # of weights, gradients and optimizer: the routed experts' share

    @property
    def total_gib(self) -> float:
        return (
            self.weights_gib
            + self.gradients_gib
            + self.optimizer_gib
            + self.activations_gib
            + self.reserve_gib
        )

    @property
    def fits(self) -> bool:
        return self.total_gib <= self.capacity_gib

    def describe(self) -> str:
        states = self.weights_gib + self.gradients_gib + self.optimizer_gib
        split = (
            f" (routed experts {self.experts_gib:.1f} + dense {states - self.experts_gib:.1f})"
            if self.experts_gib
            else ""
        )
        return (
            f"weights {self.weights_gib:.1f} + gradients {self.gradients_gib:.1f} + optimizer "
            f"{self.optimizer_gib:.1f}{split} + activations {self.activations_gib:.1f} + "
            f"reserve {self.reserve_gib:.1f} = {self.total_gib:.1f} GiB on pipeline stage "
            f"{self.stage}"
        )


def activation_bytes_per_layer(
    model: ModelConfig,
    *,
    seq_len: int,
    micro_batch: int,
    tp: int = 1,
    cp: int = 1,
    sequence_parallel: bool = False,
    recompute: str = "none",
    dtype: str = "bf16",
    moe: bool = False,
    imbalance: float = 1.0,
) -> float:
    """Bytes one layer keeps for backward, for one micro-batch (1-byte masks; values of 2 bytes
    in BF16, as the paper counts them, or 4 in FP32).

    Korthikanti et al. Section 4.1 with MHA, a 4h GeLU MLP and dropout: 34 sbh + 5 a s^2 b, of
    which 10 sbh (norm inputs, the inputs of the QKV and first MLP matmuls, dropout masks) are
    replicated across tensor-parallel ranks unless sequence parallelism shards them too.
    """
    s = seq_len / cp  # context parallelism splits the sequence
    sb = s * micro_batch * PRECISIONS[dtype].activation / 2.0  # the terms below count 2 bytes
    h, f = model.hidden, model.ffn_hidden
    shard = tp if sequence_parallel else 1
    if recompute == "full":  # only the layer input is kept
        return 2.0 * sb * h / shard
    masks = 2.0 * s * micro_batch * h if model.dropout else 0.0  # one byte per value
    replicated = 4.0 * sb * h + 2.0 * sb * h + 2.0 * sb * h + masks  # norms, QKV in, MLP in
    # Q, K and V, and the attention output (the out-projection's input); under MLA also the
    # compressed query and key-value the up-projections read.
    qk, v = qk_head_dim(model), v_head_dim(model)
    kv_heads = model.heads if model.attention == "mla" else model.kv_heads
    attention = 2.0 * sb * (model.heads * qk + kv_heads * (qk + v) + model.heads * v)
    if model.attention == "mla":
        replicated += 2.0 * sb * (model.q_lora_rank + model.kv_lora_rank)
    if moe:  # each token's top-k expert copies (gate, up, product) plus the shared experts',
        # and the permuted copies of its input and output the dispatch and combine move
        copies = model.experts_per_token * imbalance
        mlp = 6.0 * sb * model.expert_ffn_hidden * (copies + model.shared_experts)
        mlp += 2.0 * 2.0 * sb * h * copies
    else:
        mlp = (6.0 if model.mlp == "swiglu" else 4.0) * sb * f  # gate, up, product / GeLU in, out
    scores = 0.0
    if recompute == "none":  # softmax output (+ dropout output and its 1-byte mask), per head
        per_score = 4.0 if model.dropout else 2.0
        scores = per_score * model.heads * s * seq_len * micro_batch * PRECISIONS[dtype].activation
        scores = scores / 2.0 + (model.heads * s * seq_len * micro_batch if model.dropout else 0.0)
    return replicated / shard + (attention + mlp + scores) / tp


def stage_layers(layers: int, pp: int, fewer_first_last: int = 0) -> list[int]:
    """Layers per pipeline stage: even, except ``fewer_first_last`` off the first and last stages
    (Llama 3 405B: 126 layers on 16 stages as 7, 8 x 14, 7)."""
    if pp == 1:
        return [layers]
    per_stage = layer_slots(layers, pp, fewer_first_last)
    middle = [per_stage] * (pp - 2)
    return [per_stage - fewer_first_last, *middle, per_stage - fewer_first_last]


def layer_slots(layers: int, pp: int, fewer_first_last: int = 0) -> int:
    """Layer slots of each pipeline stage. The slots the first and last stages give up hold the
    embedding and the output layer (Llama 3 paper, Section 3.3.2: "the first model chunk on the
    first stage has only the embedding"), so interleaving splits slots, not layers."""
    return (layers + 2 * fewer_first_last) // pp


def chunks_in_flight(pp: int, virtual: int, microbatches: int, stage: int) -> int:
    """Model-chunk micro-batches whose activations stage ``stage`` holds at its peak.

    1F1B (v = 1): p - i micro-batches. Interleaved 1F1B (Megatron-LM's schedule): 2 (p - i - 1) +
    (v - 1) p warm-up forwards plus the one in flight, which on the first stage is Korthikanti et
    al.'s factor 1 + (p - 1) / (p v) over p micro-batches of the whole stage.
    """
    if virtual == 1:
        return min(pp - stage, microbatches)
    return min(2 * (pp - stage - 1) + (virtual - 1) * pp + 1, microbatches * virtual)


def microbatches_per_replica(config: Config) -> int:
    """Micro-batches each data-parallel replica runs per step (at least one)."""
    par = config.parallelism
    return max(1, config.workload.global_batch_size // (par.dp * par.micro_batch_size))


def microbatch_tokens(config: Config) -> float:
    """Tokens of one micro-batch on one device: context parallelism splits each sequence."""
    par = config.parallelism
    return par.micro_batch_size * config.workload.seq_len / par.cp


def stage_layer_kinds(model: ModelConfig, par: ParallelismConfig) -> list[tuple[int, int]]:
    """Dense and MoE layers of each pipeline stage, in layer order."""
    layers = stage_layers(model.layers, par.pp, par.fewer_layers_first_last)
    if not model.experts:
        return [(n, 0) for n in layers]
    out, first = [], 0
    for n in layers:
        moe = moe_layers_below(model, first + n) - moe_layers_below(model, first)
        out.append((n - moe, moe))
        first += n
    return out


def stage_parameters(model: ModelConfig, par: ParallelismConfig) -> list[float]:
    """Parameters held by one device of each pipeline stage: the dense ones split over TP, the
    routed experts over TP x EP."""
    dense = stage_dense_parameters(model, par)
    return [d + e for d, e in zip(dense, stage_expert_parameters(model, par), strict=True)]


def stage_dense_parameters(model: ModelConfig, par: ParallelismConfig) -> list[float]:
    """All but the routed experts, per device of each stage (replicated over DP x CP), split
    over TP but for MLA's down-projections, which every TP rank holds whole."""
    embedding = model.vocab_size * model.hidden + model.position_embeddings * model.hidden
    output = model.vocab_size * model.hidden  # a copy on the last stage when tied and pp > 1
    moe_dense = moe_layer_parameters(model) - expert_parameters(model)  # 0 layers if dense
    kinds = stage_layer_kinds(model, par)
    layer, per_layer_replicated = layer_parameters(model), replicated_attention_parameters(model)
    params = [d * layer + m * moe_dense for d, m in kinds]
    params[0] += embedding
    if not (model.tied_embeddings and par.pp == 1):
        params[-1] += output
    params[-1] += NORM_PARAMETERS[model.norm] * model.hidden  # final norm
    params[-1] += mtp_parameters(model) - model.mtp_modules * expert_parameters(model)
    replicated = [(d + m) * per_layer_replicated for d, m in kinds]
    replicated[-1] += model.mtp_modules * per_layer_replicated
    return [(p - r) / par.tp + r for p, r in zip(params, replicated, strict=True)]


def stage_expert_parameters(model: ModelConfig, par: ParallelismConfig) -> list[float]:
    """Routed experts per device of each stage (replicated over DP x CP / EP)."""
    experts = expert_parameters(model)  # 0 for a dense model
    kinds = stage_layer_kinds(model, par)
    mtp = [0] * (len(kinds) - 1) + [model.mtp_modules]  # DeepSeek-V3's MTP sits after the head
    return [
        (m + extra) * experts / (par.tp * par.ep) for (_, m), extra in zip(kinds, mtp, strict=True)
    ]


def memory_per_device(config: Config) -> MemoryBreakdown:
    """Memory of the fullest stage: each stage holds its layers' activations for the chunks in
    flight (``chunks_in_flight``); the last stage also holds the logits of one micro-batch. Model
    states are sharded by the ZeRO stage over the ranks holding the same parameters: DP x CP for
    the dense ones, DP x CP / EP for the experts."""
    model, par, hw = config.model, config.parallelism, config.hardware

    def per_layer(moe: bool) -> float:
        return activation_bytes_per_layer(
            model,
            seq_len=config.workload.seq_len,
            micro_batch=par.micro_batch_size,
            tp=par.tp,
            cp=par.cp,
            sequence_parallel=par.sequence_parallel,
            recompute=par.recompute,
            dtype=par.dtype,
            moe=moe,
            imbalance=par.expert_imbalance,
        )

    dense_layer, moe_layer = per_layer(False), per_layer(True) if model.experts else 0.0
    precision = PRECISIONS[par.dtype]
    in_flight = microbatches_per_replica(config)
    shards = par.dp * par.cp  # ranks holding the same dense parameters
    expert_shards = max(1, shards // par.ep)
    # Bytes per parameter of each model state and whether the ZeRO stage shards it.
    states = (
        (precision.weights, par.zero_stage >= 3),
        (precision.gradients, par.zero_stage >= 2),
        (precision.optimizer, par.zero_stage >= 1),
    )
    tokens = microbatch_tokens(config)
    logits = LOGIT_BYTES * tokens * model.vocab_size / par.tp
    stages = []
    # Freed stage inputs (Llama 3 paper, Section 3.3.2): a chunk's received input is not kept
    # through backward; the chunk's first norm keeps what its backward needs.
    chunk_input = tokens * model.hidden * precision.activation
    chunk_input /= par.tp if par.sequence_parallel else 1
    parts = zip(
        stage_dense_parameters(model, par),
        stage_expert_parameters(model, par),
        stage_layer_kinds(model, par),
        strict=True,
    )
    for i, (dense, experts, (n_dense, n_moe)) in enumerate(parts):
        chunks = chunks_in_flight(par.pp, par.virtual_stages, in_flight, i)
        stage_bytes = n_dense * dense_layer + n_moe * moe_layer
        activations = chunks * stage_bytes / par.virtual_stages
        if par.stage_io_freed:
            activations -= chunks * min(chunk_input, stage_bytes / (n_dense + n_moe))
        if i == par.pp - 1:
            activations += logits

        weights, grads, optimizer = [
            (_sharded(dense * b, shards, on), _sharded(experts * b, expert_shards, on))
            for b, on in states
        ]
        stages.append(
            MemoryBreakdown(
                stage=i,
                weights_gib=weights[0] + weights[1],
                gradients_gib=grads[0] + grads[1],
                optimizer_gib=optimizer[0] + optimizer[1],
                activations_gib=activations / GIB,
                reserve_gib=hw.memory_reserve_gib,
                capacity_gib=hw.memory_gib,
                experts_gib=weights[1] + grads[1] + optimizer[1],
            )
        )
    return max(stages, key=lambda m: m.total_gib)


def _sharded(total_bytes: float, shards: int, sharded: bool) -> float:
    return total_bytes / (shards if sharded else 1) / GIB
