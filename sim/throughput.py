"""Step time and achieved throughput of a plan.

For now the achieved model TFLOP/s per device is configured (measured on a published run, which
counts model FLOPs, not recomputed ones); the step time and tokens per second follow from it and the
model's FLOPs per token.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import Config
from sim.model import model_flops_per_token, training_flops_per_token


@dataclass(frozen=True)
class Throughput:
    """How fast the whole job trains when nothing goes wrong."""

    step_time_s: float
    model_flops_per_token: float
    hardware_flops_per_token: float  # with recomputation
    tokens_per_step: int
    tokens_per_s: float
    tflops_per_device: float
    mfu: float


def throughput(config: Config) -> Throughput:
    """Step time of the configured plan at its achieved TFLOP/s per device."""
    devices = config.cluster.servers * config.hardware.devices_per_server
    tflops = config.parallelism.achieved_tflops_per_device
    seq_len = config.workload.seq_len
    flops_per_token = model_flops_per_token(config.model, seq_len)
    tokens_per_s = devices * tflops * 1e12 / flops_per_token
    tokens_per_step = config.workload.global_batch_size * config.workload.seq_len
    return Throughput(
        step_time_s=tokens_per_step / tokens_per_s,
        model_flops_per_token=flops_per_token,
        hardware_flops_per_token=training_flops_per_token(
            config.model, seq_len, config.parallelism.recompute
        ),
        tokens_per_step=tokens_per_step,
        tokens_per_s=tokens_per_s,
        tflops_per_device=tflops,
        mfu=tflops / config.hardware.peak_tflops_bf16,
    )
