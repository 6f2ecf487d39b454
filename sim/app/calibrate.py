"""Calibration of the step-time constants, in the open.

    python -m sim.app.calibrate

fits each calibrated GPU's constants on its declared training set and prints every row: published
step time, predicted (with the constants in its YAML), error, and the leave-one-out error (the
row predicted by a fit on the other rows). Then it prints the out-of-sample rows, runs no
constant was fitted on. Copy the fitted constants into ``conf/hardware/<name>.yaml``;
``tests/test_calibration.py`` fails when the YAML and the fit disagree.

Training sets:
- ``a100_sxm``: Korthikanti et al. 2022, Table 5 (8 iteration times, 22B to 1T, full recomputation
  and sequence parallelism with selective recomputation), ``sim/data/korthikanti2022_table5.csv``.
- ``h100_sxm``: Llama 3 paper, Table 4 (3 rows), ``sim/data/llama3_405b_parallelism.csv``, TFLOP/s
  per GPU turned into step times with this model's FLOPs per token (Meta's count is not published).
Validation (never fitted): ``sim/data/step_time_validation.csv``.

Then the serving engines' constants (``conf/engine/``), each fitted on its own rows of
``sim/data/cpu_llm_serving.csv`` (``sim.app.serving_calibration``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from sim.app import gpu_kernels, hybrid_calibration, serving_calibration
from sim.app.loading import load_config
from sim.config import Config, HardwareConfig, ModelConfig
from sim.perf.throughput import throughput

DATA = files("sim") / "data"
LLAMA3 = "Llama 3 paper (arXiv 2407.21783), Table 4"
KORTHIKANTI = "Korthikanti et al. 2022, Table 5"
SOURCES = {
    "narayanan2021": "Narayanan et al. 2021, Table 2",
    "nemotron4_340b": "Nemotron-4 340B report, Table 2",
    "dgxc_nemotron4_340b": "NVIDIA DGXC recipe Nemotron4 340B 24.11",
}
NVIDIA_RECIPES = {
    "megatron_bridge": "Megatron-Bridge performance summary, NeMo 25.11, DGX-H100",
    "megatron_bridge_26": "Megatron-Bridge performance summary, NeMo 26.02, DGX-H100",
    "megatron_bridge_b200": "Megatron-Bridge performance summary, NeMo 25.11, DGX-B200",
    "megatron_bridge_26_b200": "Megatron-Bridge performance summary, NeMo 26.02, DGX-B200",
    "dgxc": "NVIDIA DGXC recipes Llama 3.1 (NeMo 24.12 70B, 24.09 405B), DGX-H100",
}
# Fitted constants and their search bounds; the rest of a device's constants are derived below or
# stated assumptions in its YAML.
BOUNDS = {"gemm_efficiency": (0.3, 1.0), "gemm_half_dim": (1.0, 4096.0)}
# ASSUMPTION: fused attention runs at 2/3 of a device's large-GEMM efficiency. Dao (2023),
# FlashAttention-2: 50-73% of the A100's peak, "close to the efficiency of GEMM operations".
FLASH_SHARE = 2.0 / 3.0
# The generation each uncalibrated GPU takes its constants from.
DERIVED_FROM = {"h100_sxm": "a100_sxm", "h200_sxm": "h100_sxm", "h800_sxm": "h100_sxm",
                "b200": "h100_sxm", "mi300x": "h100_sxm"}  # fmt: skip


@dataclass(frozen=True)
class Run:
    """A published training run: its plan as a config and its published step time."""

    label: str
    source: str
    config: Config
    published_s: float

    def predicted_s(self, hardware: HardwareConfig | None = None) -> float:
        config = self.config
        if hardware is not None:
            config = dataclasses.replace(config, hardware=hardware)
        return throughput(config).step_time_s

    @property
    def error(self) -> float:
        return self.predicted_s() / self.published_s - 1.0


@cache
def _base(hardware: str) -> Config:
    return load_config("llama_405b", [f"hardware={hardware}", "sim.progress=false"])


def plan(
    hardware: str, model: ModelConfig, *, seq_len: int, gpus: int, batch: int, **parallelism: Any
) -> Config:
    """A config of ``model`` on ``gpus`` devices of ``hardware`` with the given plan; the rest
    (failures, checkpoints) from the llama_405b scenario."""
    base = _base(hardware)
    return dataclasses.replace(
        base,
        model=model,
        workload=dataclasses.replace(base.workload, seq_len=seq_len, global_batch_size=batch),
        cluster=dataclasses.replace(base.cluster, servers=gpus // base.hardware.devices_per_server),
        parallelism=dataclasses.replace(base.parallelism, **parallelism),
    )


def _records(name: str) -> list[Any]:
    """The rows of a data file as records with attribute access (comment lines skipped)."""
    with (DATA / name).open() as f:
        frame = pd.read_csv(f, comment="#")
    return [
        SimpleNamespace(**{str(k): v for k, v in row.items()}) for row in frame.to_dict("records")
    ]


def llama3_runs() -> list[Run]:
    """Llama 3 Table 4 on the shipped 405B plan, each row's degrees, sequence and batch."""
    runs = []
    for row in _records("llama3_405b_parallelism.csv"):
        config = plan(
            "h100_sxm", _base("h100_sxm").model, seq_len=int(row.seq_len), gpus=int(row.gpus),
            batch=int(row.dp) * int(row.batch_size_per_dp), tp=int(row.tp), cp=int(row.cp),
            pp=int(row.pp), dp=int(row.dp),
        )  # fmt: skip
        speed = throughput(config)
        flops = speed.model_flops_per_token * speed.tokens_per_step
        published = flops / (int(row.gpus) * float(row.tflops_per_gpu) * 1e12)
        label = f"Llama 3 405B TP{row.tp} CP{row.cp} PP{row.pp} DP{row.dp}"
        runs.append(Run(label, LLAMA3, config, published))
    return runs


