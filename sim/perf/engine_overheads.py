"""What a serving engine's iteration costs besides its GEMMs' and attention's rooflines: the
GPU kernels it launches one after another (each paying the engine's floor), the bytes its
elementwise kernels stream per token, and a CPU engine's serial work in cycles."""

from __future__ import annotations

from sim.config import EngineConfig, HardwareConfig, ModelConfig
from sim.errors import ConfigError
from sim.perf.model import kv_dim, moe_layers, qk_head_dim
from sim.perf.operators import attention_shapes, ffn_shapes


def activation_bytes(model: ModelConfig, tp: int) -> float:
    """Bytes one device's elementwise kernels read and write per token, all layers, however fused:
    two residual-add RMSNorms over the whole hidden vector (each rank holds it: read the input
    and the residual, write both, BF16: 16 x hidden), the gated activation (read gate and up,
    write the product: 6 x width / tp), the rotary and cache write of Q, K and V (read and write:
    4 x their width / tp), and under MoE the permute and unpermute of the top-k copies of the
    hidden vector (8 x top-k x hidden). On a GPU they spill the 50 MB L2 (Vidur's unfused ops
    take 1.5x these bytes' time at 4,096 tokens on an H100, its Llama-2-70b mlp.csv). On a CPU
    a prefill's activations stay in the last-level cache (hundreds of MB): none are charged."""
    h, moe = model.hidden, moe_layers(model)
    qkv = model.heads * qk_head_dim(model) + 2 * kv_dim(model)
    routed = (model.experts_per_token + model.shared_experts) * model.expert_ffn_hidden
    gated = 3 if model.mlp == "swiglu" else 2  # reads and writes of the activation, per width
    per_layer = 16.0 * h + 4.0 * qkv / tp
    return (model.layers * per_layer + (model.layers - moe) * 2.0 * gated * model.ffn_hidden / tp
            + moe * (2.0 * gated * routed / tp + 8.0 * model.experts_per_token * h))  # fmt: skip


def kernels_per_iteration(model: ModelConfig, tp: int, engine: EngineConfig) -> float:
    """Kernels one iteration launches, each paying the engine's floor: one per GEMM of the
    model's shapes (a MoE layer's routed experts as two grouped GEMMs, its router and shared
    experts apart), the output projection, and the engine's other kernels per layer."""
    moe = moe_layers(model)
    attention = len(attention_shapes(model, tp))
    dense_ffn = len(ffn_shapes(model, model.ffn_hidden, tp))
    moe_ffn = 2 + 1 + (2 if model.shared_experts else 0)  # grouped up and down, router, shared
    gemms = model.layers * attention + (model.layers - moe) * dense_ffn + moe * moe_ffn + 1
    # MLA adds the norms of its two latents and splits the key up-projection in two (absorbed
    # into the query in decode) beyond its GEMMs
    others = model.layers * engine.kernels_per_layer + moe * engine.kernels_per_moe_layer
    return gemms + (3 * model.layers if model.attention == "mla" else 0) + others


def cycles_s(hw: HardwareConfig, engine: EngineConfig, cycles: float) -> float:
    """Seconds of an engine's serial work of ``cycles`` at the CPU's clock."""
    if not cycles:
        return 0.0
    if hw.clock_ghz is None:
        raise ConfigError("hardware.clock_ghz", None, f"engine {engine.name} counts serial work "
                          f"in cycles; set the clock of {hw.name}")  # fmt: skip
    return cycles / (hw.clock_ghz * 1e9)
