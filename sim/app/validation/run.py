"""A training run: its Monte Carlo settings, failures, workload, and whether it can finish."""

from __future__ import annotations

import math

from sim.app.validation.checks import (
    CLOCKS,
    fraction,
    non_negative,
    one_of,
    positive,
    shape,
    valid_name,
)
from sim.config import OBJECTIVES, Config
from sim.errors import ConfigError
from sim.perf.workload import UNITS, premiums
from sim.training.checkpointing import REGISTRY
from sim.training.planning import plan_job
from sim.units import SECONDS_PER_DAY

MAX_REPLICATES = 100_000  # a million llama_405b replicates would take hours and gigabytes


MAX_SPARES_PER_SERVER = 10


NEVER_WITHOUT_CHECKPOINTS = 20.0  # interruptions expected in the work: e^20 attempts to finish


def validate_sim(config: Config) -> None:
    one_of("sim.objective", config.sim.objective, OBJECTIVES)
    if config.sim.seed < 0:
        raise ConfigError("sim.seed", config.sim.seed, "must be 0 or more")
    if config.sim.workers < 1:
        raise ConfigError("sim.workers", config.sim.workers, "must be at least 1")
    if not 1 <= config.sim.replicates <= MAX_REPLICATES:
        raise ConfigError("sim.replicates", config.sim.replicates,
                          f"must be at least 1 and at most {MAX_REPLICATES:,}")  # fmt: skip
    if config.sim.max_events < 1000:
        raise ConfigError("sim.max_events", config.sim.max_events, "must be at least 1,000")
    if config.sim.horizon_days is not None:
        positive("sim.horizon_days", config.sim.horizon_days)
    if config.sim.deadline_days is not None:
        positive("sim.deadline_days", config.sim.deadline_days)


def validate_finishable(config: Config) -> None:
    """Refuse a job that can never finish or would checkpoint more than it trains."""
    plan, _ = plan_job(config)
    if REGISTRY[plan.policy].uses_interval and plan.interval_s < max(1.0, plan.checkpoint_write_s):
        bound = max(1.0, plan.checkpoint_write_s)
        raise ConfigError("checkpoint.interval_min", config.checkpoint.interval_min,
                          f"at least {bound / 60.0:.3g} min (one checkpoint write, "
                          f"{plan.checkpoint_write_s:.3g} s, and never below 1 s)")  # fmt: skip
    if plan.policy == "none":  # every interruption starts the job over
        rate = 1.0 / plan.job_mtbf_s + plan.planned_per_day / SECONDS_PER_DAY
        gap = SECONDS_PER_DAY / plan.planned_per_day if plan.planned_per_day else math.inf
        if plan.work_s > gap:  # planned stops are evenly spaced: one always comes first
            raise ConfigError("checkpoint.policy", "none", f"the job needs "
                              f"{plan.work_s / 3600.0:.3g} h without a stop but a planned stop "
                              f"comes every {gap / 3600.0:.3g} h and saves nothing, so it can never"
                              " finish; checkpoint (e.g. checkpoint.policy=fixed)")  # fmt: skip
        if plan.work_s * rate > NEVER_WITHOUT_CHECKPOINTS:
            days = plan.work_s / SECONDS_PER_DAY
            raise ConfigError("checkpoint.policy", "none", f"the job needs "
                              f"{days:.3g} days without an interruption but "
                              f"expects one every {1.0 / rate / 3600.0:.3g} h, so it can never "
                              "finish; checkpoint (e.g. checkpoint.policy=fixed)")  # fmt: skip
    if config.recovery.fail_during_recovery and plan.job_mtbf_s < plan.recovery_s:
        f = config.failures
        key, value = (("failures.rate_per_1000_server_days", f.rate_per_1000_server_days)
                      if f.kind == "node_rate" else ("failures", f.kind.value))  # fmt: skip
        raise ConfigError(key, value,
                          f"the job fails every {plan.job_mtbf_s:.3g} s on average but one "
                          f"recovery takes {plan.recovery_s:.3g} s, so it can never finish; lower "
                          "the failure rates or the recovery times")  # fmt: skip


