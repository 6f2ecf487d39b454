"""An engine states its per-iteration overhead and token budget; the serving presets take them
unless the scenario or the command line sets them."""

from __future__ import annotations

import pytest

import sim


@pytest.mark.parametrize(("engine", "overhead_ms"), [("trtllm", 1.0), ("llama_cpp", 0.0)])
def test_the_preset_takes_the_engines_overhead_and_budget(engine: str, overhead_ms: float) -> None:
    config = sim.load_config(
        "serve_405b_gpu_vs_cpu", [f"engine={engine}", "engine.max_batched_tokens=4096"]
    )
    assert config.serving.step_overhead_ms == overhead_ms
    assert config.serving.max_batched_tokens == 4096


def test_a_serving_setting_wins_over_the_engine() -> None:
    config = sim.load_config("mlperf_llama31_405b", ["serving.step_overhead_ms=2.5"])
    assert config.serving.step_overhead_ms == 2.5
    assert config.serving.max_batched_tokens == 2560  # NVIDIA's published budget, not trtllm's


def test_without_an_engine_the_preset_keeps_its_assumption() -> None:
    config = sim.load_config("llama_405b", ["serving=chat_405b"])
    assert config.engine is None
    assert (config.serving.step_overhead_ms, config.serving.max_batched_tokens) == (1.0, 8192)
