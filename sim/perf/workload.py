"""Multilingual workloads: tokens per language through the tokenizer premium table, phases with
their own mixes and shapes, and the CPU data pipeline that must keep up with the devices.

Premiums: tokens(language) / tokens(English) for the same text, by tokenizer (Petrov et al.,
"Language Model Tokenizers Introduce Unfairness Between Languages", NeurIPS 2023; the table is
``sim/data/tokenizer_premiums.csv``, with its source in its header).
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sim.config import Config, LanguageCorpus, WorkloadConfig

PREMIUMS_CSV = Path(__file__).resolve().parents[1] / "data" / "tokenizer_premiums.csv"
UNITS = ("tokens", "words", "characters")


@cache
def premiums() -> dict[str, dict[str, float]]:
    """tokenizer -> language -> premium."""
    with PREMIUMS_CSV.open(newline="") as lines:
        rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    tokenizers = [t for t in rows[0] if t != "language"]
    return {t: {row["language"]: float(row[t]) for row in rows} for t in tokenizers}


def premium(language: str, tokenizer: str) -> float:
    return premiums()[tokenizer][language]


def corpus_tokens(corpus: LanguageCorpus, workload: WorkloadConfig) -> float:
    """Tokens in a corpus: given in tokens, or words (characters) x English tokens per word
    (character) x the language's premium for the tokenizer."""
    if corpus.unit == "tokens":
        return corpus.amount
    per_unit = workload.tokens_per_word if corpus.unit == "words" else workload.tokens_per_character
    return corpus.amount * per_unit * premium(corpus.language, workload.tokenizer)


@dataclass(frozen=True)
class PhaseSpec:
    """One phase: its name, its token mix and the config with its own workload shape."""

    name: str
    config: Config
    mix: dict[str, float]


def phases(config: Config) -> list[PhaseSpec]:
    """The first phase (the workload's own fields), then the further ``phases`` in order."""
    w = config.workload
    specs = [PhaseSpec(w.name, config, dict(w.mix))]
    for name, phase in w.phases.items():
        shaped = dataclasses.replace(
            w, tokens=phase.tokens, seq_len=phase.seq_len, global_batch_size=phase.global_batch_size
        )
        specs.append(PhaseSpec(name, dataclasses.replace(config, workload=shaped), dict(phase.mix)))
    return specs


def pipeline_tokens_per_s(config: Config, mix: dict[str, float]) -> float:
    """Tokens per second the data loaders of all servers produce for this mix: each core spends
    share / rate seconds per token of each language."""
    w, hw = config.workload, config.hardware
    cores = w.loader_cores_per_server if w.loader_cores_per_server is not None else hw.cpu_cores
    if not mix:
        per_core = w.tokens_per_core_s
    else:
        per_core = 1.0 / sum(share / w.corpus[key].tokens_per_core_s for key, share in mix.items())
    return config.cluster.servers * cores * per_core
