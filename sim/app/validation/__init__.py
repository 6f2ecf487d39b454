"""Checks on a composed configuration, so a bad value fails early with one line that teaches.

One module per section (``plan``, ``run``, ``serving``), and the small checks they share."""

from __future__ import annotations

from sim.app.mix import check_mix
from sim.app.validation.checks import non_negative, one_of, positive
from sim.app.validation.plan import (
    validate_architecture,
    validate_batch,
    validate_layout,
    validate_machine,
    validate_memory,
    validate_throughput_inputs,
)
from sim.app.validation.run import (
    MAX_SPARES_PER_SERVER,
    validate_failures,
    validate_finishable,
    validate_sim,
    validate_workload,
)
from sim.app.validation.serving import validate_serving
from sim.config import Config
from sim.errors import ConfigError
from sim.perf.memory import PRECISIONS
from sim.perf.model import RECOMPUTE_MODES
from sim.perf.workload import phases
from sim.training.checkpointing import REGISTRY


def validate(config: Config) -> None:
    """Raise ``ConfigError`` on the first value the simulator cannot use."""
    validate_machine(config)
    if config.mix is not None:  # each group a serving run of its own
        for name, group in check_mix(config).items():
            if group.serving is not None and group.serving.replicas == 0:
                continue  # a group left empty (a fleet of the other kinds only)
            try:
                validate(group)
            except ConfigError as error:
                raise ConfigError(f"mix.groups.{name}: {error.key}", error.value,
                                  error.valid) from None  # fmt: skip
    if config.serving is not None:  # a serving run: no training plan to check
        validate_architecture(config.model, config.parallelism)
        validate_serving(config)
        validate_failures(config)
        validate_sim(config)
        return
    if config.engine is not None:
        raise ConfigError("engine", config.engine.name, "only a serving run has a serving engine; "
                          "pick a serving option (serving=NAME) or drop engine=")  # fmt: skip
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
        positive(key, value)
    for key, value in {
        "parallelism.fewer_layers_first_last": par.fewer_layers_first_last,
        "cluster.spare_servers": config.cluster.spare_servers,
        "checkpoint.overhead_s": config.checkpoint.overhead_s,
        "recovery.diagnosis_s": config.recovery.diagnosis_s,
    }.items():
        non_negative(key, value)
    one_of("parallelism.recompute", par.recompute, RECOMPUTE_MODES)
    one_of("parallelism.dtype", par.dtype, list(PRECISIONS))
    if par.dtype == "fp8" and not config.hardware.peak_tflops_fp8:
        raise ConfigError("parallelism.dtype", par.dtype, f"{config.hardware.name} has no FP8 "
                          "(hardware.peak_tflops_fp8 is unset); valid: bf16, fp32")  # fmt: skip
    if par.zero_stage not in (0, 1, 2, 3):
        raise ConfigError("parallelism.zero_stage", par.zero_stage, "must be 0, 1, 2 or 3")
    validate_architecture(model, par)
    validate_throughput_inputs(config)
    validate_workload(config)
    for spec in phases(config):  # every phase's shape must fit and split
        validate_layout(spec.config)
        validate_memory(spec.config)  # before the batch: memory is what a bad plan hits first
        validate_batch(spec.config)
    validate_failures(config)
    positive("checkpoint.persist_every", config.checkpoint.persist_every)
    if config.checkpoint.mtbf_guess_h is not None:
        positive("checkpoint.mtbf_guess_h", config.checkpoint.mtbf_guess_h)
    positive("checkpoint.store_tbyte_per_s", config.checkpoint.store_tbyte_per_s)
    positive("checkpoint.host_copy_gbyte_per_s", config.checkpoint.host_copy_gbyte_per_s)
    for key, maybe in (
        ("checkpoint.write_s", config.checkpoint.write_s),
        ("recovery.restore_s", config.recovery.restore_s),
    ):
        if maybe is not None:
            non_negative(key, maybe)
    if REGISTRY[str(config.checkpoint.policy)].uses_interval:
        positive("checkpoint.interval_min", config.checkpoint.interval_min)
    if config.cluster.spare_servers > MAX_SPARES_PER_SERVER * config.cluster.servers:
        raise ConfigError("cluster.spare_servers", config.cluster.spare_servers,
                          f"at most {MAX_SPARES_PER_SERVER} x cluster.servers = "
                          f"{MAX_SPARES_PER_SERVER * config.cluster.servers:,}")  # fmt: skip
    validate_finishable(config)
    validate_sim(config)
