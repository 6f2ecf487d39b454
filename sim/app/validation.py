"""Checks on a composed configuration, so a bad value fails early with one line that teaches."""

from __future__ import annotations

import math

from sim.config import Config, Distribution, ModelConfig, ParallelismConfig
from sim.errors import ConfigError
from sim.outputs.summary import SEP
from sim.perf.memory import PRECISIONS, layer_slots, memory_per_device
from sim.perf.model import MLP_MATRICES, NORM_PARAMETERS, RECOMPUTE_MODES
from sim.perf.workload import UNITS, phases, premiums
from sim.training.checkpointing import REGISTRY

MAX_REPLICATES = 100_000  # a million llama_405b replicates would take hours and gigabytes
MAX_SHAPE = {"weibull": (0.05, 50.0), "lognormal": (0.0, 4.0)}  # beyond: draws overflow or
# nearly all fall near zero (the mean is kept by a vanishing few huge ones), and a run hangs
MAX_SPARES_PER_SERVER = 10
NEVER_WITHOUT_CHECKPOINTS = 20.0  # interruptions expected in the work: e^20 attempts to finish
MAX_REQUESTS = 2_000_000  # per serving replicate: under a minute of simulation, under 1 GB
CLOCKS = [d.value for d in Distribution if d is not Distribution.empirical]  # need no table


def _positive(key: str, value: float | None) -> None:
    if value is None or not math.isfinite(value) or value <= 0:
        raise ConfigError(key, value, "must be a positive finite number")


