"""What a serving run adds: its traffic, replicas, precision, batching and latency targets
(config group ``serving``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import MISSING


class Arrivals(StrEnum):
    poisson = "poisson"  # at rate_per_s
    diurnal = "diurnal"  # Poisson at a rate that follows a sinusoid over the day
    trace = "trace"  # a CSV of arrival_s, prompt_tokens, output_tokens
    offline = "offline"  # every request at time 0 (MLPerf Offline)
    closed = "closed"  # ``concurrency`` clients, each sending its next request when its last
    # one ends (the benchmarks that report latency at a concurrency: genai-perf, InferenceX)


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
    dataset = "dataset"  # a published dataset's lengths, drawn with replacement, clipped to max


class Routing(StrEnum):
    """How a mixed fleet sends a request of a class to a replica group (``mix.routing``)."""

    class_aware = "class_aware"  # to the class's groups in order, spilling to the next when full
    class_blind = "class_blind"  # to the least-loaded replica of any group, as one pool


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
    dataset: str | None = None  # distribution=dataset: "FILE.csv:COLUMN", FILE in sim/data or a
    # path; ``mean`` must then be the column's mean (within 1%): what the closed forms read


@dataclass
class SloConfig:
    """A latency target: time to first token and time per output token, both at the p99."""

    ttft_s: float = MISSING
    tpot_s: float = MISSING


@dataclass
class EngineConfig:
    """What a serving engine adds to the hardware (config group ``engine``): how near its kernels
    come to the device's peaks, and what an iteration costs besides them. The same server differs
    by factors under different engines (SGLang's and llama.cpp's rows on one Xeon 6 machine).
    A figure left unset (None) takes the hardware's training-calibrated constant.
    """

    name: str = MISSING
    software: str = MISSING  # the engine (and version) the figures come from
    matrix_efficiency: float | None = None  # of the compute path's peak, on GEMMs of many tokens
    int8_matrix_efficiency: float | None = None  # of the INT8 peak, where weights run in INT8;
    # None: matrix_efficiency (an engine's INT8 kernels may reach less of their peak)
    expert_matrix_efficiency: float | None = None  # the routed experts' GEMMs, of the same peak,
    # where the engine runs them apart from its dense GEMMs (llama.cpp computes the experts one
    # after another; SGLang's CPU kernels sort the tokens by expert); None: matrix_efficiency
    bandwidth_efficiency: float | None = None  # of the memory bandwidth, reading weights and cache
    vector_kernels: bool = False  # CPUs: its GEMMs run on the SIMD units (AVX-512), not AMX
    layer_overhead_kcycles: float = 0.0  # per layer and iteration, in thousands of the CPU's
    # clock cycles: operator dispatch, thread barriers and the ranks' synchronisation, serial
    # work whose time follows the clock, beyond the bytes and FLOPs
    expert_overhead_ms: float = 0.0  # per routed expert an iteration runs, per MoE layer
    unfused_attention: bool = False  # CPUs: attention as separate matmul, scale, softmax and
    # conversion operators over the whole score matrix, some of them on one thread
    score_cycles: float = 0.0  # unfused_attention: serial CPU cycles per attention score (one
    # query-key product of one head in one layer)
    kernel_floor_us: float = 0.0  # GPUs: what each kernel of an iteration costs beyond its
    # roofline (its launch gap, ramp-up and drain: kernels of one iteration run one after another)
    kernels_per_layer: float = 0.0  # GPUs: kernels per layer besides the GEMMs (norms, rotary,
    # attention, activation, residual adds, quantisation), as the engine fuses them
    kernels_per_moe_layer: float = 0.0  # GPUs: more per MoE layer (top-k, permute, unpermute)
    step_overhead_ms: float = MISSING  # per iteration: scheduling, sampling, graph launch; the
    # serving presets take it (``${oc.select:engine.step_overhead_ms,...}``) unless set there
    max_batched_tokens: int = MISSING  # its default token budget per iteration (chunked prefill),
    # taken by the serving presets the same way


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
    diurnal_peak_h: float = 6.0  # diurnal: hour of the day (from the run's start) of the peak
    trace: str | None = None  # trace: path of the CSV
    duration_s: float = 3600.0  # arrivals stop here; requests under way are served to the end
    requests: int | None = None  # stop arrivals after this many (offline: how many at time 0)
    concurrency: int = 1  # closed: requests in flight, each replaced when it ends
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
class RequestClassConfig:
    """One class of a mixed fleet's traffic (``mix.classes.NAME``): its share of the run's
    ``serving.rate_per_s``, its arrival profile and lengths, its latency target, and the replica
    groups it prefers, in order."""

    share: float = MISSING  # of serving.rate_per_s
    arrivals: Arrivals = Arrivals.poisson  # poisson or diurnal
    diurnal_peak_h: float = 6.0  # diurnal: hour of the day of the class's peak
    prompt_tokens: LengthConfig = field(default_factory=LengthConfig)
    output_tokens: LengthConfig = field(default_factory=LengthConfig)
    slo_ttft_s: float = MISSING
    slo_tpot_s: float = MISSING
    slo_attainment: float = 0.99  # share of the class's requests that must meet its target
    groups: list[str] = field(default_factory=list)  # preferred groups in order; empty: all
    priority: int = 0  # in a replica's queue, its requests wait ahead of lower classes'


@dataclass
class ReplicaGroupConfig:
    """Replicas of one kind in a mixed fleet (``mix.groups.NAME``): their hardware, engine and
    failure catalogue by option name, the run's serving keys they change (``tp``, ``weights``,
    ``max_batch`` ...), how many, and whether they are rented or already owned."""

    hardware: str = MISSING  # a conf/hardware option
    engine: str | None = None  # a conf/engine option; None: the hardware's own constants
    failures: str | None = None  # a conf/failures option; None: the run's
    host: str | None = None  # a hybrid replica: the conf/hardware option of the CPU host whose
    # sockets run the routed experts (``hardware`` then names its GPU)
    host_engine: str | None = None  # the host's conf/engine option
    serving: dict[str, Any] = field(default_factory=dict)  # serving keys this group changes
    replicas: int = 1
    owned: bool = False  # already paid for: costs its energy and operations, not its rent
    ops_usd_per_server_hour: float = 0.0  # owned: staff, space and support per server
    amortised: bool = False  # owned: count the hardware's price per server-hour as well
    max_replicas: int = 64  # the mix search's bound (a cap on the servers one can have)


@dataclass
class MixConfig:
    """A mixed fleet: request classes served by replica groups behind one router."""

    classes: dict[str, RequestClassConfig] = field(default_factory=dict)
    groups: dict[str, ReplicaGroupConfig] = field(default_factory=dict)
    routing: Routing = Routing.class_aware
    spill_waiting: int = 8  # class_aware: a request spills to its next group when every up
    # replica of the current one has at least this many requests waiting to start
    search: bool = False  # find the cheapest replica counts (0 to each max_replicas) that meet
    # every class's target, instead of simulating the counts given
