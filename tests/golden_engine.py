"""Golden data of the engine: what fixed-seed replicates of a set of cases measure.

`python tests/golden_engine.py` rewrites `tests/data/golden_engine.json` from the engine as it is;
`tests/test_golden_engine.py` fails when the engine's numbers change beyond float rounding. Rewrite
the file only for a change that is meant to change the numbers, and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

import sim
from sim.training.events import EventRow
from sim.training.planning import plan_job
from sim.training.replicate import simulate_replicate

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_engine.json"
REPLICATES = 3
SHORT = "sim.horizon_days=12"
CASES: dict[str, tuple[str, list[str]]] = {
    "fixed": ("llama_405b", [SHORT]),
    "fixed_to_the_end": ("llama_405b", ["checkpoint.interval_min=60"]),
    "young": ("llama_405b", [SHORT, "checkpoint.policy=young"]),
    "daly": ("llama_405b", [SHORT, "checkpoint.policy=daly"]),
    "adaptive": ("llama_405b", [SHORT, "checkpoint=adaptive"]),
    "async": ("llama_405b", [SHORT, "checkpoint=async"]),
    "multilevel": ("llama_405b", [SHORT, "checkpoint=multilevel"]),
    "multilevel_no_peer": ("llama_405b", [SHORT, "checkpoint=multilevel",
                                          "checkpoint.peer_replica=false"]),
    "none": ("llama_405b", ["sim.horizon_days=2", "checkpoint.policy=none"]),
    "elastic": ("llama_405b", [SHORT, "recovery.elastic=true", "cluster.spare_servers=0"]),
    "stragglers": ("llama_405b", [SHORT, "failures.stragglers.rate_per_1000_server_days=20",
                                  "failures.stragglers.speed=0.5"]),
    "lemons": ("llama_405b", [SHORT, "failures.lemons.fraction=0.01",
                              "failures.lemons.rate_multiplier=20", "failures.retire_after=3"]),
    "phases": ("multilingual_switch", ["workload.loader_cores_per_server=1"]),
    "horizon": ("llama_405b", ["sim.horizon_days=1.5"]),
    "lossless": ("llama_405b", [SHORT, "checkpoint.policy=lossless"]),
    "lossless_deaf": ("llama_405b", [SHORT, "checkpoint.policy=lossless",
                                     "recovery.fail_during_recovery=false"]),
}  # fmt: skip


def measure(scenario: str, overrides: list[str]) -> list[dict[str, Any]]:
    """Each replicate's figures, events reduced to their count and summed durations."""
    plan, _ = plan_job(sim.load_config(scenario, overrides))
    seeds = np.random.SeedSequence(0).spawn(REPLICATES)
    out = []
    for i, seed in enumerate(seeds):
        r = simulate_replicate(plan, seed, i, record_events=True)
        periodic = [EventRow(run.first_s + j * run.step_s, run.kind, "", -1, run.duration_s)
                    for run in r.event_runs for j in range(run.n)]  # fmt: skip
        events = [*r.events, *periodic]
        out.append(
            {
                "wall_s": r.wall_s,
                "finished": r.finished,
                "seconds": {b.value: s for b, s in sorted(r.seconds.items())},
                "interruptions": sum(r.interruptions.values()),
                "planned": r.planned,
                "checkpoints": r.checkpoints,
                "mean_interval_s": r.mean_interval_s,
                "restores": r.restores,
                "persists_lost": r.persists_lost,
                "phase_training_s": r.phase_training_s,
                "retired": r.retired,
                "events": len(events),
                "event_seconds": sum(e.duration_s for e in events),
                "event_kinds": sorted({e.kind for e in events}),
                "event_digest": _digest(events),
            }
        )
    return out


def _digest(events: list[EventRow]) -> str:
    """The events in time order, to the millisecond: equal whatever order they were logged in."""
    rows = sorted((round(e.time_s, 3), e.kind, e.cause, e.server, round(e.duration_s, 3))
                  for e in events)  # fmt: skip
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def golden() -> dict[str, list[dict[str, Any]]]:
    return {name: measure(scenario, overrides) for name, (scenario, overrides) in CASES.items()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(golden(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
