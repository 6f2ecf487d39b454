"""Transformer arithmetic: parameters (total and active) and training FLOPs per token, from the
architecture: dense or mixture-of-experts layers, grouped-query or multi-head latent attention."""

from __future__ import annotations

from sim.config import ModelConfig

MLP_MATRICES = {"swiglu": 3, "gelu": 2}
NORM_PARAMETERS = {"rmsnorm": 1, "layernorm": 2}  # per hidden unit: scale (and bias)
RECOMPUTE_MODES = ("none", "selective", "full")


def head_dim(model: ModelConfig) -> int:
    return model.head_dim or model.hidden // model.heads


def kv_dim(model: ModelConfig) -> int:
    """Width of the key (or value) projection: below ``hidden`` under grouped-query attention."""
    return model.kv_heads * head_dim(model)


def qk_head_dim(model: ModelConfig) -> int:
    """Per-head width of a query and a key (the scores' inner dimension)."""
    if model.attention == "mla":
        return model.qk_nope_head_dim + model.qk_rope_head_dim
    return head_dim(model)


def v_head_dim(model: ModelConfig) -> int:
    return model.v_head_dim if model.attention == "mla" else head_dim(model)


def embedding_parameters(model: ModelConfig) -> int:
    """Token (and learned position) embeddings plus, when untied, the output projection."""
    tables = 1 if model.tied_embeddings else 2
    return tables * model.vocab_size * model.hidden + model.position_embeddings * model.hidden


def attention_parameters(model: ModelConfig) -> int:
    """Q, K, V and output projections; under MLA the down-projections to the compressed query
    and key-value (with the shared rotary key), their norms, and the up-projections per head."""
    h, heads = model.hidden, model.heads
    if model.attention == "mla":
        q_width = heads * qk_head_dim(model)
        q_rank = model.q_lora_rank
        query = h * q_rank + q_rank + q_rank * q_width if q_rank else h * q_width
        kv_rank = model.kv_lora_rank
        up = kv_rank * heads * (model.qk_nope_head_dim + model.v_head_dim)
        key_value = h * (kv_rank + model.qk_rope_head_dim) + kv_rank + up
        return query + key_value + heads * model.v_head_dim * h
    return 2 * h * heads * head_dim(model) + 2 * h * kv_dim(model)


def replicated_attention_parameters(model: ModelConfig) -> int:
    """Per layer, what tensor parallelism does not split: MLA's down-projections to the
    compressed query and key-value, and their norms (every rank needs the whole latent)."""
    if model.attention != "mla":
        return 0
    q_rank, kv_rank = model.q_lora_rank, model.kv_lora_rank
    h = model.hidden
    return h * q_rank + q_rank + h * (kv_rank + model.qk_rope_head_dim) + kv_rank


def ffn_parameters(model: ModelConfig, width: int) -> int:
    return MLP_MATRICES[model.mlp] * model.hidden * width


def moe_ffn_parameters(model: ModelConfig, *, active: bool = False) -> int:
    """A MoE layer's experts (all, or the top-k a token goes through), shared experts and router."""
    routed = model.experts_per_token if active else model.experts
    expert = ffn_parameters(model, model.expert_ffn_hidden)
    return (routed + model.shared_experts) * expert + model.hidden * model.experts


def moe_layers(model: ModelConfig) -> int:
    return moe_layers_below(model, model.layers)


def moe_layers_below(model: ModelConfig, index: int) -> int:
    """MoE layers among the first ``index``: after the leading dense ones, every moe_every-th
    (counted, not looped over: the explorer asks for every stage of every plan)."""
    if not model.experts:
        return 0
    return max(0, index - model.dense_layers) // model.moe_every


def expert_parameters(model: ModelConfig) -> int:
    """The routed experts of one MoE layer: what expert parallelism splits."""
    return model.experts * ffn_parameters(model, model.expert_ffn_hidden)


