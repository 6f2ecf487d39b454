"""Failure catalogue, distributions, scopes, spares, stragglers, lemons, planned interruptions."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest
import simpy
from helpers import plan, simulate
from scipy import stats

import sim
from sim.des.draws import frozen
from sim.outputs.analysis import published_interruptions
from sim.training.accounting import Bucket
from sim.training.cluster import Roster
from sim.training.failures import Failure, start_failures
from sim.training.plan import Category, node_rate_categories
from sim.training.replicate import simulate_replicate

DAY = 86_400.0


def category(**changes: object) -> Category:
    base = Category(
        name="c", scope="server", rate_per_server_s=1.0 / DAY, distribution="exponential",
        shape=1.0, empirical=(), swap=True, servers_down=1, detection_s=60.0, silent=False,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class Recorder:
    """Stands in for the job: records when failures strike and where."""

    deaf_until = -math.inf  # hears every failure

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.times: list[float] = []
        self.slots: list[tuple[int, ...]] = []

    def fail(self, failure: Failure) -> None:
        self.times.append(self.env.now)
        self.slots.append(failure.slots)

    def planned_stop(self) -> None: ...
    def slow_down(self, slot: int, speed: float, duration_s: float) -> None: ...


class DeafRecorder(Recorder):
    """A job that ignores failures for ``deaf_s`` after each one it hears, as a recovery does
    when failures may not strike it, and says so."""

    def __init__(self, env: simpy.Environment, deaf_s: float) -> None:
        super().__init__(env)
        self.deaf_s = deaf_s
        self.deaf_until = -math.inf

    def fail(self, failure: Failure) -> None:
        if self.env.now >= self.deaf_until:
            super().fail(failure)
            self.deaf_until = self.env.now + self.deaf_s


def stream(
    cat: Category, servers: int, until_s: float, seed: int = 0, target: Recorder | None = None
) -> Recorder:
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    roster = Roster(servers, 0, lemon_fraction=0.0, lemon_multiplier=1.0, rng=rng)
    target = Recorder(env) if target is None else target
    target.env = env
    start_failures(env, target, roster, cat, rng)
    env.run(until=until_s)
    return target


@pytest.mark.parametrize("distribution", ["exponential", "weibull"])
def test_failures_a_deaf_job_would_ignore_are_drawn_without_events(distribution: str) -> None:
    # Issue 13: skipping the failures that strike during a recovery (without an event each) must
    # leave the failures that are heard, their times and their servers, as they were.
    cat = category(distribution=distribution, shape=0.7, rate_per_server_s=1.0 / DAY)
    heard = stream(cat, 64, 30 * DAY)
    deaf = stream(cat, 64, 30 * DAY, target=DeafRecorder(simpy.Environment(), 3 * 3600.0))
    kept, deaf_until = [], -math.inf
    for time_s, slots in zip(heard.times, heard.slots, strict=True):
        if time_s >= deaf_until:
            kept.append((time_s, slots))
            deaf_until = time_s + 3 * 3600.0
    assert 0 < len(deaf.times) < 0.8 * len(heard.times)
    assert deaf.slots == [slots for _, slots in kept]
    assert deaf.times == pytest.approx([time_s for time_s, _ in kept], rel=1e-12)


# -- the 54-day window of the Llama 3 paper ----------------------------------------------------


@pytest.fixture(scope="module")
def window(llama_405b_window: sim.Result) -> sim.Result:
    return llama_405b_window


def test_the_catalogue_names_each_row_of_table_5_by_its_rate() -> None:
    # Llama 3 paper, Table 5: each category's rate is its count over 54 days x 2,048 servers.
    table = published_interruptions()
    assert table["count"].sum() == 419 and len(table) == 18
    categories = sim.load_config("llama_405b").failures.categories
    for cause, count in zip(table["cause"], table["count"], strict=True):
        rate = categories[cause].rate_per_1000_server_days
        assert rate * 54 * 2048 / 1000 == pytest.approx(count, abs=0.01), cause


@pytest.mark.slow
def test_54_days_reproduce_table_5(window: sim.Result) -> None:
    # Llama 3 paper, Table 5 and Section 3.3.4: 419 unexpected (tolerance 5%), 47 planned. Each
    # category's mean over the replicates is a mean of Poisson counts whose expectation is the
    # published count: within 4 standard errors, sqrt(count / replicates), of it.
    s = window.summary
    assert s["interruptions_unexpected"] == pytest.approx(419, rel=0.05)
    assert s["interruptions_planned"] == pytest.approx(47, abs=1)
    table = published_interruptions()
    for cause, count in zip(table["cause"], table["count"], strict=True):
        standard_error = (count / s["replicates"]) ** 0.5
        assert abs(s.interruptions[cause] - count) <= 4 * standard_error, cause


@pytest.mark.slow
def test_54_days_keep_ettr_above_90_percent(window: sim.Result) -> None:
    # Meta reports effective training time "higher than 90%" (Section 3.3.4).
    assert window.summary["ettr"] >= 0.90


@pytest.mark.slow
def test_every_failure_event_names_its_category_and_server(window: sim.Result) -> None:
    failures = window.events[window.events["kind"] == "failure"]
    names = set(sim.load_config("llama_405b").failures.categories)
    assert set(failures["cause"]) <= names
    server_wide = failures[~failures["cause"].isin(["software_bug", "nccl_watchdog_timeout",
                                                    "dependency"])]  # fmt: skip
    assert (server_wide["server"] >= 0).all()


# -- distributions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape"), [("exponential", 1.0), ("weibull", 0.7), ("lognormal", 1.2)]
)
def test_sampled_times_to_failure_follow_the_configured_distribution(
    name: str, shape: float
) -> None:
    # One unit (job scope): the stream's gaps are its times to failure. Kolmogorov-Smirnov, seed 0.
    cat = category(scope="job", distribution=name, shape=shape, rate_per_server_s=1.0 / 3600.0)
    gaps = np.diff([0.0, *stream(cat, 1, 3000 * 3600.0).times])
    assert len(gaps) > 2000
    assert stats.kstest(gaps, frozen(name, 3600.0, shape).cdf).pvalue > 0.01


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "shape"), [("weibull", 0.6), ("weibull", 2.0), ("lognormal", 1.0)]
)
def test_mean_rate_of_a_shaped_category_matches_its_configured_rate(
    name: str, shape: float
) -> None:
    cat = category(distribution=name, shape=shape)  # one failure per server-day
    servers, days = 500, 200
    count = len(stream(cat, servers, days * DAY).times)
    assert count / (servers * days) == pytest.approx(1.0, rel=0.02)


def test_node_rate_mean_time_to_failure_is_one_over_n_times_rate() -> None:
    servers, rate = 2048, 3.789 / 1000.0 / DAY
    env = simpy.Environment()
    rng = np.random.default_rng(1)
    roster = Roster(servers, 0, lemon_fraction=0.0, lemon_multiplier=1.0, rng=rng)
    target = Recorder(env)
    for cat in node_rate_categories(rate, 0.78, 60.0):
        start_failures(env, target, roster, cat, rng)
    env.run(until=4000 * DAY)
    mttf = np.mean(np.diff([0.0, *sorted(target.times)]))
    assert mttf == pytest.approx(1.0 / (servers * rate), rel=0.02)


# -- scopes, spares and repair ---------------------------------------------------------------


def test_a_switch_failure_takes_down_every_server_under_it_at_once() -> None:
    cat = category(scope="switch", servers_down=4, rate_per_server_s=1.0 / (100 * 3600.0))
    rec = stream(cat, 16, 1000 * 3600.0)
    assert rec.slots and all(len(s) == 4 for s in rec.slots)
    assert {s[0] for s in rec.slots} <= {0, 4, 8, 12}
    p = dataclasses.replace(plan(), categories=(cat,), servers=16)
    out = simulate_replicate(p, np.random.SeedSequence(3), 0)
    events = pd.DataFrame(out.events)
    for time in events.loc[events["kind"] == "failure", "time_s"]:
        assert (events.loc[events["kind"] == "repair", "time_s"] == time).sum() == 4


def test_a_job_level_software_failure_needs_no_spare() -> None:
    cat = category(scope="job", swap=False, rate_per_server_s=1.0 / (100 * 3600.0))
    p = dataclasses.replace(plan(), categories=(cat,), spare_servers=0)
    for out in simulate(p, 5, record=True):
        assert sum(out.interruptions.values()) > 0
        assert out.seconds[Bucket.WAITING_FOR_SERVERS] == 0
        assert any(e.kind == "restart" for e in out.events)
        assert not any(e.kind == "repair" for e in out.events)


def test_with_no_spares_and_elastic_off_the_job_waits_for_a_repair() -> None:
    p = plan(spare_servers=0, swap_fraction=1.0, job_mtbf_s=20 * 3600.0, repair_mean_s=3600.0)
    assert all(o.seconds[Bucket.WAITING_FOR_SERVERS] > 0 for o in simulate(p, 5))


def test_elastic_goes_on_with_fewer_replicas_instead_of_waiting() -> None:
    p = plan(spare_servers=0, swap_fraction=1.0, job_mtbf_s=20 * 3600.0, repair_mean_s=3600.0)
    p = dataclasses.replace(p, elastic=True, replicas=100, replicas_per_server_lost=1.0)
    for out in simulate(p, 5):
        assert out.seconds[Bucket.WAITING_FOR_SERVERS] == 0
        assert out.seconds[Bucket.DEGRADED_CAPACITY] > 0
        assert sum(out.seconds.values()) == pytest.approx(out.wall_s)
        assert out.seconds[Bucket.PRODUCTIVE] == pytest.approx(p.work_s)


@pytest.mark.slow
def test_one_repair_bench_makes_the_job_wait_longer() -> None:
    p = plan(spare_servers=2, swap_fraction=1.0, job_mtbf_s=2 * 3600.0, repair_mean_s=5 * 3600.0)
    free = sum(o.seconds[Bucket.WAITING_FOR_SERVERS] for o in simulate(p, 10))
    one = dataclasses.replace(p, repair_slots=1)
    assert sum(o.seconds[Bucket.WAITING_FOR_SERVERS] for o in simulate(one, 10)) > free


def test_servers_are_retired_after_n_failures() -> None:
    p = plan(spare_servers=200, swap_fraction=1.0, job_mtbf_s=3600.0, repair_mean_s=60.0)
    retire = dataclasses.replace(p, retire_after=1)
    (out,) = simulate(retire, 1, record=True)
    assert out.retired > 0
    assert sum(e.kind == "retire" for e in out.events) == out.retired
    assert not any(e.kind == "repair" for e in out.events)
    (kept,) = simulate(p, 1, record=True)
    assert kept.retired == 0 and any(e.kind == "repair" for e in kept.events)


@pytest.mark.slow
def test_lemons_take_a_large_share_of_the_failures() -> None:
    p = plan(servers=1000, spare_servers=1000, swap_fraction=0.0, job_mtbf_s=600.0)
    lemons = dataclasses.replace(p, lemon_fraction=0.01, lemon_multiplier=50.0)

    def top_share(q: object) -> float:
        (out,) = simulate(q, 1, record=True)  # type: ignore[arg-type]
        per_server = pd.Series([e.server for e in out.events if e.kind == "failure"]).value_counts()
        return float(per_server.head(10).sum() / per_server.sum())

    # 10 lemons of 1000 at 50x: 10 x 50 / (990 + 500) = 34% of the failures.
    assert top_share(lemons) == pytest.approx(0.336, abs=0.06)
    assert top_share(p) < 0.05


def test_silent_corruption_loses_the_work_done_before_it_was_noticed() -> None:
    cat = category(scope="device", silent=True, detection_s=1800.0, swap=True,
                   rate_per_server_s=1.0 / (100 * 20 * 3600.0))  # fmt: skip
    p = dataclasses.replace(plan(interval_s=600.0, checkpoint_write_s=1.0), categories=(cat,))
    checked = 0
    for out in simulate(p, 5, record=True):
        # Rolled back to before the corruption: at least the 30 min of training since, less the
        # 1 s checkpoint stalls, unless the corruption struck during an earlier recovery.
        failures = sorted((e.time_s, e.duration_s) for e in out.events if e.kind == "failure")
        for (before, _), (when, lost) in itertools.pairwise(failures):
            if when - before > 1800.0 + p.recovery_s:
                assert lost >= 1800.0 * 600 / 601 - 1e-6
                checked += 1
        assert out.seconds[Bucket.PRODUCTIVE] == pytest.approx(p.work_s)
    assert checked > 10


def test_stragglers_slow_the_job_and_have_their_own_bucket() -> None:
    p = plan(job_mtbf_s=1e12)
    slow = dataclasses.replace(
        p, straggler_rate_per_server_s=1.0 / (100 * 5 * 3600.0), straggler_speed=0.5,
        straggler_duration_s=3600.0,
    )  # fmt: skip
    (base,) = simulate(p, 1)
    (out,) = simulate(slow, 1)
    assert out.seconds[Bucket.STRAGGLER_SLOWDOWN] > 0
    assert out.wall_s == pytest.approx(base.wall_s + out.seconds[Bucket.STRAGGLER_SLOWDOWN])
    assert out.seconds[Bucket.PRODUCTIVE] == pytest.approx(p.work_s)


def test_planned_interruptions_follow_their_schedule() -> None:
    p = dataclasses.replace(
        plan(job_mtbf_s=1e12, work_s=10 * DAY), planned_per_day=2.0, planned_duration_s=1800.0
    )
    (out,) = simulate(p, 1)
    days = out.wall_s / DAY
    assert out.planned == int(days * 2)
    assert out.seconds[Bucket.PLANNED_MAINTENANCE] == pytest.approx(out.planned * 1800.0)
    assert out.seconds[Bucket.PRODUCTIVE] == pytest.approx(p.work_s)
