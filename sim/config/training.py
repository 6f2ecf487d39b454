"""What a training run adds to the machine and the model: its workload, plan, cluster, failures,
checkpoints, recovery and prices (one dataclass per config group)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from omegaconf import MISSING

# The checkpoint policies by name, in the order --help lists them; the training engine's registry
# (sim.training.checkpointing.REGISTRY) implements each. ``lossless`` is the upper bound where a
# failure rolls nothing back. A functional enum: ``async`` is a keyword, so it cannot be a member's
# name in a class body.
POLICIES = ("none", "fixed", "young", "daly", "adaptive", "async", "multilevel", "lossless")
PolicyName = StrEnum("PolicyName", [(name, name) for name in POLICIES])  # type: ignore[misc]


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
    """Times between failures or to repair, mean-matched (sim/des/draws.py)."""

    exponential = "exponential"
    weibull = "weibull"
    lognormal = "lognormal"
    empirical = "empirical"  # failure categories only


class Recovery(StrEnum):
    swap = "swap"  # replace the lost servers with spares and repair them
    restart = "restart"  # restart in place


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
