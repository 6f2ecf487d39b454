"""The machine and the model: a server type and a transformer's architecture (config groups
``hardware`` and ``model``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omegaconf import MISSING


class HardwareKind(StrEnum):
    gpu = "gpu"
    cpu = "cpu"


@dataclass
class HardwareConfig:
    """A server type. A GPU server's devices are its GPUs; a CPU server's devices are its CPU
    sockets, and their memory is the host DRAM."""

    name: str = MISSING
    kind: HardwareKind = HardwareKind.gpu
    device: str = MISSING
    devices_per_server: int = MISSING
    peak_tflops_bf16: float = MISSING  # dense, per device
    peak_tflops_fp8: float | None = None  # dense, per device; None where the device has no FP8
    peak_tops_int8: float | None = None  # dense, per device; None where the device has no INT8 path
    # CPUs: the SIMD units' peaks (AVX-512), for engines whose kernels do not use the matrix
    # units (AMX); None where the peaks above are already the SIMD ones (no matrix units)
    vector_tflops_bf16: float | None = None
    vector_tops_int8: float | None = None
    clock_ghz: float | None = None  # CPUs: base clock; an engine's per-layer overhead is in cycles
    memory_gib: float = MISSING  # per device
    memory_bandwidth_tbyte_per_s: float = MISSING  # per device
    memory_reserve_gib: float = MISSING  # per device, kept by the runtime and framework
    intra_server_gbyte_per_s: float = MISSING  # per device, to its peers in the server
    network_gbit_per_s: float = MISSING  # per server, to the other servers
    cpu_cores: int = MISSING  # per server
    host_memory_gib: float = MISSING  # per server
    pcie_gbyte_per_s: float | None = None  # GPUs: each device's link to the host, each way (a
    # hybrid replica's hidden states cross it); None: not given
    pcie_latency_us: float | None = None  # GPUs: per transfer over that link
    server_power_kw: float = MISSING
    price_per_server_hour_usd: float = MISSING
    # Step-time constants (sim/perf/throughput.py), each with where it came from in the YAML. A GEMM
    # of shape (m, n, k) on one device runs at gemm_efficiency / (1 + d/m + d/n + d/k) of the peak,
    # d = gemm_half_dim: small dimensions fill the matrix units poorly.
    gemm_efficiency: float = MISSING
    gemm_half_dim: float = MISSING
    flash_attention_efficiency: float = MISSING  # fused attention kernels, fraction of the peak
    fp8_gemm_efficiency: float | None = None  # FP8 GEMMs' fraction of the FP8 peak; None: as BF16
    memory_efficiency: float = MISSING  # fraction of memory bandwidth memory-bound kernels reach
    comm_efficiency: float = MISSING  # fraction of link bandwidth a collective achieves
    intra_server_latency_us: float = MISSING  # per step of a ring inside a server
    switch_reduction_efficiency: float | None = None  # of the one-way link rate, an all-reduce
    # the server's switch sums (NVLink SHARP, NCCL's NVLS) reaches; None: no such switch
    network_latency_us: float = MISSING  # per step of a ring across servers


class AttentionKind(StrEnum):
    gqa = "gqa"  # multi-head (kv_heads == heads) or grouped-query attention
    mla = "mla"  # multi-head latent attention (DeepSeek-V2, V3): keys and values compressed


@dataclass
class ModelConfig:
    """A decoder-only transformer, dense or mixture-of-experts, by its architecture only; sizes
    are derived (sim/perf/model.py)."""

    name: str = MISSING
    layers: int = MISSING
    hidden: int = MISSING
    ffn_hidden: int = MISSING
    heads: int = MISSING
    kv_heads: int = MISSING
    vocab_size: int = MISSING
    tied_embeddings: bool = False
    mlp: str = "swiglu"  # "swiglu" (three matrices) or "gelu" (two)
    norm: str = "rmsnorm"  # "rmsnorm" (scale only) or "layernorm" (scale and bias)
    position_embeddings: int = 0  # learned absolute positions (GPT-3: 2048); 0 for rotary
    dropout: bool = False  # dropout layers keep masks and outputs for backward
    attention: AttentionKind = AttentionKind.gqa
    head_dim: int | None = None  # None: hidden / heads (Qwen3 and Llama 4 set their own)
    q_lora_rank: int = 0  # MLA: query compression rank; 0: queries not compressed
    kv_lora_rank: int = 0  # MLA: key-value compression rank
    qk_nope_head_dim: int = 0  # MLA: per-head query and key width without rotary embedding
    qk_rope_head_dim: int = 0  # MLA: per-head width of the decoupled rotary query and key
    v_head_dim: int = 0  # MLA: per-head value width
    # Mixture of experts; 0 experts is a dense model. FFN widths of experts are their own.
    experts: int = 0  # routed experts in each MoE layer
    experts_per_token: int = 0  # top-k routed experts per token
    expert_ffn_hidden: int = 0  # FFN width of one routed or shared expert
    shared_experts: int = 0  # experts every token goes through, besides its top-k
    dense_layers: int = 0  # leading layers with a dense FFN of ffn_hidden (DeepSeek)
    moe_every: int = 1  # after those, every n-th layer is MoE and the others dense (Llama 4: 2)
    mtp_modules: int = 0  # multi-token prediction modules (DeepSeek-V3), each one MoE layer more
    # Device-limited routing: a token's experts on at most this many devices (DeepSeek-V2: 3) or
    # servers (DeepSeek-V3: 4), so the dispatch sends it there once each; 0: no limit.
    max_devices_per_token: int = 0
    max_servers_per_token: int = 0
