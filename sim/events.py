"""A flat buffer of event rows, turned into one tidy DataFrame at the end of a run."""

from __future__ import annotations

from typing import NamedTuple


class EventRow(NamedTuple):
    time_s: float  # when the event (or the phase it closes) started
    kind: str
    cause: str
    server: int  # -1 when no single server is involved
    duration_s: float


class EventLog:
    """Appends rows only when recording is on, so a benchmark run pays nothing for it."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.rows: list[EventRow] = []

    def record(self, time_s: float, kind: str, cause: str, server: int, duration_s: float) -> None:
        if self.enabled:
            self.rows.append(EventRow(time_s, kind, cause, server, duration_s))

    def record_every(self, first_s: float, step_s: float, count: int, kind: str,
                     duration_s: float) -> None:  # fmt: skip
        """``count`` job-wide rows of one kind, ``step_s`` apart (periodic checkpoints)."""
        if self.enabled:
            self.rows.extend(
                [EventRow(first_s + j * step_s, kind, "", -1, duration_s) for j in range(count)]
            )
