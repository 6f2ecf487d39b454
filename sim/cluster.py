"""The spare pool: idle servers that replace failed ones, and the repairs that refill it."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.events import EventLog


class SparePool:
    """Spare servers as a SimPy container; a failed server is repaired, then joins the pool."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        spares: int,
        repair_mean_s: float,
        rng: np.random.Generator,
        log: EventLog,
    ) -> None:
        self._env = env
        self._servers = simpy.Container(env, init=spares)
        self._repair_mean_s = repair_mean_s
        self._rng = rng
        self._log = log

    def request(self) -> simpy.resources.container.ContainerGet:
        """An event that fires once a spare is handed over; cancel it if no longer wanted."""
        return self._servers.get(1)

    def send_to_repair(self, server: int) -> None:
        self._env.process(self._repair(server))

    def _repair(self, server: int) -> Generator[simpy.Event, Any, None]:
        duration = self._rng.exponential(self._repair_mean_s)
        yield self._env.timeout(duration)
        self._log.record(self._env.now - duration, "repair", "", server, duration)
        yield self._servers.put(1)
