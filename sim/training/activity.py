"""The job's current activity on the SimPy clock: its one pending wake-up, and what interrupts it.

The job is always in one activity and holds one pending wake-up, the activity's end. An
interruption (a ``Failure``, ``PLANNED``, ``SPEED``: the speed changed, ``STOP``: the horizon)
settles the activity at the moment it arrives, booking what was done, and the job starts the next,
whose end reuses a timeout already pending before it (``Activity.wait_for``). So the job costs
events at state changes only, never one per training step or per checkpoint, and no generator or
SimPy interrupt per change.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import simpy

from sim.training.failures import Planned

STOP = object()
SPEED = object()
ALARM = object()  # the current activity ends at ``_ends_at``, on one of the job's timeouts
PLANNED = Planned()

Settle = Callable[[object], bool]  # an activity's answer to an interruption: True, it carries on


def _ends_anyway(cause: object) -> bool:
    """Before the first activity there is nothing to carry on."""
    return False


def _nothing() -> None:
    """Before the first activity no wake-up is pending, so nothing runs."""


class Activity:
    """The current activity's end: ``then`` runs when it comes, ``settle`` if an interruption
    comes first. One wake-up is pending at a time; a replaced one is dropped, not cancelled."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._wake: object = None  # the current activity's end: an event, or ALARM (timed)
        self._ends_at = math.inf  # the current activity's end when it is timed (ALARM)
        self._alarms: list[float] = []  # when the job's pending timeouts fire (a heap)
        self._then: Callable[[], None] = _nothing
        self._settle: Settle = _ends_anyway

    def wait(self, event: simpy.Event, then: Callable[[], None], settle: Settle) -> None:
        """Make ``event`` the current activity's end: ``then`` runs when it fires, ``settle``
        if an interruption comes first."""
        event.callbacks.append(self._woken)
        self._wake, self._then, self._settle = event, then, settle

    def _woken(self, event: simpy.Event) -> None:
        if event is self._wake:
            self._wake = None
            self._then()

    def wait_for(self, delay_s: float, then: Callable[[], None], settle: Settle) -> None:
        """Make ``delay_s`` from now the current activity's end. A timeout of the job's already
        pending by then is kept instead of adding one, and moved on when it fires early: an
        interruption replaces the activity, and the timeout of the one it replaced would
        otherwise fire for nothing (stale wake-ups were 44% of a replicate's events)."""
        ends_at = self.env.now + delay_s  # the sum SimPy's own schedule does
        self._wake, self._then, self._settle, self._ends_at = ALARM, then, settle, ends_at
        if not self._alarms or self._alarms[0] > ends_at:
            self._set_alarm(ends_at, delay_s)

    def _set_alarm(self, at: float, delay_s: float) -> None:
        heapq.heappush(self._alarms, at)
        self.env.timeout(delay_s).callbacks.append(self._alarm)

    def _alarm(self, _: simpy.Event) -> None:
        heapq.heappop(self._alarms)  # timeouts fire in time order: this one is the earliest
        if self._wake is not ALARM:
            return
        now, ends_at = self.env.now, self._ends_at
        if now >= ends_at:
            self._wake = None
            self._then()
        elif not self._alarms or self._alarms[0] > ends_at:
            self._set_alarm(ends_at, ends_at - now)

    def interrupt(self, cause: object) -> bool:
        """Settle the current activity for ``cause``: True, it carries on (or already started
        the activity that follows); False, it is over and its wake-up is dropped."""
        if self._settle(cause):
            return True
        self._wake = None
        return False