def _gpt(name: str, row: Any) -> ModelConfig:
    """The GPT architecture of Megatron-LM's papers: MHA, GeLU MLP, LayerNorm, dropout."""
    return ModelConfig(
        name=name, layers=int(row.layers), hidden=int(row.hidden),
        ffn_hidden=int(row.ffn_hidden), heads=int(row.heads), kv_heads=int(row.heads),
        vocab_size=51200, tied_embeddings=True, mlp="gelu", norm="layernorm",
        position_embeddings=2048, dropout=True,
    )  # fmt: skip


def korthikanti_runs() -> list[Run]:
    runs = []
    for row in _records("korthikanti2022_table5.csv"):
        seq_sel = row.recompute == "seq_sel"
        config = plan(
            "a100_sxm", _gpt(str(row.model), row), seq_len=2048, gpus=int(row.gpus),
            batch=int(row.global_batch), tp=int(row.tp), pp=int(row.pp), dp=int(row.dp), cp=1,
            micro_batch_size=int(row.micro_batch), virtual_stages=int(row.virtual_stages),
            recompute="selective" if seq_sel else "full", sequence_parallel=seq_sel,
            flash_attention=False, zero_stage=0, fewer_layers_first_last=0, stage_io_freed=False,
        )  # fmt: skip
        label = f"{row.model} {'SP + selective' if seq_sel else 'full recompute'}"
        runs.append(Run(label, KORTHIKANTI, config, float(row.iteration_s)))
    return runs


