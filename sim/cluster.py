"""The servers: who sits in each of the job's slots, the lemons, the spare pool and repairs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from sim.events import EventLog


class Fleet:
    """Server identities. Slot i of the job holds server ``slot_server[i]``; spares and repaired
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
        self._lemon_slots = [s for s in range(servers) if s in self.lemons]
        self.failures: Counter[int] = Counter()

    @property
    def size(self) -> int:
        return len(self.slot_server)

    def pick_slot(self, rng: np.random.Generator) -> int:
        """A uniformly drawn slot, except that a lemon is ``multiplier`` times as likely; the
        job-wide rate is what the category says, lemons take a larger share of it."""
        n, lemons = self.size, len(self._lemon_slots)
        if lemons == 0 or self.multiplier == 1.0:
            return int(rng.integers(n))
        if rng.random() < lemons * self.multiplier / (n - lemons + lemons * self.multiplier):
            return self._lemon_slots[int(rng.integers(lemons))]
        while True:  # lemons are few: rejection is cheap
            slot = int(rng.integers(n))
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
    """Idle servers (a SimPy store of server ids), and the repairs that refill it: a limited
    number at once when ``repair_slots`` is set; a server past ``retire_after`` failures is retired
    instead of returned."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        spare_ids: list[int],
        repair_time: Callable[[], float],
        repair_slots: int,
        retire_after: int,
        fleet: Fleet,
        log: EventLog,
    ) -> None:
        self._env = env
        self._store = simpy.Store(env)
        self._store.items = list(spare_ids)  # the pool at time 0: a put per spare is an event each
        self._repair_time = repair_time
        self._benches = simpy.Resource(env, repair_slots) if repair_slots else None
        self._retire_after = retire_after
        self._fleet = fleet
        self._log = log
        self.retired = 0

    @property
    def free(self) -> int:
        return len(self._store.items)

    def take(self) -> int:
        """A free spare's id, at once (check ``free`` first)."""
        spare = self._store.get()
        assert spare.triggered, "take a spare only when one is free"
        return int(spare.value)  # type: ignore[arg-type]

    def request(self) -> simpy.resources.store.StoreGet:
        """An event whose value is a spare's id once one is free; cancel it if no longer wanted."""
        return self._store.get()

    def send_to_repair(self, servers: list[int], cause: str) -> None:
        if self._benches is None:  # one timeout, no process: repairs are a large share of events
            queued = self._env.now
            done = self._env.timeout(self._repair_time())
            done.callbacks.append(lambda _: self._return(servers, cause, queued))
        else:
            self._env.process(self._repair_on_bench(servers, cause))

    def _repair_on_bench(self, servers: list[int], cause: str) -> Generator[simpy.Event, Any, None]:
        queued = self._env.now
        assert self._benches is not None
        with self._benches.request() as bench:
            yield bench
            yield self._env.timeout(self._repair_time())
        self._return(servers, cause, queued)

    def _return(self, servers: list[int], cause: str, queued: float) -> None:
        """Repaired servers rejoin the pool, but for those past ``retire_after`` failures."""
        for server in servers:
            if self._retire_after and self._fleet.failures[server] >= self._retire_after:
                self.retired += 1
                self._log.record(self._env.now, "retire", cause, server, 0.0)
                continue
            self._log.record(queued, "repair", cause, server, self._env.now - queued)
            self._store.put(server)
