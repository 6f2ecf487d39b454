"""A flat buffer of event rows, turned into one tidy DataFrame at the end of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


class EventRow(NamedTuple):
    time_s: float  # when the event (or the phase it closes) started
    kind: str
    cause: str
    server: int  # -1 when no single server is involved
    duration_s: float


class EventRun(NamedTuple):
    """``n`` job-wide events of one kind and duration, ``step_s`` apart from ``first_s``."""

    first_s: float
    step_s: float
    n: int
    kind: str
    duration_s: float


class EventLog:
    """Appends rows only when recording is on, so a benchmark run pays nothing for it."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.rows: list[EventRow] = []
        self.runs: list[EventRun] = []  # periodic rows, expanded only into the events frame

    def record(self, time_s: float, kind: str, cause: str, server: int, duration_s: float) -> None:
        if self.enabled:
            self.rows.append(EventRow(time_s, kind, cause, server, duration_s))

    def record_every(self, first_s: float, step_s: float, count: int, kind: str,
                     duration_s: float) -> None:  # fmt: skip
        """``count`` job-wide rows of one kind, ``step_s`` apart (periodic checkpoints), kept as
        one run: tens of thousands of rows per replicate cost nothing until a frame is built."""
        if self.enabled and count > 0:
            self.runs.append(EventRun(first_s, step_s, count, kind, duration_s))


def events_table(rows: list[EventRow], runs: list[EventRun]) -> pd.DataFrame:
    """The rows and the expanded runs of one replicate, in time order (columns of EventRow).
    pandas loads here, not with the module, so a worker process that only simulates starts
    without it."""
    import pandas as pd

    table = pd.DataFrame(rows, columns=list(EventRow._fields))
    if runs:
        counts = np.array([run.n for run in runs])
        starts = np.repeat([run.first_s for run in runs], counts)
        steps = np.repeat([run.step_s for run in runs], counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        periodic = pd.DataFrame(
            {
                "time_s": starts + steps * offsets,
                "kind": np.repeat([run.kind for run in runs], counts),
                "cause": "",
                "server": -1,
                "duration_s": np.repeat([run.duration_s for run in runs], counts),
            }
        )
        table = pd.concat([table, periodic], ignore_index=True)
    return table.sort_values("time_s", kind="stable", ignore_index=True)
