"""The command line, end to end in subprocesses started from a foreign working directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_command

from sim.training.accounting import Bucket

pytestmark = pytest.mark.slow  # every test runs python -m sim in a subprocess

REQUIRED_KEYS = {
    "scenario", "seed", "replicates", "time_to_train_days", "time_to_train_days_p05",
    "time_to_train_days_p50", "time_to_train_days_p95", "device_hours", "cost_usd", "ettr",
    "interruptions_unexpected", "interruptions_planned", "step_time_s", "tflops_per_device",
    "checkpoint_interval_s", "productive_h", "checkpoint_stall_h", "lost_work_h", "detection_h",
    "restart_h", "restore_h", "waiting_for_servers_h",
}  # fmt: skip

# Llama 3.1 model card: 30.84M H100 GPU-hours for the 405B model's training.
META_405B_GPU_HOURS = 30.84e6


def run_sim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_command("sim", *args, cwd=cwd)


@pytest.fixture(scope="module")
def llama_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("llama_405b")
    proc = run_sim("scenario=llama_405b", f"hydra.run.dir={out}", cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_llama_405b_writes_the_three_files_with_the_public_keys(
    llama_run: tuple[Path, str],
) -> None:
    out, stdout = llama_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary.keys() >= REQUIRED_KEYS
    assert summary["scenario"] == "llama_405b"
    replicates = pd.read_parquet(out / "replicates.parquet")
    assert len(replicates) == summary["replicates"]
    events = pd.read_parquet(out / "events.parquet")
    assert {"replicate", "time_s", "kind", "cause", "server", "duration_s"} <= set(events.columns)
    assert (events["kind"] == "failure").sum() == replicates["interruptions_unexpected"].sum()
    assert (out / ".hydra" / "config.yaml").exists()
    assert "time to train" in stdout


def test_llama_405b_matches_the_published_scale(llama_run: tuple[Path, str]) -> None:
    # 60-90 days, and device-hours within 10% of the model card's 30.84M H100-hours (Llama 3.1
    # model card), with the step time from the throughput model and the scenario's failures.
    summary = json.loads((llama_run[0] / "summary.json").read_text())
    assert 60 <= summary["time_to_train_days"] <= 90
    assert summary["device_hours"] == pytest.approx(META_405B_GPU_HOURS, rel=0.10)
    buckets = [f"{bucket.value}_h" for bucket in Bucket]
    assert sum(summary[k] for k in buckets) == pytest.approx(summary["wall_clock_days"] * 24)


def test_same_seed_same_numbers_in_two_processes(tmp_path: Path) -> None:
    summaries = []
    for name in ("a", "b"):
        proc = run_sim(
            "scenario=llama_405b", "sim.replicates=4", "sim.seed=11",
            f"hydra.run.dir={tmp_path / name}", cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        summaries.append(json.loads((tmp_path / name / "summary.json").read_text()))
    assert summaries[0] == summaries[1]
    other = run_sim(
        "scenario=llama_405b", "sim.replicates=4", "sim.seed=12",
        f"hydra.run.dir={tmp_path / 'c'}", cwd=tmp_path,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    differ = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert differ["time_to_train_days"] != summaries[0]["time_to_train_days"]


def test_help_lists_the_scenarios(tmp_path: Path) -> None:
    proc = run_sim("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "llama_405b               Llama 3.1 405B pre-training on 16,384" in proc.stdout
    assert "base_" not in proc.stdout  # the schema entries are not options
    assert "Also: python -m sim.app.explore --help" in proc.stdout
