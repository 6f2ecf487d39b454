"""The Python API notebooks use: compose a scenario, run it, get DataFrames back."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO

import sim
from sim.training.accounting import Bucket

FILES = sorted((REPO / "scenarios").glob("*.yaml"))
# A serving scenario picks a serving option, itself or through the scenario it extends.
SERVING = sorted(p.stem for p in FILES if "override /serving" in p.read_text()
                 or "- serve_" in p.read_text())  # fmt: skip
TRAINING = sorted(p.stem for p in FILES if p.stem not in SERVING)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", TRAINING)
def test_every_scenario_composes_and_runs_briefly(scenario: str, tmp_path: Path) -> None:
    config = sim.load_config(scenario, ["sim.replicates=2", "sim.horizon_days=5"])
    result = sim.run(config, tmp_path, scenario=scenario)
    assert result.summary["scenario"] == scenario
    assert len(result.replicates) == 2
    assert {"summary.json", "replicates.parquet", "events.parquet"} <= {
        p.name for p in tmp_path.iterdir()
    }


@pytest.mark.slow
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


@pytest.mark.slow
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
