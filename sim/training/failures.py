"""Interruption sources: chains of SimPy timeouts that strike the job at random or scheduled times.

Cost grows with events, not with servers x time: a category with exponential times is one
superposed stream over the whole job (its failures land on a drawn server); only a category whose
times are not exponential keeps a clock per unit (server, switch or job) in a heap.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import NamedTuple, Protocol

import numpy as np
import simpy

from sim.des.draws import Sampler, Uniforms
from sim.training.cluster import Roster
from sim.training.plan import Category

SERVER_SCOPES = ("device", "server")


class Failure(NamedTuple):
    """One unexpected interruption, as the job sees it (a tuple: one is made per failure)."""

    cause: str
    slots: tuple[int, ...]  # job slots whose servers are lost; empty for a job-wide failure
    swap: bool  # the lost servers must be replaced by spares and repaired
    detection_s: float
    silent: bool = False
    corrupted_at: float = math.nan  # a silent failure, once detected: when the corruption began


class Planned:
    """A scheduled interruption."""


class Target(Protocol):
    @property
    def deaf_until(self) -> float: ...
    def fail(self, failure: Failure) -> None: ...
    def planned_stop(self) -> None: ...
    def slow_down(self, slot: int, speed: float, duration_s: float) -> None: ...


def units(category: Category, servers: int) -> int:
    if category.scope in SERVER_SCOPES:
        return servers
    if category.scope == "switch":
        return math.ceil(servers / category.servers_down)
    return 1


def _slots(category: Category, unit: int, roster: Roster) -> tuple[int, ...]:
    if category.scope in SERVER_SCOPES:
        return (unit,)
    if category.scope == "switch":
        first = unit * category.servers_down
        return tuple(range(first, min(first + category.servers_down, roster.size)))
    return ()


def _every(env: simpy.Environment, delay: Callable[[], float], act: Callable[[], None]) -> None:
    """Call ``act`` after each of the delays ``delay`` draws, one timeout at a time: a callback
    chain, not a SimPy process (a process resume per failure costs more than the failure's own
    bookkeeping). ``act`` runs before the next delay is drawn."""

    def fire(_: simpy.Event) -> None:
        act()
        env.timeout(delay()).callbacks.append(fire)

    env.timeout(delay()).callbacks.append(fire)


def _strikes(
    env: simpy.Environment,
    job: Target,
    gap: Callable[[float], float],
    unit: Callable[[float], int],
    strike: Callable[[int], None],
) -> None:
    """Strike ``unit(t)`` at each failure time t, the next one ``gap(t)`` later, as a chain of
    timeouts. Failures the job would ignore (before its ``deaf_until``) are drawn, in the same
    order, without an event: skipping them leaves every stream and result as it was."""

    def fire(_: simpy.Event) -> None:
        now = env.now
        strike(unit(now))
        at, delay = now, gap(now)
        deaf_until = job.deaf_until
        while at + delay < deaf_until:
            at += delay
            unit(at)
            delay = gap(at)
        env.timeout(at - now + delay).callbacks.append(fire)  # delay itself when none was skipped

    env.timeout(gap(env.now)).callbacks.append(fire)


def start_failures(
    env: simpy.Environment,
    job: Target,
    roster: Roster,
    category: Category,
    rng: np.random.Generator,
) -> None:
    """Failures of one category over the whole job, at ``rate_per_server_s`` per server."""
    n_units = units(category, roster.size)
    job_rate = roster.size * category.rate_per_server_s
    if job_rate <= 0.0:
        return
    name, detection_s, silent = category.name, category.detection_s, category.silent
    swap = category.swap and category.scope not in ("job", "cluster")

    def strike(unit: int) -> None:
        job.fail(Failure(name, _slots(category, unit, roster), swap, detection_s, silent))

    if category.distribution == "exponential":
        gap, uniform = Sampler("exponential", 1.0 / job_rate, rng), Uniforms(rng)
        if category.scope in SERVER_SCOPES:
            _strikes(env, job, lambda _: gap(), lambda _: roster.pick_slot(uniform), strike)
        else:
            _strikes(env, job, lambda _: gap(), lambda _: int(uniform() * n_units), strike)
        return
    draw = Sampler(
        category.distribution, n_units / job_rate, rng, category.shape, category.empirical
    )
    clocks = [(draw(), unit) for unit in range(n_units)]
    heapq.heapify(clocks)

    def renew(at: float) -> int:
        """The unit whose clock ran out at ``at``; it starts anew (a renewal)."""
        unit = clocks[0][1]
        heapq.heapreplace(clocks, (at + draw(), unit))
        return unit

    _strikes(env, job, lambda at: clocks[0][0] - at, renew, strike)


def start_planned(env: simpy.Environment, job: Target, interval_s: float) -> None:
    """Scheduled interruptions at a fixed interval."""
    _every(env, lambda: interval_s, job.planned_stop)


def start_stragglers(
    env: simpy.Environment,
    job: Target,
    roster: Roster,
    *,
    rate_per_server_s: float,
    speed: float,
    duration_mean_s: float,
    rng: np.random.Generator,
) -> None:
    """Slowdown events of single servers, superposed over the job."""
    gap = Sampler("exponential", 1.0 / (roster.size * rate_per_server_s), rng)
    duration, uniform = Sampler("exponential", duration_mean_s, rng), Uniforms(rng)
    _every(env, gap, lambda: job.slow_down(roster.pick_slot(uniform), speed, duration()))