def layer_parameters(model: ModelConfig) -> int:
    """One dense decoder layer: attention, the MLP and two norms. Biases of the linear layers
    (GPT-3 has them) are left out: under 0.01% of the total."""
    norms = 2 * NORM_PARAMETERS[model.norm] * model.hidden
    return attention_parameters(model) + ffn_parameters(model, model.ffn_hidden) + norms


def moe_layer_parameters(model: ModelConfig, *, active: bool = False) -> int:
    norms = 2 * NORM_PARAMETERS[model.norm] * model.hidden
    return attention_parameters(model) + moe_ffn_parameters(model, active=active) + norms


def _layers(model: ModelConfig, *, active: bool) -> int:
    moe = moe_layers(model)
    dense = (model.layers - moe) * layer_parameters(model)
    return dense + moe * moe_layer_parameters(model, active=active) if moe else dense


def parameter_count(model: ModelConfig) -> int:
    """All parameters of the main model, including embeddings and the final norm (multi-token
    prediction modules are counted apart: ``mtp_parameters``)."""
    final_norm = NORM_PARAMETERS[model.norm] * model.hidden
    return _layers(model, active=False) + embedding_parameters(model) + final_norm


def active_parameter_count(model: ModelConfig, *, input_embedding: bool = True) -> int:
    """Parameters one token goes through: a MoE layer's top-k and shared experts only. Vendors
    differ on the input embedding table: Meta and Mistral count it, DeepSeek does not (its
    DeepSeek-V2-Lite, 2.4B activated, is 2.45B without it and 2.66B with it)."""
    final_norm = NORM_PARAMETERS[model.norm] * model.hidden
    lookup = 0 if input_embedding else model.vocab_size * model.hidden
    return _layers(model, active=True) + embedding_parameters(model) + final_norm - lookup


def mtp_parameters(model: ModelConfig) -> int:
    """DeepSeek-V3's multi-token prediction modules: each a MoE layer, a projection of the two
    normed inputs (2h to h) and their norms; the embedding and output head are shared."""
    projection = 2 * model.hidden * model.hidden + 2 * NORM_PARAMETERS[model.norm] * model.hidden
    return model.mtp_modules * (moe_layer_parameters(model) + projection)


def matmul_parameters(model: ModelConfig) -> int:
    """Active parameters that take part in matrix multiplies: all but the embedding lookups."""
    lookups = model.vocab_size * model.hidden + model.position_embeddings * model.hidden
    output_projection = model.vocab_size * model.hidden if model.tied_embeddings else 0
    return active_parameter_count(model) - lookups + output_projection


def _attention_flops(model: ModelConfig, seq_len: int) -> float:
    """Forward QK^T and AV per token over all layers, halved by the causal mask."""
    widths = qk_head_dim(model) + v_head_dim(model)
    return 2.0 * model.layers * seq_len * model.heads * widths / 2.0


def model_flops_per_token(model: ModelConfig, seq_len: int) -> float:
    """Forward and backward FLOPs per token the model needs: 6 per active matmul parameter plus
    causal attention, tripled for forward plus backward (6 x layers x seq_len x hidden for a
    dense model whose heads span the hidden size)."""
    return 6.0 * matmul_parameters(model) + 3.0 * _attention_flops(model, seq_len)


def training_flops_per_token(model: ModelConfig, seq_len: int, recompute: str = "none") -> float:
    """FLOPs per token the hardware executes: the model's, plus what recomputation repeats.
    ``selective`` recomputes the attention scores in backward as FlashAttention does (QK^T again:
    layers x seq x hidden after the causal mask); ``full`` repeats the whole forward pass (a third
    of the model FLOPs)."""
    flops = model_flops_per_token(model, seq_len)
    if recompute == "selective":
        return flops + _attention_flops(model, seq_len) / 2.0
    if recompute == "full":
        return flops * 4.0 / 3.0
    return flops
