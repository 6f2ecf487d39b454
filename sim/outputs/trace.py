"""A timeline of one replicate as a Chrome trace (``trace.json``, opens in ui.perfetto.dev): one
track per accounting bucket, from the replicate's slices (``sim.training.timeline``), each
summing to that bucket's seconds; and a track of failures and repairs for each server that
failed, from the event log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.outputs.files import atomic_write
from sim.training.accounting import Bucket
from sim.training.events import EventRow
from sim.training.timeline import Slice

TRACE_FILE = "trace.json"
US = 1e6  # Chrome traces count microseconds
SERVER_TRACKS = 100  # track ids of servers start here, after the buckets'


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
    """Written whole or not at all, as the run's other files."""
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
