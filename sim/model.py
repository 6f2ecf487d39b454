"""Transformer arithmetic: parameter count and training FLOPs per token, from the architecture."""

from __future__ import annotations

from sim.config import ModelConfig


def embedding_parameters(model: ModelConfig) -> int:
    """Input embedding plus, when untied, the output projection."""
    tables = 1 if model.tied_embeddings else 2
    return tables * model.vocab_size * model.hidden


def layer_parameters(model: ModelConfig) -> int:
    """One decoder layer: grouped-query attention, a SwiGLU MLP and two RMSNorms."""
    head_dim = model.hidden // model.heads
    attention = 2 * model.hidden * model.hidden + 2 * model.hidden * model.kv_heads * head_dim
    mlp = 3 * model.hidden * model.ffn_hidden
    return attention + mlp + 2 * model.hidden


def parameter_count(model: ModelConfig) -> int:
    """All parameters, including embeddings and the final norm."""
    return model.layers * layer_parameters(model) + embedding_parameters(model) + model.hidden


def training_flops_per_token(model: ModelConfig, seq_len: int) -> float:
    """Forward and backward FLOPs per token: 6 per matmul parameter plus causal attention.

    The input embedding is a lookup, not a matmul, so it is left out of the 6N term. Causal
    attention (QK^T and AV) costs 2 x 2 x seq_len x hidden per layer forward, halved by the mask,
    tripled for forward plus backward: 6 x layers x seq_len x hidden.
    """
    matmul_parameters = parameter_count(model) - model.vocab_size * model.hidden
    attention = 6.0 * model.layers * seq_len * model.hidden
    return 6.0 * matmul_parameters + attention
