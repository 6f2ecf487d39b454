"""Calibration of the serving engines' constants on published CPU serving runs, in the open.

Each row of ``sim/data/cpu_llm_serving.csv`` is one request at a time (TTFT and TPOT) on a CPU
server under one engine: SGLang and llama.cpp on the same 2x Xeon 6980P, Intel's ITREX runtime on
a Xeon 8480+ socket, llama.cpp on 2x EPYC 9175F. An engine's constants (``conf/engine/<name>.yaml``,
the fields of ``sim.config.EngineConfig``) are fitted on that engine's rows only, by least
squares on the log errors of TTFT and TPOT, and every row is printed with its leave-one-out
error: the row predicted by a fit on the engine's other rows. ``python -m sim.calibrate`` prints
them after the step-time fits; ``tests/app/test_serving_calibration.py`` fails when a YAML and the
fit disagree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from scipy.optimize import least_squares

from sim.app.loading import data_rows, load_config
from sim.config import Config, EngineConfig
from sim.serving.engine import unloaded_latency

DATA = files("sim") / "data" / "cpu_llm_serving.csv"
HELD_OUT = files("sim") / "data" / "cpu_llm_serving_held_out.csv"  # never fitted on
SOURCE_ENGINE = {
    "sglang_xeon6": "sglang_cpu",
    "llamacpp_xeon6": "llama_cpp",
    "llamacpp_epyc": "llama_cpp",
    "itrex_spr": "itrex",
}
SOURCES = {  # as the data file's header cites them
    "sglang_xeon6": "SGLang CPU-backend blog (lmsys.org, 2025-07-14), Table 1",
    "llamacpp_xeon6": "SGLang CPU-backend blog (lmsys.org, 2025-07-14), llama.cpp rows",
    "itrex_spr": "ITREX docs/release_data.md (2023-09-19)",
    "llamacpp_epyc": "llama.cpp issue 11744",
}
MODELS = {
    "DeepSeek-R1 671B": "deepseek_v3",  # R1 is V3's architecture (DeepSeek-R1 model card)
    "DeepSeek-R1-Distill-Llama-70B": "llama3_70b",  # distilled into Llama 3.3 70B's architecture
    "Llama-3.2-3B-Instruct": "llama3_2_3b",
    "Qwen3-235B-A22B": "qwen3_235b_a22b",
    "Llama-2-7B-chat": "llama2_7b",
    "GPT-J 6B": "gpt_j_6b",
    "GPT-NeoX-20B": "gpt_neox_20b",
    "Llama-3.1-70B-Instruct": "llama3_70b",
}
# The formats the rows name, as this model's precisions: Q8_0 (8.5 bits a weight with its scales)
# and FP8 weights that AMX multiplies in BF16 are 1 byte; ITREX's int4 with group-128 scales is
# 0.5 (the scales' 3% left out).
WEIGHTS = {"int8": "int8", "fp8 (dequantised to bf16)": "fp8", "bf16": "bf16", "q8_0": "int8",
           "int4 g128": "int4", "f16": "bf16"}  # fmt: skip
HARDWARE = {
    "xeon6_6980p": "xeon6_6980p",
    "xeon_spr_amx": "xeon_spr_amx",
    "epyc_9175f": "epyc_9175f",
}
SINGLE_STREAM = (16, 128)  # a row without lengths: llama-bench's tg128 after a short prompt
# What is fitted, within these bounds; the MoE term only where an engine has an MoE row.
BOUNDS = {
    "matrix_efficiency": (0.005, 1.0),
    "expert_matrix_efficiency": (0.005, 1.0),
    "bandwidth_efficiency": (0.05, 1.0),
    "layer_overhead_kcycles": (0.0, 20_000.0),
    "expert_overhead_ms": (0.0, 1.0),
    "int8_matrix_efficiency": (0.005, 1.0),
    "score_cycles": (0.0, 1000.0),
}
START = {"matrix_efficiency": 0.2, "bandwidth_efficiency": 0.6, "layer_overhead_kcycles": 0.5,
         "expert_overhead_ms": 0.01, "int8_matrix_efficiency": 0.1,
         "expert_matrix_efficiency": 0.1, "score_cycles": 5.0}  # fmt: skip


@dataclass(frozen=True)
class ServingRun:
    """One published row and the configuration that serves it."""

    label: str
    source: str  # the data file's source key
    engine: str
    config: Config
    ttft_s: float | None
    tpot_s: float
    slot: str = "engine"  # the engine fitted: the server's, or a hybrid replica's host_engine

    @property
    def int8(self) -> bool:
        return self.config.serving is not None and self.config.serving.weights == "int8"

    def predicted(self, engine: EngineConfig) -> tuple[float, float]:
        if self.slot == "host_engine":
            return unloaded_latency(dataclasses.replace(self.config, host_engine=engine))
        return unloaded_latency(dataclasses.replace(self.config, engine=engine))

    def residuals(self, engine: EngineConfig) -> list[float]:
        ttft, tpot = self.predicted(engine)
        logs = [math.log(tpot / self.tpot_s)]
        return logs if self.ttft_s is None else [math.log(ttft / self.ttft_s), *logs]


def _overrides(row: dict[str, str]) -> list[str]:
    prompt, output = (
        (int(row["input_tokens"]), int(row["output_tokens"])) if row["input_tokens"]
        else SINGLE_STREAM
    )  # fmt: skip
    overrides = [
        "serving=single_stream", "sim.progress=false", "failures=cpu_host",
        f"engine={SOURCE_ENGINE[row['source']]}", f"hardware={row['cpu']}",
        f"model={MODELS[row['model']]}",
        f"serving.tp={_sockets_per_request(row)}", f"serving.weights={WEIGHTS[row['weights']]}",
        "serving.kv_cache=bf16",
        f"serving.prompt_tokens.mean={prompt}", f"serving.prompt_tokens.max={prompt}",
        f"serving.output_tokens.mean={output}", f"serving.output_tokens.max={output}",
    ]  # fmt: skip
    return overrides


def _sockets_per_request(row: dict[str, str]) -> int:
    """The sockets one request runs on: ``N instances`` split the row's sockets between them
    (llama.cpp's rows on the Xeon 6: one instance per socket, each request on one of them)."""
    sockets, words = int(row["sockets_used"]), row["framework"].split()
    if "instances" in words:
        return sockets // int(words[words.index("instances") - 1])
    return sockets


def _on_cores(config: Config, framework: str) -> Config:
    """ITREX on part of a socket's cores (its framework column says how many): the peaks scale
    with the cores."""
    cores = framework.split(" cores")[0].rsplit(" ", 1)[-1]
    if not cores.isdigit():
        return config
    hw = config.hardware
    share = int(cores) / (hw.cpu_cores / hw.devices_per_server)
    scaled = dataclasses.replace(
        hw, peak_tflops_bf16=hw.peak_tflops_bf16 * share,
        peak_tops_int8=(hw.peak_tops_int8 or 0.0) * share,
    )  # fmt: skip
    return dataclasses.replace(config, hardware=scaled)


@cache
def engine_profile(name: str) -> EngineConfig:
    """An engine's profile as its YAML holds it."""
    engine = load_config("mlperf_llama2_70b", [f"engine={name}"]).engine
    assert engine is not None  # engine=NAME always sets one
    return engine


@cache
def serving_runs() -> tuple[ServingRun, ...]:
    """Every row the engines are fitted on, with its configuration (composed once)."""
    return _runs(DATA)


@cache
def held_out_runs() -> tuple[ServingRun, ...]:
    """Published rows no engine was fitted on: its out-of-sample check."""
    return _runs(HELD_OUT)


def _runs(data: Traversable) -> tuple[ServingRun, ...]:
    runs = []
    for row in data_rows(data):
        label = f"{row['model']} {row['weights']}, {row['framework']}"
        if row["input_tokens"]:
            label += f", {row['input_tokens']} in"
        runs.append(
            ServingRun(
                label=label,
                source=row["source"],
                engine=SOURCE_ENGINE[row["source"]],
                config=_on_cores(
                    load_config("mlperf_llama2_70b", _overrides(row)), row["framework"]
                ),
                ttft_s=float(row["ttft_ms"]) / 1e3 if row["ttft_ms"] else None,
                tpot_s=float(row["tpot_ms"]) / 1e3,
            )
        )
    return tuple(runs)


def engine_runs(engine: str) -> list[ServingRun]:
    return [run for run in serving_runs() if run.engine == engine]


def fitted_keys(runs: Sequence[ServingRun]) -> list[str]:
    """The constants an engine's rows can tell apart, each on two rows at least: the INT8
    efficiency with two INT8 prefills and two of other formats, the routed experts' terms with
    two MoE rows, the serial cost of a score where the engine's attention is unfused."""
    keys = ["matrix_efficiency", "bandwidth_efficiency", "layer_overhead_kcycles"]
    if any(run.config.engine and run.config.engine.unfused_attention for run in runs):
        keys.append("score_cycles")
    prefills = [run.int8 for run in runs if run.ttft_s is not None]
    if min(prefills.count(True), prefills.count(False)) >= 2:
        keys.append("int8_matrix_efficiency")
    if sum(1 for run in runs if run.config.model.experts) >= 2:
        keys += ["expert_matrix_efficiency", "expert_overhead_ms"]
    return keys


def fit(
    runs: Sequence[ServingRun], base: EngineConfig, keys: Sequence[str] | None = None
) -> EngineConfig:
    """The engine's constants (``keys``, by default those its rows tell apart) that minimise
    the squared log errors of its rows."""
    keys = fitted_keys(runs) if keys is None else keys

    def engine(x: Sequence[float]) -> EngineConfig:
        values: dict[str, Any] = dict(zip(keys, (float(v) for v in x), strict=True))
        return dataclasses.replace(base, **values)

    def residuals(x: Sequence[float]) -> list[float]:
        candidate = engine(x)
        return [r for run in runs for r in run.residuals(candidate)]

    low, high = zip(*(BOUNDS[k] for k in keys), strict=True)
    result = least_squares(residuals, [START[k] for k in keys], bounds=(low, high), x_scale="jac")
    return engine(result.x)


def leave_one_out(
    runs: Sequence[ServingRun], base: EngineConfig, keys: Sequence[str] | None = None
) -> list[tuple[float, float]]:
    """Each row's TTFT and TPOT errors when the constants (``keys``, by default those the full
    fit tells apart, never the YAML's values) are fitted on the engine's other rows (NaN for a
    TTFT the row does not publish)."""
    errors, keys = [], fitted_keys(runs) if keys is None else keys
    for i, run in enumerate(runs):
        ttft, tpot = run.predicted(fit([*runs[:i], *runs[i + 1 :]], base, keys))
        errors.append((ttft / run.ttft_s - 1.0 if run.ttft_s else math.nan, tpot / run.tpot_s - 1))
    return errors


def _value(engine: EngineConfig, key: str) -> str:
    value = getattr(engine, key)
    return "unset" if value is None else f"{value:.4g}"


def report() -> None:
    """Print each engine's fit, its YAML, and every row with its error and leave-one-out error."""
    for name in sorted(set(SOURCE_ENGINE.values())):
        runs = engine_runs(name)
        in_yaml = engine_profile(name)
        fitted, keys = fit(runs, in_yaml), fitted_keys(runs)
        print(f"engine {name} ({in_yaml.software}): fitted on {len(runs)} rows of {DATA.name}")
        print("  fitted  " + ", ".join(f"{k}: {_value(fitted, k)}" for k in keys))
        print("  in YAML " + ", ".join(f"{k}: {_value(in_yaml, k)}" for k in keys))
        for run, (loo_ttft, loo_tpot) in zip(runs, leave_one_out(runs, in_yaml), strict=True):
            ttft, tpot = run.predicted(in_yaml)
            first = f"TTFT {'-':>8s}{'':33s}"
            if run.ttft_s:
                first = (f"TTFT {run.ttft_s * 1e3:8.1f} ms {ttft * 1e3:8.1f} "
                         f"{ttft / run.ttft_s - 1:+6.1%} loo {loo_ttft:+6.1%}")  # fmt: skip
            second = (f"TPOT {run.tpot_s * 1e3:6.1f} ms {tpot * 1e3:6.1f} "
                      f"{tpot / run.tpot_s - 1:+6.1%} loo {loo_tpot:+6.1%}")  # fmt: skip
            print(f"  {run.label[:56]:56s} {first}  {second}")
        for run in (r for r in held_out_runs() if r.engine == name):
            ttft, tpot = run.predicted(in_yaml)
            figures = [(f, p, s) for f, p, s in (("TTFT", run.ttft_s, ttft),
                                                 ("TPOT", run.tpot_s, tpot)) if p]  # fmt: skip
            errors = "  ".join(f"{f} {p * 1e3:8.1f} ms {s * 1e3:8.1f} {s / p - 1:+6.1%}"
                               for f, p, s in figures)  # fmt: skip
            print(f"  held out: {run.label[:46]:46s} {errors}")
