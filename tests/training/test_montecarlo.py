"""Independent replicates from one seed (sim.training.montecarlo): the same numbers on one worker or
two, and a progress line now and then off a terminal."""

from __future__ import annotations

import pytest
from helpers import plan

from sim.training.montecarlo import replicate_outcomes

HOUR = 3600.0


@pytest.mark.slow
def test_parallel_replicates_give_the_same_numbers() -> None:
    p = plan(job_mtbf_s=5 * HOUR, work_s=20 * HOUR)
    kwargs = {"seed": 4, "replicates": 6, "record_events": True, "progress": False}
    one = list(replicate_outcomes(p, **kwargs, workers=1))
    two = list(replicate_outcomes(p, **kwargs, workers=2))
    assert [o.wall_s for o in one] == [o.wall_s for o in two]
    assert [o.events for o in one] == [o.events for o in two]


def test_progress_off_a_terminal_is_a_line_now_and_then(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.training.montecarlo import progress_lines

    assert list(progress_lines(range(4), 4, "replicates", every_s=0.0)) == [0, 1, 2, 3]
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" after")[0] for line in lines] == [
        "replicates: 1/4", "replicates: 2/4", "replicates: 3/4",
    ]  # fmt: skip
