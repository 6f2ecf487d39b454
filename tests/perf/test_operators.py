"""One transformer layer, operator by operator (sim.perf.operators)."""

from __future__ import annotations

import dataclasses

import pytest

import sim
import sim.app.validation
from sim.config import Config
from sim.perf.operators import device, layer_time


def deepseek_v2(*overrides: str) -> Config:
    return sim.load_config("deepseek_v2", list(overrides))


def test_moe_compute_follows_the_active_experts_not_the_total() -> None:
    # Doubling the experts (each token still goes through 6) adds only the router's FLOPs and
    # what smaller per-expert GEMMs lose in efficiency; six more experts per token add exactly
    # their FLOPs: 2 x tokens x 6 x 3 h f per pass (SwiGLU), 3 passes (4 with full recompute).
    base = deepseek_v2()
    model, par = base.model, base.parallelism
    more = dataclasses.replace(base, model=dataclasses.replace(model, experts=320))
    busier = dataclasses.replace(base, model=dataclasses.replace(model, experts_per_token=12))
    t0, t_more, t_busy = (layer_time(c, device(c), moe=True) for c in (base, more, busier))
    passes = 4.0 if par.recompute == "full" else 3.0
    tokens = par.micro_batch_size * base.workload.seq_len
    router = passes * 2.0 * tokens * model.hidden * model.experts
    assert t_more.flops - t0.flops == pytest.approx(router)
    extra = passes * 2.0 * tokens * 6 * 3 * model.hidden * model.expert_ffn_hidden
    assert t_busy.flops - t0.flops == pytest.approx(extra)
    assert t0.gemm_s < t_more.gemm_s < 1.25 * t0.gemm_s
