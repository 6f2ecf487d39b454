"""Memory per device against the published formulas and plans."""

from __future__ import annotations

import dataclasses

import pytest

import sim
from sim.app.calibrate import Run, llama3_runs, nvidia_recipe_runs, plan
from sim.app.validation import validate
from sim.config import ModelConfig
from sim.errors import ConfigError
from sim.perf.memory import (
    GIB,
    activation_bytes_per_layer,
    memory_per_device,
    stage_dense_parameters,
    stage_layer_kinds,
    stage_layers,
    stage_parameters,
)
from sim.perf.model import replicated_attention_parameters

# Korthikanti et al. 2022, Table 3: the GPT models they evaluate (heads a, hidden h, layers L).
KORTHIKANTI_MODELS = {
    "22B": (64, 6144, 48),
    "175B": (96, 12288, 96),
    "530B": (128, 20480, 105),
    "1T": (160, 25600, 128),
}


def gpt(heads: int, hidden: int, layers: int) -> ModelConfig:
    """The architecture Korthikanti et al. analyse: MHA, a 4h GeLU MLP, dropout, LayerNorm."""
    return ModelConfig(
        name="gpt", layers=layers, hidden=hidden, ffn_hidden=4 * hidden, heads=heads,
        kv_heads=heads, vocab_size=51200, tied_embeddings=True, mlp="gelu", norm="layernorm",
        dropout=True,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(KORTHIKANTI_MODELS))
@pytest.mark.parametrize("micro_batch", [1, 4])
def test_activations_per_layer_match_korthikanti_table_2(name: str, micro_batch: int) -> None:
    # Korthikanti et al. 2022, Table 2 (activation bytes per transformer layer), s = 2048, t = 8.
    a, h, layers = KORTHIKANTI_MODELS[name]
    m, s, b, t = gpt(a, h, layers), 2048, micro_batch, 8
    sbh = s * b * h

    def ours(**kw: object) -> float:
        return activation_bytes_per_layer(m, seq_len=s, micro_batch=b, **kw)  # type: ignore[arg-type]

    table_2 = {
        "no parallelism": (ours(), sbh * (34 + 5 * a * s / h)),
        "tensor parallel": (ours(tp=t), sbh * (10 + 24 / t + 5 * a * s / (h * t))),
        "tensor + sequence parallel": (
            ours(tp=t, sequence_parallel=True),
            sbh * (34 / t + 5 * a * s / (h * t)),
        ),
        "tensor parallel + selective recompute": (
            ours(tp=t, recompute="selective"),
            sbh * (10 + 24 / t),
        ),
        "tensor + sequence parallel + selective recompute": (
            ours(tp=t, sequence_parallel=True, recompute="selective"),
            sbh * 34 / t,
        ),
        "full recompute": (ours(tp=t, recompute="full"), sbh * 2),
    }
    for case, (got, published) in table_2.items():
        assert got == pytest.approx(published, rel=1e-12), case


def test_pipeline_first_stage_holds_all_layers_worth_of_activations() -> None:
    # Korthikanti et al. 2022, Section 4.2.3: with 1F1B the first stage stores p micro-batches of
    # L/p layers: L layers' worth, whatever p.
    config = sim.load_config(
        "llama_405b",
        [
            "parallelism.fewer_layers_first_last=0",
            "model.layers=128",
            "parallelism.pp=16",
            "parallelism.virtual_stages=1",
            "parallelism.stage_io_freed=false",
        ],
    )
    per_layer = activation_bytes_per_layer(
        config.model, seq_len=8192, micro_batch=1, tp=8, sequence_parallel=True,
        recompute="selective",
    )  # fmt: skip
    memory = memory_per_device(config)
    assert memory.stage == 0
    assert memory.activations_gib * GIB == pytest.approx(128 * per_layer)


