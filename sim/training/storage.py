"""Checkpoint size, the time to write and read it back, and the shared store it goes to.

A checkpoint is the weights and the optimizer state (Llama 3 405B: 405.9B x (2 + 12) bytes =
5.7 TB). Writing it is limited by the slowest of three paths: each device's copy to host memory,
each server's network, and the shared store (the Llama 3 paper's store sustained 2 TB/s, peaking at
7 TB/s; Section 3.3.4). The store is shared: concurrent writers split its bandwidth.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

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


class SharedStore:
    """A store whose bandwidth the transfers in flight share equally (processor sharing)."""

    def __init__(self, env: simpy.Environment, bytes_per_s: float) -> None:
        self._env = env
        self._rate = self.bytes_per_s = bytes_per_s
        self._active: list[list[Any]] = []  # [remaining bytes, done event]
        self._arrived: list[list[Any]] = []  # joins the share at the next reschedule
        self._arrival = env.event()
        env.process(self._serve())

    def transfer(self, nbytes: float) -> simpy.Event:
        """An event that fires when ``nbytes`` have gone through."""
        done = self._env.event()
        self._arrived.append([nbytes, done])
        if not self._arrival.triggered:
            self._arrival.succeed()
        return done

    def _serve(self) -> Generator[simpy.Event, Any, None]:
        while True:
            self._active += self._arrived
            self._arrived = []
            if not self._active:
                yield self._arrival
                self._arrival = self._env.event()
                continue
            share = self._rate / len(self._active)
            start = self._env.now
            next_done = min(item[0] for item in self._active) / share
            yield self._env.any_of([self._env.timeout(next_done), self._arrival])
            if self._arrival.triggered:
                self._arrival = self._env.event()
            moved = (self._env.now - start) * share
            for item in self._active:
                item[0] -= moved
            for item in [i for i in self._active if i[0] <= 1e-6 * share]:
                self._active.remove(item)
                item[1].succeed()
