"""Side-by-side runs of a scenario's variants (sim.app.compare), from the command line and the
Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_command

from sim.app.compare import run_variants


@pytest.mark.slow
def test_gpu_vs_cpu_summary_shows_both_fleets(tmp_path: Path) -> None:
    proc = run_command(
        "sim", "scenario=gpu_vs_cpu", "sim.replicates=4", f"hydra.run.dir={tmp_path}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["variants"] == ["gpu", "cpu"]
    assert summary["gpu.device"] == "H100 SXM 80GB"
    assert summary["cpu.device"].startswith("Xeon")
    for fleet in ("gpu", "cpu"):
        for key in ("time_to_train_days", "cost_usd", "interruptions_unexpected"):
            assert summary[f"{fleet}.{key}"] is not None
        assert (tmp_path / fleet / "replicates.parquet").exists()
    # Same job: the same tokens and model, so the same model FLOPs per token.
    assert summary["gpu.model_flops_per_token"] == summary["cpu.model_flops_per_token"]
    # The CPU fleet has 32x the servers at a lower rate per server: more failures per hour.
    assert summary["cpu.job_mtbf_h"] < summary["gpu.job_mtbf_h"]
    assert "time_to_train_days" in proc.stdout and "Xeon" in proc.stdout


@pytest.mark.slow
def test_compare_in_the_python_api() -> None:
    summary, results = run_variants("gpu_vs_cpu", {"a": [], "b": ["cluster.servers=4",
                                    "parallelism.dp=32"]}, ["sim.replicates=2"])  # fmt: skip
    assert results["b"].summary["devices"] == 2 * results["a"].summary["devices"]
    assert summary["b.step_time_s"] < summary["a.step_time_s"]
