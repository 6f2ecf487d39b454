"""The typed configuration schema: one dataclass per Hydra config group.

Values live in YAML under ``conf/`` (building blocks) and ``scenarios/`` (overlays); these classes
are the schema Hydra checks them against. ``OmegaConf.to_object`` turns the composed config into
these dataclasses once, at the boundary; the engine never sees a ``DictConfig``. The classes are not
frozen because OmegaConf makes frozen structured configs read-only, which blocks composition; treat
the instances as values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from omegaconf import MISSING

from sim.training.checkpointing import PolicyName

# Options are enums, so the schema itself lists the valid ones (OmegaConf matches member names).


class HardwareKind(StrEnum):
    gpu = "gpu"
    cpu = "cpu"


class FailureKind(StrEnum):
    catalogue = "catalogue"  # failures.categories
    node_rate = "node_rate"  # one rate per server


class Scope(StrEnum):
    """What one failure takes down."""

    device = "device"
    server = "server"
    switch = "switch"
    job = "job"
    cluster = "cluster"


class Distribution(StrEnum):
    """Times between failures or to repair, mean-matched (sim/distributions.py)."""

    exponential = "exponential"
    weibull = "weibull"
    lognormal = "lognormal"
    empirical = "empirical"  # failure categories only


class Recovery(StrEnum):
    swap = "swap"  # replace the lost servers with spares and repair them
    restart = "restart"  # restart in place


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
    memory_gib: float = MISSING  # per device
    memory_bandwidth_tbyte_per_s: float = MISSING  # per device
    memory_reserve_gib: float = MISSING  # per device, kept by the runtime and framework
    intra_server_gbyte_per_s: float = MISSING  # per device, to its peers in the server
    network_gbit_per_s: float = MISSING  # per server, to the other servers
    cpu_cores: int = MISSING  # per server
    host_memory_gib: float = MISSING  # per server
    server_power_kw: float = MISSING
    price_per_server_hour_usd: float = MISSING
    # Step-time constants (sim/throughput.py), each with where it came from in the YAML. A GEMM
    # of shape (m, n, k) on one device runs at gemm_efficiency / (1 + d/m + d/n + d/k) of the peak,
    # d = gemm_half_dim: small dimensions fill the matrix units poorly.
    gemm_efficiency: float = MISSING
    gemm_half_dim: float = MISSING
    flash_attention_efficiency: float = MISSING  # fused attention kernels, fraction of the peak
    fp8_gemm_efficiency: float | None = None  # FP8 GEMMs' fraction of the FP8 peak; None: as BF16
    memory_efficiency: float = MISSING  # fraction of memory bandwidth memory-bound kernels reach
    comm_efficiency: float = MISSING  # fraction of link bandwidth a collective achieves
    intra_server_latency_us: float = MISSING  # per step of a ring inside a server
    network_latency_us: float = MISSING  # per step of a ring across servers


class AttentionKind(StrEnum):
    gqa = "gqa"  # multi-head (kv_heads == heads) or grouped-query attention
    mla = "mla"  # multi-head latent attention (DeepSeek-V2, V3): keys and values compressed


@dataclass
class ModelConfig:
    """A decoder-only transformer, dense or mixture-of-experts, by its architecture only; sizes
    are derived (sim/model.py)."""

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


@dataclass
class LanguageCorpus:
    """The text available in one language, and how fast one CPU core turns it into tokens."""

    language: str = MISSING  # as in the premium table, e.g. "Hindi", "Chinese (Simplified)"
    amount: float = MISSING
    unit: str = "tokens"  # tokens, words or characters
    tokens_per_core_s: float = MISSING  # data pipeline throughput of one CPU core


@dataclass
class Phase:
    """A stretch of training with its own token budget, sequence length, batch and language mix."""

    tokens: float = MISSING
    seq_len: int = MISSING
    global_batch_size: int = MISSING  # sequences per optimizer step
    mix: dict[str, float] = field(default_factory=dict)  # corpus key -> share of the tokens


@dataclass
class WorkloadConfig:
    """What to train on: a first phase (``tokens``, ``seq_len``, ``global_batch_size``, ``mix``),
    then any further ``phases`` in order, drawing on a multilingual ``corpus``. Switching phases is
    a scheduled event that restarts the data pipeline."""

    name: str = MISSING
    tokens: float = MISSING
    seq_len: int = MISSING
    global_batch_size: int = MISSING  # sequences per optimizer step
    mix: dict[str, float] = field(default_factory=dict)  # first phase: corpus key -> share
    tokenizer: str = "cl100k_base"  # a column of the premium table
    tokens_per_word: float = 1.3  # English tokens per word for the tokenizer (an assumption)
    tokens_per_character: float = 0.25  # English tokens per character (an assumption)
    corpus: dict[str, LanguageCorpus] = field(default_factory=dict)
    phases: dict[str, Phase] = field(default_factory=dict)
    loader_cores_per_server: int | None = None  # None: every CPU core of the server
    switch_restart_s: float = 0.0  # data-pipeline restart at each phase switch
    tokens_per_core_s: float = 1e9  # single-phase workloads without a corpus: never the bottleneck


@dataclass
class ParallelismConfig:
    """How the job is laid out on the devices, what it keeps in memory, and how much of its
    communication the framework hides behind computation."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    micro_batch_size: int = 1
    sequence_parallel: bool = True  # shard the norm and dropout activations over TP too
    recompute: str = (
        "selective"  # "none", "selective" (attention core; as FlashAttention) or "full"
    )
    zero_stage: int = 1  # 0: replicate, 1: shard optimizer, 2: + gradients, 3: + weights over DP
    # Expert parallelism (Megatron-Core's layout): each MoE layer's experts split over ep of the
    # data-parallel ranks (ep divides dp), each expert split over tp as the dense layers are.
    ep: int = 1
    expert_imbalance: float = 1.0  # routed tokens of the busiest EP rank over the mean
    dtype: str = "bf16"  # "bf16" (mixed precision, FP32 master weights), "fp8" (its linear
    # layers' GEMMs in FP8, the rest as bf16) or "fp32"
    fewer_layers_first_last: int = 0  # layers taken off the first and last pipeline stages
    virtual_stages: int = 1  # interleaved 1F1B: model chunks per device; shrinks the bubble
    zero_bubble: bool = False  # ZB-H1 schedule (DeepSeek-V2): a third of 1F1B's bubble
    flash_attention: bool = True  # fused attention (FlashAttention); False: scores in memory
    stage_io_freed: bool = False  # each chunk's received input is freed after forward (Llama 3)
    # What the framework overlaps with computation; the schedule bounds how much it can hide.
    # Share of the TP collectives the framework overlaps with the linear layers' GEMMs (1.0: all,
    # as Megatron's userbuffers tp_comm_overlap); each runs beside its GEMM in tp chunks.
    tp_overlap: float = 0.0
    overlap_grad_reduce: bool = True  # DP reduce-scatter behind the last micro-batch's backward
    overlap_param_gather: bool = True  # DP all-gather behind the first micro-batch's forward


