"""A serving fleet on the SimPy clock: arrivals, a router over replicas, and server failures.

Servers fail with the same catalogue as training (``failures``): each category's rate is per
server, and a failure takes down the replica on the struck server (every replica sharing it, when
its ``serving.tp`` x ``serving.pp`` devices are below a server). A replica of ``pp`` pipeline
stages runs as ``pp`` streams of iterations, one per micro-batch in flight (``sim.perf.inference``),
each with its share of the cache and up to ``max_batch`` requests of its own (TensorRT-LLM:
maxNumSequences = maxBatchSize x pp, NVIDIA/TensorRT-LLM cpp/tensorrt_llm/batch_manager/
trtGptModel.h; the stream's share of the cache is fixed, where TensorRT-LLM's micro-batches
draw on one pool); a failure takes all of them. A failed replica is back after detection,
restart and a reload of its weights (``recovery.detection_s + recovery.restart_s +
serving.load_weights_s``; a spare server is assumed to be at hand). Its requests start over
elsewhere (``on_failure=retry``) or are lost (``drop``).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np
import simpy

from sim.config import Config
from sim.des.environment import CountingEnvironment
from sim.perf.inference import replica_memory, serving_of, step_model
from sim.serving.replica import Replica, Request
from sim.serving.traffic import Traffic
from sim.units import per_server_s

LOAD = attrgetter("load")  # the least-loaded router's key


@dataclass(frozen=True)
class FleetShape:
    """How replicas sit on servers."""

    replicas: int
    servers: int
    replicas_per_server: int  # > 1 when a replica is part of a server
    servers_per_replica: int  # > 1 when a replica spans servers


def fleet_shape(config: Config) -> FleetShape:
    serving, per_server = serving_of(config), config.hardware.devices_per_server
    devices = serving.tp * serving.pp
    if devices <= per_server:
        per = per_server // devices
        return FleetShape(serving.replicas, math.ceil(serving.replicas / per), per, 1)
    span = math.ceil(devices / per_server)
    return FleetShape(serving.replicas, serving.replicas * span, 1, span)


def failures_per_server_s(config: Config) -> float:
    """All failure categories' rates, per server and second (planned stops are not counted: a
    serving fleet drains a replica before maintenance)."""
    f = config.failures
    if f.kind == "node_rate":
        return per_server_s(f.rate_per_1000_server_days)
    return per_server_s(sum(c.rate_per_1000_server_days for c in f.categories.values()))


def downtime_s(config: Config) -> float:
    recovery = config.recovery
    return recovery.detection_s + recovery.restart_s + serving_of(config).load_weights_s


@dataclass
class FleetOutcome:
    """One replicate: every request, and the fleet's busy, down and failure figures."""

    requests: list[Request]
    end_s: float
    busy_s: float
    down_s: float
    failures: int
    engine_events: int = 0  # SimPy events processed: the engine's unit of cost
    abandoned: bool = False  # stopped early: its latency percentile was sure to miss the limit
    groups: list[GroupOutcome] = field(default_factory=list)  # each replica group's figures


@dataclass(frozen=True)
class LatencyLimit:
    """Stop a run as soon as its ``percentile``-th TTFT or TPOT is sure to exceed these limits, so
    a search over request rates learns that a rate fails from its first misses, not a whole run.

    A finished request's latencies are final, and numpy's percentile (linear interpolation) of n
    values lies at or above the value of rank floor(q (n - 1)): once ``misses_to_fail(n)`` values
    exceed a limit, so does the percentile. Counting over every request, not only those that
    will have the figure (drops, one-token replies), asks for as many misses or more."""

    ttft_s: float
    tpot_s: float
    percentile: float = 99.0

    def misses_to_fail(self, n: int) -> int:
        return n - math.floor(self.percentile / 100.0 * (n - 1))


@dataclass(frozen=True)
class Routes:
    """A mixed fleet's routing: each class's groups in order of preference (``class_aware``,
    spilling to the next group when every up replica of one has ``spill_waiting`` requests
    waiting), or every replica of every group as one pool (``order`` None: class-blind)."""

    order: tuple[tuple[int, ...], ...] | None = None
    spill_waiting: int = 8
    priority: tuple[int, ...] = ()  # each class's place in a replica's queue (higher first)


