"""Every hardware and model file composes, matches its datasheet, and runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from helpers import REPO

import sim
from sim.perf.memory import memory_per_device

pytestmark = pytest.mark.slow  # a Hydra composition per hardware and model file, and small runs

HARDWARE = sorted(p.stem for p in (REPO / "conf" / "hardware").glob("*.yaml"))
MODELS = sorted(p.stem for p in (REPO / "conf" / "model").glob("*.yaml"))


def datasheets() -> dict[str, dict[str, str]]:
    # ../shared/data/hardware_specs.csv (NVIDIA and AMD datasheets), copied into tests/data.
    with (REPO / "tests" / "data" / "hardware_specs.csv").open() as f:
        return {r["device"]: r for r in csv.DictReader(x for x in f if not x.startswith("#"))}


def test_the_catalogue_has_the_servers_the_issue_names() -> None:
    assert {"h100_sxm", "h200_sxm", "a100_sxm", "b200", "mi300x"} <= set(HARDWARE)
    kinds = {sim.load_config("llama_405b", [f"hardware={h}"]).hardware.kind for h in HARDWARE}
    assert kinds == {"gpu", "cpu"}
    assert {"llama3_8b", "llama3_70b", "llama3_405b", "gpt3_175b", "llama3_1b"} <= set(MODELS)


@pytest.mark.parametrize("name", HARDWARE)
def test_gpu_figures_match_the_datasheets(name: str) -> None:
    hw = sim.load_config("llama_405b", [f"hardware={name}"]).hardware
    if hw.kind == "cpu":
        assert hw.devices_per_server == 2  # two sockets
        assert hw.host_memory_gib == pytest.approx(2 * hw.memory_gib)
        return
    sheet = datasheets()[hw.device]
    assert hw.peak_tflops_bf16 == float(sheet["dense_bf16_tflops"])
    assert hw.memory_gib == float(sheet["memory_gb"])
    assert hw.memory_bandwidth_tbyte_per_s == float(sheet["memory_bandwidth_tbps"])
    assert hw.server_power_kw * 1000 > hw.devices_per_server * float(sheet["tdp_w"])


@pytest.mark.parametrize("name", HARDWARE)
def test_each_server_type_runs_a_small_job(name: str, tmp_path: Path) -> None:
    hw = sim.load_config("llama_405b", [f"hardware={name}"]).hardware
    devices = 4 * hw.devices_per_server
    small = ["parallelism.recompute=full"] if hw.memory_gib < 32 else []  # a 24 GB GeForce
    config = sim.load_config(
        "cpu_llama_1b",
        [f"hardware={name}", "cluster.servers=4", f"parallelism.dp={devices}",
         f"workload.global_batch_size={devices * 4}", "workload.tokens=1e9",
         "sim.replicates=2", *small],
    )  # fmt: skip
    result = sim.run(config, tmp_path, scenario=f"small_on_{name}")
    summary = result.summary
    assert summary["device"] == hw.device
    assert summary["memory_capacity_gib"] == hw.memory_gib
    assert summary["devices"] == devices
    # Cost follows the server's price and power.
    wall_h = summary["wall_clock_days"] * 24
    servers = 4 + config.cluster.spare_servers
    assert summary["compute_cost_usd"] == pytest.approx(
        servers * wall_h * hw.price_per_server_hour_usd
    )


@pytest.mark.parametrize("name", MODELS)
def test_each_model_fits_on_h100s_when_fully_sharded(name: str) -> None:
    config = sim.load_config(
        "llama_405b",
        [f"model={name}", "parallelism.pp=1", "parallelism.dp=2048", "parallelism.zero_stage=3",
         "parallelism.recompute=full"],
    )  # fmt: skip
    memory = memory_per_device(config)
    assert memory.fits, memory.describe()


def test_cpu_scenario_runs_end_to_end(tmp_path: Path) -> None:
    config = sim.load_config("cpu_llama_1b", ["sim.replicates=5"])
    result = sim.run(config, tmp_path, scenario="cpu_llama_1b")
    s = result.summary
    assert s["device"].startswith("Xeon")
    assert s["devices"] == 128
    assert s["memory_per_device_gib"] < s["memory_capacity_gib"] == 512
    assert s["time_to_train_days"] > s["failure_free_days"]
    assert (tmp_path / "summary.json").exists()