@dataclass
class ClusterConfig:
    """Servers the job runs on, and spares held idle to replace failed ones."""

    servers: int = MISSING
    spare_servers: int = 0


@dataclass
class FailureCategory:
    """One cause of unexpected interruptions, as data.

    ``rate_per_1000_server_days`` is per server of the job whatever the scope, so a category's
    count scales with the job's size. ``scope`` says what one event takes down: ``device`` or
    ``server`` (one server), ``switch`` (the ``servers_down`` servers under it), ``job`` or
    ``cluster`` (the job only; no server is lost). ``recovery`` is ``swap`` (replace the lost
    servers with spares and repair them) or ``restart`` (restart in place).
    """

    scope: Scope = Scope.server
    rate_per_1000_server_days: float = MISSING
    distribution: Distribution = Distribution.exponential
    shape: float = 1.0  # Weibull shape k, or lognormal sigma; the mean stays 1 / rate
    empirical: list[float] = field(default_factory=list)  # times between failures, rescaled
    recovery: Recovery = Recovery.swap
    servers_down: int = 1  # switch scope: servers under one switch
    detection_s: float | None = None  # None: recovery.detection_s
    silent: bool = False  # detected only after detection_s of training on corrupted state


# Failure categories are typed for the code, untyped for OmegaConf: it cannot assign a new dict
# into a dict of dataclasses, which refuses ``+failures.categories.NAME={...}`` on the command
# line; ``sim.app.loading.to_config`` types each category instead (unknown keys still refused).
if TYPE_CHECKING:
    Categories = dict[str, FailureCategory]
else:
    Categories = dict[str, Any]


@dataclass
class PlannedConfig:
    """Scheduled interruptions (firmware upgrades, configuration or data changes)."""

    per_day: float = 0.0  # for the whole job, whatever its size
    per_1000_server_days: float = 0.0  # per server: scales with the job's size, as failures do
    duration_min: float = 0.0  # downtime beyond the checkpoint before and the restart after


@dataclass
class LemonConfig:
    """A few servers that fail far more often than the rest; the job-wide rate is unchanged."""

    fraction: float = 0.0
    rate_multiplier: float = 1.0


@dataclass
class StragglerConfig:
    """Fail-slow servers: a slowdown event runs one server at ``speed`` for a while, and a
    synchronous job runs at the pace of its slowest server."""

    rate_per_1000_server_days: float = 0.0
    speed: float = 1.0  # fraction of full speed while slow
    duration_h: float = 1.0  # mean (exponential)


