"""The linear layers' time per token of a serving replica: the GEMMs on its devices, the dense part
and the routed experts apart, and a hybrid replica's experts on its host CPU (``Offload``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sim.config import HardwareConfig, ModelConfig
from sim.perf.model import moe_layers
from sim.perf.operators import Device, attention_shapes, ffn_shapes


def linear_s_per_token(
    model: ModelConfig, hw: HardwareConfig, tp: int, peak: float, efficiency: float | None = None
) -> tuple[float, float]:
    """One device's linear-layer time per token, compute-bound, at ``peak`` FLOP/s times the
    GEMM efficiency (the engine's ``efficiency``, or the training model's) at each GEMM's widths
    (n, k) under ``tp``-way TP: the dense part, and the routed experts' apart. Its third
    term, d/m for the tokens, is left out: it is the cost of streaming the weights
    (``gemm_half_dim`` scales with peak over bandwidth), which ``StepModel.linear_s`` charges as
    the bandwidth bound; with it a lone decode step would take 1.6x (H100, FP8) to 3.6x (EPYC
    9175F) that bound, against llama.cpp's and NIM's single-stream figures."""
    moe, layers = moe_layers(model), model.layers
    # (n, k, token passes): a routed expert sees experts_per_token / experts of the tokens and
    # there are `experts` of them, so each MoE layer's experts take experts_per_token passes.
    gemms = [(n, k, layers) for n, k in attention_shapes(model, tp)]
    gemms += [(n, k, layers - moe) for n, k in ffn_shapes(model, model.ffn_hidden, tp)]
    routed: list[tuple[float, float, float]] = []
    if moe:
        shared = model.shared_experts * model.expert_ffn_hidden
        gemms += [(n, k, moe) for n, k in ffn_shapes(model, shared, tp)] if shared else []
        routed = [(n, k, moe * model.experts_per_token)
                  for n, k in ffn_shapes(model, model.expert_ffn_hidden, tp)]  # fmt: skip
        gemms.append((model.experts, model.hidden, moe))  # the router, on every rank
    gemms.append((model.vocab_size / tp, model.hidden, 1))  # the output projection
    dev = Device(
        peak_flops=peak,
        gemm_efficiency=hw.gemm_efficiency if efficiency is None else efficiency,
        gemm_half_dim=hw.gemm_half_dim,
        flash_efficiency=hw.flash_attention_efficiency,
        memory_bytes_per_s=hw.memory_bandwidth_tbyte_per_s * 1e12 * hw.memory_efficiency,
    )

    def seconds(shapes: Sequence[tuple[float, float, float]]) -> float:
        return sum(
            passes * 2.0 * n * k / (peak * dev.gemm_efficiency_at(math.inf, n, k))
            for n, k, passes in shapes
        )

    return seconds(gemms), seconds(routed)


@dataclass(frozen=True)
class Offload:
    """A hybrid replica's routed experts on the host CPU (``config.host``): their GEMMs and their
    weights' reads there, the CPU engine's serial work per MoE layer and per expert run, and each
    MoE layer's hidden states to the host and back over PCIe. The GPU waits for them (no overlap,
    ASSUMPTION: KTransformers v0.2 runs a layer's experts between its GPU parts)."""

    expert_s_per_token: float  # the host's routed-expert GEMMs for one token, compute-bound
    expert_bytes: float  # one routed expert of one layer, in the host's memory
    memory_bytes_per_s: float  # the host's, all sockets
    expert_overhead_s: float  # per routed expert run, per MoE layer
    layer_overhead_s: float  # per MoE layer and iteration: the host engine's serial work
    hidden_bytes: float  # one token's hidden vector
    link_bytes_per_s: float  # PCIe, each way
    link_latency_s: float  # per transfer

    def seconds(self, tokens: float, touched: float, moe_layers: int) -> float:
        compute = self.expert_s_per_token * tokens
        read = moe_layers * touched * self.expert_bytes / self.memory_bytes_per_s
        transfer = 2 * (tokens * self.hidden_bytes / self.link_bytes_per_s + self.link_latency_s)
        serial = touched * self.expert_overhead_s + self.layer_overhead_s
        return max(compute, read) + moe_layers * (serial + transfer)
