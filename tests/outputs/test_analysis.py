"""The tidy frames of sim.outputs.analysis: they reshape without losing or inventing time, tokens or
interruptions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.outputs import analysis


@pytest.fixture(scope="module")
def multilingual() -> sim.Result:
    config = sim.load_config("multilingual_switch", ["sim.replicates=3", "sim.progress=false"])
    return sim.run(config, scenario="multilingual_switch")


@pytest.mark.slow
def test_time_budget_shares_add_up_to_the_wall_clock(multilingual: sim.Result) -> None:
    budget = analysis.time_budget(multilingual.replicates)
    assert set(budget.columns) == {"replicate", "bucket", "hours", "share"}
    assert budget.groupby("replicate")["share"].sum().to_numpy() == pytest.approx(1.0)
    hours = budget.groupby("replicate")["hours"].sum().to_numpy()
    assert hours == pytest.approx(multilingual.replicates["wall_clock_days"].to_numpy() * 24)


@pytest.mark.slow
def test_interruptions_by_cause_add_up_to_the_unexpected_total(multilingual: sim.Result) -> None:
    long = analysis.interruptions(multilingual.replicates)
    per_replicate = long.groupby("replicate")["count"].sum().to_numpy()
    assert (per_replicate == multilingual.replicates["interruptions_unexpected"].to_numpy()).all()


@pytest.mark.slow
def test_languages_and_phases_split_the_same_tokens_and_days(multilingual: sim.Result) -> None:
    summary = pd.DataFrame([multilingual.summary])
    languages, phases = analysis.by_language(summary), analysis.by_phase(summary)
    assert set(phases["phase"]) == {"english_heavy", "multilingual"}
    assert len(languages) == 7
    assert languages["tokens"].sum() == pytest.approx(phases["tokens"].sum())
    assert languages["days"].sum() == pytest.approx(phases["days"].sum())
    assert languages["cost_usd"].sum() == pytest.approx(phases["cost_usd"].sum())


def test_load_names_a_directory_without_runs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such directory"):
        analysis.load(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no runs here"):
        analysis.load(tmp_path)