@dataclass
class FailuresConfig:
    """Unexpected and planned interruptions.

    ``catalogue``: the ``categories`` below. ``node_rate``: one rate per server,
    ``rate_per_1000_server_days``, a share ``server_swap_fraction`` of which need a spare, with
    ``distribution`` and ``shape`` for the time between a server's failures.
    """

    kind: FailureKind = FailureKind.catalogue
    rate_per_1000_server_days: float = 0.0
    server_swap_fraction: float = 0.0
    distribution: Distribution = Distribution.exponential  # node_rate: not empirical
    shape: float = 1.0  # node_rate: Weibull shape k or lognormal sigma; the mean stays 1 / rate
    categories: Categories = field(default_factory=dict)
    planned: PlannedConfig = field(default_factory=PlannedConfig)
    lemons: LemonConfig = field(default_factory=LemonConfig)
    stragglers: StragglerConfig = field(default_factory=StragglerConfig)
    retire_after: int = 0  # retire a server after this many failures; 0: never


@dataclass
class CheckpointConfig:
    """When to checkpoint and what one costs the job in stalled time."""

    policy: PolicyName = PolicyName["fixed"]
    interval_min: float = 30.0  # used by the ``fixed`` policy
    write_s: float | None = None  # the job's stall per checkpoint; None: from size and bandwidth
    store_tbyte_per_s: float = 2.0  # shared store bandwidth, sustained
    host_copy_gbyte_per_s: float = 25.0  # per device, device to host memory
    overhead_s: float = 5.0  # coordination and metadata per checkpoint write or read
    mtbf_guess_h: float | None = None  # adaptive: starting estimate; None: the catalogue's
    persist_every: int = 10  # multilevel: every n-th in-memory checkpoint also goes to storage
    peer_replica: bool = True  # multilevel: a peer server holds a copy of each in-memory one


@dataclass
class RecoveryConfig:
    """The fixed costs of getting back to training after a failure."""

    detection_s: float = MISSING
    diagnosis_s: float = 0.0  # find and cordon the failed server(s) after detection
    restart_s: float = MISSING
    restore_s: float | None = None  # None: read the checkpoint back at the write bandwidth
    repair_h: float = MISSING  # mean time to repair a failed server or switch
    repair_distribution: Distribution = Distribution.exponential  # not empirical
    repair_shape: float = 1.0
    repair_slots: int = 0  # repairs under way at once; 0: unlimited
    elastic: bool = False  # with no spare free, go on with fewer data-parallel replicas
    fail_during_recovery: bool = True  # False: no failure strikes while the job recovers


@dataclass
class PricingConfig:
    """Rates that turn time into money, beyond the hardware's own price."""

    energy_usd_per_kwh: float = MISSING
    pue: float = 1.0


class Arrivals(StrEnum):
    poisson = "poisson"  # at rate_per_s
    diurnal = "diurnal"  # Poisson at a rate that follows a sinusoid over the day
    trace = "trace"  # a CSV of arrival_s, prompt_tokens, output_tokens
    offline = "offline"  # every request at time 0 (MLPerf Offline)


class Router(StrEnum):
    round_robin = "round_robin"
    least_loaded = "least_loaded"  # fewest requests in the replica (queued, prefilling, decoding)


class Precision(StrEnum):
    """Number format of the served weights or KV cache (the compute path follows the device)."""

    bf16 = "bf16"
    fp8 = "fp8"
    int8 = "int8"
    int4 = "int4"  # weights only: dequantised to BF16 for the GEMMs (W4A16)


class LengthDistribution(StrEnum):
    fixed = "fixed"
    lognormal = "lognormal"  # mean-matched, clipped to [1, max]


class OnFailure(StrEnum):
    retry = "retry"  # a failed replica's requests start over on another replica
    drop = "drop"  # they are lost


@dataclass
class LengthConfig:
    """Tokens of a prompt or of a reply."""

    distribution: LengthDistribution = LengthDistribution.lognormal
    mean: float = MISSING
    sigma: float = 0.0  # lognormal shape; the mean stays ``mean`` before clipping
    max: int = 4096


@dataclass
class SloConfig:
    """A latency target: time to first token and time per output token, both at the p99."""

    ttft_s: float = MISSING
    tpot_s: float = MISSING


