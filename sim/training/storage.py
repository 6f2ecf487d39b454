"""The shared store checkpoints are persisted to: concurrent writers split its bandwidth (their
sizes and times: ``sim.perf.checkpoints``)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy


class SharedStore:
    """A store whose bandwidth the transfers in flight share equally (processor sharing)."""

    def __init__(self, env: simpy.Environment, bytes_per_s: float) -> None:
        self._env = env
        self._rate = self.bytes_per_s = bytes_per_s
        self._active: list[list[Any]] = []  # [remaining bytes, done event]
        self._arrived: list[list[Any]] = []  # joins the share at the next reschedule
        self._arrival = env.event()
        env.process(self._serve())

    def transfer(self, nbytes: float) -> simpy.Event:
        """An event that fires when ``nbytes`` have gone through."""
        done = self._env.event()
        self._arrived.append([nbytes, done])
        if not self._arrival.triggered:
            self._arrival.succeed()
        return done

    def _serve(self) -> Generator[simpy.Event, Any, None]:
        while True:
            self._active += self._arrived
            self._arrived = []
            if not self._active:
                yield self._arrival
                self._arrival = self._env.event()
                continue
            share = self._rate / len(self._active)
            start = self._env.now
            next_done = min(item[0] for item in self._active) / share
            yield self._env.any_of([self._env.timeout(next_done), self._arrival])
            if self._arrival.triggered:
                self._arrival = self._env.event()
            moved = (self._env.now - start) * share
            for item in self._active:
                item[0] -= moved
            for item in [i for i in self._active if i[0] <= 1e-6 * share]:
                self._active.remove(item)
                item[1].succeed()
