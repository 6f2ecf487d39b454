"""The servers: who sits in each of the job's slots, the lemons, the spare pool and repairs."""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from sim.training.events import EventLog


class Roster:
    """Who holds each of the job's slots (slot i: server ``slot_server[i]``); spares and repaired
    servers have ids too, so lemons stay lemons and failures per server can be counted."""

    def __init__(
        self,
        servers: int,
        spares: int,
        *,
        lemon_fraction: float,
        lemon_multiplier: float,
        rng: np.random.Generator,
    ) -> None:
        self.slot_server = list(range(servers))
        total = servers + spares
        count = round(lemon_fraction * total)
        self.lemons = {int(s) for s in rng.choice(total, size=count, replace=False)}
        self.multiplier = lemon_multiplier
        self._lemon_slots = sorted(s for s in self.lemons if s < servers)  # slot i: server i
        self.failures: Counter[int] = Counter()

    @property
    def size(self) -> int:
        return len(self.slot_server)

    def pick_slot(self, uniform: Callable[[], float]) -> int:
        """A uniformly drawn slot, except that a lemon is ``multiplier`` times as likely; the
        job-wide rate is what the category says, lemons take a larger share of it. ``uniform``
        draws on [0, 1); int(u * n) < n for every such double u and n < 2**53."""
        n, lemons = self.size, len(self._lemon_slots)
        if lemons == 0 or self.multiplier == 1.0:
            return int(uniform() * n)
        if uniform() < lemons * self.multiplier / (n - lemons + lemons * self.multiplier):
            return self._lemon_slots[int(uniform() * lemons)]
        while True:  # lemons are few: rejection is cheap
            slot = int(uniform() * n)
            if self.slot_server[slot] not in self.lemons:
                return slot

    def replace(self, slot: int, server: int) -> None:
        """Put ``server`` (a spare) in ``slot``."""
        if self.slot_server[slot] in self.lemons:
            self._lemon_slots.remove(slot)
        self.slot_server[slot] = server
        if server in self.lemons:
            self._lemon_slots.append(slot)


class SparePool:
    """Idle servers and the repairs that refill them: a limited number at once when
    ``repair_slots`` is set; a server past ``retire_after`` failures is retired instead of
    returned.

    Repairs cost no event of their own: a repair is a due time in a heap, and the servers it
    returns join the back of the pool when the pool is next looked at (``free``, ``take``) or when
    the job waits for one (``request``), in the order they came back. Repairs and spare swaps
    were half the events of a replicate as SimPy timeouts and store puts and gets, and with
    spares to hand no one needs to know the moment a repair ends. Repairs limited by benches
    queue for them, so they stay SimPy processes."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        spare_ids: list[int],
        repair_time: Callable[[], float],
        repair_slots: int,
        retire_after: int,
        roster: Roster,
        log: EventLog,
    ) -> None:
        self._env = env
        self._free = deque(spare_ids)
        self._repairs: list[tuple[float, int, list[int], str, float]] = []  # due, order, ...
        self._order = itertools.count()
        self._waiter: simpy.Event | None = None
        self._repair_time = repair_time
        self._benches = simpy.Resource(env, repair_slots) if repair_slots else None
        self._retire_after = retire_after
        self._fleet = roster
        self._log = log
        self.retired = 0

    @property
    def free(self) -> int:
        self.settle()
        return len(self._free)

    def take(self) -> int:
        """A free spare's id, at once (check ``free`` first)."""
        return self._free.popleft()

    def request(self) -> simpy.Event:
        """An event whose value is a spare's id once one is back from repair (call it when none
        is free); ``cancel`` it if no longer wanted."""
        self._waiter = self._env.event()
        self._wake_at_next_repair()
        return self._waiter

    def cancel(self) -> None:
        self._waiter = None

    def send_to_repair(self, servers: list[int], cause: str) -> None:
        if self._benches is None:
            now = self._env.now
            due = now + self._repair_time()
            heapq.heappush(self._repairs, (due, next(self._order), servers, cause, now))
        else:
            self._env.process(self._repair_on_bench(servers, cause))

    def settle(self) -> None:
        """Return the servers of every repair due by now (also at the end of a replicate, for
        the retirements and the event log)."""
        repairs, now = self._repairs, self._env.now
        while repairs and repairs[0][0] <= now:
            due, _, servers, cause, queued = heapq.heappop(repairs)
            self._return(servers, cause, queued, due)

    def _wake_at_next_repair(self) -> None:
        if self._repairs:
            wake = self._env.timeout(self._repairs[0][0] - self._env.now)
            wake.callbacks.append(self._repair_due)

    def _repair_due(self, _: simpy.Event) -> None:
        if self._waiter is None:  # cancelled: the repair waits in the heap for the next look
            return
        self.settle()
        if not self._free:  # every server of that repair was retired
            self._wake_at_next_repair()

    def _repair_on_bench(self, servers: list[int], cause: str) -> Generator[simpy.Event, Any, None]:
        queued = self._env.now
        assert self._benches is not None
        with self._benches.request() as bench:
            yield bench
            yield self._env.timeout(self._repair_time())
        self._return(servers, cause, queued, self._env.now)

    def _return(self, servers: list[int], cause: str, queued: float, now: float) -> None:
        """Repaired servers rejoin the pool at ``now``, but for those past ``retire_after``
        failures; the first goes to a job waiting for one."""
        for server in servers:
            if self._retire_after and self._fleet.failures[server] >= self._retire_after:
                self.retired += 1
                self._log.record(now, "retire", cause, server, 0.0)
                continue
            self._log.record(queued, "repair", cause, server, now - queued)
            self._free.append(server)
        if self._waiter is not None and self._free:
            waiter, self._waiter = self._waiter, None
            waiter.succeed(self._free.popleft())
