"""Transformer arithmetic against published model sizes and training FLOPs."""

from __future__ import annotations

import dataclasses

import pytest

import sim
from sim.model import (
    model_flops_per_token,
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