def validate_failures(config: Config) -> None:
    f, rec = config.failures, config.recovery
    if f.kind == "node_rate":
        positive("failures.rate_per_1000_server_days", f.rate_per_1000_server_days)
        fraction("failures.server_swap_fraction", f.server_swap_fraction)
        one_of("failures.distribution", f.distribution, CLOCKS)
        shape("failures.shape", f.distribution, f.shape)
    else:
        defaults = {"rate_per_1000_server_days": 0.0, "server_swap_fraction": 0.0,
                    "distribution": "exponential", "shape": 1.0}  # fmt: skip
        for key, default in defaults.items():
            if getattr(f, key) != default:
                per_category = (
                    key if key in ("distribution", "shape") else "rate_per_1000_server_days"
                )
                raise ConfigError(
                    f"failures.{key}",
                    getattr(f, key),
                    "is used only with failures=node_rate; for a catalogue set "
                    f"failures.categories.NAME.{per_category}",
                )
        for name, c in f.categories.items():
            key = f"failures.categories.{name}"
            valid_name(key, name)
            non_negative(f"{key}.rate_per_1000_server_days", c.rate_per_1000_server_days)
            shape(f"{key}.shape", c.distribution, c.shape)
            if c.distribution == "empirical" and (
                not c.empirical or any(not v > 0 for v in c.empirical)
            ):
                raise ConfigError(f"{key}.empirical", c.empirical, "needs positive times")
            positive(f"{key}.servers_down", c.servers_down)
            if c.detection_s is not None:
                non_negative(f"{key}.detection_s", c.detection_s)
    non_negative("failures.planned.per_day", f.planned.per_day)
    non_negative("failures.planned.per_1000_server_days", f.planned.per_1000_server_days)
    non_negative("failures.planned.duration_min", f.planned.duration_min)
    fraction("failures.lemons.fraction", f.lemons.fraction, upper_open=True)
    if not (math.isfinite(f.lemons.rate_multiplier) and f.lemons.rate_multiplier >= 1.0):
        raise ConfigError(
            "failures.lemons.rate_multiplier", f.lemons.rate_multiplier, "must be >= 1"
        )
    non_negative(
        "failures.stragglers.rate_per_1000_server_days", f.stragglers.rate_per_1000_server_days
    )
    if not 0.0 < f.stragglers.speed <= 1.0:
        raise ConfigError("failures.stragglers.speed", f.stragglers.speed, "must lie in (0, 1]")
    positive("failures.stragglers.duration_h", f.stragglers.duration_h)
    if f.retire_after < 0:
        raise ConfigError("failures.retire_after", f.retire_after, "must be 0 (never) or more")
    one_of("recovery.repair_distribution", rec.repair_distribution, CLOCKS)
    shape("recovery.repair_shape", rec.repair_distribution, rec.repair_shape)
    if rec.repair_slots < 0:
        raise ConfigError(
            "recovery.repair_slots", rec.repair_slots, "must be 0 (unlimited) or more"
        )


def validate_workload(config: Config) -> None:
    """Languages the premium table knows, mixes that add up, phases with positive shapes."""
    w, hw = config.workload, config.hardware
    one_of("workload.tokenizer", w.tokenizer, list(premiums()))
    positive("workload.tokens_per_word", w.tokens_per_word)
    positive("workload.tokens_per_character", w.tokens_per_character)
    positive("workload.tokens_per_core_s", w.tokens_per_core_s)
    non_negative("workload.switch_restart_s", w.switch_restart_s)
    # On a CPU server the loaders take their cores from the compute: leave it at least one.
    most = hw.cpu_cores - 1 if hw.kind == "cpu" else hw.cpu_cores
    if w.loader_cores_per_server is not None and not 0 < w.loader_cores_per_server <= most:
        raise ConfigError(
            "workload.loader_cores_per_server",
            w.loader_cores_per_server,
            f"must lie in [1, {most}] on {hw.device} (hardware.cpu_cores={hw.cpu_cores})",
        )
    languages = list(premiums()[w.tokenizer])
    for key, corpus in w.corpus.items():
        valid_name(f"workload.corpus.{key}", key)
        one_of(f"workload.corpus.{key}.language", corpus.language, languages)
        one_of(f"workload.corpus.{key}.unit", corpus.unit, UNITS)
        positive(f"workload.corpus.{key}.amount", corpus.amount)
        positive(f"workload.corpus.{key}.tokens_per_core_s", corpus.tokens_per_core_s)
    mixes = {"workload.mix": w.mix} | {
        f"workload.phases.{n}.mix": p.mix for n, p in w.phases.items()
    }
    for key, mix in mixes.items():
        for language, share in mix.items():
            one_of(f"{key}.{language}", language, list(w.corpus))
            positive(f"{key}.{language}", share)
        if mix and not math.isclose(sum(mix.values()), 1.0, rel_tol=1e-6):
            raise ConfigError(key, mix, "the shares must add up to 1")
    for name, phase in w.phases.items():
        valid_name(f"workload.phases.{name}", name)
        positive(f"workload.phases.{name}.tokens", phase.tokens)
        positive(f"workload.phases.{name}.seq_len", phase.seq_len)
        positive(f"workload.phases.{name}.global_batch_size", phase.global_batch_size)
