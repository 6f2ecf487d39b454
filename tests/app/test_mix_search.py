"""The mix search (issue 29): the cheapest replica counts that meet every class's target, found
with fewer simulations than trying every mix, and the same as trying every mix."""

from __future__ import annotations

import pytest

import sim
from sim.app.mix_search import (
    brute_force,
    candidates,
    cheapest,
    lower_bound_usd,
    search,
    with_counts,
)
from sim.app.simulation import run_mix

pytestmark = pytest.mark.slow  # a dozen short mixed-fleet simulations

# Fifteen minutes of Poisson traffic; the GPU server runs at most 4 requests at once, so how many
# CPU servers take the batch work, and whether a second GPU server is cheaper, both matter.
SMALL = [
    "serving.arrivals=poisson", "serving.duration_s=900", "serving.rate_per_s=0.5",
    "mix.classes.interactive.arrivals=poisson", "mix.classes.batch.arrivals=poisson",
    "+mix.groups.gpu.serving.max_batch=4", "mix.groups.gpu.max_replicas=2",
    "mix.groups.cpu.max_replicas=3", "mix.groups.hybrid.max_replicas=0", "~compare",
]  # fmt: skip


def test_the_search_finds_the_brute_force_optimum_with_fewer_simulations() -> None:
    config = sim.load_config("serve_mixed_fleet", SMALL)
    simulated: list[tuple[int, ...]] = []

    def evaluate(candidate: sim.Config) -> dict[str, object]:
        assert candidate.mix is not None
        simulated.append(tuple(g.replicas for g in candidate.mix.groups.values()))
        return dict(run_mix(candidate).summary.items())

    every = brute_force(config, evaluate)
    everything = len(simulated)
    simulated.clear()
    found = search(config, evaluate)
    best, reference = cheapest(found), cheapest(every)
    assert reference is not None and best is not None
    assert best.counts == reference.counts and best.cost_usd == reference.cost_usd
    assert len(found) == len(every) == 12
    assert len(simulated) < everything
    # what it skipped, it says why
    assert all(t.reason for t in found if t.status != "meets")


def test_candidates_come_cheapest_bound_first_and_bounds_grow_with_servers() -> None:
    config = sim.load_config("serve_mixed_fleet", SMALL)
    bounds = [bound for _, bound in candidates(config)]
    assert bounds == sorted(bounds)
    one, two = (lower_bound_usd(with_counts(config, c)) for c in ((1, 1, 0), (1, 2, 0)))
    assert 0 < one < two


def test_class_aware_routing_meets_the_targets_for_less_where_the_gpu_server_runs_full() -> None:
    """Class-blind routing sends chat to the CPU servers too, so its only fleets that meet the
    chat target are all GPU; class-aware routing keeps chat on the GPU server and lets the CPU
    servers take the batch work that would otherwise need a second one."""
    best = {}
    for routing in ("class_aware", "class_blind"):
        config = sim.load_config("serve_mixed_fleet", [*SMALL, f"mix.routing={routing}"])
        found = cheapest(search(config, lambda c: dict(run_mix(c).summary.items())))
        assert found is not None, routing
        best[routing] = found
    assert best["class_aware"].counts[1] > 0  # the CPU servers carry some of the work
    assert best["class_blind"].counts[1] == 0  # a CPU server in the pool costs chat its target
    assert best["class_aware"].cost_usd < best["class_blind"].cost_usd
