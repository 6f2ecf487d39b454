"""Transformer arithmetic: parameter count and training FLOPs per token, from the architecture."""

from __future__ import annotations

from sim.config import ModelConfig

MLP_MATRICES = {"swiglu": 3, "gelu": 2}
NORM_PARAMETERS = {"rmsnorm": 1, "layernorm": 2}  # per hidden unit: scale (and bias)
RECOMPUTE_MODES = ("none", "selective", "full")


def head_dim(model: ModelConfig) -> int:
    return model.hidden // model.heads


def kv_dim(model: ModelConfig) -> int:
    """Width of the key (or value) projection: below ``hidden`` under grouped-query attention."""
    return model.kv_heads * head_dim(model)


def embedding_parameters(model: ModelConfig) -> int:
    """Token (and learned position) embeddings plus, when untied, the output projection."""
    tables = 1 if model.tied_embeddings else 2
    return tables * model.vocab_size * model.hidden + model.position_embeddings * model.hidden


def layer_parameters(model: ModelConfig) -> int:
    """One decoder layer: attention (Q, K, V, output), the MLP and two norms. Biases of the
    linear layers (GPT-3 has them) are left out: under 0.01% of the total."""
    attention = 2 * model.hidden * model.hidden + 2 * model.hidden * kv_dim(model)
    mlp = MLP_MATRICES[model.mlp] * model.hidden * model.ffn_hidden
    return attention + mlp + 2 * NORM_PARAMETERS[model.norm] * model.hidden


def parameter_count(model: ModelConfig) -> int:
    """All parameters, including embeddings and the final norm."""
    final_norm = NORM_PARAMETERS[model.norm] * model.hidden
    return model.layers * layer_parameters(model) + embedding_parameters(model) + final_norm


def matmul_parameters(model: ModelConfig) -> int:
    """Parameters that take part in matrix multiplies: all but the embedding lookups."""
    lookups = model.vocab_size * model.hidden + model.position_embeddings * model.hidden
    output_projection = model.vocab_size * model.hidden if model.tied_embeddings else 0
    return parameter_count(model) - lookups + output_projection


def model_flops_per_token(model: ModelConfig, seq_len: int) -> float:
    """Forward and backward FLOPs per token the model needs: 6 per matmul parameter plus causal
    attention (QK^T and AV, 2 x 2 x seq_len x hidden per layer forward, halved by the causal
    mask, tripled for forward plus backward: 6 x layers x seq_len x hidden)."""
    attention = 6.0 * model.layers * seq_len * model.hidden
    return 6.0 * matmul_parameters(model) + attention


def training_flops_per_token(model: ModelConfig, seq_len: int, recompute: str = "none") -> float:
    """FLOPs per token the hardware executes: the model's, plus what recomputation repeats.
    ``selective`` recomputes the attention scores in backward as FlashAttention does (QK^T again:
    layers x seq x hidden after the causal mask); ``full`` repeats the whole forward pass (a third
    of the model FLOPs)."""
    flops = model_flops_per_token(model, seq_len)
    if recompute == "selective":
        return flops + 1.0 * model.layers * seq_len * model.hidden
    if recompute == "full":
        return flops * 4.0 / 3.0
    return flops
