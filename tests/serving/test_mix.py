"""Mixed fleets: request classes over replica groups behind one router (issue 29)."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.app.mix import group_configs
from sim.config import Config
from sim.errors import ConfigError
from sim.outputs.mix_results import group_cost, mix_requests_frame
from sim.serving.engine import class_serving, named_seed, simulate_mix
from sim.serving.fleet import GroupOutcome, Routes, ServingFleet
from sim.serving.replica import Request
from sim.serving.traffic import merged, traffic

SHORT = [
    "serving.arrivals=poisson", "serving.duration_s=900", "serving.rate_per_s=0.3",
    "mix.classes.interactive.arrivals=poisson", "mix.classes.batch.arrivals=poisson",
]  # fmt: skip


def mixed(*overrides: str) -> Config:
    """The scenario for 15 minutes of Poisson arrivals; a deleted class keeps its own profile."""
    deleted = {o.split(".")[2] for o in overrides if o.startswith("~mix.classes.")}
    short = [o for o in SHORT if not any(f".{name}." in o for name in deleted)]
    return sim.load_config("serve_mixed_fleet", [*short, *overrides])


def per_class(config: Config, seed: int = 3) -> dict[str, np.ndarray]:
    """Each class's (arrival, TTFT, TPOT) rows, in arrival order."""
    groups = group_configs(config)
    outcome = simulate_mix(config, groups, np.random.SeedSequence(seed))
    frame = mix_requests_frame(outcome, config, groups, 0)
    return {
        str(name): part[["arrival_s", "ttft_s", "tpot_s"]].to_numpy()
        for name, part in frame.groupby("class", observed=True)
    }


def test_classes_that_never_share_a_group_match_their_fleets_run_apart() -> None:
    """Seed for seed: chat only on the GPU group, batch work only on the CPU group, against each
    class on its group alone at the same rate (failure rates raised so the groups fail)."""
    failing = "failures.categories.faulty_gpu.rate_per_1000_server_days=2e4"
    together = per_class(mixed("mix.classes.batch.groups=[cpu]", failing))
    alone = {
        "interactive": per_class(mixed(
            failing, "~mix.classes.batch", "~mix.groups.cpu", "serving.rate_per_s=0.18",
            "mix.classes.interactive.share=1",
        )),
        "batch": per_class(mixed(
            failing, "~mix.classes.interactive", "~mix.groups.gpu", "serving.rate_per_s=0.12",
            "mix.classes.batch.share=1", "mix.classes.batch.groups=[cpu]",
        )),
    }  # fmt: skip
    assert set(together) == {"interactive", "batch"}
    for name, rows in together.items():
        assert len(rows) > 50
        # the class's rate is 0.3 x its share together, the same product written out alone
        np.testing.assert_allclose(rows, alone[name][name], rtol=1e-9, equal_nan=True)


def test_a_class_draws_the_same_requests_whatever_else_the_fleet_holds() -> None:
    seed = np.random.SeedSequence(7)
    assert named_seed(seed, "batch").generate_state(2).tolist() == named_seed(
        np.random.SeedSequence(7), "batch").generate_state(2).tolist()  # fmt: skip
    assert (
        named_seed(seed, "batch").generate_state(1)[0]
        != named_seed(seed, "chat").generate_state(1)[0]
    )


def test_class_aware_routing_keeps_chat_off_the_cpus_and_blind_routing_does_not() -> None:
    config = mixed("serving.rate_per_s=1.0")
    groups = group_configs(config)
    seed = np.random.SeedSequence(1)
    aware = mix_requests_frame(simulate_mix(config, groups, seed), config, groups, 0)
    chat = aware[aware["class"] == "interactive"]
    assert set(chat["group"]) == {"gpu"}
    assert (aware[aware["class"] == "batch"]["group"] == "cpu").any()
    blind_config = mixed("serving.rate_per_s=1.0", "mix.routing=class_blind")
    blind = mix_requests_frame(simulate_mix(blind_config, groups, seed), blind_config, groups, 0)
    assert set(blind[blind["class"] == "interactive"]["group"]) == {"gpu", "cpu"}


