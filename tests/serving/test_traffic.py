"""The requests a serving run receives (sim.serving.traffic): the scenario's prompt lengths, traces
replayed or refused, and diurnal arrivals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import mlperf

import sim
from sim.app.simulation import run_serving
from sim.errors import ConfigError

DATA = Path(sim.__file__).parent / "data"


def test_mlperf_prompt_lengths_are_the_datasets() -> None:
    """The scenario's prompt mean and log-spread are those of the 24,576 MLPerf samples."""
    lengths = pd.read_csv(DATA / "mlperf_llama2_70b_lengths.csv", comment="#")["input_length"]
    prompts = mlperf().serving.prompt_tokens  # type: ignore[union-attr]
    assert prompts.mean == pytest.approx(lengths.mean(), abs=0.005)
    assert prompts.sigma == pytest.approx(np.log(lengths).std(), abs=0.0005)
    assert prompts.max >= lengths.max()


def test_dataset_lengths_are_the_published_samples() -> None:
    """``distribution: dataset`` draws the 405B benchmark's own prompts and replies, with
    replacement: every length is one of the file's, and the means are the dataset's."""
    from sim.serving.traffic import traffic

    published = pd.read_csv(DATA / "mlperf_llama31_405b_lengths.csv", comment="#")
    config = sim.load_config("mlperf_llama31_405b", ["serving.requests=20000"])
    assert config.serving is not None
    drawn = traffic(config.serving, np.random.default_rng(3))
    assert set(drawn.prompt) <= set(published["input_length"])
    assert set(drawn.output) <= set(published["output_length"])
    assert drawn.prompt.mean() == pytest.approx(published["input_length"].mean(), rel=0.02)
    assert drawn.output.mean() == pytest.approx(published["output_length"].mean(), rel=0.02)


def test_a_missing_trace_is_refused_when_the_run_starts(tmp_path: object) -> None:
    config = mlperf("serving.arrivals=trace", "serving.trace=/no/such.csv")
    with pytest.raises(ConfigError, match=r"serving\.trace='/no/such\.csv': no such file"):
        run_serving(config)


@pytest.mark.slow
def test_a_trace_is_replayed_as_written(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "trace.csv"  # type: ignore[operator]
    pd.DataFrame({"arrival_s": [0.0, 0.5, 3.0], "prompt_tokens": [100, 2000, 50],
                  "output_tokens": [10, 20, 300]}).to_csv(path, index=False)  # fmt: skip
    frame = run_serving(mlperf("serving.arrivals=trace", f"serving.trace={path}")).requests
    assert frame["arrival_s"].tolist() == [0.0, 0.5, 3.0]
    assert frame["output_tokens"].tolist() == [10, 20, 300]


def test_diurnal_traffic_peaks_in_the_afternoon_and_keeps_its_mean() -> None:
    config = mlperf("serving.arrivals=diurnal", "serving.rate_per_s=0.05", "serving.requests=null",
                    "serving.duration_s=864000", "serving.diurnal_peak_to_mean=2")  # fmt: skip
    from sim.serving.traffic import traffic

    assert config.serving is not None
    times = traffic(config.serving, np.random.default_rng(0)).arrival_s
    assert len(times) / 864000 == pytest.approx(0.05, rel=0.03)
    hour = (times % 86400) // 3600
    assert (hour == 6).sum() > 2.5 * (hour == 18).sum()  # sin peaks at 6 h, troughs at 18 h
