"""Checkpoint size, and the time to write it and to snapshot it (sim.perf.checkpoints)."""

from __future__ import annotations

import dataclasses

import pytest

import sim
from sim.perf.checkpoints import checkpoint_bytes, snapshot_s, transfer_s


def test_checkpoint_size_is_weights_and_optimizer_state() -> None:
    # Llama 3.1 405B: 405.85B parameters x (2 bytes of BF16 weights + 12 of FP32 master weights
    # and Adam moments) = 5.68 TB.
    config = sim.load_config("llama_405b")
    assert checkpoint_bytes(config) == pytest.approx(405.85e9 * 14, rel=1e-3)
    par = dataclasses.replace(config.parallelism, dtype="fp32")
    assert checkpoint_bytes(dataclasses.replace(config, parallelism=par)) == pytest.approx(
        405.85e9 * 12, rel=1e-3
    )


def test_write_time_is_set_by_the_narrowest_path() -> None:
    # Llama 3 paper, Section 3.3.4: a store of 2 TB/s sustained; it is the bottleneck here.
    config = sim.load_config("llama_405b")
    size = checkpoint_bytes(config)
    assert transfer_s(config, size) == pytest.approx(5.0 + size / 2e12)
    slow_net = dataclasses.replace(config.hardware, network_gbit_per_s=1.0)
    narrow = dataclasses.replace(config, hardware=slow_net)
    assert transfer_s(narrow, size) == pytest.approx(5.0 + size / (2048 * 1e9 / 8))
    assert snapshot_s(config, size) == pytest.approx(size / 16384 / 25e9)
