"""Capacity search: the fewest replicas that meet an SLO at a request rate.

Each point is a simulation of ``serving.search_requests`` requests (the same requests for every
fleet size, from ``sim.seed``): double the replicas until the share of requests meeting the SLO
reaches ``serving.slo_attainment``, then bisect. A fleet whose lone request already misses the
target (a CPU decoding a 405B model slower than the TPOT limit) is infeasible at any size.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.config import Config, SloConfig
from sim.outputs.serving_results import percentile_s, replicate_row, requests_frame
from sim.perf.inference import serving_of
from sim.serving.engine import simulate, unloaded_latency
from sim.serving.fleet import FleetOutcome, LatencyLimit


def with_serving(config: Config, **changes: Any) -> Config:
    return dataclasses.replace(config, serving=dataclasses.replace(serving_of(config), **changes))


def measure(config: Config) -> dict[str, Any]:
    """One simulated point: the replicate row plus the p99 latencies."""
    return _row(config, simulate(config, np.random.SeedSequence(config.sim.seed)))


def _row(config: Config, outcome: FleetOutcome) -> dict[str, Any]:
    frame = requests_frame(outcome, serving_of(config), 0)
    row = replicate_row(config, outcome, frame, 0)
    for name in ("ttft_s", "tpot_s"):
        row[f"{name.removesuffix('_s')}_p99_s"] = percentile_s(frame, name, 99)
    return row


def search(config: Config, rate: float, slo: SloConfig) -> dict[str, Any]:
    """The smallest fleet meeting ``slo`` at ``rate``, with its figures; or why there is none."""
    serving = serving_of(config)
    base = with_serving(
        config, rate_per_s=rate, requests=serving.search_requests,
        slo_ttft_s=slo.ttft_s, slo_tpot_s=slo.tpot_s,
    )  # fmt: skip
    ttft, tpot = unloaded_latency(base)
    if ttft > slo.ttft_s or tpot > slo.tpot_s:
        why = f"a lone request takes TTFT {ttft:.3g} s, TPOT {tpot:.3g} s"
        return {"feasible": False, "reason": why}
    points: dict[int, dict[str, Any]] = {}

    def meets(replicas: int) -> bool:
        points[replicas] = measure(with_serving(base, replicas=replicas))
        return bool(points[replicas]["slo_attainment"] >= serving.slo_attainment)

    low, high = 0, 1
    while not meets(high):
        low, high = high, high * 2
        if high > serving.max_replicas:
            why = f"not met by {low} replicas (serving.max_replicas={serving.max_replicas})"
            return {"feasible": False, "reason": why}
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if meets(mid) else (mid, high)
    return {"feasible": True, "reason": "", "replicas": high, **points[high]}


def max_rate(config: Config, *, steps: int = 12) -> tuple[float, dict[str, Any]]:
    """The highest Poisson rate at which the fleet keeps p99 TTFT and p99 TPOT within the SLO
    (MLPerf's Server scenario), by bisection over the rate; with the figures at that rate."""
    serving = serving_of(config)

    limit = LatencyLimit(serving.slo_ttft_s, serving.slo_tpot_s)

    def meets(rate: float) -> dict[str, Any] | None:
        point = with_serving(config, rate_per_s=rate, arrivals="poisson")
        outcome = simulate(point, np.random.SeedSequence(config.sim.seed), limit)
        if outcome.abandoned:  # more than 1% of the requests already missed a limit
            return None
        row = _row(point, outcome)
        within = row["ttft_p99_s"] <= serving.slo_ttft_s and row["tpot_p99_s"] <= serving.slo_tpot_s
        return row if within else None

    low, high = 0.0, serving.rate_per_s
    best = meets(high)
    while best is not None:  # grow until the SLO breaks
        low, high = high, high * 2.0
        found = meets(high)
        if found is None:
            break
        best = found
    for _ in range(steps):
        mid = (low + high) / 2.0
        found = meets(mid)
        low, high = (mid, high) if found is not None else (low, mid)
        best = found if found is not None else best
    if best is None:
        raise ValueError(f"the SLO is not met even at {serving.rate_per_s} requests/s")
    return low, best


def capacity_table(config: Config, *, progress: bool = False) -> pd.DataFrame:
    """One row per request rate and SLO: the fleet that meets it and what it costs."""
    serving = serving_of(config)
    slos = serving.slos or {"slo": SloConfig(serving.slo_ttft_s, serving.slo_tpot_s)}
    cases = [(rate, name, slo) for rate in serving.rates_per_s for name, slo in slos.items()]
    rows = []
    bar = tqdm(cases, desc="capacity", unit="point", file=sys.stderr,
               disable=None if progress else True, delay=1.0, leave=False)  # fmt: skip
    for rate, name, slo in bar:
        found = search(config, rate, slo)
        rows.append(
            {
                "hardware": config.hardware.name,
                "weights": serving.weights.value,
                "rate_per_s": rate,
                "slo": name,
                "slo_ttft_s": slo.ttft_s,
                "slo_tpot_s": slo.tpot_s,
                **found,
            }
        )
    return pd.DataFrame(rows)
