"""The cheapest mix: the replica counts of a mixed fleet's groups that meet every class's target
attainment at the least cost.

Every combination of counts from 0 to each group's ``max_replicas`` is a candidate. They are
tried from the cheapest lower bound up: the servers' rent or operations and their idle energy over
the run's duration, what a mix costs at least however busy its servers are. Once a mix meets every
target, a candidate whose bound is at or above its cost cannot beat it and is not simulated, so the
search returns the optimum of trying every mix (``brute_force``; a test checks they agree) with
fewer simulations. No monotonicity is assumed: more replicas can miss where fewer meet (a CPU
group that takes batch work the GPU would have served faster).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm import tqdm

from sim.app.mix import group_configs, mix_of
from sim.config import Config
from sim.outputs.mix_results import servers_of
from sim.serving.engine import class_groups

Counts = tuple[int, ...]


@dataclass(frozen=True)
class Trial:
    """One candidate mix and what became of it."""

    counts: Counts
    bound_usd: float  # the least it can cost
    status: str  # "meets", "misses", or "skipped"
    cost_usd: float | None = None  # simulated
    reason: str = ""


def with_counts(config: Config, counts: Counts) -> Config:
    """The configuration with each group's replica count set."""
    mix = mix_of(config)
    groups = {
        name: dataclasses.replace(group, replicas=n)
        for (name, group), n in zip(mix.groups.items(), counts, strict=True)
    }
    return dataclasses.replace(config, mix=dataclasses.replace(mix, groups=groups))


def lower_bound_usd(config: Config) -> float:
    """Rent or operations of every server, and its idle energy, over the run's duration."""
    groups = group_configs(config)
    return _bound(config, groups, tuple(mix_of(config).groups[n].replicas for n in groups))


def _bound(config: Config, groups: dict[str, Config], counts: Counts) -> float:
    """The lower bound of ``counts`` replicas of ``groups`` (configurations composed once)."""
    mix, serving = mix_of(config), config.serving
    assert serving is not None  # a mixed run
    hours, total = serving.duration_s / 3600.0, 0.0
    for (name, group_config), n in zip(groups.items(), counts, strict=True):
        group, hw, own = mix.groups[name], group_config.hardware, group_config.serving
        assert own is not None
        rent = 0.0 if group.owned and not group.amortised else hw.price_per_server_hour_usd
        ops = group.ops_usd_per_server_hour if group.owned else 0.0
        idle_kw = hw.server_power_kw * own.idle_power_fraction * config.pricing.pue
        per_hour = rent + ops + idle_kw * config.pricing.energy_usd_per_kwh
        sized = dataclasses.replace(group_config, serving=dataclasses.replace(own, replicas=n))
        total += servers_of(sized) * hours * per_hour
    return total


Evaluate = Callable[[Config], Mapping[str, Any]]  # a mix's summary: meets_targets, cost_usd ...


def candidates(config: Config) -> list[tuple[Counts, float]]:
    """Every combination of replica counts with its lower bound, cheapest first."""
    ranges = [range(g.max_replicas + 1) for g in mix_of(config).groups.values()]
    groups = group_configs(config)
    out = [(c, _bound(config, groups, c)) for c in itertools.product(*ranges)]
    return sorted(out, key=lambda item: (item[1], item[0]))


def search(config: Config, evaluate: Evaluate, progress: bool = False) -> list[Trial]:
    """Try candidates cheapest bound first; those whose bound is not below the best found are
    recorded, not simulated."""
    trials: list[Trial] = []
    best: float | None = None
    for counts, bound in tqdm(candidates(config), desc="mix search", disable=not progress):
        if best is not None and bound >= best:
            trials.append(Trial(counts, bound, "skipped", reason=f"costs at least ${bound:,.2f}, "
                                f"not below the best ${best:,.2f}"))  # fmt: skip
            continue
        trial = _run(config, counts, bound, evaluate)
        trials.append(trial)
        if trial.status == "meets" and trial.cost_usd is not None:
            best = trial.cost_usd if best is None else min(best, trial.cost_usd)
    return trials


def brute_force(config: Config, evaluate: Evaluate) -> list[Trial]:
    """Every candidate simulated: the reference the search must agree with."""
    return [_run(config, counts, bound, evaluate) for counts, bound in candidates(config)]


def cheapest(trials: Iterable[Trial]) -> Trial | None:
    met = [t for t in trials if t.status == "meets" and t.cost_usd is not None]
    return min(met, key=lambda t: (t.cost_usd, t.counts)) if met else None


def _run(config: Config, counts: Counts, bound: float, evaluate: Evaluate) -> Trial:
    mix = mix_of(config)
    if not any(counts):
        return Trial(counts, bound, "misses", reason="no replicas")
    candidate = with_counts(config, counts)
    for name, klass in mix.classes.items():
        if not any(counts[list(mix.groups).index(g)] for g in class_groups(mix, klass)):
            return Trial(counts, bound, "misses", reason=f"no replica serves {name}")
    summary = evaluate(candidate)
    if summary["meets_targets"]:
        return Trial(counts, bound, "meets", summary["cost_usd"])
    short = [
        f"{name} {summary[f'class.{name}.slo_attainment']:.1%} < {klass.slo_attainment:.0%}"
        for name, klass in mix.classes.items()
        if not summary[f"class.{name}.meets_target"]
    ]
    return Trial(counts, bound, "misses", summary["cost_usd"], "; ".join(short))


def trials_frame(config: Config, trials: list[Trial]) -> pd.DataFrame:
    """One row per candidate, in the order tried: its counts, bound, outcome and why."""
    names = list(mix_of(config).groups)
    return pd.DataFrame(
        [
            {
                **dict(zip(names, t.counts, strict=True)),
                "bound_usd": t.bound_usd,
                "status": t.status,
                "cost_usd": t.cost_usd,
                "reason": t.reason,
            }
            for t in trials
        ]
    )
