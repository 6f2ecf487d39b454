"""A mixed fleet's tables and summary: each request with its class and group, each class's
latency and target attainment, each group's servers, utilisation and cost.

A group's cost: rented, its servers' price per hour plus their energy; owned (already paid for),
its energy and operations, with the amortised price only when ``amortised`` says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.config import Config, MixConfig, ReplicaGroupConfig
from sim.outputs.serving_results import percentile_s, requests_frame
from sim.outputs.summary import Summary
from sim.perf.inference import serving_of
from sim.serving.fleet import (
    FleetOutcome,
    GroupOutcome,
    downtime_s,
    failures_per_server_s,
    fleet_shape,
)


def mix_requests_frame(
    outcome: FleetOutcome, config: Config, groups: dict[str, Config], replicate: int
) -> pd.DataFrame:
    """One row per request, with its class and group; it meets its target when its TTFT and
    TPOT are within its class's limits."""
    mix = _mix(config)
    frame = requests_frame(outcome, serving_of(config), replicate)
    classes = list(mix.classes.values())
    names, codes = list(mix.classes), np.array([r.klass for r in outcome.requests], dtype=int)
    frame["class"] = pd.Categorical(np.array(names)[codes], categories=names)
    owner = np.repeat(np.arange(len(groups)), [fleet_shape(g).replicas for g in groups.values()])
    where = owner[frame["replica"].to_numpy()]
    frame["group"] = pd.Categorical(np.array(list(groups))[where], categories=list(groups))
    ttft_limit = np.array([k.slo_ttft_s for k in classes])[codes]
    tpot_limit = np.array([k.slo_tpot_s for k in classes])[codes]
    frame["meets_slo"] = (
        ~frame["dropped"]
        & (frame["ttft_s"] <= ttft_limit)
        & (frame["tpot_s"].fillna(0.0) <= tpot_limit)
    )
    return frame


def group_cost(
    config: Config, group: ReplicaGroupConfig, outcome: GroupOutcome, span_s: float
) -> dict[str, float]:
    """A group's servers, utilisation, energy and cost over ``span_s``."""
    hw, serving, shape = config.hardware, serving_of(config), fleet_shape(config)
    hours = span_s / 3600.0
    utilisation = outcome.busy_s / (shape.replicas * span_s) if shape.replicas else 0.0
    power = serving.idle_power_fraction + (1.0 - serving.idle_power_fraction) * utilisation
    energy_kwh = shape.servers * hw.server_power_kw * hours * power * config.pricing.pue
    rent = 0.0 if group.owned and not group.amortised else hw.price_per_server_hour_usd
    ops = group.ops_usd_per_server_hour if group.owned else 0.0
    cost = shape.servers * hours * (rent + ops) + energy_kwh * config.pricing.energy_usd_per_kwh
    return {"servers": shape.servers, "utilisation": utilisation, "energy_kwh": energy_kwh,
            "cost_usd": cost}  # fmt: skip


def mix_replicate_row(
    config: Config, groups: dict[str, Config], outcome: FleetOutcome, requests: pd.DataFrame,
    replicate: int,
) -> dict[str, Any]:  # fmt: skip
    mix, serving = _mix(config), serving_of(config)
    span_s = max(outcome.end_s, serving.duration_s)  # the fleet is had for the whole run
    served = requests[~requests["dropped"]]
    output_tokens = float(served["output_tokens"].sum())
    row: dict[str, Any] = {"replicate": replicate, "requests": len(requests),
                           "dropped": int(requests["dropped"].sum()), "span_s": span_s}  # fmt: skip
    total = 0.0
    for (name, group), result in zip(groups.items(), outcome.groups, strict=True):
        figures = group_cost(group, mix.groups[name], result, span_s)
        total += figures["cost_usd"]
        row |= {f"group.{name}.{k}": v for k, v in figures.items()}
        row[f"group.{name}.failures"] = result.failures
        row[f"group.{name}.requests"] = int((requests["group"] == name).sum())
    for name in mix.classes:
        mine = requests[requests["class"] == name]
        row[f"class.{name}.requests"] = len(mine)
        row[f"class.{name}.slo_attainment"] = float(mine["meets_slo"].mean()) if len(mine) else 1.0
        row[f"class.{name}.goodput_rps"] = float(mine["meets_slo"].sum()) / span_s
    row |= {
        "tokens_per_s": output_tokens / span_s,
        "slo_attainment": float(requests["meets_slo"].mean()),
        "failures": outcome.failures,
        "engine_events": outcome.engine_events,
        "cost_usd": total,
        "cost_per_m_output_tokens": total / output_tokens * 1e6 if output_tokens else math.nan,
    }
    return row