class CountingFleet(ServingFleet):
    """Counts each request's ends: served or dropped, exactly once."""

    ends: Counter[int]

    def done(self, request: Request) -> None:
        self.ends[request.index] += 1
        super().done(request)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spill=st.integers(1, 6),
    blind=st.booleans(),
    drop=st.booleans(),
    rate=st.sampled_from([0.5, 2.0]),
    seed=st.integers(0, 2**16),
)
def test_every_request_is_served_or_dropped_exactly_once(
    spill: int, blind: bool, drop: bool, rate: float, seed: int
) -> None:
    """Under spill-over and failures (every server failing about every 3 minutes)."""
    config = mixed(
        f"serving.rate_per_s={rate}", f"mix.spill_waiting={spill}", "serving.duration_s=300",
        f"mix.routing={'class_blind' if blind else 'class_aware'}",
        f"serving.on_failure={'drop' if drop else 'retry'}", "serving.load_weights_s=60",
        "failures=node_rate", "failures.rate_per_1000_server_days=480000",
        "mix.groups.cpu.failures=null",
    )  # fmt: skip
    groups = group_configs(config)
    assert config.mix is not None and config.serving is not None
    parts = [traffic(class_serving(config.serving, k), np.random.default_rng(seed + i))
             for i, k in enumerate(config.mix.classes.values())]  # fmt: skip
    names = list(config.mix.groups)
    order = None if blind else ((0,), (1, 0))
    fleet = CountingFleet(
        [(n, groups[n], np.random.default_rng(seed + 10 + i)) for i, n in enumerate(names)],
        merged(parts), routes=Routes(order, spill),
    )  # fmt: skip
    fleet.ends = Counter()
    outcome = fleet.run()
    assert sum(g.failures for g in outcome.groups) > 0 or rate == 0.5
    assert len(fleet.ends) == len(outcome.requests) and set(fleet.ends.values()) == {1}
    for request in outcome.requests:
        assert not math.isnan(request.finish_s)
        assert request.dropped or not math.isnan(request.first_token_s)
        assert drop or not request.dropped


@pytest.mark.parametrize(("owned", "amortised", "expected"), [
    (False, False, 2 * 10 * (20.0 + 0.0)),  # rented: the price per server-hour
    (True, False, 2 * 10 * 0.5),  # owned: operations only
    (True, True, 2 * 10 * (20.0 + 0.5)),  # owned, amortised: the price as well
])  # fmt: skip
def test_a_group_costs_its_rent_or_its_operations_plus_energy(
    owned: bool, amortised: bool, expected: float
) -> None:
    config = mixed(f"mix.groups.cpu.owned={owned}", f"mix.groups.cpu.amortised={amortised}",
                   "mix.groups.cpu.ops_usd_per_server_hour=0.5")  # fmt: skip
    cpu = group_configs(config)["cpu"]
    cpu = dataclasses.replace(
        cpu, hardware=dataclasses.replace(cpu.hardware, price_per_server_hour_usd=20.0)
    )
    assert config.mix is not None
    idle = group_cost(cpu, config.mix.groups["cpu"], GroupOutcome("cpu", 0.0, 0.0, 0), 36000.0)
    energy = (2 * cpu.hardware.server_power_kw * 10 * cpu.serving.idle_power_fraction  # type: ignore[union-attr]
              * cpu.pricing.pue * cpu.pricing.energy_usd_per_kwh)  # fmt: skip
    assert idle["servers"] == 2
    assert idle["cost_usd"] == pytest.approx(expected + energy)


def test_a_class_of_higher_priority_waits_ahead_of_the_others() -> None:
    """One GPU server running at most 2 requests at once for both classes: with chat's priority
    raised, its requests start before waiting batch work, so its TTFT falls and batch's grows."""
    common = ["serving.rate_per_s=1.0", "mix.groups.cpu.replicas=0",
              "mix.classes.batch.groups=[gpu]", "+mix.groups.gpu.serving.max_batch=2"]  # fmt: skip

    def mean_ttft(*extra: str) -> dict[str, float]:
        config = mixed(*common, *extra)
        groups = group_configs(config)
        outcome = simulate_mix(config, groups, np.random.SeedSequence(5))
        frame = mix_requests_frame(outcome, config, groups, 0)
        return frame.groupby("class", observed=True)["ttft_s"].mean().to_dict()

    fifo, ranked = mean_ttft(), mean_ttft("mix.classes.interactive.priority=1")
    assert ranked["interactive"] < 0.8 * fifo["interactive"]
    assert ranked["batch"] > fifo["batch"]


def test_a_trace_with_a_class_column_labels_each_request(tmp_path: Path) -> None:
    rows = ["arrival_s,prompt_tokens,output_tokens,class"]
    rows += [
        f"{i * 3.0},{500 + i},{50 + i},{'batch' if i % 3 else 'interactive'}" for i in range(30)
    ]
    trace = tmp_path / "trace.csv"
    trace.write_text("\n".join(rows) + "\n")
    config = mixed("serving.arrivals=trace", f"serving.trace={trace}")
    groups = group_configs(config)
    frame = mix_requests_frame(simulate_mix(config, groups, np.random.SeedSequence(0)), config,
                               groups, 0)  # fmt: skip
    assert frame["class"].tolist() == ["interactive" if i % 3 == 0 else "batch" for i in range(30)]
    assert set(frame[frame["class"] == "interactive"]["group"]) == {"gpu"}
    assert frame["prompt_tokens"].tolist() == [500 + i for i in range(30)]
    trace.write_text("arrival_s,prompt_tokens,output_tokens,class\n0,10,10,chat\n")
    with pytest.raises(ConfigError, match=r"class 'chat' is not one of mix.classes: interactive"):
        simulate_mix(config, groups, np.random.SeedSequence(0))
