"""Step time of a plan: compute at an achieved efficiency, exposed communication, pipeline bubble.

One step, as every data-parallel replica runs it in lockstep:

    step = (m + (pp - 1) / v) x t_microbatch + exposed DP communication + data-pipeline stall

where m is the number of micro-batches per replica, v the interleaving (virtual stages) and
t_microbatch the time the fullest pipeline stage spends on one micro-batch: its compute (the
slower of FLOPs at the curve's efficiency and its memory traffic at the memory bandwidth) plus the
exposed part of its tensor-parallel, context-parallel and pipeline sends. The (pp - 1) / v extra
micro-batch slots are the 1F1B bubble, (pp - 1) / (m + pp - 1) of the pipeline time when v = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.interpolate import PchipInterpolator

from sim.config import Config, HardwareConfig
from sim.memory import (
    PRECISIONS,
    activation_bytes_per_layer,
    microbatches_per_replica,
    stage_layers,
    stage_parameters,
)
from sim.model import kv_dim, layer_parameters, model_flops_per_token, training_flops_per_token

FP32_PEAK_SHARE = 0.5  # ASSUMPTION: FP32 training runs on TF32-class units at half the BF16 rate


@dataclass(frozen=True)
class Throughput:
    """How fast the whole job trains when nothing goes wrong, and where a step's time goes."""

    step_time_s: float
    compute_s: float
    tp_comm_s: float
    cp_comm_s: float
    pp_comm_s: float
    dp_comm_s: float
    bubble_s: float
    data_stall_s: float
    efficiency: float  # achieved fraction of peak in the matmuls and attention
    tokens_per_step: int
    tokens_per_s: float
    tflops_per_device: float  # model FLOP/s per device, the figure papers report
    mfu: float
    model_flops_per_token: float
    hardware_flops_per_token: float  # with recomputation

    def breakdown(self) -> dict[str, float]:
        return {
            "compute_s": self.compute_s,
            "tp_comm_s": self.tp_comm_s,
            "cp_comm_s": self.cp_comm_s,
            "pp_comm_s": self.pp_comm_s,
            "dp_comm_s": self.dp_comm_s,
            "bubble_s": self.bubble_s,
            "data_stall_s": self.data_stall_s,
        }


@cache
def _curve(work_gflop: tuple[float, ...], efficiency: tuple[float, ...]) -> PchipInterpolator:
    return PchipInterpolator(np.log10(work_gflop), efficiency, extrapolate=False)


def compute_efficiency(hw: HardwareConfig, work_gflop: float) -> float:
    """The throughput curve: monotone interpolation in log(work), flat beyond its end points."""
    points = hw.efficiency_work_gflop
    clamped = min(max(work_gflop, points[0]), points[-1])
    return float(_curve(tuple(points), tuple(hw.efficiency))(math.log10(clamped)))


def _link_gbyte_per_s(config: Config, ranks_inside: int) -> float:
    """Bandwidth per device of a group whose inner ranks span ``ranks_inside`` devices: the
    intra-server link (one direction) if that fits in a server, else the device's network share."""
    hw = config.hardware
    if ranks_inside <= hw.devices_per_server:
        per_device = hw.intra_server_gbyte_per_s / 2.0
    else:
        per_device = hw.network_gbit_per_s / 8.0 / hw.devices_per_server
    return per_device * hw.comm_efficiency