def _non_negative(key: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ConfigError(key, value, "must be zero or a positive finite number")


def divisors(n: int) -> list[int]:
    """The valid degrees of a parallelism that must split ``n`` evenly."""
    return [d for d in range(1, n + 1) if n % d == 0]


def _name(key: str, name: str) -> None:
    """Names become summary keys joined by ``__`` (sim/summary.py): a name must not hold it."""
    if SEP in name:
        raise ConfigError(key, name, f"a name must not contain {SEP!r}")


def _one_of(key: str, value: str, valid: tuple[str, ...] | list[str]) -> None:
    if value not in valid:
        raise ConfigError(key, value, f"unknown option; valid: {', '.join(valid)}")


def validate(config: Config) -> None:
    """Raise ``ConfigError`` on the first value the simulator cannot use."""
    _validate_machine(config)
    if config.serving is not None:  # a serving run: no training plan to check
        _validate_architecture(config.model, config.parallelism)
        _validate_serving(config)
        _validate_failures(config)
        _validate_sim(config)
        return
    model, workload, par = config.model, config.workload, config.parallelism
    for key, value in {
        "workload.tokens": workload.tokens,
        "workload.seq_len": workload.seq_len,
        "workload.global_batch_size": workload.global_batch_size,
        "parallelism.tp": par.tp,
        "parallelism.pp": par.pp,
        "parallelism.dp": par.dp,
        "parallelism.cp": par.cp,
        "parallelism.micro_batch_size": par.micro_batch_size,
        "cluster.servers": config.cluster.servers,
        "recovery.repair_h": config.recovery.repair_h,
    }.items():
        _positive(key, value)
    for key, value in {
        "parallelism.fewer_layers_first_last": par.fewer_layers_first_last,
        "cluster.spare_servers": config.cluster.spare_servers,
        "checkpoint.overhead_s": config.checkpoint.overhead_s,
        "recovery.diagnosis_s": config.recovery.diagnosis_s,
    }.items():
        _non_negative(key, value)
    _one_of("parallelism.recompute", par.recompute, RECOMPUTE_MODES)
    _one_of("parallelism.dtype", par.dtype, list(PRECISIONS))
    if par.dtype == "fp8" and not config.hardware.peak_tflops_fp8:
        raise ConfigError("parallelism.dtype", par.dtype, f"{config.hardware.name} has no FP8 "
                          "(hardware.peak_tflops_fp8 is unset); valid: bf16, fp32")  # fmt: skip
    if par.zero_stage not in (0, 1, 2, 3):
        raise ConfigError("parallelism.zero_stage", par.zero_stage, "must be 0, 1, 2 or 3")
    _validate_architecture(model, par)
    _validate_throughput_inputs(config)
    _validate_workload(config)
    for spec in phases(config):  # every phase's shape must fit and split
        _validate_layout(spec.config)
        _validate_memory(spec.config)  # before the batch: memory is what a bad plan hits first
        _validate_batch(spec.config)
    _validate_failures(config)
    _positive("checkpoint.persist_every", config.checkpoint.persist_every)
    if config.checkpoint.mtbf_guess_h is not None:
        _positive("checkpoint.mtbf_guess_h", config.checkpoint.mtbf_guess_h)
    _positive("checkpoint.store_tbyte_per_s", config.checkpoint.store_tbyte_per_s)
    _positive("checkpoint.host_copy_gbyte_per_s", config.checkpoint.host_copy_gbyte_per_s)
    for key, maybe in (
        ("checkpoint.write_s", config.checkpoint.write_s),
        ("recovery.restore_s", config.recovery.restore_s),
    ):
        if maybe is not None:
            _non_negative(key, maybe)
    if REGISTRY[str(config.checkpoint.policy)].uses_interval:
        _positive("checkpoint.interval_min", config.checkpoint.interval_min)
    if config.cluster.spare_servers > MAX_SPARES_PER_SERVER * config.cluster.servers:
        raise ConfigError("cluster.spare_servers", config.cluster.spare_servers,
                          f"at most {MAX_SPARES_PER_SERVER} x cluster.servers = "
                          f"{MAX_SPARES_PER_SERVER * config.cluster.servers:,}")  # fmt: skip
    _validate_finishable(config)
    _validate_sim(config)


def _validate_sim(config: Config) -> None:
    from sim.app.sweep import OBJECTIVES

    _one_of("sim.objective", config.sim.objective, OBJECTIVES)
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
        _positive("sim.horizon_days", config.sim.horizon_days)
    if config.sim.deadline_days is not None:
        _positive("sim.deadline_days", config.sim.deadline_days)


def _validate_finishable(config: Config) -> None:
    """Refuse a job that can never finish or would checkpoint more than it trains."""
    from sim.training.plan import SECONDS_PER_DAY, plan_job

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


def _validate_machine(config: Config) -> None:
    """The server type, the model's architecture, and the costs every run uses."""
    hw, model = config.hardware, config.model
    for key, value in {
        "hardware.devices_per_server": hw.devices_per_server,
        "hardware.peak_tflops_bf16": hw.peak_tflops_bf16,
        "hardware.memory_gib": hw.memory_gib,
        "hardware.memory_bandwidth_tbyte_per_s": hw.memory_bandwidth_tbyte_per_s,
        "hardware.intra_server_gbyte_per_s": hw.intra_server_gbyte_per_s,
        "hardware.network_gbit_per_s": hw.network_gbit_per_s,
        "hardware.cpu_cores": hw.cpu_cores,
        "hardware.host_memory_gib": hw.host_memory_gib,
        "model.layers": model.layers,
        "model.hidden": model.hidden,
        "model.ffn_hidden": model.ffn_hidden,
        "model.heads": model.heads,
        "model.kv_heads": model.kv_heads,
        "model.vocab_size": model.vocab_size,
    }.items():
        _positive(key, value)
    if not (math.isfinite(config.pricing.pue) and config.pricing.pue >= 1.0):
        raise ConfigError("pricing.pue", config.pricing.pue, "must be 1 or more (facility power "
                          "over IT power)")  # fmt: skip
    for key, value in {
        "hardware.server_power_kw": hw.server_power_kw,
        "hardware.price_per_server_hour_usd": hw.price_per_server_hour_usd,
        "hardware.memory_reserve_gib": hw.memory_reserve_gib,
        "model.position_embeddings": model.position_embeddings,
        "recovery.detection_s": config.recovery.detection_s,
        "recovery.restart_s": config.recovery.restart_s,
        "pricing.energy_usd_per_kwh": config.pricing.energy_usd_per_kwh,
    }.items():
        _non_negative(key, value)
    for key, maybe in (
        ("hardware.peak_tflops_fp8", hw.peak_tflops_fp8),
        ("hardware.peak_tops_int8", hw.peak_tops_int8),
    ):
        if maybe is not None:
            _positive(key, maybe)
    _one_of("model.mlp", model.mlp, list(MLP_MATRICES))
    _one_of("model.norm", model.norm, list(NORM_PARAMETERS))
    if hw.fp8_gemm_efficiency is not None:
        _fraction("hardware.fp8_gemm_efficiency", hw.fp8_gemm_efficiency)
    if model.hidden % model.heads:
        raise ConfigError("model.heads", model.heads, f"must divide model.hidden={model.hidden}")
    if model.heads % model.kv_heads:
        raise ConfigError(
            "model.kv_heads", model.kv_heads, f"must divide model.heads={model.heads}"
        )


def _validate_serving(config: Config) -> None:
    """Traffic, fleet and targets; then the replica must fit its devices (with the breakdown)."""
    from sim.perf.inference import replica_memory, serving_of

    serving = serving_of(config)
    _name("serving.name", serving.name)
    for key, value in {
        "serving.rate_per_s": serving.rate_per_s,
        "serving.duration_s": serving.duration_s,
        "serving.replicas": serving.replicas,
        "serving.tp": serving.tp,
        "serving.pp": serving.pp,
        "serving.max_batch": serving.max_batch,
        "serving.max_batched_tokens": serving.max_batched_tokens,
        "serving.slo_ttft_s": serving.slo_ttft_s,
        "serving.slo_tpot_s": serving.slo_tpot_s,
        "serving.search_requests": serving.search_requests,
        "serving.max_replicas": serving.max_replicas,
        "serving.prompt_tokens.mean": serving.prompt_tokens.mean,
        "serving.output_tokens.mean": serving.output_tokens.mean,
        "serving.prompt_tokens.max": serving.prompt_tokens.max,
        "serving.output_tokens.max": serving.output_tokens.max,
    }.items():
        _positive(key, value)
    for key, value in {
        "serving.step_overhead_ms": serving.step_overhead_ms,
        "serving.load_weights_s": serving.load_weights_s,
        "serving.prompt_tokens.sigma": serving.prompt_tokens.sigma,
        "serving.output_tokens.sigma": serving.output_tokens.sigma,
    }.items():
        _non_negative(key, value)
    _fraction("serving.idle_power_fraction", serving.idle_power_fraction)
    _fraction("serving.slo_attainment", serving.slo_attainment)
    if not 0.0 < serving.kv_memory_fraction <= 1.0:
        raise ConfigError("serving.kv_memory_fraction", serving.kv_memory_fraction,
                          "must lie in (0, 1]")  # fmt: skip
    if not 1.0 <= serving.diurnal_peak_to_mean <= 2.0:
        raise ConfigError("serving.diurnal_peak_to_mean", serving.diurnal_peak_to_mean,
                          "must lie in [1, 2] (a sinusoid around the mean rate)")  # fmt: skip
    if serving.requests is not None:
        _positive("serving.requests", serving.requests)
    elif serving.arrivals == "offline":
        raise ConfigError("serving.requests", None, "offline arrivals need a count of requests")
    expected = serving.requests or serving.rate_per_s * serving.duration_s
    if serving.arrivals != "trace" and expected > MAX_REQUESTS:
        why = (f"about {expected:,.0f} requests at serving.rate_per_s={serving.rate_per_s:g}; "
               f"at most {MAX_REQUESTS:,} per replicate")  # fmt: skip
        raise ConfigError("serving.duration_s", serving.duration_s, why)
    if serving.arrivals == "trace" and not serving.trace:
        raise ConfigError("serving.trace", serving.trace, "trace arrivals need a CSV path")
    if serving.kv_cache == "int4":
        raise ConfigError("serving.kv_cache", serving.kv_cache.value, "valid: bf16, fp8, int8")
    per_server = config.hardware.devices_per_server
    if serving.tp < per_server and per_server % serving.tp:
        valid = ", ".join(map(str, divisors(per_server)))
        raise ConfigError("serving.tp", serving.tp, f"must divide the {per_server} devices of a "
                          f"server, or be a multiple of it; valid below it: {valid}")  # fmt: skip
    if serving.tp > per_server and serving.tp % per_server:
        raise ConfigError("serving.tp", serving.tp,
                          f"must be a multiple of {per_server} across servers")  # fmt: skip
    devices = serving.tp * serving.pp
    if (devices < per_server and per_server % devices) or (
        devices > per_server and devices % per_server
    ):
        raise ConfigError("serving.pp", serving.pp, f"tp x pp = {devices} devices must divide "
                          f"the {per_server} of a server or be a multiple of it")  # fmt: skip
    if serving.pp > config.model.layers:
        raise ConfigError("serving.pp", serving.pp,
                          f"at most model.layers={config.model.layers} stages")  # fmt: skip
    for rate in serving.rates_per_s:
        _positive("serving.rates_per_s", rate)
    for name, slo in serving.slos.items():
        _name(f"serving.slos.{name}", name)
        _positive(f"serving.slos.{name}.ttft_s", slo.ttft_s)
        _positive(f"serving.slos.{name}.tpot_s", slo.tpot_s)
    replica_memory(config)


def _validate_layout(config: Config) -> None:
    """The parallel degrees must tile the devices, fit the server and split the model and batch."""
    par, model = config.parallelism, config.model
    per_server = config.hardware.devices_per_server
    devices = config.cluster.servers * per_server
    product = par.tp * par.pp * par.dp * par.cp
    if product != devices:
        raise ConfigError(
            "parallelism",
            f"tp={par.tp} x pp={par.pp} x dp={par.dp} x cp={par.cp} = {product}",
            f"the product must equal the device count cluster.servers x "
            f"hardware.devices_per_server = {config.cluster.servers} x {per_server} = {devices}",
        )
    if par.tp > per_server:
        raise ConfigError(
            "parallelism.tp",
            par.tp,
            f"tensor parallelism must stay inside one server: at most "
            f"hardware.devices_per_server={per_server}",
        )
    if model.heads % par.tp:
        raise ConfigError("parallelism.tp", par.tp, f"must divide model.heads={model.heads}")
    spread = model.layers + 2 * par.fewer_layers_first_last
    if spread % par.pp or (par.pp > 1 and spread // par.pp <= par.fewer_layers_first_last):
        raise ConfigError(
            "parallelism.pp",
            par.pp,
            f"must divide model.layers={model.layers} (+ 2 x parallelism.fewer_layers_first_last="
            f"{par.fewer_layers_first_last}) into equal pipeline stages",
        )
    if config.workload.seq_len % par.cp:
        raise ConfigError(
            "parallelism.cp", par.cp, f"must divide workload.seq_len={config.workload.seq_len}"
        )
    _validate_interleaving(config)


def _validate_batch(config: Config) -> None:
    """The global batch must split into whole micro-batches on every data-parallel replica."""
    par = config.parallelism
    per_replica = config.workload.global_batch_size / par.dp
    if per_replica != int(per_replica) or per_replica % par.micro_batch_size:
        raise ConfigError(
            "workload.global_batch_size",
            config.workload.global_batch_size,
            f"must split evenly into parallelism.dp={par.dp} replicas of whole "
            f"micro-batches of parallelism.micro_batch_size={par.micro_batch_size}",
        )


def _validate_memory(config: Config) -> None:
    """A plan that does not fit says what it needs, against what the device has, and what helps."""
    memory = memory_per_device(config)
    if memory.fits:
        return
    par, hw = config.parallelism, config.hardware
    helps = []
    if par.tp < hw.devices_per_server:
        helps.append(f"raise parallelism.tp (up to {hw.devices_per_server})")
    helps.append("raise parallelism.pp")
    if par.recompute != "full":
        helps.append("set parallelism.recompute=full")
    if par.zero_stage < 3:
        helps.append(f"shard more with parallelism.zero_stage={par.zero_stage + 1}")
    if par.micro_batch_size > 1:
        helps.append("lower parallelism.micro_batch_size")
    raise ConfigError(
        "parallelism",
        f"tp={par.tp} pp={par.pp} dp={par.dp} cp={par.cp} recompute={par.recompute} "
        f"zero_stage={par.zero_stage}",
        f"does not fit in memory: needs {memory.describe()}, but {hw.device} has "
        f"{hw.memory_gib:g} GiB; try: {'; '.join(helps)}",
    )


def _validate_throughput_inputs(config: Config) -> None:
    """The step-time constants must be usable; the overlap must be a share."""
    hw, par = config.hardware, config.parallelism
    for key in ("gemm_efficiency", "flash_attention_efficiency", "memory_efficiency",
                "comm_efficiency"):  # fmt: skip
        value = getattr(hw, key)
        if not 0 < value <= 1:
            raise ConfigError(f"hardware.{key}", value, "must lie in (0, 1]")
    _positive("hardware.gemm_half_dim", hw.gemm_half_dim)
    _non_negative("hardware.intra_server_latency_us", hw.intra_server_latency_us)
    _non_negative("hardware.network_latency_us", hw.network_latency_us)
    if not 0 <= par.tp_overlap <= 1:
        raise ConfigError("parallelism.tp_overlap", par.tp_overlap, "must lie in [0, 1]")


def _validate_interleaving(config: Config) -> None:
    """Interleaving splits every stage's layer slots into equal model chunks."""
    par, model = config.parallelism, config.model
    v = par.virtual_stages
    slots = layer_slots(model.layers, par.pp, par.fewer_layers_first_last)
    if par.pp == 1 and v != 1:
        raise ConfigError(
            "parallelism.virtual_stages", v, "interleaving needs parallelism.pp > 1; valid: 1"
        )
    valid = divisors(slots)
    if v not in valid:
        raise ConfigError(
            "parallelism.virtual_stages",
            v,
            f"must divide the {slots} layer slots of each of the parallelism.pp={par.pp} "
            f"pipeline stages into equal chunks; valid: {', '.join(map(str, valid))}",
        )


def _shape(key: str, distribution: str, value: float) -> None:
    """A Weibull shape or lognormal sigma within the range the samplers handle."""
    _positive(key, value)
    low, high = MAX_SHAPE.get(str(distribution), (0.0, math.inf))
    if not low < value <= high:  # value > 0 here
        raise ConfigError(key, value, f"a {distribution} shape must lie in ({low:g}, {high:g}]")


def _fraction(key: str, value: float, *, upper_open: bool = False) -> None:
    if not (0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0):
        raise ConfigError(key, value, "must lie in [0, 1)" if upper_open else "must lie in [0, 1]")


def _validate_architecture(model: ModelConfig, par: ParallelismConfig) -> None:
    """Mixture-of-experts and MLA fields, and the expert-parallel layout (Megatron-Core's: the
    ep ranks of an expert group are data-parallel ranks, so ep divides dp)."""
    if model.experts:
        for key in ("experts_per_token", "expert_ffn_hidden"):
            _positive(f"model.{key}", getattr(model, key))
        if model.experts_per_token > model.experts:
            raise ConfigError("model.experts_per_token", model.experts_per_token,
                              f"must be at most model.experts={model.experts}")  # fmt: skip
        _positive("model.moe_every", model.moe_every)
        if not 0 <= model.dense_layers < model.layers:
            valid = f"must be from 0 to model.layers - 1 = {model.layers - 1}"
            raise ConfigError("model.dense_layers", model.dense_layers, valid)
    if model.attention == "mla":
        for key in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
            _positive(f"model.{key}", getattr(model, key))
    for key in ("max_devices_per_token", "max_servers_per_token"):
        _non_negative(f"model.{key}", getattr(model, key))
    _positive("parallelism.ep", par.ep)
    if par.ep > 1 and not model.experts:
        raise ConfigError("parallelism.ep", par.ep, f"{model.name} has no experts; valid: 1")
    if model.experts and model.experts % par.ep:
        valid = ", ".join(map(str, divisors(model.experts)))
        raise ConfigError("parallelism.ep", par.ep,
                          f"must divide model.experts={model.experts}; valid: {valid}")  # fmt: skip
    if par.dp % par.ep:
        raise ConfigError("parallelism.ep", par.ep, f"must divide parallelism.dp={par.dp} "
                          "(Megatron-Core's layout: expert-parallel ranks are data-parallel "
                          "ranks)")  # fmt: skip
    if not (math.isfinite(par.expert_imbalance) and par.expert_imbalance >= 1.0):
        raise ConfigError("parallelism.expert_imbalance", par.expert_imbalance, "must be >= 1")


def _validate_failures(config: Config) -> None:
    f, rec = config.failures, config.recovery
    if f.kind == "node_rate":
        _positive("failures.rate_per_1000_server_days", f.rate_per_1000_server_days)
        _fraction("failures.server_swap_fraction", f.server_swap_fraction)
        _one_of("failures.distribution", f.distribution, CLOCKS)
        _shape("failures.shape", f.distribution, f.shape)
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
            _name(key, name)
            _non_negative(f"{key}.rate_per_1000_server_days", c.rate_per_1000_server_days)
            _shape(f"{key}.shape", c.distribution, c.shape)
            if c.distribution == "empirical" and (
                not c.empirical or any(not v > 0 for v in c.empirical)
            ):
                raise ConfigError(f"{key}.empirical", c.empirical, "needs positive times")
            _positive(f"{key}.servers_down", c.servers_down)
            if c.detection_s is not None:
                _non_negative(f"{key}.detection_s", c.detection_s)
    _non_negative("failures.planned.per_day", f.planned.per_day)
    _non_negative("failures.planned.per_1000_server_days", f.planned.per_1000_server_days)
    _non_negative("failures.planned.duration_min", f.planned.duration_min)
    _fraction("failures.lemons.fraction", f.lemons.fraction, upper_open=True)
    if not (math.isfinite(f.lemons.rate_multiplier) and f.lemons.rate_multiplier >= 1.0):
        raise ConfigError(
            "failures.lemons.rate_multiplier", f.lemons.rate_multiplier, "must be >= 1"
        )
    _non_negative(
        "failures.stragglers.rate_per_1000_server_days", f.stragglers.rate_per_1000_server_days
    )
    if not 0.0 < f.stragglers.speed <= 1.0:
        raise ConfigError("failures.stragglers.speed", f.stragglers.speed, "must lie in (0, 1]")
    _positive("failures.stragglers.duration_h", f.stragglers.duration_h)
    if f.retire_after < 0:
        raise ConfigError("failures.retire_after", f.retire_after, "must be 0 (never) or more")
    _one_of("recovery.repair_distribution", rec.repair_distribution, CLOCKS)
    _shape("recovery.repair_shape", rec.repair_distribution, rec.repair_shape)
    if rec.repair_slots < 0:
        raise ConfigError(
            "recovery.repair_slots", rec.repair_slots, "must be 0 (unlimited) or more"
        )


def _validate_workload(config: Config) -> None:
    """Languages the premium table knows, mixes that add up, phases with positive shapes."""
    w, hw = config.workload, config.hardware
    _one_of("workload.tokenizer", w.tokenizer, list(premiums()))
    _positive("workload.tokens_per_word", w.tokens_per_word)
    _positive("workload.tokens_per_character", w.tokens_per_character)
    _positive("workload.tokens_per_core_s", w.tokens_per_core_s)
    _non_negative("workload.switch_restart_s", w.switch_restart_s)
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
        _name(f"workload.corpus.{key}", key)
        _one_of(f"workload.corpus.{key}.language", corpus.language, languages)
        _one_of(f"workload.corpus.{key}.unit", corpus.unit, UNITS)
        _positive(f"workload.corpus.{key}.amount", corpus.amount)
        _positive(f"workload.corpus.{key}.tokens_per_core_s", corpus.tokens_per_core_s)
    mixes = {"workload.mix": w.mix} | {
        f"workload.phases.{n}.mix": p.mix for n, p in w.phases.items()
    }
    for key, mix in mixes.items():
        for language, share in mix.items():
            _one_of(f"{key}.{language}", language, list(w.corpus))
            _positive(f"{key}.{language}", share)
        if mix and not math.isclose(sum(mix.values()), 1.0, rel_tol=1e-6):
            raise ConfigError(key, mix, "the shares must add up to 1")
    for name, phase in w.phases.items():
        _name(f"workload.phases.{name}", name)
        _positive(f"workload.phases.{name}.tokens", phase.tokens)
        _positive(f"workload.phases.{name}.seq_len", phase.seq_len)
        _positive(f"workload.phases.{name}.global_batch_size", phase.global_batch_size)