def test_model_states_match_zero_figure_1() -> None:
    # Rajbhandari et al., "ZeRO" (SC'20), Figure 1: a 7.5B-parameter model on N_d = 64 devices
    # with mixed-precision Adam (K = 12) needs 120 GB (baseline), 31.4 GB (P_os), 16.6 GB
    # (P_os+g) and 1.9 GB (P_os+g+p) of model states per device. Tolerance: the printed precision,
    # 0.05 GB.
    config = sim.load_config(
        "llama_405b",
        ["model=llama3_8b", "cluster.servers=8", "parallelism.tp=1", "parallelism.pp=1",
         "parallelism.dp=64", "workload.global_batch_size=64", "parallelism.recompute=full"],
    )  # fmt: skip
    params = stage_parameters(config.model, config.parallelism)[0]
    published_gb = {0: 120.0, 1: 31.4, 2: 16.6, 3: 1.9}
    for stage, published in published_gb.items():
        par = dataclasses.replace(config.parallelism, zero_stage=stage)
        m = memory_per_device(dataclasses.replace(config, parallelism=par))
        states = (m.weights_gib + m.gradients_gib + m.optimizer_gib) * GIB
        assert states / params * 7.5e9 / 1e9 == pytest.approx(published, abs=0.05)


def test_full_per_device_total_adds_zero_states_and_korthikanti_activations() -> None:
    # Cross-check of the whole per-device figure for GPT-3 175B on Korthikanti et al.'s setup
    # (t = 8, p = 8, s = 2048, b = 1, sequence parallel + selective recompute: 34 sbh / t per layer,
    # Table 2) with ZeRO stage 1 states (2 + 2 + 12 / N_d bytes per parameter, ZeRO Figure 1).
    config = sim.load_config(
        "llama_405b",
        ["model=gpt3_175b", "workload.seq_len=2048", "cluster.servers=64", "parallelism.tp=8",
         "parallelism.pp=8", "parallelism.dp=8", "parallelism.fewer_layers_first_last=0",
         "parallelism.zero_stage=1", "workload.global_batch_size=64",
         "parallelism.virtual_stages=1", "parallelism.stage_io_freed=false"],
    )  # fmt: skip
    m, s, h = config.model, 2048, 12288
    first_stage_params = (12 * h * h + 4 * h) * 12 + (50257 + 2048) * h  # 12 layers + embeddings
    states = first_stage_params / 8 * (2 + 2 + 12 / 8)
    activations = m.layers * s * h * 34 / 8  # 8 micro-batches in flight x 12 layers = L layers
    expected = (states + activations) / GIB + config.hardware.memory_reserve_gib
    memory = memory_per_device(config)
    assert memory.stage == 0
    assert memory.total_gib == pytest.approx(expected, rel=0.005)
    # Korthikanti et al. report this plan trains GPT-3 on 80 GB A100s without full recompute.
    assert memory.fits


def _all_fit(runs: list[Run], capacity_gib: float) -> None:
    for run in runs:
        memory = memory_per_device(run.config)
        assert memory.fits, f"{run.label}: {memory.describe()}"
        assert memory.capacity_gib == capacity_gib


def test_the_three_llama_3_plans_of_table_4_fit_in_80_gib() -> None:
    # Llama 3 paper, Table 4, on the shipped plan: 8 one-slot chunks per stage, freed stage inputs
    # (Section 3.3.2).
    runs = llama3_runs()
    assert len(runs) == 3
    assert all(run.config.parallelism.virtual_stages == 8 for run in runs)
    _all_fit(runs, 80)


@pytest.mark.slow
def test_nvidias_published_recipes_fit_their_devices() -> None:
    # Megatron-Bridge (NeMo 25.11, 26.02) and DGXC (NeMo 24.09, 24.12) recipes on DGX-H100 and
    # DGX-B200 (sim/data/nvidia_recipes.csv): plans that ran on 80 GB H100s and 180 GB B200s must
    # fit here too, under the file's stated assumptions.
    runs = nvidia_recipe_runs()
    assert len(runs) == 14
    by_device = {
        80: [r for r in runs if "H100" in r.label],
        180: [r for r in runs if "B200" in r.label],
    }
    assert sum(map(len, by_device.values())) == 14
    for capacity, device_runs in by_device.items():
        _all_fit(device_runs, capacity)