@dataclass(frozen=True)
class GroupOutcome:
    """One replica group's busy, down and failure figures in a replicate."""

    name: str
    busy_s: float
    down_s: float
    failures: int


class ReplicaGroup:
    """Replicas of one configuration on the fleet's clock, with their servers' failures."""

    def __init__(
        self, fleet: ServingFleet, name: str, config: Config, rng: np.random.Generator
    ) -> None:
        self.name, self.fleet, self.env = name, fleet, fleet.env
        self.serving = serving_of(config)
        self.shape = fleet_shape(config)
        model, kv = step_model(config), replica_memory(config).kv_tokens
        self.streams = streams = self.serving.pp  # per replica: its micro-batches in flight
        first_replica = fleet.replica_count  # replica numbers run on across groups
        self.replicas = [  # the streams, replica by replica; max_batch is per micro-batch
            Replica(first_replica + i // streams, self.env, model, kv // streams,
                    self.serving.max_batch, self.serving.max_batched_tokens, fleet.done)
            for i in range(self.shape.replicas * streams)
        ]  # fmt: skip
        self.failed_at: list[float] = []
        self._rng = rng
        self._rate = failures_per_server_s(config) * self.shape.servers
        self._downtime = downtime_s(config)

    def start(self) -> None:
        if self._rate > 0:
            self.env.process(self._failures())

    def outcome(self, end: float) -> GroupOutcome:
        busy = sum(r.busy_s for r in self.replicas) / self.streams  # a stage serves each 1/pp
        down = sum(min(end, t + self._downtime) - t for t in self.failed_at)
        return GroupOutcome(self.name, busy, down, len(self.failed_at))

    def _failures(self) -> Generator[simpy.Event, None, None]:
        """One Poisson stream over the group's servers; each failure strikes a drawn server."""
        while True:
            yield self.env.timeout(self._rng.exponential(1.0 / self._rate))
            server = int(self._rng.integers(self.shape.servers))
            if self.shape.servers_per_replica > 1:
                struck = [server // self.shape.servers_per_replica]
            else:
                per = self.shape.replicas_per_server
                struck = list(range(server * per, min((server + 1) * per, self.shape.replicas)))
            for index in struck:
                streams = self.replicas[index * self.streams : (index + 1) * self.streams]
                if streams[0].up:
                    self.failed_at.append(self.env.now)
                    held = [r for stream in streams for r in stream.fail()]  # all down first
                    self.fleet.lose(held, self.serving.on_failure == "drop")
                    self.env.process(self._recover(streams))

    def _recover(self, streams: list[Replica]) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(self._downtime)
        for stream in streams:
            stream.recover()
        self.fleet.retry_backlog()


class ServingFleet:
    """The replicas serving one run's traffic: one group, or a mixed fleet's groups behind one
    router."""

    def __init__(
        self, groups: list[tuple[str, Config, np.random.Generator]], traffic: Traffic,
        limit: LatencyLimit | None = None, routes: Routes | None = None,
    ) -> None:  # fmt: skip
        first = groups[0][1]
        self.serving = serving_of(first)  # arrivals, router: the run's
        self.env = CountingEnvironment()
        self.replicas: list[Replica] = []
        self.replica_count = 0
        self.groups: list[ReplicaGroup] = []
        for name, config, rng in groups:
            group = ReplicaGroup(self, name, config, rng)
            self.groups.append(group)
            self.replicas += group.replicas
            self.replica_count += group.shape.replicas
        self.routes = routes or Routes()
        klass = traffic.klass if traffic.klass is not None else np.zeros(len(traffic), int)
        rank = self.routes.priority or (0,) * (int(klass.max(initial=0)) + 1)
        self.requests = [
            Request(i, float(t), int(p), int(o), klass=int(k), priority=rank[int(k)])
            for i, (t, p, o, k) in enumerate(
                zip(traffic.arrival_s, traffic.prompt, traffic.output, klass, strict=True)
            )
        ]
        self.backlog: deque[Request] = deque()  # arrived while every replica was down
        self.outstanding = len(self.requests)
        closed = self.serving.arrivals == "closed"
        # requests sent so far; beyond them, closed arrivals wait for a client to be free
        self._released = (
            min(self.serving.concurrency, len(self.requests)) if closed else len(self.requests)
        )
        self._limit = limit
        self._to_fail = limit.misses_to_fail(len(self.requests)) if limit else 0
        self._misses = [0, 0]  # requests over the TTFT limit, over the TPOT limit
        self.finished = self.env.event()
        self._turn = itertools.cycle(range(len(self.replicas)))

    def run(self) -> FleetOutcome:
        self.env.process(self._arrivals())
        for group in self.groups:
            group.start()
        self.env.run(until=self.finished)
        end = self.env.now
        groups = [group.outcome(end) for group in self.groups]
        abandoned = self.outstanding > 0
        return FleetOutcome(
            self.requests, end, sum(g.busy_s for g in groups), sum(g.down_s for g in groups),
            sum(g.failures for g in groups), self.env.processed, abandoned, groups,
        )  # fmt: skip

    def _arrivals(self) -> Generator[simpy.Event, None, None]:
        if self.serving.arrivals == "closed":  # the clients' first requests; done sends the rest
            for request in self.requests[: self._released]:
                self._route(request)
            return
        for request in self.requests:
            wait = request.arrival_s - self.env.now
            if wait > 0:
                yield self.env.timeout(wait)
            self._route(request)

    def _route(self, request: Request) -> None:
        replica = self._pick(request)
        if replica is None:
            self.backlog.append(request)
            return
        replica.submit(request)

    def _pick(self, request: Request) -> Replica | None:
        order = self.routes.order
        if order is not None:
            return self._class_aware(order[request.klass])
        up = [r for r in self.replicas if r.up]
        if not up:
            return None
        if self.serving.router == "round_robin":
            return next(r for r in (self.replicas[next(self._turn)] for _ in self.replicas)
                        if r.up)  # fmt: skip
        return min(up, key=LOAD)

    def _class_aware(self, groups: tuple[int, ...]) -> Replica | None:
        """The least-loaded up replica of the first of ``groups`` with one whose queue is below
        the spill limit; all full: the first group's that is up."""
        fallback = None
        for g in groups:
            up = [r for r in self.groups[g].replicas if r.up]
            if not up:
                continue
            best = min(up, key=LOAD)
            if len(best.waiting) < self.routes.spill_waiting:
                return best
            fallback = fallback or best
        return fallback

    def done(self, request: Request) -> None:
        self.outstanding -= 1
        if self._released < len(self.requests):  # closed arrivals: its client sends the next
            following = self.requests[self._released]
            following.arrival_s = self.env.now
            self._released += 1
            self._route(following)
        if self.finished.triggered:
            return
        if self.outstanding == 0 or (self._limit is not None and self._missed(request)):
            self.finished.succeed()

    def _missed(self, request: Request) -> bool:
        """Count a finished request's misses; whether the limit's percentile is now missed."""
        assert self._limit is not None
        if request.dropped:
            return False
        if request.first_token_s - request.arrival_s > self._limit.ttft_s:
            self._misses[0] += 1
        later = request.output - 1
        if later > 0 and (request.finish_s - request.first_token_s) / later > self._limit.tpot_s:
            self._misses[1] += 1
        return max(self._misses) >= self._to_fail

    def lose(self, held: list[Request], drop: bool) -> None:
        """A failed replica's requests: lost, or started over elsewhere."""
        for request in held:
            if drop:
                request.dropped = True
                request.finish_s = self.env.now
                self.done(request)
            else:
                request.retries += 1
                request.generated, request.first_token_s = 0, math.nan
                self._route(request)

    def retry_backlog(self) -> None:
        """A replica is back: route what waited for one (what still has none waits again)."""
        for _ in range(len(self.backlog)):
            self._route(self.backlog.popleft())