def validation_runs() -> list[Run]:
    runs = []
    for row in _records("step_time_validation.csv"):
        model = ModelConfig(
            name=str(row.model), layers=int(row.layers), hidden=int(row.hidden),
            ffn_hidden=int(row.ffn_hidden), heads=int(row.heads), kv_heads=int(row.kv_heads),
            vocab_size=int(row.vocab), tied_embeddings=row.position_embeddings > 0,
            mlp=str(row.mlp), norm="layernorm", position_embeddings=int(row.position_embeddings),
            dropout=bool(row.dropout),
        )  # fmt: skip
        config = plan(
            str(row.hardware), model, seq_len=int(row.seq_len), gpus=int(row.gpus),
            batch=int(row.global_batch), tp=int(row.tp), pp=int(row.pp), dp=int(row.dp), cp=1,
            micro_batch_size=int(row.micro_batch), virtual_stages=int(row.virtual_stages),
            recompute=str(row.recompute), sequence_parallel=bool(row.sequence_parallel),
            flash_attention=bool(row.flash_attention), zero_stage=int(row.zero_stage),
            overlap_grad_reduce=bool(row.overlap), overlap_param_gather=bool(row.overlap),
            fewer_layers_first_last=0, stage_io_freed=False, tp_overlap=0.0,
        )  # fmt: skip
        published = float(row.published)
        if row.unit == "tflops":  # Narayanan et al.'s formula, recomputation included
            b, s, n, h, v = row.global_batch, row.seq_len, row.layers, row.hidden, row.vocab
            flops = 96.0 * b * s * n * h * h * (1 + s / (6 * h) + v / (16 * n * h))
            published = flops / (row.gpus * published * 1e12)
        label = f"{row.model} on {row.gpus:,} {config.hardware.device.split()[0]}"
        runs.append(Run(label, SOURCES[str(row.source)], config, published))
    return runs


def nvidia_recipe_runs() -> list[Run]:
    """NVIDIA's performance recipes on DGX-H100 and DGX-B200 (``nvidia_recipes.csv``): the
    catalogue's models with the published degrees, batch, sequence and precision; a published
    throughput per GPU is turned into a step time (no FLOP formula involved)."""
    runs = []
    for row in _records("nvidia_recipes.csv"):
        model = load_config("llama_405b", [f"model={row.model}"]).model
        gpus, tp, pp, cp, vp = int(row.gpus), int(row.tp), int(row.pp), int(row.cp), int(row.vp)
        config = plan(
            str(row.hardware), model, seq_len=int(row.seq_len), gpus=gpus, batch=int(row.gbs),
            tp=tp, pp=pp, cp=cp, dp=gpus // (tp * pp * cp), ep=int(row.ep),
            micro_batch_size=int(row.mbs), virtual_stages=vp, dtype=str(row.dtype),
            recompute="selective", sequence_parallel=tp > 1, flash_attention=True,
            zero_stage=3 if row.fsdp else 1, overlap_grad_reduce=True, overlap_param_gather=True,
            tp_overlap=float(row.tp_overlap), expert_imbalance=1.0, stage_io_freed=False,
            fewer_layers_first_last=0 if model.layers % (pp * vp) == 0 else 1,
        )  # fmt: skip
        published = float(row.published)
        if row.unit == "tokens_per_s_per_gpu":
            published = int(row.gbs) * int(row.seq_len) / (published * gpus)
        device = config.hardware.device.split()[0]  # H100, B200
        label = f"{row.model} {str(row.dtype).upper()} on {gpus:,} {device} ({row.source})"
        runs.append(Run(label, NVIDIA_RECIPES[str(row.source)], config, published))
    return runs


TRAINING_SETS: dict[str, tuple[Callable[[], list[Run]], tuple[str, ...]]] = {
    "a100_sxm": (korthikanti_runs, ("gemm_efficiency", "gemm_half_dim")),
    "h100_sxm": (llama3_runs, ("gemm_efficiency",)),  # its half dimension is derived from A100's
}


