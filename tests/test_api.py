"""The Python API notebooks use: compose a scenario, run it, get DataFrames back."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

import sim
from sim.accounting import Bucket
from sim.model import parameter_count, training_flops_per_token

SCENARIOS = sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_composes_and_runs_briefly(scenario: str, tmp_path: Path) -> None:
    config = sim.load_config(scenario, ["sim.replicates=2", "sim.horizon_days=5"])
    result = sim.run(config, tmp_path, scenario=scenario)
    assert result.summary["scenario"] == scenario
    assert len(result.replicates) == 2
    assert {"summary.json", "replicates.parquet", "events.parquet"} <= {
        p.name for p in tmp_path.iterdir()
    }


def test_run_returns_tidy_frames_whose_buckets_close() -> None:
    config = sim.load_config("llama_405b", ["sim.replicates=3"])
    result = sim.run(config)
    reps = result.replicates
    buckets = reps[[f"{b.value}_h" for b in Bucket]].sum(axis=1)
    assert (buckets - reps["wall_clock_days"] * 24).abs().max() < 1e-6
    assert set(result.events["replicate"]) == {0, 1, 2}
    assert result.summary["ettr"] == pytest.approx(reps["ettr"].mean())


def test_config_errors_raise_in_the_api() -> None:
    config = sim.load_config("llama_405b", ["parallelism.tp=4"])
    with pytest.raises(sim.ConfigError, match=r"parallelism=.*16384"):
        sim.run(config)


def test_llama_405b_size_and_flops_from_its_architecture() -> None:
    # Llama 3 paper (arXiv 2407.21783): 405B parameters (405.9B computed from Table 3's
    # architecture) and 3.8e25 training FLOPs for 15.6T tokens (Section 3.2.1). Tolerances: 1%, 3%.
    model = sim.load_config("llama_405b").model
    n = parameter_count(model)
    assert n == pytest.approx(405.9e9, rel=0.01)
    assert 6 * n * 15.6e12 == pytest.approx(3.8e25, rel=0.03)
    # Causal attention adds about 3.6% at 8,192 tokens.
    assert training_flops_per_token(model, 8192) / (6 * n) == pytest.approx(1.036, abs=0.002)
