"""Every figure of `sim.outputs.plots`, rendered: labels in words with units (no config keys), tick
labels that do not repeat, legends beside the bars, and nothing drawn outside the data it names."""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import sim
from sim.app.simulation import replicate_trace
from sim.outputs import plots
from sim.training.planning import plan_job

matplotlib.use("Agg")
KEY = re.compile(r"\w_\w|\w\.\w+_")  # snake_case or a dotted config key


def axes_of(drawn: Axes | Figure) -> list[Axes]:
    return drawn.figure.axes if isinstance(drawn, Axes) else drawn.axes


def assert_readable(drawn: Axes | Figure) -> None:
    for ax in axes_of(drawn):
        for text in (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()):
            assert not KEY.search(text), f"a config key as a label: {text!r}"
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
            assert len(labels) == len(set(labels)), f"repeated tick labels: {labels}"
            assert not any(KEY.search(t) for t in labels), f"config keys as ticks: {labels}"
        legend = ax.get_legend()
        if legend is not None and ax.patches:  # bars: the legend must sit beside them
            box = legend.get_window_extent(ax.figure.canvas.get_renderer())
            assert box.x0 >= ax.get_window_extent().x1 - 1, "the legend covers the bars"


@pytest.fixture(scope="module")
def llama(llama_405b: sim.Result) -> pd.DataFrame:
    return llama_405b.replicates


@pytest.mark.slow
def test_time_to_train_draws_a_density_only_with_enough_replicates(llama: pd.DataFrame) -> None:
    many = plots.time_to_train(llama)
    assert len(many.lines) == 2  # the density curve and the mean
    assert_readable(many)
    few = plots.time_to_train(llama.head(4))
    assert len(few.lines) == 1  # the mean only: no curve through four points
    assert_readable(few)


@pytest.mark.slow
def test_time_budget_and_interruptions_read_well(
    llama: pd.DataFrame, llama_405b_window: sim.Result
) -> None:
    assert_readable(plots.time_budget(llama))
    assert_readable(plots.time_budget(llama.assign(variant=["a", "b"] * 25), hue="variant"))
    window = llama_405b_window.replicates
    assert_readable(plots.interruptions_vs_published(window))


def test_ettr_curve_names_marks_outside_the_sweep_instead_of_drawing_them() -> None:
    sweep = pd.DataFrame({"checkpoint.interval_min": [4, 4, 16, 16, 64, 64],
                          "ettr": [0.80, 0.81, 0.90, 0.91, 0.85, 0.86]})  # fmt: skip
    ax = plots.ettr_curve(sweep, marks={"Young": 12.0, "Daly": 200.0})
    assert ax.get_xlabel() == "checkpoint interval (minutes)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Young: 12" in legend and "Daly: 200 (outside the swept range)" in legend
    lo, hi = ax.get_xlim()
    assert all(lo <= line.get_xdata()[0] <= hi for line in ax.lines if len(line.get_xdata()))
    assert_readable(ax)


@pytest.mark.slow
def test_side_by_side_and_multilingual_panels_are_titled_in_words() -> None:
    result = sim.run(sim.load_config("multilingual_switch", ["sim.replicates=2",
                                                             "sim.progress=false"]))  # fmt: skip
    reps = pd.concat([result.replicates.assign(variant="a"), result.replicates.assign(variant="b")])
    drawn = plots.compare(reps, ["time_to_train_days", "cost_usd", "ettr"])
    assert [ax.get_title() for ax in drawn.axes] == ["time to train (days)", "cost (USD)",
                                                     "effective training time ratio"]  # fmt: skip
    assert_readable(drawn)
    summary = pd.DataFrame([dict(result.summary) | {"run_dir": "x", "job": 0}])
    assert_readable(plots.languages(summary))
    assert_readable(plots.phases(summary))


@pytest.mark.slow
def test_serving_and_timeline_figures_read_well() -> None:
    config = sim.load_config("serve_405b_gpu_vs_cpu", ["sim.progress=false", "sim.replicates=1",
                             "serving.search_requests=60", "serving.requests=60",
                             "serving.rates_per_s=[0.1,1.0]"])  # fmt: skip
    capacity = sim.run(config).capacity
    assert capacity is not None
    assert_readable(plots.serving_capacity(capacity.assign(variant="h100")))
    llama = sim.load_config("llama_405b")
    assert_readable(plots.timeline(replicate_trace(plan_job(llama)[0], 0)))
