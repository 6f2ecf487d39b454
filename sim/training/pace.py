"""How fast the job trains at the moment: its slowest server, the share of data-parallel replicas it
still has, and whether the data pipeline keeps up. Progress is wall time times their product."""

from __future__ import annotations

from collections import Counter


class Pace:
    """The three speeds a job's training runs at, each 1.0 at full speed. They are read at every
    state change and change rarely, so they are kept as plain attributes, not computed on read."""

    def __init__(self, data_speeds: list[float]) -> None:
        self._slow: Counter[float] = Counter()  # speeds of the servers running slow now
        self.data = data_speeds  # per workload phase: what the loader cores can feed
        self.elastic = 1.0  # replicas running over replicas planned (elastic recovery)
        self.straggler = 1.0  # synchronous training runs at the pace of its slowest server

    def slow_down(self, speed: float) -> None:
        self._slow[speed] += 1
        self.straggler = min(self._slow)

    def speed_up(self, speed: float) -> None:
        """A slowdown at ``speed`` is over."""
        self._slow[speed] -= 1
        if self._slow[speed] == 0:
            del self._slow[speed]
        self.straggler = min(self._slow) if self._slow else 1.0
