"""Transformer arithmetic against published model sizes and training FLOPs."""

from __future__ import annotations

import dataclasses

import pytest

import sim
from sim.perf.model import (
    active_parameter_count,
    model_flops_per_token,
    moe_layers,
    moe_layers_below,
    mtp_parameters,
    parameter_count,
    training_flops_per_token,
)


def model(name: str) -> sim.config.ModelConfig:
    return sim.load_config("llama_405b", [f"model={name}"]).model


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("llama3_1b", 1.23e9),  # Llama 3.2 1B model card: 1.23B
        ("llama3_8b", 8.03e9),  # Llama 3.1 model card: 8.03B
        ("llama3_70b", 70.6e9),  # Llama 3.1 model card: 70.6B
        ("llama3_405b", 405.9e9),  # computed from Table 3 of the Llama 3 paper (published: 405B)
        ("gpt3_175b", 175e9),  # Brown et al. 2020, Table 2.1
        ("llama3_2_3b", 3.21e9),  # Llama 3.2 model card: 3.21B
        ("llama2_7b", 6.74e9),  # Llama 2 7B released weights: 6.74B
        ("gpt_j_6b", 6.05e9),  # EleutherAI GPT-J 6B model card: 6,053,381,344
        ("gpt_neox_20b", 20.55e9),  # GPT-NeoX-20B paper, Table 1: 20,556,201,984
    ],
)
def test_parameter_count_within_1_percent_of_published(name: str, published: float) -> None:
    assert parameter_count(model(name)) == pytest.approx(published, rel=0.01)


def test_llama_405b_training_flops_within_3_percent_of_meta() -> None:
    # Llama 3 paper, Section 3.2.1: 3.8e25 FLOPs = 6 x 405B x 15.6T tokens.
    assert 6 * parameter_count(model("llama3_405b")) * 15.6e12 == pytest.approx(3.8e25, rel=0.03)


def test_attention_flops_grow_with_sequence_length() -> None:
    m = model("llama3_8b")
    short, long = model_flops_per_token(m, 2048), model_flops_per_token(m, 8192)
    assert long - short == pytest.approx(6 * m.layers * (8192 - 2048) * m.hidden)


def test_recomputation_adds_what_it_repeats() -> None:
    m, s = model("llama3_70b"), 8192
    base = model_flops_per_token(m, s)
    assert training_flops_per_token(m, s, "none") == base
    assert training_flops_per_token(m, s, "selective") == pytest.approx(
        base + m.layers * s * m.hidden
    )
    assert training_flops_per_token(m, s, "full") == pytest.approx(base * 4 / 3)


def test_raising_the_vocabulary_adds_the_embedding_and_output_parameters() -> None:
    m = model("llama3_8b")
    bigger = dataclasses.replace(m, vocab_size=m.vocab_size + 1000)
    assert parameter_count(bigger) - parameter_count(m) == 2 * 1000 * m.hidden  # untied
    tied = dataclasses.replace(m, tied_embeddings=True)
    bigger_tied = dataclasses.replace(tied, vocab_size=m.vocab_size + 1000)
    assert parameter_count(bigger_tied) - parameter_count(tied) == 1000 * m.hidden


# -- mixture of experts and multi-head latent attention (issue 14) ----------------------------


def test_a_dense_model_is_all_active() -> None:
    dense = model("llama3_405b")
    assert active_parameter_count(dense) == parameter_count(dense)
    assert moe_layers(dense) == 0


def test_deepseek_counts_activated_parameters_without_the_input_embedding() -> None:
    # DeepSeek-V2 paper, Appendix: DeepSeek-V2-Lite has 15.7B parameters, 2.4B activated (27
    # layers, hidden 2048, MLA without query compression, 2 shared + 64 routed experts of 1408, 6
    # per token, the first layer dense at 10944). Of the three ways to count the embeddings the
    # one without the input table is nearest: 2.45B, against 2.66B with both tables and 2.24B
    # with neither.
    lite = dataclasses.replace(
        model("deepseek_v2"), layers=27, hidden=2048, ffn_hidden=10944, heads=16, kv_heads=16,
        q_lora_rank=0, experts=64, expert_ffn_hidden=1408,
    )  # fmt: skip
    assert parameter_count(lite) == pytest.approx(15.7e9, rel=0.01)
    table = lite.vocab_size * lite.hidden
    counts = {
        "both": active_parameter_count(lite),
        "no input": active_parameter_count(lite, input_embedding=False),
        "neither": active_parameter_count(lite, input_embedding=False) - table,
    }
    assert min(counts, key=lambda k: abs(counts[k] - 2.4e9)) == "no input"


def test_moe_flops_follow_the_active_experts() -> None:
    # Each routed expert a token adds costs 6 FLOPs per parameter per MoE layer, whatever the
    # number of experts that only sit in memory.
    v2 = model("deepseek_v2")
    more_active = dataclasses.replace(v2, experts_per_token=v2.experts_per_token + 1)
    more_total = dataclasses.replace(v2, experts=2 * v2.experts)
    expert = 3 * v2.hidden * v2.expert_ffn_hidden
    extra = model_flops_per_token(more_active, 4096) - model_flops_per_token(v2, 4096)
    assert extra == pytest.approx(6 * expert * moe_layers(v2))
    router = 6 * v2.hidden * v2.experts * moe_layers(v2)  # the router grows with the experts
    assert model_flops_per_token(more_total, 4096) - model_flops_per_token(v2, 4096) == (
        pytest.approx(router)
    )
    assert parameter_count(more_total) - parameter_count(v2) == v2.experts * (
        expert + v2.hidden
    ) * moe_layers(v2)


def test_llama4_maverick_alternates_dense_and_moe_layers() -> None:
    maverick = model("llama4_maverick")
    assert moe_layers(maverick) == 24  # Meta's config: MoE in every second of 48 layers
    kinds = [moe_layers_below(maverick, i + 1) - moe_layers_below(maverick, i) for i in range(48)]
    assert kinds == [0, 1] * 24  # interleave_moe_layer_step 2: layers 1, 3, 5, ... have experts


def test_deepseek_v3_keeps_its_first_three_layers_dense() -> None:
    v3 = model("deepseek_v3")
    kinds = [moe_layers_below(v3, i + 1) - moe_layers_below(v3, i) for i in range(61)]
    assert kinds == [0] * 3 + [1] * 58  # config.json: first_k_dense_replace 3


def test_mla_attention_flops_use_its_head_widths() -> None:
    # MLA scores use 128 + 64 per head, values 128: 3 x layers x seq x heads x (192 + 128).
    v3 = model("deepseek_v3")
    dense_part = model_flops_per_token(v3, 1) - 3 * 61 * 128 * 320 * 1
    assert model_flops_per_token(v3, 4097) - dense_part == pytest.approx(3 * 61 * 4097 * 128 * 320)


def test_deepseek_v3_checkpoints_its_multi_token_prediction_module_too() -> None:
    # DeepSeek-V3 report: the MTP module (one MoE layer and a projection; embedding and output
    # head shared) is trained and saved with the main model. BF16 weights + FP32 Adam: 14 bytes.
    from sim.perf.checkpoints import checkpoint_bytes

    config = sim.load_config("deepseek_v2", ["model=deepseek_v3"])
    v3 = config.model
    assert 11e9 < mtp_parameters(v3) < 12e9  # one MoE layer of 256 experts: 11.3B of it
    assert checkpoint_bytes(config) == 14 * (parameter_count(v3) + mtp_parameters(v3))
