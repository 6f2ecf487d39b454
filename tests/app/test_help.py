"""--help: the scenarios with one line each (sim.app.help)."""

from __future__ import annotations

from helpers import REPO


def test_every_scenario_has_a_one_line_description() -> None:
    from sim.app.help import help_text, scenario_lines

    lines = scenario_lines()
    assert len(lines) == len(list((REPO / "scenarios").glob("*.yaml")))
    assert all(len(line) > 20 for _, line in lines)
    assert all(len(row) <= 100 for row in help_text().splitlines())
