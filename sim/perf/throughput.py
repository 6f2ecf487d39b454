"""Step time of a plan, from the operators of each layer and the collectives the frameworks run.

One step, as every data-parallel replica runs it in lockstep (m micro-batches per replica, v model
chunks per device, p pipeline stages):

    step = (m + (p - 1) / v) x t_microbatch + exposed DP communication + optimizer step

(with interleaving and m < p, m + (p - 1) / v becomes p + (p - 1) / v: each round of p chunk hops
waits for the micro-batch to come back)
t_microbatch is the slowest pipeline stage's time for one micro-batch forward and backward: its
layers' operators (sim/perf/operators.py), the exposed part of their tensor- and context-parallel
collectives, the first stage's embedding and the last stage's logits and loss, and 2v point-to-point
sends. The (p - 1) / v extra micro-batch slots are the interleaved 1F1B bubble, (p - 1) / (v m) of
the ideal time. What the schedule can hide is hidden, no more: the DP gradient reduce-scatter behind
the last micro-batch's backward, the weight all-gather behind the first micro-batch's forward,
ZeRO-3's per-micro-batch gathers behind that micro-batch's compute, and the share of TP the
framework overlaps with the GEMMs, as a pipeline of chunks that leaves one chunk exposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.config import Config, ParallelismConfig
from sim.perf.collectives import link
from sim.perf.memory import (
    PRECISIONS,
    microbatch_tokens,
    microbatches_per_replica,
    stage_dense_parameters,
    stage_expert_parameters,
    stage_layer_kinds,
    stage_parameters,
)
from sim.perf.model import kv_dim, model_flops_per_token, training_flops_per_token
from sim.perf.operators import (
    LayerTime,
    device,
    embedding_time,
    layer_time,
    logits_time,
    optimizer_time,
)


@dataclass(frozen=True)
class Throughput:
    """How fast the whole job trains when nothing goes wrong, and where a step's time goes."""

    step_time_s: float
    compute_s: float
    tp_comm_s: float
    ep_comm_s: float  # the experts' dispatch and combine all-to-alls
    cp_comm_s: float
    pp_comm_s: float
    dp_comm_s: float
    bubble_s: float
    optimizer_s: float
    data_stall_s: float
    efficiency: float  # executed FLOPs over peak x compute time on the slowest stage
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
            "ep_comm_s": self.ep_comm_s,
            "cp_comm_s": self.cp_comm_s,
            "pp_comm_s": self.pp_comm_s,
            "dp_comm_s": self.dp_comm_s,
            "bubble_s": self.bubble_s,
            "optimizer_s": self.optimizer_s,
            "data_stall_s": self.data_stall_s,
        }


@dataclass(frozen=True)
class _Stage:
    """One micro-batch forward and backward on one pipeline stage, by part."""

    compute_s: float
    tp_s: float
    ep_s: float
    cp_s: float
    pp_s: float
    zero3_s: float  # exposed ZeRO-3 gathers and reduce-scatters
    forward_s: float  # compute of the forward pass alone (a window to hide DP behind)
    backward_s: float

    @property
    def total_s(self) -> float:
        return self.compute_s + self.tp_s + self.ep_s + self.cp_s + self.pp_s + self.zero3_s