def summarize_mix(
    scenario: str, config: Config, groups: dict[str, Config], replicates: pd.DataFrame,
    requests: pd.DataFrame,
) -> Summary:  # fmt: skip
    """The run's figures: totals, then each class's (latency percentiles over its requests,
    target attainment, whether it meets its target) and each group's."""
    mix, serving = _mix(config), serving_of(config)
    servers = {n: fleet_shape(g).servers for n, g in groups.items()}
    figures: dict[str, Any] = {
        "mode": "serving",
        "scenario": scenario,
        "seed": config.sim.seed,
        "replicates": len(replicates),
        "routing": mix.routing.value,
        "rate_per_s": serving.rate_per_s,
        "model": config.model.name,
        "device": "+".join(_device(g) for g in groups.values() if servers_of(g)),
        "weights": "+".join(serving_of(g).weights.value for g in groups.values() if servers_of(g)),
        "servers": sum(servers.values()),
        "availability_steady_state": _availability(groups),
    }
    for name in ("ttft_s", "tpot_s"):
        figures[f"{name.removesuffix('_s')}_p99_s"] = percentile_s(requests, name, 99)
    meets = True
    for name, klass in mix.classes.items():
        mine = requests[requests["class"] == name]
        attained = float(mine["meets_slo"].mean()) if len(mine) else 1.0
        meets &= attained >= klass.slo_attainment
        figures |= {
            f"class.{name}.share": klass.share,
            f"class.{name}.ttft_p99_s": percentile_s(mine, "ttft_s", 99),
            f"class.{name}.tpot_p99_s": percentile_s(mine, "tpot_s", 99),
            f"class.{name}.meets_target": attained >= klass.slo_attainment,
        }
    figures["meets_targets"] = meets
    for name, group in groups.items():
        figures[f"group.{name}.device"] = _device(group)
        figures[f"group.{name}.owned"] = mix.groups[name].owned
    means = replicates.drop(columns=["replicate"]).mean()
    figures |= {str(k): float(v) for k, v in means.items()}
    served = max(figures["tokens_per_s"], 1e-12)
    figures["utilisation"] = float(np.average(
        [figures[f"group.{n}.utilisation"] for n in groups], weights=list(servers.values())
    )) if sum(servers.values()) else 0.0  # fmt: skip
    figures["energy_per_output_token_j"] = (
        sum(figures[f"group.{n}.energy_kwh"] for n in groups)
        * 3.6e6
        / (served * float(replicates["span_s"].mean()))
    )
    return Summary(figures)


def _device(config: Config) -> str:
    """A group's server: its hardware, with its host CPU for a hybrid replica."""
    return config.hardware.name + (f" with {config.host.name}" if config.host else "")


def servers_of(config: Config) -> int:
    return fleet_shape(config).servers


def _availability(groups: dict[str, Config]) -> float:
    """Steady-state share of replicas up, over every group's replicas."""
    up = replicas = 0.0
    for config in groups.values():
        shape = fleet_shape(config)
        rate = failures_per_server_s(config) * shape.servers_per_replica
        up += shape.replicas / (1.0 + rate * downtime_s(config))
        replicas += shape.replicas
    return up / replicas if replicas else 1.0


def _mix(config: Config) -> MixConfig:
    assert config.mix is not None  # a mixed run
    return config.mix
