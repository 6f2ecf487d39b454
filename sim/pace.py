"""How fast the job trains at the moment: its slowest server, the share of data-parallel replicas it
still has, and whether the data pipeline keeps up. Progress is wall time times their product."""

from __future__ import annotations

from collections import Counter


class Pace:
    """The three speeds a job's training runs at, each 1.0 at full speed."""

    def __init__(self, data_speeds: list[float]) -> None:
        self._slow: Counter[float] = Counter()  # speeds of the servers running slow now
        self._data = data_speeds  # per workload phase: what the loader cores can feed
        self.elastic = 1.0  # replicas running over replicas planned (elastic recovery)

    @property
    def straggler(self) -> float:
        """Synchronous training runs at the pace of its slowest server."""
        return min(self._slow) if self._slow else 1.0

    def data(self, phase: int) -> float:
        return self._data[phase]

    def slow_down(self, speed: float) -> None:
        self._slow[speed] += 1

    def speed_up(self, speed: float) -> None:
        """A slowdown at ``speed`` is over."""
        self._slow[speed] -= 1
        if self._slow[speed] == 0:
            del self._slow[speed]
