"""A serving run: traffic, replicas, precision, batching and targets."""

from __future__ import annotations

from sim.app.validation.checks import divisors, fraction, non_negative, positive, valid_name
from sim.config import Config, LengthConfig
from sim.errors import ConfigError
from sim.perf.inference import replica_memory, serving_of
from sim.serving.traffic import dataset_lengths

MAX_REQUESTS = 2_000_000  # per serving replicate: under a minute of simulation, under 1 GB


def validate_serving(config: Config) -> None:
    """Traffic, fleet and targets; then the replica must fit its devices (with the breakdown)."""
    serving = serving_of(config)
    valid_name("serving.name", serving.name)
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
        positive(key, value)
    for key, value in {
        "serving.step_overhead_ms": serving.step_overhead_ms,
        "serving.load_weights_s": serving.load_weights_s,
        "serving.prompt_tokens.sigma": serving.prompt_tokens.sigma,
        "serving.output_tokens.sigma": serving.output_tokens.sigma,
    }.items():
        non_negative(key, value)
    for key, spec in (("prompt_tokens", serving.prompt_tokens),
                      ("output_tokens", serving.output_tokens)):  # fmt: skip
        _check_dataset(f"serving.{key}", spec)
    fraction("serving.idle_power_fraction", serving.idle_power_fraction)
    fraction("serving.slo_attainment", serving.slo_attainment)
    if not 0.0 < serving.kv_memory_fraction <= 1.0:
        raise ConfigError("serving.kv_memory_fraction", serving.kv_memory_fraction,
                          "must lie in (0, 1]")  # fmt: skip
    if not 1.0 <= serving.diurnal_peak_to_mean <= 2.0:
        raise ConfigError("serving.diurnal_peak_to_mean", serving.diurnal_peak_to_mean,
                          "must lie in [1, 2] (a sinusoid around the mean rate)")  # fmt: skip
    if serving.requests is not None:
        positive("serving.requests", serving.requests)
    elif serving.arrivals in ("offline", "closed"):
        raise ConfigError("serving.requests", None,
                          f"{serving.arrivals} arrivals need a count of requests")  # fmt: skip
    positive("serving.concurrency", serving.concurrency)
    if serving.concurrency != 1 and serving.arrivals != "closed":
        raise ConfigError("serving.concurrency", serving.concurrency,
                          "is used only with serving.arrivals=closed")  # fmt: skip
    _check_engine(config)
    _check_hybrid(config)
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
        positive("serving.rates_per_s", rate)
    for name, slo in serving.slos.items():
        valid_name(f"serving.slos.{name}", name)
        positive(f"serving.slos.{name}.ttft_s", slo.ttft_s)
        positive(f"serving.slos.{name}.tpot_s", slo.tpot_s)
    replica_memory(config)


def _check_dataset(key: str, spec: LengthConfig) -> None:
    """A dataset distribution names its lengths, and its ``mean`` (what the unloaded-latency
    closed form reads) is theirs."""
    if spec.distribution != "dataset":
        if spec.dataset is not None:
            raise ConfigError(f"{key}.dataset", spec.dataset,
                              f"only read with {key}.distribution=dataset")  # fmt: skip
        return
    if spec.dataset is None:
        raise ConfigError(f"{key}.dataset", None, "distribution=dataset needs FILE.csv:COLUMN")
    try:
        values = dataset_lengths(spec.dataset)
    except ConfigError as error:
        raise ConfigError(f"{key}.dataset", spec.dataset, error.valid) from None
    mean = float(values.clip(max=spec.max).mean())
    if abs(spec.mean / mean - 1.0) > 0.01:
        why = f"the dataset's lengths (clipped to {spec.max}) average {mean:.6g}"
        raise ConfigError(f"{key}.mean", spec.mean, why)


def _check_engine(config: Config) -> None:
    """A GPU engine counts kernel launches, a CPU engine cycles of its host: each on its kind."""
    engine, hw = config.engine, config.hardware
    if engine is None:
        return
    if hw.kind == "cpu" and engine.kernel_floor_us:
        raise ConfigError("engine", engine.name, f"a GPU engine (its kernels launch on a GPU); on "
                          f"{hw.name} use sglang_cpu, llama_cpp or itrex")  # fmt: skip
    if hw.kind == "gpu" and (
        engine.layer_overhead_kcycles or engine.vector_kernels or engine.score_cycles
    ):
        raise ConfigError("engine", engine.name, f"a CPU engine (its overhead is in CPU cycles); "
                          f"on {hw.name} use trtllm, vllm or sglang")  # fmt: skip


def _check_hybrid(config: Config) -> None:
    """A hybrid replica: GPUs with a stated host link, a CPU host with a CPU engine, a mixture
    of experts (the host runs its routed experts)."""
    host, hw = config.host, config.hardware
    if host is None:
        if config.host_engine is not None:
            raise ConfigError("host_engine", config.host_engine.name, "a host engine runs a "
                              "hybrid replica's experts: add its host, "
                              "+hardware@host=NAME")  # fmt: skip
        return
    if host.kind != "cpu" or hw.kind != "gpu":
        raise ConfigError("host", host.name, f"a hybrid replica is GPUs ({hw.name} is a "
                          f"{hw.kind.value} server) with a CPU host ({host.name} is a "
                          f"{host.kind.value}); valid hosts: CPU hardware options")  # fmt: skip
    if not config.model.experts:
        raise ConfigError("host", host.name, f"{config.model.name} has no routed experts for the "
                          "host to run; a hybrid replica serves a mixture of experts")  # fmt: skip
    if hw.pcie_gbyte_per_s is None or hw.pcie_latency_us is None:
        raise ConfigError("hardware.pcie_gbyte_per_s", hw.pcie_gbyte_per_s, f"{hw.name} states no "
                          "link to its host (pcie_gbyte_per_s and pcie_latency_us); a hybrid "
                          "replica moves each MoE layer's hidden states over it")  # fmt: skip
    engine = config.host_engine
    if engine is not None and engine.kernel_floor_us:
        raise ConfigError("host_engine", engine.name, "a GPU engine; the host runs a CPU engine "
                          "(ktransformers, llama_cpp)")  # fmt: skip
    if serving_of(config).pp > 1:
        raise ConfigError("serving.pp", serving_of(config).pp, "a hybrid replica has one stage")
