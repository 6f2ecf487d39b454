"""A serving run's tables and summary: one row per request, one per replicate, and the summary.

Latency figures are as MLPerf and vLLM define them: TTFT from arrival to the first token, TPOT the
mean time between a request's later tokens, end-to-end from arrival to the last token; a request
meets the SLO when its TTFT and TPOT are both within ``serving.slo_ttft_s`` and ``slo_tpot_s``.
Goodput is the requests per second that meet it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import Config, ServingConfig
from sim.outputs.files import write_parquet, write_summary
from sim.outputs.results import machine_figures
from sim.outputs.summary import Summary
from sim.perf.inference import compute_path, replica_memory, serving_of
from sim.serving.engine import unloaded_latency
from sim.serving.fleet import FleetOutcome, downtime_s, failures_per_server_s, fleet_shape

REQUESTS_FILE = "requests.parquet"
REPLICATES_FILE = "replicates.parquet"
CAPACITY_FILE = "capacity.parquet"
TRIALS_FILE = "mix_search.parquet"


@dataclass(frozen=True)
class ServingResult:
    """The summary, one row per replicate, one per request, and the capacity search if asked."""

    summary: Summary
    replicates: pd.DataFrame
    requests: pd.DataFrame
    capacity: pd.DataFrame | None = None
    trials: pd.DataFrame | None = None  # a mix search: every candidate mix and its outcome

    def write(self, out_dir: Path) -> None:
        """Tables first, the summary last: its presence marks the run finished."""
        out_dir.mkdir(parents=True, exist_ok=True)
        tables = {REPLICATES_FILE: self.replicates, REQUESTS_FILE: self.requests}
        if self.capacity is not None:
            tables[CAPACITY_FILE] = self.capacity
        if self.trials is not None:
            tables[TRIALS_FILE] = self.trials
        for name, frame in tables.items():
            write_parquet(frame, out_dir / name)
        write_summary(self.summary, out_dir)


def requests_frame(outcome: FleetOutcome, serving: ServingConfig, replicate: int) -> pd.DataFrame:
    r = outcome.requests
    frame = pd.DataFrame(
        {
            "replicate": replicate,
            "request": [q.index for q in r],
            "arrival_s": [q.arrival_s for q in r],
            "prompt_tokens": [q.prompt for q in r],
            "output_tokens": [q.output for q in r],
            "replica": [q.replica for q in r],
            "first_token_s": [q.first_token_s for q in r],
            "finish_s": [q.finish_s for q in r],
            "preemptions": [q.preemptions for q in r],
            "retries": [q.retries for q in r],
            "dropped": [q.dropped for q in r],
        }
    )
    served = ~frame["dropped"]
    frame["ttft_s"] = (frame["first_token_s"] - frame["arrival_s"]).where(served)
    later = (frame["output_tokens"] - 1).where(frame["output_tokens"] > 1)
    frame["tpot_s"] = ((frame["finish_s"] - frame["first_token_s"]) / later).where(served)
    frame["e2e_s"] = (frame["finish_s"] - frame["arrival_s"]).where(served)
    frame["meets_slo"] = (
        served
        & (frame["ttft_s"] <= serving.slo_ttft_s)
        & (frame["tpot_s"].fillna(0.0) <= serving.slo_tpot_s)
    )
    return frame


def replicate_row(
    config: Config, outcome: FleetOutcome, requests: pd.DataFrame, replicate: int
) -> dict[str, Any]:
    hw, shape = config.hardware, fleet_shape(config)
    serving = serving_of(config)
    span_s = max(outcome.end_s, 1e-9)
    served = requests[~requests["dropped"]]
    output_tokens = float(served["output_tokens"].sum())
    utilisation = outcome.busy_s / (shape.replicas * span_s)
    hours = span_s / 3600.0
    power = serving.idle_power_fraction + (1.0 - serving.idle_power_fraction) * utilisation
    energy_kwh = shape.servers * hw.server_power_kw * hours * power * config.pricing.pue
    compute_usd = shape.servers * hw.price_per_server_hour_usd * hours
    cost = compute_usd + energy_kwh * config.pricing.energy_usd_per_kwh
    return {
        "replicate": replicate,
        "replicas": shape.replicas,
        "servers": shape.servers,
        "requests": len(requests),
        "dropped": int(requests["dropped"].sum()),
        "late": int((~requests["dropped"] & ~requests["meets_slo"]).sum()),  # served, missed SLO
        "retried": int((requests["retries"] > 0).sum()),
        "preempted": int((requests["preemptions"] > 0).sum()),
        "span_s": span_s,
        "tokens_per_s": output_tokens / span_s,
        "requests_per_s": len(served) / span_s,
        "goodput_rps": float(requests["meets_slo"].sum()) / span_s,
        "slo_attainment": float(requests["meets_slo"].mean()),
        "utilisation": utilisation,
        "availability": 1.0 - outcome.down_s / (shape.replicas * span_s),
        "failures": outcome.failures,
        "engine_events": outcome.engine_events,
        "energy_kwh": energy_kwh,
        "cost_usd": cost,
        "cost_per_m_output_tokens": cost / output_tokens * 1e6 if output_tokens else math.nan,
    }


def percentile_s(requests: pd.DataFrame, name: str, q: float) -> float | None:
    """The ``q``-th percentile of a latency column over the requests that have it."""
    values = requests[name].dropna()
    return float(np.percentile(values, q)) if len(values) else None


def summarize_serving(
    scenario: str, config: Config, replicates: pd.DataFrame, requests: pd.DataFrame
) -> Summary:
    serving, hw = serving_of(config), config.hardware
    shape, memory = fleet_shape(config), replica_memory(config)
    path, _ = compute_path(hw, serving.weights)
    ttft, tpot = unloaded_latency(config)
    replica_rate = failures_per_server_s(config) * shape.servers_per_replica
    figures: dict[str, Any] = {
        "mode": "serving",
        "scenario": scenario,
        "seed": config.sim.seed,
        "replicates": len(replicates),
        **machine_figures(config),
        "replicas": shape.replicas,
        "tp": serving.tp,
        "pp": serving.pp,
        "servers": shape.servers,
        "devices": shape.replicas * serving.tp * serving.pp,
        "weights": serving.weights.value,
        "compute_path": path,
        "kv_cache": serving.kv_cache.value,
        "memory_weights_gib": memory.weights_gib,
        "memory_kv_gib": memory.kv_gib,
        "memory_reserve_gib": memory.reserve_gib,
        "memory_capacity_gib": memory.capacity_gib,
        "kv_cache_tokens": memory.kv_tokens,
        "arrivals": serving.arrivals.value,
        "rate_per_s": serving.rate_per_s,
        "slo_ttft_s": serving.slo_ttft_s,
        "slo_tpot_s": serving.slo_tpot_s,
        "unloaded_ttft_s": ttft,
        "unloaded_tpot_s": tpot,
        "availability_steady_state": 1.0 / (1.0 + replica_rate * downtime_s(config)),
    }
    for name in ("ttft_s", "tpot_s", "e2e_s"):
        values = requests[name].dropna()
        stem = name.removesuffix("_s")
        figures[f"{stem}_mean_s"] = float(values.mean()) if len(values) else None
        for q in (50, 99):
            figures[f"{stem}_p{q}_s"] = percentile_s(requests, name, q)
    means = replicates.drop(columns=["replicate", "replicas", "servers"]).mean()
    figures |= {str(k): float(v) for k, v in means.items()}
    return Summary(figures)
