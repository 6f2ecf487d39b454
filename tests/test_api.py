"""The Python API notebooks use: compose a scenario, run it, get DataFrames back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO

import sim
from sim.training.accounting import Bucket

FILES = sorted((REPO / "scenarios").glob("*.yaml"))
SERVING = sorted(p.stem for p in FILES if "override /serving" in p.read_text())
TRAINING = sorted(p.stem for p in FILES if p.stem not in SERVING)


@pytest.mark.parametrize("scenario", TRAINING)
def test_every_scenario_composes_and_runs_briefly(scenario: str, tmp_path: Path) -> None:
    config = sim.load_config(scenario, ["sim.replicates=2", "sim.horizon_days=5"])
    result = sim.run(config, tmp_path, scenario=scenario)
    assert result.summary["scenario"] == scenario
    assert len(result.replicates) == 2
    assert {"summary.json", "replicates.parquet", "events.parquet"} <= {
        p.name for p in tmp_path.iterdir()
    }


@pytest.mark.parametrize("scenario", SERVING)
def test_every_serving_scenario_composes_and_serves_briefly(scenario: str, tmp_path: Path) -> None:
    overrides = ["sim.replicates=2", "serving.requests=200", "serving.rates_per_s=[]"]
    config = sim.load_config(scenario, overrides)
    result = sim.run(config, tmp_path, scenario=scenario)
    assert result.summary["scenario"] == scenario
    assert len(result.replicates) == 2
    assert (result.requests.groupby("replicate").size() == 200).all()
    files = {p.name for p in tmp_path.iterdir()}
    assert {"summary.json", "replicates.parquet", "requests.parquet"} <= files


def test_run_returns_tidy_frames_whose_buckets_close(llama_405b: sim.Result) -> None:
    result = llama_405b
    reps = result.replicates
    buckets = reps[[f"{b.value}_h" for b in Bucket]].sum(axis=1)
    assert (buckets - reps["wall_clock_days"] * 24).abs().max() < 1e-6
    assert set(result.events["replicate"]) == set(range(50))
    assert result.summary["ettr"] == pytest.approx(reps["ettr"].mean())


def test_config_errors_raise_in_the_api() -> None:
    config = sim.load_config("llama_405b", ["parallelism.tp=4"])
    with pytest.raises(sim.ConfigError, match=r"parallelism=.*16384"):
        sim.run(config)


def test_a_failure_category_can_be_added_from_the_command_line() -> None:
    # Issue 13: `+failures.categories.NAME={...}` failed with "dict is not a subclass".
    rack = "{scope: switch, rate_per_1000_server_days: 0.5, servers_down: 16}"
    config = sim.load_config("llama_405b", [f"+failures.categories.rack={rack}"])
    added = config.failures.categories["rack"]
    assert (added.scope, added.servers_down, added.rate_per_1000_server_days) == ("switch", 16, 0.5)
    assert added.recovery == "swap"  # the schema's default filled in
    with pytest.raises(sim.ConfigError, match=r"failures\.categories\.rack\.scoep='switch': unk"):
        sim.load_config("llama_405b", ["+failures.categories.rack={scoep: switch}"])


def test_a_cause_named_planned_does_not_collide_with_the_planned_count(tmp_path: Path) -> None:
    # Issue 13: the summary is nested data; only summary.json is flat, its parts joined by "__".
    config = sim.load_config(
        "llama_405b",
        ["+failures.categories.planned={scope: job, rate_per_1000_server_days: 2}",
         "failures.planned.per_day=4", "failures.planned.per_1000_server_days=0",
         "sim.horizon_days=3", "sim.replicates=2",
         "sim.progress=false"],
    )  # fmt: skip
    summary = sim.run(config, tmp_path).summary
    assert summary.interruptions["planned"] > 0
    assert summary["interruptions_planned"] == pytest.approx(3 * 4, abs=1)  # 4 stops a day
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["interruptions__planned"] == summary.interruptions["planned"]
    assert written["interruptions_planned"] == summary["interruptions_planned"]


def test_a_skewed_run_prints_mean_median_and_intervals_from_its_own_spread() -> None:
    """Issue 16: at seed 6, cpu_llama_1b has one replicate in 50 that waits ~40 h for a repair."""
    from sim.outputs.report import format_summary

    result = sim.run(sim.load_config("cpu_llama_1b", ["sim.progress=false", "sim.seed=6"]))
    s, days = result.summary, result.replicates["time_to_train_days"]
    assert (days > 1.5 * days.median()).sum() == 1
    tiny = 1e-12  # the 49 undisturbed replicates differ in the last bits
    assert s["time_to_train_days_median_ci95_low"] - tiny <= days.median()
    assert days.median() <= s["time_to_train_days_median_ci95_high"] + tiny
    assert s["time_to_train_days_ci95_low"] >= days.min()  # a normal interval fell below it
    text = format_summary(s)
    assert f"mean {days.mean():.3f} days (95% CI" in text
    assert f"median {days.median():.3f} (95% CI 0.348-0.348)" in text
    outlier = result.replicates["replicate"][days.idxmax()]
    assert f"1 of 50 replicates ({outlier})" in text and "waiting for servers" in text
    assert "lost servers found no spare free (2 spares) and waited for a repair" in text
