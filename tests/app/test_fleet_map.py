"""The decision map (issue 29): the cheapest fleet per request rate and interactive share."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

import sim
from sim.app.fleet_map import KINDS, cell_config, decision_map
from sim.outputs import plots

matplotlib.use("Agg")
pytestmark = pytest.mark.slow  # four mix searches on ten minutes of traffic each


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    config = sim.load_config("serve_mixed_fleet", ["~compare"])
    return decision_map(config, [0.3, 3.0], [0.0, 1.0], window_s=600, progress=False)


def test_light_batch_work_goes_to_owned_cpus_and_chat_to_the_gpu(cells: pd.DataFrame) -> None:
    """Owned Xeons cost their energy and operations; a rented H200 server its price: light
    batch-only traffic is cheapest on the CPUs, chat (whose target no CPU meets) on the GPU."""
    fleet = cells.set_index(["rate_per_s", "interactive_share"])["fleet"]
    assert set(fleet) <= set(KINDS)
    assert fleet[(0.3, 0.0)] == "CPU only"
    assert fleet[(0.3, 1.0)] == fleet[(3.0, 1.0)] == "GPU only"
    assert (cells["simulations"] > 0).all() and cells["cost_per_m_output_tokens"].gt(0).all()


def test_the_map_draws_every_cell_with_labelled_axes_and_units(cells: pd.DataFrame) -> None:
    figure = plots.decision_map(cells, ["gpu", "cpu"])
    ax = figure.axes[0]
    assert ax.get_xlabel() == "request rate (requests per second)"
    assert ax.get_ylabel() == "interactive share of requests (%)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.3", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "100"]
    assert len(ax.patches) == len(cells)
    assert all("/M" in t.get_text() for t in ax.texts)
    legend = ax.get_legend()
    assert legend is not None and "$ per million output tokens" in legend.get_title().get_text()


def test_a_cell_leaves_out_a_class_without_traffic_and_opens_every_group() -> None:
    config = sim.load_config("serve_mixed_fleet", ["~compare"])
    cell = cell_config(config, 2.0, 0.0, 600)
    assert cell.mix is not None and cell.serving is not None
    assert list(cell.mix.classes) == ["batch"]
    assert cell.mix.classes["batch"].groups == ["cpu", "hybrid", "gpu"]
    assert cell.serving.rate_per_s == 2.0 and cell.serving.duration_s == 600