@pytest.mark.parametrize(
    ("recompute", "sequence_parallel", "published_gib"),
    [("none", False, 66.84375), ("selective", True, 12.3515625)],
)
def test_interleaved_activations_match_korthikanti_figure_1(
    recompute: str, sequence_parallel: bool, published_gib: float
) -> None:
    # Korthikanti et al. 2022, Figure 1: GPT-3 175B, TP8 PP8, interleaved with 3 chunks per stage,
    # batch 64, micro-batch 1: 66.8 GiB of activations on the first stage with no recomputation and
    # 12.4 GiB with sequence parallelism and selective recomputation (the profiled values as
    # tabulated by the Calculon project, calculon/llm/validation.py). The first stage holds
    # L (1 + (p - 1) / (p v)) layers' worth. Tolerance 5% (issue 12).
    config = plan(
        "a100_sxm", gpt(*KORTHIKANTI_MODELS["175B"]), seq_len=2048, gpus=64, batch=64, tp=8,
        pp=8, dp=1, cp=1, virtual_stages=3, recompute=recompute,
        sequence_parallel=sequence_parallel, flash_attention=False, zero_stage=0,
        fewer_layers_first_last=0, stage_io_freed=False,
    )  # fmt: skip
    memory = memory_per_device(config)
    assert memory.stage == 0
    assert memory.activations_gib == pytest.approx(published_gib, rel=0.05)


@pytest.mark.parametrize("virtual", [3, 1000])
def test_interleaving_that_does_not_split_the_stages_is_refused(virtual: int) -> None:
    config = sim.load_config("llama_405b", [f"parallelism.virtual_stages={virtual}"])
    with pytest.raises(ConfigError) as error:
        validate(config)
    message = str(error.value)
    assert message.startswith(
        f"parallelism.virtual_stages={virtual}: must divide the 8 layer slots"
    )
    assert message.endswith("valid: 1, 2, 4, 8")


def test_memory_falls_with_each_remedy_the_error_suggests() -> None:
    base = sim.load_config(
        "llama_405b",
        ["cluster.servers=2048", "parallelism.tp=4", "parallelism.pp=16", "parallelism.dp=256",
         "parallelism.zero_stage=1", "parallelism.recompute=none"],
    )  # fmt: skip
    before = memory_per_device(base).total_gib
    for change in ({"recompute": "full"}, {"zero_stage": 3}, {"tp": 8, "dp": 128}):
        par = dataclasses.replace(base.parallelism, **change)  # type: ignore[arg-type]
        after = memory_per_device(dataclasses.replace(base, parallelism=par)).total_gib
        assert after < before, change


def test_fp32_doubles_activations_and_needs_16_bytes_of_states_per_parameter() -> None:
    bf16 = sim.load_config("llama_405b")
    par = dataclasses.replace(bf16.parallelism, dtype="fp32", zero_stage=0)
    fp32 = memory_per_device(dataclasses.replace(bf16, parallelism=par))
    mixed = memory_per_device(
        dataclasses.replace(bf16, parallelism=dataclasses.replace(par, dtype="bf16"))
    )
    assert fp32.activations_gib == pytest.approx(2 * mixed.activations_gib)
    states = fp32.weights_gib + fp32.gradients_gib + fp32.optimizer_gib
    assert states == pytest.approx(mixed.weights_gib + mixed.gradients_gib + mixed.optimizer_gib)


def test_stage_layers_take_layers_off_the_first_and_last_stage() -> None:
    assert stage_layers(126, 16, 1) == [7, *[8] * 14, 7]
    assert sum(stage_layers(126, 16, 1)) == 126
    assert stage_layers(32, 1) == [32]


def test_tensor_parallelism_leaves_mla_down_projections_whole() -> None:
    # Every TP rank needs the whole compressed query and key-value, so it holds their
    # down-projections whole: doubling TP halves the rest of the dense parameters only.
    config = sim.load_config("deepseek_v2")
    model, par = config.model, config.parallelism
    one = stage_dense_parameters(model, dataclasses.replace(par, tp=1))
    two = stage_dense_parameters(model, dataclasses.replace(par, tp=2))
    layers = [d + m for d, m in stage_layer_kinds(model, par)]
    for n, p1, p2 in zip(layers, one, two, strict=True):
        whole = n * replicated_attention_parameters(model)
        assert p2 == pytest.approx((p1 - whole) / 2 + whole)
