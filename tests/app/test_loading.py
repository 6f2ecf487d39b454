"""Composing a configuration without the CLI (sim.app.loading)."""

from __future__ import annotations

import pytest

import sim


def test_a_failure_category_can_be_added_from_the_command_line() -> None:
    # Issue 13: `+failures.categories.NAME={...}` failed with "dict is not a subclass".
    rack = "{scope: switch, rate_per_1000_server_days: 0.5, servers_down: 16}"
    config = sim.load_config("llama_405b", [f"+failures.categories.rack={rack}"])
    added = config.failures.categories["rack"]
    assert (added.scope, added.servers_down, added.rate_per_1000_server_days) == ("switch", 16, 0.5)
    assert added.recovery == "swap"  # the schema's default filled in
    with pytest.raises(sim.ConfigError, match=r"failures\.categories\.rack\.scoep='switch': unk"):
        sim.load_config("llama_405b", ["+failures.categories.rack={scoep: switch}"])
