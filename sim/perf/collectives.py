"""Collective communication as the frameworks run it: ring algorithms with a bandwidth term and a
per-step latency term (NCCL's ring; Thakur et al. 2005 for the cost model).

For n ranks and a message of M bytes (the whole tensor, before sharding):

    all-reduce                  2 (n - 1) / n x M / bandwidth + 2 (n - 1) x latency
    reduce-scatter, all-gather  (n - 1) / n x M / bandwidth + (n - 1) x latency
    point-to-point              M / bandwidth + latency
    one-shot all-reduce         (n - 1) x M / bandwidth + latency   (small messages, serving)
    in-switch all-reduce        M / bandwidth + 2 x latency  (NVLink SHARP: more than two ranks)

The in-switch form is NCCL's NVLS on NVSwitch servers that reduce in the switch (H100 and later):
each rank sends its message up once and reads the sum back once, at
``switch_reduction_efficiency`` of the one-way link rate. Vidur's all-reduce profile on a DGX
H100 (``sim/data/vidur_h100_all_reduce.csv``) shows it: for 4 and 8 ranks, messages above 16 MB
take about M / 400 GB/s, where the ring's 2 (n - 1) / n x M would need 1.5-1.75x the link.

The bandwidth is per device: the intra-server link when the group fits in one server, else the
device's share of its server's network.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import HardwareConfig


@dataclass(frozen=True)
class Link:
    """What one device of a communication group gets: bytes per second and seconds per step."""

    bytes_per_s: float
    latency_s: float
    switch_bytes_per_s: float | None = None  # an all-reduce the ranks' switch sums (NVLS)

    def all_reduce_s(self, ranks: int, message_bytes: float) -> float:
        if ranks <= 1:
            return 0.0
        if self.switch_bytes_per_s and ranks > 2:
            return message_bytes / self.switch_bytes_per_s + 2.0 * self.latency_s
        steps = 2 * (ranks - 1)
        return steps / ranks * message_bytes / self.bytes_per_s + steps * self.latency_s

    def one_shot_all_reduce_s(self, ranks: int, message_bytes: float) -> float:
        """Every rank reads the others' whole buffers and sums locally in one step (the
        small-message all-reduce of TensorRT-LLM and vLLM's custom kernels)."""
        if ranks <= 1:
            return 0.0
        return (ranks - 1) * message_bytes / self.bytes_per_s + self.latency_s

    def reduce_scatter_s(self, ranks: int, message_bytes: float) -> float:
        """Also the time of an all-gather of the same (gathered) message."""
        if ranks <= 1:
            return 0.0
        steps = ranks - 1
        return steps / ranks * message_bytes / self.bytes_per_s + steps * self.latency_s

    def send_s(self, message_bytes: float) -> float:
        return message_bytes / self.bytes_per_s + self.latency_s


def link(hw: HardwareConfig, span_devices: int) -> Link:
    """The link of a group whose ranks lie within ``span_devices`` consecutive devices: NVLink (one
    direction) inside a server, the device's share of the server's network beyond it."""
    inside = span_devices <= hw.devices_per_server
    if inside:
        per_device = hw.intra_server_gbyte_per_s / 2.0
        latency_us = hw.intra_server_latency_us
    else:
        per_device = hw.network_gbit_per_s / 8.0 / hw.devices_per_server
        latency_us = hw.network_latency_us
    switch = hw.switch_reduction_efficiency if inside else None
    return Link(per_device * 1e9 * hw.comm_efficiency, latency_us * 1e-6,
                per_device * 1e9 * switch if switch else None)  # fmt: skip
