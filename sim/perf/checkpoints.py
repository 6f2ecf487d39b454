"""Checkpoint size and the time to write it and read it back.

A checkpoint is the weights and the optimizer state (Llama 3 405B: 405.9B x (2 + 12) bytes =
5.7 TB). Writing it is limited by the slowest of three paths: each device's copy to host memory,
each server's network, and the shared store (the Llama 3 paper's store sustained 2 TB/s, peaking at
7 TB/s; Section 3.3.4).
"""

from __future__ import annotations

from sim.config import Config
from sim.perf.memory import PRECISIONS
from sim.perf.model import mtp_parameters, parameter_count


def checkpoint_bytes(config: Config) -> float:
    """Weights and optimizer state of the whole model (with any multi-token prediction modules),
    at the plan's precision."""
    precision = PRECISIONS[config.parallelism.dtype]
    parameters = parameter_count(config.model) + mtp_parameters(config.model)
    return parameters * (precision.weights + precision.optimizer)


def transfer_s(config: Config, nbytes: float) -> float:
    """Time to move ``nbytes`` between the devices and the shared store: a fixed overhead plus
    the size over the narrowest of device-to-host copies, server networks and the store."""
    ckpt, hw, cluster = config.checkpoint, config.hardware, config.cluster
    devices = cluster.servers * hw.devices_per_server
    bottleneck = min(
        devices * ckpt.host_copy_gbyte_per_s * 1e9,
        cluster.servers * hw.network_gbit_per_s / 8.0 * 1e9,
        ckpt.store_tbyte_per_s * 1e12,
    )
    return ckpt.overhead_s + nbytes / bottleneck


def snapshot_s(config: Config, nbytes: float) -> float:
    """Time to copy each device's shard to its host memory: all devices at once."""
    devices = config.cluster.servers * config.hardware.devices_per_server
    return nbytes / devices / (config.checkpoint.host_copy_gbyte_per_s * 1e9)