def throughput(config: Config) -> Throughput:
    model, par, hw, work = config.model, config.parallelism, config.hardware, config.workload
    dev = device(config)
    value = PRECISIONS[par.dtype].activation
    grad = PRECISIONS[par.dtype].gradients
    tokens_mb = microbatch_tokens(config)
    layer = layer_time(config, dev)
    moe_layer = layer_time(config, dev, moe=True) if model.experts else layer

    # Tensor parallelism on the full activation of the micro-batch's tokens. Without sequence
    # parallelism: an all-reduce after each row-parallel GEMM forward and before each
    # column-parallel GEMM backward (2 + 2). With it: all-gather and reduce-scatter instead (4
    # forward), and backward re-gathers the inputs of the column-parallel GEMMs (6).
    tp_link = link(hw, par.tp)
    message = tokens_mb * model.hidden * value
    if par.sequence_parallel:
        one = tp_link.reduce_scatter_s(par.tp, message)
        tp_fwd, tp_bwd = 4.0 * one, 6.0 * one
    else:
        one = tp_link.all_reduce_s(par.tp, message)
        tp_fwd, tp_bwd = 2.0 * one, 2.0 * one
    tp_comm = tp_fwd * (2 if par.recompute == "full" else 1) + tp_bwd
    tp_layer = tp_exposed_s(tp_comm, layer, par)
    tp_moe_layer = tp_exposed_s(tp_comm, moe_layer, par)
    # Context parallelism, all-gather based (Llama 3 paper, Section 3.3.2): gather the keys and
    # values of the whole sequence forward, reduce-scatter their gradients backward; exposed.
    cp_link = link(hw, par.tp * par.cp)
    kv_bytes = 2.0 * par.micro_batch_size * work.seq_len * kv_dim(model) / par.tp * value
    gathers = 3 if par.recompute == "full" else 2
    cp_layer = gathers * cp_link.reduce_scatter_s(par.cp, kv_bytes)
    # Expert parallelism: each MoE layer dispatches every token's top-k copies to the ranks
    # holding their experts and combines the results back, forward and again backward (and
    # once more forward under full recomputation); exposed.
    a2a_layer = 0.0
    if model.experts and par.ep > 1:
        passes = 2 + (1 if par.recompute == "full" else 0)
        a2a_layer = passes * expert_all_to_all_s(config, tokens_mb) * par.expert_imbalance
    # Pipeline: each of the v chunks sends its output forward and its input gradient back.
    pp_mb = 0.0
    if par.pp > 1:
        pp_link = link(hw, 2 * par.tp * par.cp * par.dp)
        pp_mb = 2 * par.virtual_stages * pp_link.send_s(tokens_mb * model.hidden / par.tp * value)

    # Data parallelism over the DP x CP ranks that hold the same parameters.
    dp_group = par.dp * par.cp
    dp_link = link(hw, par.tp * par.cp * par.dp)
    params = max(stage_parameters(model, par))
    dense = max(stage_dense_parameters(model, par))
    experts = max(stage_expert_parameters(model, par))
    expert_group = max(1, dp_group // par.ep)  # ranks holding the same experts

    def reduce_scatter(bytes_per: float) -> float:
        """Dense parameters over DP x CP, the experts over DP x CP / EP, one after the other."""
        return dp_link.reduce_scatter_s(dp_group, dense * bytes_per) + (
            dp_link.reduce_scatter_s(expert_group, experts * bytes_per) if experts else 0.0
        )

    zero3_mb = 0.0
    if par.zero_stage >= 3:  # gather weights forward and backward, reduce-scatter gradients
        zero3_mb = 3.0 * reduce_scatter(grad)

    kinds = stage_layer_kinds(model, par)
    stages = []
    for i, (n_dense, n_moe) in enumerate(kinds):
        n = n_dense + n_moe
        last = i == len(kinds) - 1
        extra = (embedding_time(config, dev) if i == 0 else 0.0) + (
            logits_time(config, dev) + model.mtp_modules * (moe_layer.total_s + logits_time(
                config, dev)) if last else 0.0
        )  # fmt: skip
        compute = n_dense * layer.total_s + n_moe * moe_layer.total_s + extra
        hidden = compute if par.overlap_param_gather else 0.0  # FSDP prefetches the next layer
        stages.append(
            _Stage(
                compute_s=compute,
                tp_s=n_dense * tp_layer + n_moe * tp_moe_layer,
                ep_s=n_moe * a2a_layer,
                cp_s=n * cp_layer,
                pp_s=pp_mb,
                zero3_s=max(0.0, zero3_mb - hidden),
                forward_s=n_dense * layer.forward_s + n_moe * moe_layer.forward_s,
                backward_s=n_dense * (layer.backward_s + layer.recompute_s)
                + n_moe * (moe_layer.backward_s + moe_layer.recompute_s),
            )
        )
    slowest = max(stages, key=lambda s: s.total_s)
    m = microbatches_per_replica(config)
    # Interleaved, a micro-batch comes back to a device after p chunk hops: with fewer than p
    # micro-batches in flight the device idles for the rest of each round.
    rounds = max(m, par.pp) if par.virtual_stages > 1 else m
    fill = (par.pp - 1) / par.virtual_stages
    if par.zero_bubble:  # ZB-H1 (Qi et al. 2023): weight gradients fill a third of it back in
        fill /= 3.0
    bubble_s = (rounds - m + fill) * slowest.total_s

    dp_s = 0.0
    if par.zero_stage == 0:
        reduce = 2.0 * reduce_scatter(grad)  # an all-reduce: reduce-scatter and all-gather
        dp_s = _exposed(reduce, slowest.backward_s, par.overlap_grad_reduce)
    elif par.zero_stage in (1, 2):
        rs = reduce_scatter(grad)  # the gradients
        dp_s = _exposed(rs, slowest.backward_s, par.overlap_grad_reduce) + _exposed(
            rs,
            slowest.forward_s,
            par.overlap_param_gather,  # the updated weights: same volume
        )
    local = dense / dp_group + experts / expert_group if par.zero_stage >= 1 else params
    optimizer_s = optimizer_time(local, config, dev)

    step_s = m * slowest.total_s + bubble_s + dp_s + optimizer_s
    devices = par.tp * par.pp * par.dp * par.cp
    tokens_per_step = work.global_batch_size * work.seq_len
    model_flops = model_flops_per_token(model, work.seq_len)
    tflops = model_flops * tokens_per_step / step_s / devices / 1e12
    return Throughput(
        step_time_s=step_s,
        compute_s=m * slowest.compute_s,
        tp_comm_s=m * slowest.tp_s,
        ep_comm_s=m * slowest.ep_s,
        cp_comm_s=m * slowest.cp_s,
        pp_comm_s=m * slowest.pp_s,
        dp_comm_s=dp_s + m * slowest.zero3_s,
        bubble_s=bubble_s,
        optimizer_s=optimizer_s,
        data_stall_s=0.0,
        efficiency=layer.flops / (layer.total_s * dev.peak_flops),
        tokens_per_step=tokens_per_step,
        tokens_per_s=tokens_per_step / step_s,
        tflops_per_device=tflops,
        mfu=tflops / hw.peak_tflops_bf16,
        model_flops_per_token=model_flops,
        hardware_flops_per_token=training_flops_per_token(model, work.seq_len, par.recompute),
    )


def expert_all_to_all_s(config: Config, tokens: float) -> float:
    """One dispatch and its combine for ``tokens`` of a micro-batch, among ep ranks tp apart.
    Inside a server each token goes to the devices of its experts (at most
    ``max_devices_per_token``); across servers once to each server of its experts (at most
    ``max_servers_per_token``, DeepSeek-V3's node-limited routing), forwarded over NVLink there.
    Dispatch moves BF16 values, or FP8 under dtype=fp8 as DeepSeek-V3 does; combine moves BF16."""
    model, par, hw = config.model, config.parallelism, config.hardware
    value = PRECISIONS[par.dtype].activation
    per_copy = model.hidden * ((1.0 if par.dtype == "fp8" else value) + value)
    span = par.tp * par.ep
    k = model.experts_per_token
    if span <= hw.devices_per_server:
        copies = min(k, model.max_devices_per_token or k)
        return link(hw, span).reduce_scatter_s(par.ep, tokens / par.tp * copies * per_copy)
    servers = math.ceil(span / hw.devices_per_server)
    copies = min(k, model.max_servers_per_token or k)
    return link(hw, span).reduce_scatter_s(servers, tokens / par.tp * copies * per_copy)


def tp_exposed_s(comm_s: float, layer: LayerTime, par: ParallelismConfig) -> float:
    """The part of a layer's TP collectives (``comm_s``) that its compute does not hide. The
    share ``tp_overlap`` the framework overlaps with the linear layers' GEMMs (Megatron's
    userbuffers split each GEMM and its collective into chunks, one per TP rank in a ring) runs as
    a two-stage pipeline of ``tp`` chunks: max(c, g) + min(c, g) / tp where the GEMMs alone take
    g. So one chunk of the communication stays exposed, and more when the GEMMs are shorter; the
    SMs the communication kernels take from the GEMMs are not counted."""
    overlapped, window = par.tp_overlap * comm_s, layer.gemm_s
    pipelined = max(overlapped, window) + min(overlapped, window) / par.tp - window
    return comm_s - overlapped + pipelined


def _exposed(comm_s: float, window_s: float, overlapped: bool) -> float:
    """What a collective adds to the step when it can run behind ``window_s`` of computation."""
    return max(0.0, comm_s - window_s) if overlapped else comm_s