def throughput(config: Config) -> Throughput:
    model, par, hw, work = config.model, config.parallelism, config.hardware, config.workload
    precision = PRECISIONS[par.dtype]
    value_bytes = precision.activation
    peak = hw.peak_tflops_bf16 * 1e12 * (FP32_PEAK_SHARE if par.dtype == "fp32" else 1.0)
    layers = stage_layers(model.layers, par.pp, par.fewer_layers_first_last)
    stage_max = max(layers)
    m = microbatches_per_replica(config)
    tokens_mb = par.micro_batch_size * work.seq_len  # one micro-batch, all its devices together
    local_tokens = tokens_mb / par.cp
    hw_flops_token = training_flops_per_token(model, work.seq_len, par.recompute)
    attention_recompute = par.recompute == "full"

    # Compute of one layer on one micro-batch on one device: FLOPs at the curve's efficiency, or
    # its memory traffic (weights read in forward and twice in backward, activations written and
    # read back) at the memory bandwidth, whichever is slower.
    layer_flops = hw_flops_token * tokens_mb / (model.layers * par.tp * par.cp)
    efficiency = compute_efficiency(hw, layer_flops / 1e9)
    layer_params = layer_parameters(model) / par.tp
    activation = activation_bytes_per_layer(
        model, seq_len=work.seq_len, micro_batch=par.micro_batch_size, tp=par.tp, cp=par.cp,
        sequence_parallel=par.sequence_parallel, recompute=par.recompute, dtype=par.dtype,
    )  # fmt: skip
    layer_bytes = 3.0 * layer_params * precision.weights + 2.0 * activation
    layer_compute_s = max(
        layer_flops / (peak * efficiency), layer_bytes / (hw.memory_bandwidth_tbyte_per_s * 1e12)
    )

    # Tensor parallelism: 2 all-reduces (or all-gather + reduce-scatter with sequence parallelism,
    # the same volume) forward and 2 backward per layer, 2 more when the forward is recomputed.
    tp_s = 0.0
    if par.tp > 1:
        collectives = 6.0 if attention_recompute else 4.0
        volume = 2.0 * (par.tp - 1) / par.tp * local_tokens * model.hidden * value_bytes
        tp_s = collectives * volume / (_link_gbyte_per_s(config, par.tp) * 1e9)
    # Context parallelism, all-gather based (Llama 3 paper, Section 3.3.2): gather the keys and
    # values of the whole sequence forward, reduce-scatter their gradients backward.
    cp_s = 0.0
    if par.cp > 1:
        kv_bytes = 2.0 * work.seq_len * par.micro_batch_size * kv_dim(model) * value_bytes
        volume = 2.0 * (par.cp - 1) / par.cp * kv_bytes
        cp_s = volume / (_link_gbyte_per_s(config, par.tp * par.cp) * 1e9)
    # Pipeline: send activations forward and their gradients back, once per micro-batch.
    pp_s = 0.0
    if par.pp > 1:
        message = local_tokens * model.hidden * value_bytes / par.tp
        pp_s = 2.0 * message / (_link_gbyte_per_s(config, par.tp * par.cp * par.dp * par.pp) * 1e9)

    per_layer_s = layer_compute_s + tp_s * (1 - par.tp_overlap) + cp_s * (1 - par.cp_overlap)
    microbatch_s = stage_max * per_layer_s + pp_s * (1 - par.pp_overlap)
    virtual = par.virtual_stages
    bubble_s = (par.pp - 1) / virtual * microbatch_s

    # Data parallelism: reduce-scatter gradients and all-gather weights over the DP x CP ranks
    # holding the same shard; ZeRO-3 gathers weights once more for backward.
    dp_s = 0.0
    group = par.dp * par.cp
    if group > 1:
        params = max(stage_parameters(model, par))
        passes = 3.0 if par.zero_stage >= 3 else 2.0
        volume = passes * (group - 1) / group * params * precision.gradients
        link = _link_gbyte_per_s(config, par.tp * par.cp * par.dp)
        dp_s = volume / (link * 1e9) * (1 - par.dp_overlap)

    step_s = m * microbatch_s + bubble_s + dp_s
    devices = par.tp * par.pp * par.dp * par.cp
    tokens_per_step = work.global_batch_size * work.seq_len
    model_flops = model_flops_per_token(model, work.seq_len)
    tflops = model_flops * tokens_per_step / step_s / devices / 1e12
    return Throughput(
        step_time_s=step_s,
        compute_s=m * stage_max * layer_compute_s,
        tp_comm_s=m * stage_max * tp_s * (1 - par.tp_overlap),
        cp_comm_s=m * stage_max * cp_s * (1 - par.cp_overlap),
        pp_comm_s=m * pp_s * (1 - par.pp_overlap),
        dp_comm_s=dp_s,
        bubble_s=bubble_s,
        data_stall_s=0.0,
        efficiency=efficiency,
        tokens_per_step=tokens_per_step,
        tokens_per_s=tokens_per_step / step_s,
        tflops_per_device=tflops,
        mfu=tflops / hw.peak_tflops_bf16,
        model_flops_per_token=model_flops,
        hardware_flops_per_token=hw_flops_token,
    )
