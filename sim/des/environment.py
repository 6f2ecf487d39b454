"""SimPy environments that count the events they process, the engines' unit of cost, and stop
at a limit, so that a run which cannot finish ends instead of hanging."""

from __future__ import annotations

from collections.abc import Callable

import simpy


class EventLimit(Exception):
    """A replicate reached ``sim.max_events``."""


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (the engine's unit of cost) and
    stops at ``limit`` of them (0: no limit): a run that cannot finish ends instead of hanging."""

    def __init__(self, limit: int = 0) -> None:
        super().__init__()
        self.processed = 0
        self.limit = limit
        # SimPy binds ``timeout`` and its kin to the instance only for its own class; bound here,
        # a timeout no longer costs a method object per call.
        for name in ("timeout", "event", "process", "all_of", "any_of"):
            setattr(self, name, getattr(self, name))

    def step(self) -> None:
        self.processed += 1
        if self.processed == self.limit:
            raise EventLimit
        super().step()


class TracingEnvironment(CountingEnvironment):
    """Calls ``after_step`` after every event (a timeline reading the ledger); a subclass, so
    runs without a trace pay nothing for it."""

    def __init__(self, limit: int, after_step: Callable[[], None]) -> None:
        super().__init__(limit)
        self.after_step = after_step

    def step(self) -> None:
        super().step()
        self.after_step()
