"""A timeline of one replicate as a Chrome trace (``trace.json``, opens in ui.perfetto.dev).

The ledger is read after every engine event; it books an activity when the activity ends, so
the seconds the buckets gained since the last reading are laid out one after the other (a
recovery before the training it shared a wait with), ending at the reading. A rollback (work
lost to a failure) turns the most recent productive slices into lost work, as the ledger does,
so each bucket's track sums to that bucket's seconds and all bucket tracks together to the
replicate's wall time. Each server that failed gets a track of its failures and repairs, from
the event log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.training.accounting import Bucket, Ledger
from sim.training.events import EventRow

TRACE_FILE = "trace.json"
US = 1e6  # Chrome traces count microseconds
SERVER_TRACKS = 100  # track ids of servers start here, after the buckets'
# The order buckets gained at one reading were spent in: the engine books a recovery with the
# training that follows it when both are one wait, and the recovery came first.
RECOVERY = (Bucket.DETECTION, Bucket.DIAGNOSIS, Bucket.RESTART, Bucket.RESTORE)
ORDER = (*RECOVERY, *(b for b in Bucket if b not in RECOVERY))


@dataclass
class Slice:
    bucket: Bucket
    start_s: float
    seconds: float


@dataclass
class Timeline:
    """Bucket slices built from successive readings of a ledger."""

    ledger: Ledger
    slices: list[Slice] = field(default_factory=list)
    _last: dict[Bucket, float] = field(default_factory=dict)

    def read(self, now: float) -> None:
        """The ledger books an activity when it ends, so what it gained since the last reading
        ends now: lay it out backwards from ``now``."""
        seconds = self.ledger.seconds
        delta = {b: seconds[b] - self._last.get(b, 0.0) for b in Bucket}
        self._last = dict(seconds)
        rolled_back = max(0.0, -delta[Bucket.PRODUCTIVE])
        if rolled_back:
            self._relabel(rolled_back)
            delta[Bucket.PRODUCTIVE] = 0.0
            delta[Bucket.LOST_WORK] -= rolled_back
        gained = [(b, delta[b]) for b in ORDER if delta[b] > 1e-9]
        start = now - sum(d for _, d in gained)
        for bucket, spent in gained:
            self.slices.append(Slice(bucket, start, spent))
            start += spent

    def _relabel(self, seconds: float) -> None:
        """The last ``seconds`` of productive time become lost work."""
        for index in range(len(self.slices) - 1, -1, -1):
            if seconds <= 1e-9:
                return
            piece = self.slices[index]
            if piece.bucket is not Bucket.PRODUCTIVE:
                continue
            if piece.seconds <= seconds:
                piece.bucket, seconds = Bucket.LOST_WORK, seconds - piece.seconds
            else:  # split: the tail is lost
                piece.seconds -= seconds
                tail = Slice(Bucket.LOST_WORK, piece.start_s + piece.seconds, seconds)
                self.slices.insert(index + 1, tail)
                return


def chrome_trace(slices: list[Slice], events: list[EventRow], replicate: int) -> dict[str, Any]:
    """The Chrome trace-event JSON: complete ("X") events on one track per bucket and per
    failed server, with the tracks named by metadata ("M") events."""
    tracks = {bucket: i for i, bucket in enumerate(Bucket)}
    out: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": replicate, "tid": 0,
         "args": {"name": f"replicate {replicate}"}},
    ]  # fmt: skip
    used = {s.bucket for s in slices}
    for bucket in Bucket:
        if bucket in used:
            out.append({"name": "thread_name", "ph": "M", "pid": replicate,
                        "tid": tracks[bucket], "args": {"name": bucket.value}})  # fmt: skip
    for s in slices:
        out.append({"name": s.bucket.value, "cat": "bucket", "ph": "X", "ts": s.start_s * US,
                    "dur": s.seconds * US, "pid": replicate, "tid": tracks[s.bucket]})  # fmt: skip
    servers = sorted({e.server for e in events if e.kind == "failure" and e.server >= 0})
    for i, server in enumerate(servers):
        out.append({"name": "thread_name", "ph": "M", "pid": replicate, "tid": SERVER_TRACKS + i,
                    "args": {"name": f"server {server}"}})  # fmt: skip
    track = {server: SERVER_TRACKS + i for i, server in enumerate(servers)}
    for e in events:
        if e.server in track and e.kind in ("failure", "repair"):
            dur = e.duration_s if e.kind == "repair" else 0.0
            out.append({"name": e.kind if not e.cause else f"{e.kind}: {e.cause}",
                        "cat": "server", "ph": "X", "ts": e.time_s * US, "dur": dur * US,
                        "pid": replicate, "tid": track[e.server]})  # fmt: skip
    return {"traceEvents": out, "displayTimeUnit": "ms"}


def write_trace(trace: dict[str, Any], out_dir: Path) -> Path:
    """Written whole or not at all, as the run's other files (``sim.outputs.results.atomic_write``,
    imported here: the engine imports this module without pandas)."""
    from sim.outputs.results import atomic_write

    path = out_dir / TRACE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(trace)
    atomic_write(path, lambda p: p.write_text(text))
    return path


def bucket_seconds(trace: dict[str, Any]) -> dict[str, float]:
    """Seconds per bucket track of a trace (what ``sim.outputs.plots.timeline`` draws)."""
    totals: dict[str, float] = {}
    for event in trace["traceEvents"]:
        if event.get("cat") == "bucket":
            totals[event["name"]] = totals.get(event["name"], 0.0) + event["dur"] / US
    return totals
