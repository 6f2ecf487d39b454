"""Step-time model: calibration on Llama 3 Table 4, pipeline bubble, scaling, curves, roofline."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from calibration import table_4

import sim
from sim.config import Config
from sim.model import layer_parameters
from sim.throughput import compute_efficiency, throughput


def with_plan(config: Config, **changes: object) -> Config:
    par = dataclasses.replace(config.parallelism, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(config, parallelism=par)


@pytest.mark.parametrize("row", [0, 1, 2])
def test_llama_3_table_4_rows_within_5_percent(row: int) -> None:
    # Llama 3 paper (arXiv 2407.21783), Table 4: 430, 400 and 380 TFLOP/s per GPU. Tolerance 5%.
    config, published = table_4()[row]
    assert throughput(config).tflops_per_device == pytest.approx(published, rel=0.05)


def test_bubble_is_the_1f1b_fraction_without_interleaving() -> None:
    config = with_plan(sim.load_config("llama_405b"), virtual_stages=1)
    t = throughput(config)
    m, pp = 16, 16
    pipeline = t.step_time_s - t.dp_comm_s
    assert t.bubble_s / pipeline == pytest.approx((pp - 1) / (m + pp - 1))


def test_interleaving_shrinks_the_bubble() -> None:
    config = sim.load_config("llama_405b")
    bubbles = [throughput(with_plan(config, virtual_stages=v)).bubble_s for v in (1, 2, 4)]
    assert bubbles[0] > bubbles[1] > bubbles[2]
    assert bubbles[0] == pytest.approx(4 * bubbles[2])


def test_bubble_share_grows_as_micro_batches_per_pipeline_shrink() -> None:
    config = sim.load_config("llama_405b")
    shares = []
    for batch in (4096, 2048, 1024, 512, 256):
        c = dataclasses.replace(
            config, workload=dataclasses.replace(config.workload, global_batch_size=batch)
        )
        t = throughput(c)
        shares.append(t.bubble_s / t.step_time_s)
    assert all(a < b for a, b in itertools.pairwise(shares))


def test_strong_scaling_never_raises_tokens_per_second_per_device() -> None:
    # Fixed global batch; more data-parallel replicas mean fewer micro-batches each.
    per_device = []
    for servers in (16, 32, 64, 128, 256):
        config = sim.load_config(
            "llama_405b",
            ["model=llama3_8b", f"cluster.servers={servers}", "parallelism.tp=8",
             "parallelism.pp=4", f"parallelism.dp={servers * 2}",
             "parallelism.fewer_layers_first_last=0", "workload.global_batch_size=512"],
        )  # fmt: skip
        t = throughput(config)
        per_device.append(t.tokens_per_s / (servers * 8))
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(per_device))
    assert per_device[-1] < per_device[0]


def test_communication_terms_vanish_without_their_parallelism() -> None:
    config = sim.load_config(
        "llama_405b",
        ["model=llama3_1b", "cluster.servers=1", "parallelism.tp=1", "parallelism.pp=1",
         "parallelism.dp=8", "workload.global_batch_size=64",
         "parallelism.fewer_layers_first_last=0"],
    )  # fmt: skip
    t = throughput(config)
    assert t.tp_comm_s == t.cp_comm_s == t.pp_comm_s == t.bubble_s == 0
    assert t.dp_comm_s > 0
    assert throughput(with_plan(config, dp_overlap=1.0)).dp_comm_s == 0


def test_efficiency_curve_interpolates_its_data_and_clamps_outside() -> None:
    hw = sim.load_config("llama_405b").hardware
    for work, eff in zip(hw.efficiency_work_gflop, hw.efficiency, strict=True):
        assert compute_efficiency(hw, work) == pytest.approx(eff)
    assert compute_efficiency(hw, 1e-3) == hw.efficiency[0]
    assert compute_efficiency(hw, 1e9) == hw.efficiency[-1]
    grid = np.geomspace(hw.efficiency_work_gflop[0], hw.efficiency_work_gflop[-1], 200)
    values = [compute_efficiency(hw, w) for w in grid]
    assert all(b >= a for a, b in itertools.pairwise(values))  # monotone (PCHIP)


def test_a_starved_cpu_is_bound_by_its_memory_bandwidth() -> None:
    # One sequence of 32 tokens on a 1B model: too little arithmetic per byte of weights read.
    config = sim.load_config(
        "cpu_llama_1b", ["workload.seq_len=32", "workload.global_batch_size=128"]
    )
    t = throughput(config)
    hw, model = config.hardware, config.model
    weight_bytes = 3 * layer_parameters(model) * 2.0
    floor = model.layers * weight_bytes / (hw.memory_bandwidth_tbyte_per_s * 1e12)
    assert t.compute_s >= floor
    fast = dataclasses.replace(hw, memory_bandwidth_tbyte_per_s=100.0)
    assert throughput(dataclasses.replace(config, hardware=fast)).compute_s < t.compute_s


def test_mfu_is_model_flops_over_peak() -> None:
    t = throughput(sim.load_config("llama_405b"))
    assert t.mfu == pytest.approx(t.tflops_per_device / 989)
    assert t.hardware_flops_per_token > t.model_flops_per_token  # selective recompute
