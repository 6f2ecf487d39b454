"""The bad-input corpus: every mistake a user can make on the command line, in a YAML scenario
file or through the Python API is refused in one line that names the key, the bad value and what
is valid (exit code 2 on the command line, ``ConfigError`` or ``TypeError`` in Python), before
anything is simulated or written. `CORPUS_SIZE` is stated in the README (a test keeps it true)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, run_command

import sim
from sim.app.cli import preflight

pytestmark = pytest.mark.slow  # 115 bad inputs, a Hydra composition each, and three CLI runs

# Command-line overrides on llama_405b, checked in-process by the preflight `python -m sim` runs.
OVERRIDES = [
        ("scenario=nope", "scenario=nope: no such option; valid: cheapest_mix, "
         "cheapest_under_deadline, cpu_llama_1b, deepseek_dense_vs_moe, deepseek_v2, gpu_vs_cpu, "
         "llama_405b"),
        ("hardware=nope", "hardware=nope: no such option; valid: a100_sxm, b200, epyc_9175f, "
         "epyc_9755, epyc_genoa, h100_sxm, h200_sxm, h800_sxm, mi300x, rtx_4090, xeon6_6980p, "
         "xeon_gold_6454s, xeon_spr_amx"),
        ("engine=nope", "engine=nope: no such option; valid: itrex, ktransformers, llama_cpp, "
         "sglang, sglang_cpu, trtllm, vllm"),
        ("engine=sglang_cpu", "engine='sglang_cpu': only a serving run has a serving engine"),
        ("cheese.size=1", "cheese.size=1: unknown key 'cheese'; valid: hardware, model"),
        ("sim.speed=1", "sim.speed=1: unknown key 'sim.speed'; valid: sim.seed"),
        ("+sim.speed=1", "sim.speed=1: unknown key; valid:"),
        ("sim.seed=[1", "sim.seed=[1: malformed override"),
        ("sim.seed=abc", "sim.seed=abc: Value 'abc' of type 'str' could not be converted"),
        ("failures=node_rate failures.rate_per_1000_server_days=-1",
         "failures.rate_per_1000_server_days=-1.0: must be a positive finite number"),
        ("failures=node_rate failures.rate_per_1000_server_days=0",
         "failures.rate_per_1000_server_days=0.0: must be a positive finite number"),
        (
            "failures.categories.faulty_gpu.rate_per_1000_server_days=-1",
            "failures.categories.faulty_gpu.rate_per_1000_server_days=-1.0: must be zero or a "
            "positive",
        ),
        (
            "failures.rate_per_1000_server_days=3",
            "failures.rate_per_1000_server_days=3.0: is used only with failures=node_rate",
        ),
        ("checkpoint.interval_min=0", "checkpoint.interval_min=0.0: must be a positive"),
        ("checkpoint.interval_min=-5", "checkpoint.interval_min=-5.0: must be a positive"),
        ("recovery.repair_h=0", "recovery.repair_h=0.0: must be a positive"),
        ("recovery.restart_s=-1", "recovery.restart_s=-1.0: must be zero or a positive"),
        ("sim.horizon_days=0", "sim.horizon_days=0.0: must be a positive"),
        ("sim.replicates=0", "sim.replicates=0: must be at least 1"),
        ("checkpoint.policy=sometimes", "checkpoint.policy=sometimes: Invalid value 'sometimes', "
         "expected one of [none, fixed, young, daly, adaptive, async, multilevel, lossless]"),
        ("failures.categories.cpu.scope=rack", "expected one of [device, server, switch, job, "
         "cluster]"),
        ("failures.categories.cpu.recovery=reboot", "expected one of [swap, restart]"),
        ("failures=node_rate failures.distribution=empirical",
         "failures.distribution='empirical': unknown option; valid: exponential, weibull, "
         "lognormal"),
        ("hardware=a100_sxm parallelism.dtype=fp8", "parallelism.dtype='fp8': a100_sxm has no FP8"),
        ("hardware.kind=tpu", "hardware.kind=tpu: Invalid value 'tpu', expected one of [gpu, cpu]"),
        ("parallelism.dp=64", "the product must equal the device count cluster.servers x "
         "hardware.devices_per_server = 2048 x 8 = 16384"),
        ("parallelism.tp=16 parallelism.dp=64", "parallelism.tp=16: tensor parallelism must stay "
         "inside one server: at most hardware.devices_per_server=8"),
        ("parallelism.pp=9 parallelism.dp=228", "product must equal"),
        (
            "parallelism.pp=32 parallelism.dp=64 parallelism.fewer_layers_first_last=0",
            "parallelism.pp=32: must divide model.layers=126",
        ),
        ("parallelism.tp=1 parallelism.pp=1 parallelism.dp=16384 parallelism.virtual_stages=1",
         "does not fit in memory: needs "
         "weights 756.0 + gradients 0.0 + optimizer 0.3 + activations 503.7 + reserve 4.0 = "
         "1264.0 GiB on pipeline stage 0, but H100 SXM 80GB has 80 GiB; try: raise "
         "parallelism.tp (up to 8); raise parallelism.pp; set parallelism.recompute=full"),
        ("sim.seed=-1", "sim.seed=-1: must be 0 or more"),
        ("failures.categories.faulty_gpu.distribution=weibull "
         "failures.categories.faulty_gpu.shape=0.001",
         "failures.categories.faulty_gpu.shape=0.001: a weibull shape must lie in (0.05, 50]"),
        ("failures=node_rate failures.distribution=lognormal failures.shape=40",
         "failures.shape=40.0: a lognormal shape must lie in (0, 4]"),
        ("recovery.repair_distribution=lognormal recovery.repair_shape=10",
         "recovery.repair_shape=10.0: a lognormal shape must lie in (0, 4]"),
        ("parallelism.virtual_stages=3", "parallelism.virtual_stages=3: must divide the 8 layer"),
        ("parallelism.virtual_stages=1000", "parallelism.virtual_stages=1000: must divide"),
        ("pricing.pue=0.5", "pricing.pue=0.5: must be 1 or more"),
        ("failures.lemons.rate_multiplier=inf",
         "failures.lemons.rate_multiplier=inf: must be >= 1"),
        ("failures.lemons.fraction=1", "failures.lemons.fraction=1.0: must lie in [0, 1)"),
        ("+failures.planned.colour=1", "failures.planned.colour=1: unknown key; valid: "
         "failures.planned.duration_min, failures.planned.per_1000_server_days, "
         "failures.planned.per_day"),
        ("failures.categories.faulty_gpu.colour=2", "valid: failures.categories.faulty_gpu.scope"),
        ("checkpoint.interval_min=0.0001", "checkpoint.interval_min=0.0001: at least"),
        ("failures=node_rate failures.rate_per_1000_server_days=1e7", "so it can never finish"),
        ("cluster.spare_servers=100000", "cluster.spare_servers=100000: at most 10 x"),
        ("sim.replicates=1000000", "sim.replicates=1000000: must be at least 1 and at most"),
        ("sim.objective=nope", "sim.objective='nope': unknown option; valid: cost_usd"),
        ("sim.max_events=10", "sim.max_events=10: must be at least 1,000"),
        ("sim.workers=0", "sim.workers=0: must be at least 1"),
        ("sim.deadline_days=0", "sim.deadline_days=0.0: must be a positive"),
        ("sim.horizon_days=-3", "sim.horizon_days=-3.0: must be a positive"),
        ("model.heads=7", "model.heads=7: must divide model.hidden=16384"),
        ("model.kv_heads=3", "model.kv_heads=3: must divide model.heads=128"),
        ("model.mlp=relu", "model.mlp='relu': unknown option; valid: swiglu, gelu"),
        ("hardware.peak_tflops_bf16=0", "hardware.peak_tflops_bf16=0.0: must be a positive"),
        ("hardware.memory_gib=-80", "hardware.memory_gib=-80.0: must be a positive"),
        ("hardware.fp8_gemm_efficiency=2", "hardware.fp8_gemm_efficiency=2.0: must lie in [0, 1]"),
        ("parallelism.zero_stage=4", "parallelism.zero_stage=4: must be 0, 1, 2 or 3"),
        ("parallelism.recompute=some", "parallelism.recompute='some': unknown option"),
        ("parallelism.ep=2", "parallelism.ep=2: llama3_405b has no experts; valid: 1"),
        ("workload.tokens=-1", "workload.tokens=-1.0: must be a positive"),
        ("workload.tokenizer=nope", "workload.tokenizer='nope': unknown option"),
        ("checkpoint.persist_every=0", "checkpoint.persist_every=0: must be a positive"),
        ("checkpoint.store_tbyte_per_s=0", "checkpoint.store_tbyte_per_s=0.0: must be a positive"),
        ("failures.planned.per_day=-1",
         "failures.planned.per_day=-1.0: must be zero or a positive"),
        ("failures.stragglers.speed=0", "failures.stragglers.speed=0.0: must lie in (0, 1]"),
        ("failures.retire_after=-1", "failures.retire_after=-1: must be 0 (never) or more"),
        ("recovery.repair_slots=-1", "recovery.repair_slots=-1: must be 0 (unlimited) or more"),
        ("failures.categories.faulty_gpu.servers_down=0",
         "failures.categories.faulty_gpu.servers_down=0: must be a positive"),
        ("checkpoint.policy=none", "checkpoint.policy='none': the job needs 1.64e+03 h without a "
         "stop but a planned stop comes every 27.6 h and saves nothing, so it can never finish"),
        ("scenario=cpu_llama_1b checkpoint.policy=none failures=node_rate "
         "failures.rate_per_1000_server_days=2000", "the job needs 0.347 days without an "
         "interruption but expects one every 0.188 h, so it can never finish"),
        ("scenario=cpu_llama_1b checkpoint.policy=none failures.planned.per_day=4",
         "a planned stop comes every 5.96 h and saves nothing, so it can never finish"),
        # Serving (scenario=mlperf_llama2_70b follows the llama_405b one)
        ("scenario=mlperf_llama2_70b serving.tp=3", "serving.tp=3: must divide the 8 devices"),
        ("scenario=mlperf_llama2_70b serving.tp=12", "serving.tp=12: must be a multiple of 8"),
        ("scenario=mlperf_llama2_70b serving.rate_per_s=-1",
         "serving.rate_per_s=-1.0: must be a positive finite number"),
        ("scenario=mlperf_llama2_70b serving.kv_cache=int4",
         "serving.kv_cache='int4': valid: bf16, fp8, int8"),
        ("scenario=mlperf_llama2_70b serving.requests=null serving.arrivals=offline",
         "serving.requests=None: offline arrivals need a count"),
        ("scenario=mlperf_llama2_70b serving.requests=null serving.arrivals=closed",
         "serving.requests=None: closed arrivals need a count"),
        ("scenario=mlperf_llama2_70b serving.concurrency=0",
         "serving.concurrency=0: must be a positive finite number"),
        ("scenario=mlperf_llama2_70b serving.concurrency=8",
         "serving.concurrency=8: is used only with serving.arrivals=closed"),
        ("scenario=mlperf_llama2_70b hardware=xeon6_6980p engine=trtllm",
         "engine='trtllm': a GPU engine (its kernels launch on a GPU); on xeon6_6980p use "
         "sglang_cpu, llama_cpp or itrex"),
        ("scenario=mlperf_llama2_70b engine=llama_cpp",
         "engine='llama_cpp': a CPU engine (its overhead is in CPU cycles); on h100_sxm use "
         "trtllm, vllm or sglang"),
        ("scenario=mlperf_llama2_70b serving.slo_attainment=2",
         "serving.slo_attainment=2.0: must lie in [0, 1]"),
        ("scenario=mlperf_llama2_70b serving.diurnal_peak_to_mean=3",
         "serving.diurnal_peak_to_mean=3.0: must lie in [1, 2]"),
        ("scenario=mlperf_llama2_70b serving.colour=red", "unknown key 'serving.colour'"),
        ("scenario=mlperf_llama2_70b serving.weights=int3",
         "serving.weights=int3: Invalid value 'int3'"),
        ("scenario=mlperf_llama2_70b model=llama3_405b serving.weights=bf16",
         "does not fit H100 SXM 80GB"),
        ("scenario=mlperf_llama2_70b serving.requests=null serving.rate_per_s=1e6",
         "serving.duration_s=3600.0: about 3,600,000,000 requests"),
        ("scenario=mlperf_llama2_70b serving.prompt_tokens.mean=0",
         "serving.prompt_tokens.mean=0.0: must be a positive"),
        ("scenario=mlperf_llama2_70b serving.kv_memory_fraction=0",
         "serving.kv_memory_fraction=0.0: must lie in (0, 1]"),
        ("scenario=mlperf_llama2_70b serving.arrivals=trace",
         "serving.trace=None: trace arrivals need a CSV path"),
        ("scenario=mlperf_llama2_70b serving.prompt_tokens.distribution=dataset",
         "serving.prompt_tokens.dataset=None: distribution=dataset needs FILE.csv:COLUMN"),
        ("scenario=mlperf_llama31_405b serving.prompt_tokens.dataset=nope.csv:input_length",
         "serving.prompt_tokens.dataset='nope.csv:input_length': a CSV in sim/data or a path"),
        ("scenario=mlperf_llama31_405b serving.output_tokens.dataset="
         "mlperf_llama31_405b_lengths.csv:reply",
         "no column reply; valid: input_length, output_length"),
        ("scenario=mlperf_llama31_405b serving.prompt_tokens.mean=5000",
         "serving.prompt_tokens.mean=5000.0: the dataset's lengths (clipped to 20000) average "
         "9428.64"),
        ("scenario=mlperf_llama2_70b serving.prompt_tokens.dataset=x.csv:y",
         "serving.prompt_tokens.dataset='x.csv:y': only read with "
         "serving.prompt_tokens.distribution=dataset"),
        ("scenario=mlperf_llama2_70b serving.idle_power_fraction=1.5",
         "serving.idle_power_fraction=1.5: must lie in [0, 1]"),
        ("scenario=mlperf_llama2_70b serving.pp=3",
         "serving.pp=3: tp x pp = 6 devices must divide the 8 of a server"),
        ("scenario=mlperf_llama2_70b serving.tp=8 serving.pp=128",
         "serving.pp=128: at most model.layers=80 stages"),
        ("scenario=mlperf_llama2_70b serving.pp=0",
         "serving.pp=0: must be a positive finite number"),
        # Side-by-side variants: each one checked before any runs
        ("scenario=gpu_vs_cpu compare.cpu=[\"hardware=nope\"]",
         "compare.cpu: hardware=nope: no such option"),
        ("scenario=gpu_vs_cpu compare.cpu=[\"hardware=xeon_spr_amx\",\"cluster.servers=3\"]",
         "compare.cpu: parallelism='tp=1 x pp=1 x dp=16 x cp=1 = 16': the product must equal"),
        # Mixed fleets: the mix, and each group as a serving run of its own
        ("scenario=serve_mixed_fleet mix.classes.batch.groups=[tpu]",
         "mix.classes.batch.groups='tpu': no such group; valid: gpu, cpu"),
        ("scenario=serve_mixed_fleet mix.classes.batch.share=0.5",
         "mix.classes='shares summing to 1.1': the classes' shares of serving.rate_per_s must sum"),
        ("scenario=serve_mixed_fleet mix.groups.cpu.hardware=nope",
         "mix.groups.cpu.hardware='nope': no such option; valid: a100_sxm"),
        ("scenario=serve_mixed_fleet mix.groups.cpu.serving.tp=3",
         "mix.groups.cpu: serving.tp=3: must be a multiple of 2 across servers"),
        ("scenario=serve_mixed_fleet mix.groups.cpu.serving.max_batched_tokens=1",
         "the group does not set serving.max_batched_tokens yet; add it: "
         "+mix.groups.cpu.serving.max_batched_tokens=..."),
        ("scenario=serve_mixed_fleet +mix.groups.cpu.serving.colour=1",
         "mix.groups.cpu.serving.colour=1: unknown key; valid: arrivals"),
        ("scenario=serve_mixed_fleet mix.groups.gpu.replicas=0",
         "mix.classes.interactive.groups=['gpu']: no replica serves this class"),
        ("scenario=serve_mixed_fleet mix.classes.batch.arrivals=trace",
         "mix.classes.batch.arrivals='trace': valid: poisson, diurnal"),
        ("scenario=serve_mixed_fleet mix.classes.batch.slo_ttft_s=0",
         "mix.classes.batch.slo_ttft_s=0.0: must be > 0"),
        ("scenario=serve_mixed_fleet serving.rates_per_s=[1]",
         "serving.rates_per_s=[1.0]: the capacity search runs one fleet; for a mix, leave it"),
        # Hybrid replicas: the experts must fit the host; GPUs with a stated host link
        ("scenario=serve_mixed_fleet mix.groups.hybrid.replicas=1 "
         "mix.groups.hybrid.serving.weights=bf16",
         "mix.groups.hybrid: host.memory_gib=512.0: the routed experts of deepseek_v3 in bf16 "
         "need 1,218 GiB of host memory"),
        ("scenario=serve_mixed_fleet mix.groups.hybrid.replicas=1 "
         "mix.groups.hybrid.hardware=h100_sxm",
         "mix.groups.hybrid: hardware.pcie_gbyte_per_s=None: h100_sxm states no link to its host"),
        ("scenario=serve_mixed_fleet mix.groups.hybrid.replicas=1 "
         "mix.groups.hybrid.host=h100_sxm",
         "mix.groups.hybrid: host='h100_sxm': a hybrid replica is GPUs"),
]  # fmt: skip

# Hydra's own flags and settings, which used to print usage or a traceback.
FLAGS = [
    (["--cfg", "jbo"], "--cfg: argument --cfg/-c: invalid choice: 'jbo'"),
    (["--colour"], "--colour: unrecognized arguments: --colour; see --help"),
    (["--config-dir", "/no/such/dir"], "--config-dir /no/such/dir: no such directory"),
    (["sim.seed=1", "--cfg", "job", "sim.seed=2"], "put -m and other flags before the overrides"),
    (["hydra.run.dir=README.md/x"], "README.md is a file; valid: a directory path"),
    (["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0", "sim.seed=1,2"],
     "hydra.launcher.n_jobs=0: must be at least 1"),
    (["-m", "checkpoint.interval_min=interval(2,60)"], "are the Optuna sweeper's syntax"),
    (["-m", "sim.seed=1,abc"], "sim.seed=abc: Value 'abc' of type 'str' could not be converted"),
    (["-m", "hardware=h100_sxm,nope"], "hardware=nope: no such option"),
]  # fmt: skip

# YAML scenario files in a user's config directory (--config-dir DIR scenario=NAME).
SCENARIO_FILES = {
    "negative_replicates": ("sim:\n  replicates: -1\n", "sim.replicates=-1: must be at least 1"),
    "unknown_key": ("sim:\n  speed: 1\n",
                    "sim.speed (in scenario/unknown_key.yaml): unknown key 'sim.speed'"),
    "unknown_option": ("defaults:\n  - override /hardware: nope\n",
                       "hardware=nope: no such option"),
    "bad_scope": ("failures:\n  categories:\n    nic:\n      scope: rack\n",
                  "expected one of [device, server, switch, job, cluster]"),
    "category_key": ("failures:\n  categories:\n    nic:\n      colour: red\n",
                     "failures.categories.nic.colour='red': unknown key"),
    "bad_variant": ("compare:\n  a: []\n  b: [parallelism.tp=3]\n",
                    "compare.b: parallelism='tp=3 x pp=16 x dp=128"),
    "string_number": ("checkpoint:\n  interval_min: often\n",
                      "checkpoint.interval_min=often (in scenario/string_number.yaml): Value "
                      "'often' of type 'str' could not be converted to Float"),
}  # fmt: skip


def _api_cases() -> list[tuple[str, type[Exception], str]]:
    return [
        ("load_config('nope')", sim.ConfigError, "scenario=nope: no such option; valid:"),
        ("load_config('llama_405b', ['sim.speed=1'])", sim.ConfigError,
         "sim.speed=1: unknown key 'sim.speed'"),
        ("load_config('llama_405b', 'sim.seed=1')", TypeError,
         "overrides must be a list of 'key=value' strings"),
        ("load_config('llama_405b', ['sim.seed=[1'])", sim.ConfigError,
         "sim.seed=[1: malformed override"),
        ("load_config('llama_405b', ['sim.seed=abc'])", sim.ConfigError,
         "sim.seed=abc: Value 'abc' of type 'str' could not be converted"),
        ("load_config('mine', config_dir='/no/such/dir')", sim.ConfigError,
         "config_dir='/no/such/dir': no such directory"),
        ("run('llama_405b')", TypeError, "sim.run needs a sim.Config (from sim.load_config)"),
        ("run(retyped(seed='x'))", sim.ConfigError, "sim.seed='x': Value 'x' of type 'str'"),
        ("run(retyped(replicates=2.5))", sim.ConfigError, "sim.replicates=2.5"),
        ("run(retyped(replicates=-4))", sim.ConfigError, "sim.replicates=-4: must be at least 1"),
    ]  # fmt: skip


def retyped(**changes: object) -> sim.Config:
    config = sim.load_config("llama_405b")
    for key, value in changes.items():
        setattr(config.sim, key, value)
    return config


CORPUS_SIZE = len(OVERRIDES) + len(FLAGS) + len(SCENARIO_FILES) + len(_api_cases())


@pytest.mark.parametrize(("override", "message"), OVERRIDES)
def test_a_bad_override_is_named_in_one_line(override: str, message: str) -> None:
    problem = preflight(["scenario=llama_405b", *override.split()])
    assert problem is not None and "\n" not in problem
    assert message in problem


@pytest.mark.parametrize(("argv", "message"), FLAGS)
def test_a_bad_flag_or_hydra_setting_is_one_line(argv: list[str], message: str) -> None:
    problem = preflight([*argv, "scenario=llama_405b"])
    assert problem is not None and "\n" not in problem
    assert message in problem


@pytest.mark.parametrize("name", list(SCENARIO_FILES))
def test_a_bad_scenario_file_is_one_line(name: str, tmp_path: Path) -> None:
    body, message = SCENARIO_FILES[name]
    (tmp_path / "scenario").mkdir()
    header = "# @package _global_\n"
    if not body.startswith("defaults"):
        header += "defaults:\n  - override /hardware: h100_sxm\n"
    (tmp_path / "scenario" / f"{name}.yaml").write_text(header + body)
    problem = preflight(["--config-dir", str(tmp_path), f"scenario={name}"])
    assert problem is not None and "\n" not in problem
    assert message in problem


@pytest.mark.parametrize(("call", "kind", "message"), _api_cases())
def test_the_python_api_refuses_in_the_same_line(call: str, kind: type, message: str) -> None:
    with pytest.raises(kind) as error:
        eval(call, {"load_config": sim.load_config, "run": sim.run, "retyped": retyped})
    assert "\n" not in str(error.value) and message in str(error.value)
    assert "sim" in error.traceback[-1].frame.code.path.parts  # raised by sim, not Hydra


@pytest.mark.parametrize(
    "argv",
    [["sim.seed=abc"], ["--cfg", "jbo"], ["scenario=mlperf_llama2_70b", "serving.tp=3"]],
)  # fmt: skip
def test_the_command_line_exits_2_with_one_line_and_writes_nothing(
    argv: list[str], tmp_path: Path
) -> None:
    flags = [a for a in argv if a.startswith("-")]
    rest = [a for a in argv if a not in flags]
    proc = run_command(
        "sim", *flags, "scenario=llama_405b", *rest, f"hydra.run.dir={tmp_path}/out", cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_readme_states_the_corpus_size() -> None:
    assert CORPUS_SIZE >= 80
    readme = (REPO / "README.md").read_text()
    assert f"a corpus of {CORPUS_SIZE} bad inputs" in readme
