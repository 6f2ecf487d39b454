"""Multilingual workloads (sim.perf.workload): token counts, vocabulary, the data pipeline's pace,
and a language switch in a whole run (its stalls in the engine: training/test_job.py)."""

from __future__ import annotations

import dataclasses
import math

import pytest

import sim
from sim.perf.checkpoints import checkpoint_bytes
from sim.perf.memory import memory_per_device
from sim.perf.workload import corpus_tokens, pipeline_tokens_per_s, premium


def config() -> sim.Config:
    return sim.load_config("multilingual_switch")


@pytest.mark.parametrize("key", ["german", "hindi", "thai", "chinese", "english"])
def test_tokens_are_words_or_characters_times_the_premium_table(key: str) -> None:
    # Petrov et al. 2023 (tokenizer_premiums.csv): e.g. Hindi costs 4.79x English in cl100k_base.
    w = config().workload
    corpus = w.corpus[key]
    per_unit = {"tokens": 1.0, "words": w.tokens_per_word, "characters": w.tokens_per_character}
    rate = 1.0 if corpus.unit == "tokens" else premium(corpus.language, w.tokenizer)
    assert corpus_tokens(corpus, w) == corpus.amount * per_unit[corpus.unit] * rate
    assert premium("Hindi", "cl100k_base") == 4.79
    assert premium("English", "cl100k_base") == 1.0


def test_raising_the_vocabulary_grows_memory_and_checkpoint_by_what_it_adds() -> None:
    base = config()
    extra = 64_000
    bigger = dataclasses.replace(
        base, model=dataclasses.replace(base.model, vocab_size=base.model.vocab_size + extra)
    )
    added = 2 * extra * base.model.hidden  # input embedding and output projection, untied
    assert checkpoint_bytes(bigger) - checkpoint_bytes(base) == pytest.approx(added * 14)
    # With PP = 1 the one stage holds both tables, sharded over TP = 2: 2 + 2 bytes of weights
    # and gradients per parameter, 12 of optimizer state sharded over DP = 256 (ZeRO-1).
    per_device = added / 2
    grown = memory_per_device(bigger)
    was = memory_per_device(base)
    states = lambda m: m.weights_gib + m.gradients_gib + m.optimizer_gib  # noqa: E731
    assert (states(grown) - states(was)) * 2**30 == pytest.approx(per_device * (4 + 12 / 256))


@pytest.mark.slow
def test_no_data_stall_when_the_cores_outrun_the_devices() -> None:
    many = sim.load_config("multilingual_switch", ["workload.loader_cores_per_server=16"])
    run = sim.run(dataclasses.replace(many, sim=dataclasses.replace(many.sim, replicates=3)))
    s = run.summary
    for phase in ("english_heavy", "multilingual"):
        assert s.phases[phase]["data_speed"] == 1.0
    assert s["data_stall_h"] == pytest.approx(600 / 3600.0)  # only the restart at the switch


def test_pipeline_rate_is_the_harmonic_mix_of_the_languages() -> None:
    c = config()
    mix = {"english": 0.5, "thai": 0.5}
    per_core = 1 / (0.5 / 60_000 + 0.5 / 15_000)
    assert pipeline_tokens_per_s(c, mix) == pytest.approx(64 * 1 * per_core)


@pytest.mark.slow
def test_multilingual_switch_breaks_down_by_phase_and_language_and_more_cores_help() -> None:
    summary, _ = sim.run_variants(
        "multilingual_switch",
        {"few": ["workload.loader_cores_per_server=1"],
         "many": ["workload.loader_cores_per_server=16"]},
        ["sim.replicates=4", "sim.progress=false"],
    )  # fmt: skip
    for variant in ("few", "many"):
        for phase in ("english_heavy", "multilingual"):
            for part in ("tokens", "days", "cost_usd"):
                assert summary[f"{variant}.phase__{phase}__{part}"] > 0
        for language in ("english", "hindi", "thai"):
            for part in ("tokens", "days", "cost_usd"):
                assert summary[f"{variant}.language__{language}__{part}"] > 0
        languages = ("english", "german", "french", "spanish", "chinese", "hindi", "thai")
        total = sum(summary[f"{variant}.language__{k}__tokens"] for k in languages)
        assert total == pytest.approx(1.5e12)
    assert summary["few.data_stall_h"] > summary["many.data_stall_h"]
    assert summary["few.phase__multilingual__data_speed"] < 1.0
    assert summary["few.time_to_train_days"] > summary["many.time_to_train_days"]


def test_workload_errors_name_the_key() -> None:
    for override, message in [
        ("workload.corpus.hindi.language=Klingon", "workload.corpus.hindi.language='Klingon'"),
        ("workload.mix.english=0.5", "workload.mix="),
        ("workload.tokenizer=sentencepiece", "workload.tokenizer='sentencepiece'"),
    ]:
        with pytest.raises(sim.ConfigError, match=message):
            sim.run(sim.load_config("multilingual_switch", [override]))
    assert math.isfinite(premium("Thai", "byt5"))
