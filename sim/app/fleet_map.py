"""The decision map: for each request rate and interactive share, the cheapest fleet that meets
every class's target (GPU only, CPU only, hybrid or mixed) and what a million output tokens
cost on it.

Each cell is a mix search (``sim.app.mix_search``) over the scenario's groups on a busy hour of
steady Poisson traffic (``window_s``): a day's peaks are where a fleet is sized. Every class may use
every group, in its own order of preference (its ``groups`` first), so the search can pick a fleet
of one kind for all traffic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd
from tqdm import tqdm

from sim.app.mix import group_configs, mix_of
from sim.app.mix_search import cheapest, search
from sim.app.simulation import run_mix
from sim.config import Arrivals, Config, RequestClassConfig

KINDS = ("GPU only", "CPU only", "mixed", "none within reach", "hybrid")


def cell_config(config: Config, rate: float, share: float, window_s: float) -> Config:
    """The scenario at ``rate`` with its first class at ``share`` (the others keep their
    proportions in the rest; a class with none is left out), Poisson arrivals for ``window_s``,
    every group open to every class."""
    mix, serving = mix_of(config), config.serving
    assert serving is not None  # a mixed run
    names = list(mix.groups)
    first, *rest = mix.classes
    others = sum(mix.classes[n].share for n in rest)
    classes: dict[str, RequestClassConfig] = {}
    for name, klass in mix.classes.items():
        own = share if name == first else (1.0 - share) * klass.share / others
        if own <= 0:
            continue  # a class with no traffic in this cell
        order = [*klass.groups, *(g for g in names if g not in klass.groups)]
        classes[name] = dataclasses.replace(klass, share=own, arrivals=Arrivals.poisson,
                                            groups=order)  # fmt: skip
    cell_mix = dataclasses.replace(mix, classes=classes, search=False)
    cell_serving = dataclasses.replace(serving, rate_per_s=rate, arrivals=Arrivals.poisson,
                                       duration_s=window_s, requests=None)  # fmt: skip
    return dataclasses.replace(config, serving=cell_serving, mix=cell_mix)


def decision_map(
    config: Config, rates: Sequence[float], shares: Sequence[float], window_s: float = 3600.0,
    progress: bool = True,
) -> pd.DataFrame:  # fmt: skip
    """One row per (rate, share): the cheapest fleet's kind, replica counts, cost per million
    output tokens, and the simulations its search ran."""
    rows = []
    cells = [(r, s) for s in shares for r in rates]
    for rate, share in tqdm(cells, desc="decision map", disable=not progress):
        cell = cell_config(config, rate, share, window_s)
        results: dict[tuple[int, ...], dict[str, object]] = {}

        def evaluate(candidate: Config, store: dict[tuple[int, ...], dict[str, object]] = results
                     ) -> dict[str, object]:  # fmt: skip
            counts = tuple(g.replicas for g in mix_of(candidate).groups.values())
            store[counts] = dict(run_mix(candidate).summary.items())
            return store[counts]

        best = cheapest(search(cell, evaluate))
        row: dict[str, object] = {"rate_per_s": rate, "interactive_share": share,
                                  "simulations": len(results)}  # fmt: skip
        if best is None:
            rows.append(row | {"fleet": KINDS[3], "cost_per_m_output_tokens": float("nan")})
            continue
        chosen = results[best.counts]
        row |= dict(zip(mix_of(cell).groups, best.counts, strict=True))
        row["fleet"] = _kind(cell, best.counts)
        row["cost_per_m_output_tokens"] = chosen["cost_per_m_output_tokens"]
        rows.append(row)
    return pd.DataFrame(rows)


def _kind(config: Config, counts: Sequence[int]) -> str:
    """GPU only, CPU only or mixed, from the hardware kinds of the groups that have replicas."""
    kinds = {"hybrid" if g.host else g.hardware.kind.value
             for g, n in zip(group_configs(config).values(), counts, strict=True) if n}  # fmt: skip
    one_kind = {frozenset({"gpu"}): KINDS[0], frozenset({"cpu"}): KINDS[1],
                frozenset({"hybrid"}): "hybrid"}  # fmt: skip
    return one_kind.get(frozenset(kinds), KINDS[2])
