"""Helpers the test files import (``from helpers import ...``): small job plans for engine tests,
the repository's paths, its command line in a subprocess, and the expensive runs several test
files share. Tests get those runs from the session fixtures of ``conftest.py``, which compute each
once per test session; ``validation_table.py`` calls them directly."""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

import sim
from sim.des.draws import replicate_seeds
from sim.perf.analytic import daly_interval_s
from sim.training.plan import JobPlan, node_rate_categories
from sim.training.replicate import ReplicateOutcome, simulate_replicate

REPO = Path(__file__).resolve().parent.parent

BASE_PLAN = JobPlan(
    work_s=100 * 3600.0,
    interval_s=3600.0,
    checkpoint_write_s=300.0,
    detection_s=120.0,
    restart_s=300.0,
    restore_s=180.0,
    repair_mean_s=3600.0,
    servers=100,
    spare_servers=1000,
    categories=node_rate_categories(1.0 / (100 * 10 * 3600.0), 0.0, 120.0),  # job MTBF 10 h
    horizon_s=None,
)


def plan(**changes: object) -> JobPlan:
    """BASE_PLAN with some fields changed. ``job_mtbf_s`` and ``swap_fraction`` set a node-rate
    failure model (exponential, one rate per server) with that job MTBF and share of swaps."""
    mtbf = changes.pop("job_mtbf_s", None)
    swap = changes.pop("swap_fraction", None)
    result = dataclasses.replace(BASE_PLAN, **changes)  # type: ignore[arg-type]
    if mtbf is not None or swap is not None or "detection_s" in changes:
        job_mtbf = float(mtbf) if mtbf is not None else BASE_PLAN.job_mtbf_s  # type: ignore[arg-type]
        rate = 1.0 / (result.servers * job_mtbf)
        share = float(swap) if swap is not None else 0.0  # type: ignore[arg-type]
        categories = node_rate_categories(rate, share, result.detection_s)
        result = dataclasses.replace(result, categories=categories)
    return result


def simulate(
    p: JobPlan, replicates: int, seed: int = 1, *, record: bool = False
) -> list[ReplicateOutcome]:
    return [
        simulate_replicate(p, s, i, record_events=record)
        for i, s in enumerate(replicate_seeds(seed, replicates))
    ]


def mean_and_sem(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / np.sqrt(len(values))


def run_command(
    module: str, *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` in a subprocess from ``cwd``, as a user would type it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_sweep(
    sweep_dir: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m sim -m ARGS`` writing its jobs into ``sweep_dir``."""
    return run_command(
        "sim", "-m", *args, f"hydra.sweep.dir={sweep_dir}", cwd=sweep_dir.parent, timeout=timeout
    )


# A 2-hour-MTBF job and a sweep of fixed intervals around Daly's: the policy and theory tests
# compare against the same sweep, simulated once per session (the fixture interval_sweep_means;
# common random numbers: seed 1 for every point).
SWEEP_PLAN = plan(
    work_s=100 * 3600.0, checkpoint_write_s=120.0, detection_s=60.0, restart_s=180.0,
    restore_s=60.0, job_mtbf_s=2 * 3600.0,
)  # fmt: skip
SWEEP_FACTORS = tuple(float(f) for f in np.geomspace(0.4, 2.5, 13))  # times Daly's interval
SWEEP_REPLICATES = 150


def simulate_interval_sweep() -> tuple[float, ...]:
    """Mean wall time of SWEEP_PLAN at each of SWEEP_FACTORS x Daly's interval."""
    daly = daly_interval_s(SWEEP_PLAN.checkpoint_write_s, SWEEP_PLAN.job_mtbf_s)
    return tuple(
        float(np.mean([o.wall_s for o in simulate(
            dataclasses.replace(SWEEP_PLAN, interval_s=f * daly), SWEEP_REPLICATES)]))
        for f in SWEEP_FACTORS
    )  # fmt: skip


def run_llama_405b() -> sim.Result:
    """The whole ``llama_405b`` run with the scenario's 50 replicates."""
    config = sim.load_config("llama_405b", ["sim.progress=false"])
    return sim.run(config, scenario="llama_405b")


def run_llama_405b_window() -> sim.Result:
    """The 54-day window of the Llama 3 paper (Table 5), with the scenario's 50 replicates."""
    config = sim.load_config("llama_405b", ["sim.horizon_days=54", "sim.progress=false"])
    return sim.run(config, scenario="llama_405b")


def mlperf(*overrides: str) -> sim.Config:
    """The serving scenario ``mlperf_llama2_70b``, one replicate without a progress bar, changed
    by ``overrides``."""
    quiet = ["sim.progress=false", "sim.replicates=1"]
    return sim.load_config("mlperf_llama2_70b", [*quiet, *overrides])


def fixed_lengths(prompt: int, output: int) -> list[str]:
    """Serving overrides: every request has a ``prompt``-token prompt and an ``output``-token
    reply."""
    return [
        "serving.prompt_tokens.distribution=fixed", f"serving.prompt_tokens.mean={prompt}",
        f"serving.prompt_tokens.max={prompt}", "serving.output_tokens.distribution=fixed",
        f"serving.output_tokens.mean={output}", f"serving.output_tokens.max={output}",
    ]  # fmt: skip
