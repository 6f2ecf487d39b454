"""One replicate (sim.training.replicate): its numbers follow its own seed, whatever else runs."""

from __future__ import annotations

import numpy as np
from helpers import plan, simulate

from sim.training.replicate import simulate_replicate

HOUR = 3600.0


def test_replicate_numbers_do_not_depend_on_how_many_replicates_run() -> None:
    p = plan(job_mtbf_s=5 * HOUR)
    few = [o.wall_s for o in simulate(p, 3, seed=7)]
    many = [o.wall_s for o in simulate(p, 6, seed=7)]
    assert many[:3] == few


def test_different_seeds_differ() -> None:
    p = plan(job_mtbf_s=5 * HOUR)
    assert simulate(p, 1, seed=1)[0].wall_s != simulate(p, 1, seed=2)[0].wall_s


def test_a_replicate_run_twice_from_one_seed_object_gives_the_same_numbers() -> None:
    # SeedSequence.spawn is stateful: children must not depend on what was spawned before.
    p, seed = plan(job_mtbf_s=5 * HOUR), np.random.SeedSequence(9)
    first = simulate_replicate(p, seed, 0, record_events=True)
    again = simulate_replicate(p, seed, 0, record_events=True)
    assert (first.wall_s, first.events) == (again.wall_s, again.events)
    assert first.wall_s == simulate_replicate(p, np.random.SeedSequence(9), 0).wall_s
