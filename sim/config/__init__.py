"""The typed configuration schema: one dataclass per Hydra config group.

Values live in YAML under ``conf/`` (building blocks) and ``scenarios/`` (overlays); these classes
are the schema Hydra checks them against. ``OmegaConf.to_object`` turns the composed config into
these dataclasses once, at the boundary; the engine never sees a ``DictConfig``. The classes are not
frozen because OmegaConf makes frozen structured configs read-only, which blocks composition; treat
the instances as values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import MISSING

from sim.config.machine import AttentionKind, HardwareConfig, HardwareKind, ModelConfig
from sim.config.serving import (
    Arrivals,
    EngineConfig,
    LengthConfig,
    LengthDistribution,
    MixConfig,
    OnFailure,
    Precision,
    ReplicaGroupConfig,
    RequestClassConfig,
    Router,
    Routing,
    ServingConfig,
    SloConfig,
)
from sim.config.training import (
    POLICIES,
    CheckpointConfig,
    ClusterConfig,
    Distribution,
    FailureCategory,
    FailureKind,
    FailuresConfig,
    LanguageCorpus,
    LemonConfig,
    ParallelismConfig,
    Phase,
    PlannedConfig,
    PolicyName,
    PricingConfig,
    Recovery,
    RecoveryConfig,
    Scope,
    StragglerConfig,
    WorkloadConfig,
)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"  # the values: building blocks and scenarios

# The sections, importable from here as from one module: options are enums, so the schema itself
# lists the valid ones (OmegaConf matches member names).
__all__ = [
    "CONF_DIR",
    "GROUPS",
    "OBJECTIVES",
    "POLICIES",
    "Arrivals",
    "AttentionKind",
    "CheckpointConfig",
    "ClusterConfig",
    "Config",
    "Distribution",
    "EngineConfig",
    "FailureCategory",
    "FailureKind",
    "FailuresConfig",
    "HardwareConfig",
    "HardwareKind",
    "LanguageCorpus",
    "LemonConfig",
    "LengthConfig",
    "LengthDistribution",
    "MixConfig",
    "ModelConfig",
    "OnFailure",
    "ParallelismConfig",
    "Phase",
    "PlannedConfig",
    "PolicyName",
    "Precision",
    "PricingConfig",
    "Recovery",
    "RecoveryConfig",
    "ReplicaGroupConfig",
    "RequestClassConfig",
    "Router",
    "Routing",
    "Scope",
    "ServingConfig",
    "SimConfig",
    "SloConfig",
    "StragglerConfig",
    "WorkloadConfig",
]


# Summary figures a sweeper may minimise (``sim.objective``); a test checks each is in a real
# summary (training, or serving for the last group).
OBJECTIVES = (
    "cost_usd", "time_to_train_days", "device_hours", "wall_clock_days", "compute_cost_usd",
    "energy_cost_usd", "interruptions_unexpected", "ettr",
    "cost_per_m_output_tokens", "ttft_p99_s", "tpot_p99_s", "e2e_p99_s", "energy_kwh",
)  # fmt: skip


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
    engine: EngineConfig | None = None  # the serving engine (``engine=NAME``); None: the hardware's
    # training-calibrated constants, as every serving run had before engines were data
    # Side-by-side variants of the scenario: name -> overrides applied on top of it (for example
    # {gpu: [hardware=h100_sxm, ...], cpu: [hardware=xeon_spr_amx, ...]}). Empty: one run.
    compare: dict[str, list[str]] = field(default_factory=dict)
    mix: MixConfig | None = None  # a serving run of request classes over replica groups
    # A hybrid replica (``+hardware@host=NAME +engine@host_engine=NAME``): the host CPU whose
    # sockets run the routed experts from its memory while the GPUs run the rest, and its engine
    host: HardwareConfig | None = None
    host_engine: EngineConfig | None = None


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
    "engine": EngineConfig,
}
