"""GPU constants fitted on Vidur's measured profiles: the fixed time a kernel costs beyond its
roofline, and the rate of an all-reduce the NVSwitch sums.

A decode step of a few requests launches hundreds of small kernels one after another; each takes
the time to read its operands plus a floor (launch gap, ramp-up, drain) that no bandwidth
explains. Vidur's profiles (``sim/data/vidur_decode_gemms.csv``) time every linear layer of
Llama models at 1-16 tokens on A100 and H100: a straight line in the weight bytes whose intercept
is the floor. One floor is fitted for both devices, with each device's bandwidth its own; the
leave-one-out errors predict each (device, model) profile from a fit on the others.
``EngineConfig.kernel_floor_us`` of the GPU engines is this fit (a test keeps them equal).

An all-reduce inside an H100 server sums in the NVSwitch (NCCL's NVLS): Vidur's NCCL profile
(``sim/data/vidur_h100_all_reduce.csv``) fits ``switch_reduction_efficiency`` of h100_sxm, the
share of the one-way NVLink rate it reaches, with the hardware's per-step latency twice; its
leave-one-out predicts the 4-rank profile from the 8-rank one and back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from sim.app.loading import data_rows, load_config

DATA = files("sim") / "data" / "vidur_decode_gemms.csv"
ALL_REDUCE = files("sim") / "data" / "vidur_h100_all_reduce.csv"


@dataclass(frozen=True)
class KernelTime:
    """One measured GEMM: its device, model, weight bytes on one device and median seconds."""

    device: str
    model: str
    weight_bytes: float
    seconds: float


@dataclass(frozen=True)
class FloorFit:
    floor_s: float
    bytes_per_s: dict[str, float]  # per device

    def predict(self, kernel: KernelTime) -> float:
        return self.floor_s + kernel.weight_bytes / self.bytes_per_s[kernel.device]


@cache
def kernel_times() -> tuple[KernelTime, ...]:
    return tuple(
        KernelTime(row["device"], row["model"], float(row["weight_bytes"]),
                   float(row["median_us"]) * 1e-6)
        for row in data_rows(DATA)
    )  # fmt: skip


def fit(kernels: Sequence[KernelTime]) -> FloorFit:
    """Least squares on the times: one shared floor, one inverse bandwidth per device."""
    devices = sorted({k.device for k in kernels})
    design = np.zeros((len(kernels), 1 + len(devices)))
    design[:, 0] = 1.0
    for i, kernel in enumerate(kernels):
        design[i, 1 + devices.index(kernel.device)] = kernel.weight_bytes
    times = np.array([k.seconds for k in kernels])
    solution = np.linalg.lstsq(design, times, rcond=None)[0]
    return FloorFit(float(solution[0]), {d: 1.0 / float(s) for d, s in
                                         zip(devices, solution[1:], strict=True)})  # fmt: skip


@cache
def fitted() -> FloorFit:
    return fit(kernel_times())


@dataclass(frozen=True)
class AllReduceTime:
    ranks: int
    message_bytes: float
    seconds: float


@cache
def all_reduce_times() -> tuple[AllReduceTime, ...]:
    return tuple(AllReduceTime(int(row["ranks"]), float(row["message_bytes"]),
                               float(row["median_us"]) * 1e-6)
                 for row in data_rows(ALL_REDUCE))  # fmt: skip


@cache
def _nvlink() -> tuple[float, float]:
    """h100_sxm's one-way NVLink rate (bytes/s) and its in-switch all-reduce's latency (s): two
    of the hardware's steps."""
    hw = load_config("mlperf_llama2_70b", ["hardware=h100_sxm"]).hardware
    return hw.intra_server_gbyte_per_s / 2.0 * 1e9, 2.0 * hw.intra_server_latency_us * 1e-6


def switch_efficiency(times: Sequence[AllReduceTime]) -> float:
    """Least squares on t - latency = M / (link x efficiency), on h100_sxm's link."""
    rate, latency = _nvlink()
    excess = [t.seconds - latency for t in times]
    slope = sum(t.message_bytes * e for t, e in zip(times, excess, strict=True)) / sum(
        t.message_bytes**2 for t in times
    )
    return 1.0 / (slope * rate)


def _switch_errors(efficiency: float, times: Sequence[AllReduceTime]) -> float:
    rate, latency = _nvlink()
    return float(np.median([abs((latency + t.message_bytes / (rate * efficiency)) / t.seconds - 1)
                            for t in times]))  # fmt: skip


def _median_abs_error(fit_: FloorFit, kernels: Sequence[KernelTime]) -> float:
    return float(np.median([abs(fit_.predict(k) / k.seconds - 1.0) for k in kernels]))


def report() -> None:
    """Print the floor, each device's bandwidth, and each profile's in-sample and leave-one-out
    median error."""
    kernels = kernel_times()
    whole = fitted()
    rates = ", ".join(f"{d} {b / 1e12:.2f} TB/s" for d, b in whole.bytes_per_s.items())
    print(f"GPU kernel floor: {whole.floor_s * 1e6:.2f} us per kernel ({rates}), fitted on "
          f"{len(kernels)} decode GEMMs of {DATA.name}")  # fmt: skip
    for group in sorted({(k.device, k.model) for k in kernels}):
        inside = [k for k in kernels if (k.device, k.model) == group]
        others = fit([k for k in kernels if (k.device, k.model) != group])
        print(
            f"  {group[0]} {group[1]:18s} median error {_median_abs_error(whole, inside):5.1%}"
            f"  loo {_median_abs_error(others, inside):5.1%}"
            f"  (floor without it {others.floor_s * 1e6:.2f} us)"
        )
    times = all_reduce_times()
    efficiency = switch_efficiency(times)
    print(f"h100_sxm switch_reduction_efficiency: {efficiency:.4f} of the one-way NVLink rate, "
          f"fitted on {len(times)} NCCL all-reduces of {ALL_REDUCE.name}")  # fmt: skip
    for ranks in sorted({t.ranks for t in times}):
        measured = [t for t in times if t.ranks == ranks]
        without = switch_efficiency([t for t in times if t.ranks != ranks])
        print(
            f"  {ranks} ranks: median error {_switch_errors(efficiency, measured):5.1%}  loo "
            f"{_switch_errors(without, measured):5.1%}  (efficiency without them {without:.4f})"
        )
