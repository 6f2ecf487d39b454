"""The machine, the model and the parallelism plan: what fits, splits and can be timed."""

from __future__ import annotations

import math

from sim.app.validation.checks import divisors, fraction, non_negative, one_of, positive
from sim.config import Config, ModelConfig, ParallelismConfig
from sim.errors import ConfigError
from sim.perf.memory import layer_slots, memory_per_device
from sim.perf.model import MLP_MATRICES, NORM_PARAMETERS


def validate_machine(config: Config) -> None:
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
        positive(key, value)
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
        non_negative(key, value)
    for key, maybe in (
        ("hardware.peak_tflops_fp8", hw.peak_tflops_fp8),
        ("hardware.peak_tops_int8", hw.peak_tops_int8),
    ):
        if maybe is not None:
            positive(key, maybe)
    one_of("model.mlp", model.mlp, list(MLP_MATRICES))
    one_of("model.norm", model.norm, list(NORM_PARAMETERS))
    if hw.fp8_gemm_efficiency is not None:
        fraction("hardware.fp8_gemm_efficiency", hw.fp8_gemm_efficiency)
    if model.hidden % model.heads:
        raise ConfigError("model.heads", model.heads, f"must divide model.hidden={model.hidden}")
    if model.heads % model.kv_heads:
        raise ConfigError(
            "model.kv_heads", model.kv_heads, f"must divide model.heads={model.heads}"
        )


def validate_layout(config: Config) -> None:
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
    validate_interleaving(config)


def validate_batch(config: Config) -> None:
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


def validate_memory(config: Config) -> None:
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


def validate_throughput_inputs(config: Config) -> None:
    """The step-time constants must be usable; the overlap must be a share."""
    hw, par = config.hardware, config.parallelism
    for key in ("gemm_efficiency", "flash_attention_efficiency", "memory_efficiency",
                "comm_efficiency"):  # fmt: skip
        value = getattr(hw, key)
        if not 0 < value <= 1:
            raise ConfigError(f"hardware.{key}", value, "must lie in (0, 1]")
    positive("hardware.gemm_half_dim", hw.gemm_half_dim)
    non_negative("hardware.intra_server_latency_us", hw.intra_server_latency_us)
    non_negative("hardware.network_latency_us", hw.network_latency_us)
    if not 0 <= par.tp_overlap <= 1:
        raise ConfigError("parallelism.tp_overlap", par.tp_overlap, "must lie in [0, 1]")


def validate_interleaving(config: Config) -> None:
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


def validate_architecture(model: ModelConfig, par: ParallelismConfig) -> None:
    """Mixture-of-experts and MLA fields, and the expert-parallel layout (Megatron-Core's: the
    ep ranks of an expert group are data-parallel ranks, so ep divides dp)."""
    if model.experts:
        for key in ("experts_per_token", "expert_ffn_hidden"):
            positive(f"model.{key}", getattr(model, key))
        if model.experts_per_token > model.experts:
            raise ConfigError("model.experts_per_token", model.experts_per_token,
                              f"must be at most model.experts={model.experts}")  # fmt: skip
        positive("model.moe_every", model.moe_every)
        if not 0 <= model.dense_layers < model.layers:
            valid = f"must be from 0 to model.layers - 1 = {model.layers - 1}"
            raise ConfigError("model.dense_layers", model.dense_layers, valid)
    if model.attention == "mla":
        for key in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
            positive(f"model.{key}", getattr(model, key))
    for key in ("max_devices_per_token", "max_servers_per_token"):
        non_negative(f"model.{key}", getattr(model, key))
    positive("parallelism.ep", par.ep)
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
