"""The timeline of one replicate: a Chrome trace whose bucket tracks tile the replicate's wall time
and add up to its ledger, bucket by bucket."""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import pytest

import sim
from sim.des.draws import replicate_seeds
from sim.outputs.trace import TRACE_FILE, bucket_seconds
from sim.training.planning import plan_job
from sim.training.replicate import simulate_replicate

pytestmark = pytest.mark.slow  # whole llama_405b and cpu_llama_1b runs


@pytest.fixture(scope="module")
def llama_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, float, dict]:
    out = tmp_path_factory.mktemp("trace")
    config = sim.load_config("llama_405b", ["sim.replicates=2", "sim.trace=true",
                                            "sim.progress=false"])  # fmt: skip
    result = sim.run(config, out)
    trace = json.loads((out / TRACE_FILE).read_text())
    plan, _ = plan_job(config)
    outcome = simulate_replicate(plan, replicate_seeds(0, 1)[0], 0, record_events=False)
    assert result.replicates.loc[0, "wall_clock_days"] * 86400 == pytest.approx(outcome.wall_s)
    return trace, outcome.wall_s, {b.value: s for b, s in outcome.seconds.items()}


def test_the_trace_is_chrome_trace_json(llama_trace: tuple[dict, float, dict]) -> None:
    trace, _, _ = llama_trace
    events = trace["traceEvents"]
    assert events and all({"ph", "pid", "tid", "name"} <= set(e) for e in events)
    complete = [e for e in events if e["ph"] == "X"]
    assert complete and all({"ts", "dur"} <= set(e) and e["dur"] >= 0 for e in complete)
    tracks = {(e["pid"], e["tid"]) for e in complete}
    named = {(e["pid"], e["tid"]) for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert tracks <= named  # every track has a name
    assert any(e["args"]["name"].startswith("server ") for e in events if e["ph"] == "M")


def test_bucket_tracks_tile_the_wall_time_and_match_the_ledger(
    llama_trace: tuple[dict, float, dict],
) -> None:
    trace, wall_s, seconds = llama_trace
    totals = bucket_seconds(trace)
    assert sum(totals.values()) == pytest.approx(wall_s, rel=1e-9)
    for bucket, spent in seconds.items():
        assert totals.get(bucket, 0.0) == pytest.approx(spent, rel=1e-9, abs=1e-3)
    slices = sorted((e["ts"], e["dur"]) for e in trace["traceEvents"] if e.get("cat") == "bucket")
    end = 0.0
    for start, dur in slices:  # no gap, no overlap
        assert start == pytest.approx(end, abs=1.0)  # microseconds
        end = start + dur


def test_the_timeline_plot_draws_every_track(llama_trace: tuple[dict, float, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from sim.outputs import plots

    trace, _, _ = llama_trace
    ax = plots.timeline(trace)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "productive" in labels and any(label.startswith("repairs (") for label in labels)
    assert ax.get_xlabel() == "time (days)"


def test_no_trace_unless_asked(tmp_path: Path) -> None:
    config = sim.load_config("cpu_llama_1b", ["sim.replicates=2", "sim.progress=false"])
    sim.run(config, tmp_path)
    assert not (tmp_path / TRACE_FILE).exists()


def test_each_failure_is_followed_by_its_recovery(llama_trace: tuple[dict, float, dict]) -> None:
    # A recovery and the training after it can be one wait of the engine, booked when it ends:
    # the timeline must still lay the recovery out first, right after the failure.
    trace, _, _ = llama_trace
    slices = sorted((e["ts"], e["name"]) for e in trace["traceEvents"] if e.get("cat") == "bucket")
    failures = sorted(e["ts"] for e in trace["traceEvents"]
                      if e.get("cat") == "server" and e["name"].startswith("failure"))  # fmt: skip
    assert len(failures) > 100
    starts = [start for start, _ in slices]
    recovery = {"detection", "diagnosis", "waiting_for_servers", "restart", "restore"}
    for at in failures:
        after = bisect.bisect_left(starts, at - 1.0)  # microseconds
        assert slices[after][1] in recovery, (at, slices[after - 1 : after + 2])
