"""The command line, end to end in subprocesses started from a foreign working directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_command

from sim.accounting import Bucket
from sim.cli import preflight

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


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("scenario=nope", "scenario=nope: no such option; valid: cheapest_under_deadline, "
         "cpu_llama_1b, deepseek_dense_vs_moe, deepseek_v2, gpu_vs_cpu, llama_405b"),
        ("hardware=nope", "hardware=nope: no such option; valid: a100_sxm, b200, epyc_9175f, "
         "epyc_9755, epyc_genoa, h100_sxm, h200_sxm, h800_sxm, mi300x, xeon6_6980p, "
         "xeon_spr_amx"),
        ("cheese.size=1", "cheese.size=1: unknown key 'cheese'; valid: hardware, model"),
        ("sim.speed=1", "sim.speed=1: unknown key 'sim.speed'; valid: sim.seed"),
        ("+sim.speed=1", "sim.speed=1: unknown key; valid:"),
        ("sim.seed=[1", "sim.seed=[1: malformed override"),
        ("sim.seed=abc", "sim.seed=abc: Value 'abc' of type 'str' could not be converted"),
        ("failures=node_rate failures.rate_per_1000_server_days=-1",
         "failures.rate_per_1000_server_days=-1.0: must be a positive finite number"),
        ("failures=node_rate failures.rate_per_1000_server_days=0",
         "failures.rate_per_1000_server_days=0.0: must be a positive finite number"),
        (
            "failures.categories.faulty_gpu.rate_per_1000_server_days=0",
            "failures.categories.faulty_gpu.rate_per_1000_server_days=0.0: must be a positive",
        ),
        (
            "failures.rate_per_1000_server_days=3",
            "failures.rate_per_1000_server_days=3.0: is used only with failures=node_rate",
        ),
        ("checkpoint.interval_min=0", "checkpoint.interval_min=0.0: must be a positive"),
        ("checkpoint.interval_min=-5", "checkpoint.interval_min=-5.0: must be a positive"),
        ("recovery.repair_h=0", "recovery.repair_h=0.0: must be a positive"),
        ("recovery.restart_s=-1", "recovery.restart_s=-1.0: must be zero or a positive"),
        ("sim.horizon_days=0", "sim.horizon_days=0.0: must be a positive"),
        ("sim.replicates=0", "sim.replicates=0: must be at least 1"),
        ("checkpoint.policy=sometimes", "checkpoint.policy=sometimes: Invalid value 'sometimes', "
         "expected one of [none, fixed, young, daly, adaptive, async, multilevel, lossless]"),
        ("failures.categories.cpu.scope=rack", "expected one of [device, server, switch, job, "
         "cluster]"),
        ("failures.categories.cpu.recovery=reboot", "expected one of [swap, restart]"),
        ("failures=node_rate failures.distribution=empirical",
         "failures.distribution='empirical': unknown option; valid: exponential, weibull, "
         "lognormal"),
        ("hardware=a100_sxm parallelism.dtype=fp8", "parallelism.dtype='fp8': a100_sxm has no FP8"),
        ("hardware.kind=tpu", "hardware.kind=tpu: Invalid value 'tpu', expected one of [gpu, cpu]"),
        ("parallelism.dp=64", "the product must equal the device count cluster.servers x "
         "hardware.devices_per_server = 2048 x 8 = 16384"),
        ("parallelism.tp=16 parallelism.dp=64", "parallelism.tp=16: tensor parallelism must stay "
         "inside one server: at most hardware.devices_per_server=8"),
        ("parallelism.pp=9 parallelism.dp=228", "product must equal"),
        (
            "parallelism.pp=32 parallelism.dp=64 parallelism.fewer_layers_first_last=0",
            "parallelism.pp=32: must divide model.layers=126",
        ),
        ("parallelism.tp=1 parallelism.pp=1 parallelism.dp=16384 parallelism.virtual_stages=1",
         "does not fit in memory: needs "
         "weights 756.0 + gradients 0.0 + optimizer 0.3 + activations 503.7 + reserve 4.0 = "
         "1264.0 GiB on pipeline stage 0, but H100 SXM 80GB has 80 GiB; try: raise "
         "parallelism.tp (up to 8); raise parallelism.pp; set parallelism.recompute=full"),
    ],
)  # fmt: skip
def test_bad_input_is_named_in_one_line(override: str, message: str) -> None:
    # In-process: the same preflight `python -m sim` runs before anything is simulated.
    problem = preflight(["scenario=llama_405b", *override.split()])
    assert problem is not None
    assert "\n" not in problem
    assert message in problem


@pytest.mark.parametrize(
    ("override", "message"),
    [("sim.seed=abc", "could not be converted"), ("parallelism.dp=64", "the product must equal")],
)
def test_bad_input_is_one_line_and_exit_code_2(override: str, message: str, tmp_path: Path) -> None:
    proc = run_sim(
        "scenario=llama_405b", override, f"hydra.run.dir={tmp_path}", cwd=tmp_path
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "summary.json").exists()


def test_help_lists_the_scenarios(tmp_path: Path) -> None:
    proc = run_sim("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "llama_405b" in proc.stdout