@dataclass
class ServingConfig:
    """Serving a model to a stream of requests: traffic, replicas, batching, precision, targets.

    A replica is ``tp`` x ``pp`` devices that hold one copy of the weights (``pp`` pipeline
    stages of ``tp`` devices each); the fleet is ``replicas`` of them. ``rates_per_s`` and
    ``slos`` turn a run into a capacity search: the fewest replicas that meet each SLO at each
    rate.
    """

    name: str = MISSING
    arrivals: Arrivals = Arrivals.poisson
    rate_per_s: float = 1.0
    diurnal_peak_to_mean: float = 2.0  # diurnal: peak rate over the mean rate
    trace: str | None = None  # trace: path of the CSV
    duration_s: float = 3600.0  # arrivals stop here; requests under way are served to the end
    requests: int | None = None  # stop arrivals after this many (offline: how many at time 0)
    prompt_tokens: LengthConfig = field(default_factory=LengthConfig)
    output_tokens: LengthConfig = field(default_factory=LengthConfig)
    replicas: int = 1
    tp: int = 1  # devices per replica, tensor-parallel (across servers when more than one holds)
    pp: int = 1  # pipeline stages per replica, each tp devices with layers / pp of the model
    router: Router = Router.least_loaded
    weights: Precision = Precision.bf16
    kv_cache: Precision = Precision.bf16
    max_batch: int = 256  # requests running at once per replica (vLLM max_num_seqs), per
    # micro-batch under pp (TensorRT-LLM's maxBatchSize: pp x max_batch run in all)
    max_batched_tokens: int = 8192  # tokens per iteration (of a micro-batch), decode and prefill
    kv_memory_fraction: float = 0.9  # of the device memory left after weights and reserve
    step_overhead_ms: float = MISSING  # per iteration: scheduling, sampling, kernel launches
    load_weights_s: float = MISSING  # a restarted replica reloads its weights
    idle_power_fraction: float = MISSING  # server power when idle, of its maximum
    slo_ttft_s: float = 2.0
    slo_tpot_s: float = 0.2
    slo_attainment: float = 0.99  # capacity search: share of requests that must meet the SLO
    on_failure: OnFailure = OnFailure.retry
    rates_per_s: list[float] = field(default_factory=list)  # capacity search: request rates
    slos: dict[str, SloConfig] = field(default_factory=dict)  # capacity search: named targets
    search_requests: int = 2000  # capacity search: requests simulated per point
    max_replicas: int = 4096  # capacity search: give up beyond this many


@dataclass
class SimConfig:
    """Monte Carlo settings."""

    seed: int = 0
    replicates: int = 50
    horizon_days: float | None = None  # stop simulated time here; None runs until trained
    record_events: bool = True
    trace: bool = False  # also write trace.json: replicate 0's timeline (Chrome/Perfetto)
    max_events: int = 5_000_000  # per replicate (a llama_405b replicate takes ~900): beyond, it
    # stops unfinished, so a job that can never finish (a failure rate far above its checkpoint
    # pace) ends in seconds and says so
    progress: bool = True
    workers: int = 1  # processes running replicates at once (joblib); results do not depend on it
    objective: str = "cost_usd"  # the summary figure a run returns to a sweeper (Optuna)
    deadline_days: float | None = None  # objective is infinite when time-to-train exceeds it


@dataclass
class Config:
    """The whole configuration of one simulation."""

    hardware: HardwareConfig = MISSING
    model: ModelConfig = MISSING
    workload: WorkloadConfig = MISSING
    parallelism: ParallelismConfig = MISSING
    cluster: ClusterConfig = MISSING
    failures: FailuresConfig = MISSING
    checkpoint: CheckpointConfig = MISSING
    recovery: RecoveryConfig = MISSING
    pricing: PricingConfig = MISSING
    sim: SimConfig = field(default_factory=SimConfig)
    serving: ServingConfig | None = None  # set (``serving=NAME``): serve requests, do not train
    # Side-by-side variants of the scenario: name -> overrides applied on top of it (for example
    # {gpu: [hardware=h100_sxm, ...], cpu: [hardware=xeon_spr_amx, ...]}). Empty: one run.
    compare: dict[str, list[str]] = field(default_factory=dict)


GROUPS: dict[str, type] = {
    "hardware": HardwareConfig,
    "model": ModelConfig,
    "workload": WorkloadConfig,
    "parallelism": ParallelismConfig,
    "cluster": ClusterConfig,
    "failures": FailuresConfig,
    "checkpoint": CheckpointConfig,
    "recovery": RecoveryConfig,
    "pricing": PricingConfig,
    "sim": SimConfig,
    "serving": ServingConfig,
}


@functools.cache
def register_configs() -> None:
    """Put the schema in Hydra's ConfigStore: ``base_config`` and one ``base_<group>`` per group.
    Once per process (every compose asks): storing converts each dataclass, 20 ms in all."""
    from hydra.core.config_store import ConfigStore  # Hydra only for those who compose

    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    for group, schema in GROUPS.items():
        store.store(group=group, name=f"base_{group}", node=schema)