def derived_half_dim(hw: HardwareConfig, reference: HardwareConfig) -> float:
    """A GEMM tile needs work in proportion to the device's FLOPs per byte of memory bandwidth to
    fill its matrix units, so the half dimension scales with peak over bandwidth."""
    intensity = hw.peak_tflops_bf16 / hw.memory_bandwidth_tbyte_per_s
    return (
        reference.gemm_half_dim
        * intensity
        / (reference.peak_tflops_bf16 / reference.memory_bandwidth_tbyte_per_s)
    )


def with_constants(hw: HardwareConfig, constants: dict[str, float]) -> HardwareConfig:
    """The hardware with fitted constants, fused attention tied to the GEMM efficiency."""
    hw = dataclasses.replace(hw, **cast(dict[str, Any], constants))
    return dataclasses.replace(hw, flash_attention_efficiency=FLASH_SHARE * hw.gemm_efficiency)


def fit(runs: Sequence[Run], keys: Sequence[str]) -> dict[str, float]:
    """The constants that minimise the squared log errors of the runs' step times."""
    hardware = runs[0].config.hardware

    def residuals(x: np.ndarray) -> list[float]:
        hw = with_constants(hardware, dict(zip(keys, x, strict=True)))
        return [math.log(run.predicted_s(hw) / run.published_s) for run in runs]

    start = [getattr(hardware, k) for k in keys]
    low, high = zip(*(BOUNDS[k] for k in keys), strict=True)
    result = least_squares(residuals, start, bounds=(low, high), x_scale="jac")
    return dict(zip(keys, (float(v) for v in result.x), strict=True))


def leave_one_out(runs: Sequence[Run], keys: Sequence[str]) -> list[float]:
    """Each run's error when the constants are fitted on all the other runs."""
    errors = []
    for i, run in enumerate(runs):
        hw = with_constants(run.config.hardware, fit([*runs[:i], *runs[i + 1 :]], keys))
        errors.append(run.predicted_s(hw) / run.published_s - 1.0)
    return errors


def derived_constants() -> dict[str, dict[str, float]]:
    """The constants of each uncalibrated GPU, from the YAML of the generation it derives from."""
    out = {}
    for name, reference in DERIVED_FROM.items():
        ref = _base(reference).hardware
        hw = _base(name).hardware
        out[name] = {
            "gemm_half_dim": derived_half_dim(hw, ref),
            "flash_attention_efficiency": FLASH_SHARE * hw.gemm_efficiency,
        }
        if name not in TRAINING_SETS:
            out[name]["gemm_efficiency"] = ref.gemm_efficiency
    return out


def main() -> None:
    for name, (make, keys) in TRAINING_SETS.items():
        runs = make()
        constants = fit(runs, keys)
        in_yaml = {k: getattr(runs[0].config.hardware, k) for k in keys}
        print(f"{name}: fitted on {len(runs)} runs ({runs[0].source})")
        print("  fitted  " + ", ".join(f"{k}: {v:.4g}" for k, v in constants.items()))
        print("  in YAML " + ", ".join(f"{k}: {v:.4g}" for k, v in in_yaml.items()))
        for run, loo in zip(runs, leave_one_out(runs, keys), strict=True):
            print(
                f"  {run.label:42s} published {run.published_s:8.3f} s  predicted "
                f"{run.predicted_s():8.3f} s  error {run.error:+6.1%}  leave-one-out {loo:+6.1%}"
            )
    for name, constants in derived_constants().items():
        print(f"{name}: derived from {DERIVED_FROM[name]}: " + ", ".join(
            f"{k}: {v:.4g}" for k, v in constants.items()))  # fmt: skip
    serving_calibration.report()
    hybrid_calibration.report()
    gpu_kernels.report()
    print("validation (out of sample, nothing fitted on these):")
    for run in [*validation_runs(), *nvidia_recipe_runs()]:
        print(
            f"  {run.label:42s} published {run.published_s:8.3f} s  predicted "
            f"{run.predicted_s():8.3f} s  error {run.error:+6.1%}  ({run.source})"
        )


if __name__ == "__main__":
    main()
