"""A run's tidy tables and files (sim.outputs.results)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.des.draws import replicate_seeds
from sim.training.planning import plan_job
from sim.training.replicate import simulate_replicate


@pytest.mark.slow
def test_events_stream_to_disk_and_let_go_of_written_replicates(tmp_path: Path) -> None:
    """Issue 16: a run that writes its files keeps no events in memory beyond a batch."""
    from sim.outputs.results import EventsWriter, events_frame

    plan, _ = plan_job(sim.load_config("llama_405b", ["sim.horizon_days=5"]))
    seeds = replicate_seeds(0, 5)
    outcomes = [simulate_replicate(plan, s, i, record_events=True) for i, s in enumerate(seeds)]
    expected = events_frame(outcomes)
    writer = EventsWriter(tmp_path)
    writer.BATCH = 2
    for outcome in outcomes:
        writer.add(outcome)
    assert not outcomes[0].events and not outcomes[1].event_runs  # written, let go
    assert outcomes[4].events  # the last batch is still pending
    path = writer.close()
    written = pd.read_parquet(path)
    assert len(written) == len(expected) > 0
    assert written["time_s"].tolist() == expected["time_s"].tolist()
    assert written["kind"].tolist() == expected["kind"].astype(str).tolist()
