"""Calibration in the open: the fitted constants are the YAML's, every training row is close, and
each row is predicted by a fit on the others (leave-one-out)."""

from __future__ import annotations

import pytest

import sim
from sim.app.calibrate import TRAINING_SETS, derived_constants, fit, leave_one_out, validation_runs


@pytest.fixture(scope="module", params=sorted(TRAINING_SETS))
def training(request: pytest.FixtureRequest) -> tuple[str, list, tuple[str, ...]]:
    name = request.param
    make, keys = TRAINING_SETS[name]
    return name, make(), keys


def test_every_training_row_within_5_percent(training: tuple[str, list, tuple[str, ...]]) -> None:
    # A100: Korthikanti et al. 2022, Table 5 (8 iteration times). H100: Llama 3 paper, Table 4
    # (430 / 400 / 380 TFLOP/s per GPU). Tolerance 5% after the fit (issue 12).
    _, runs, _ = training
    for run in runs:
        assert abs(run.error) <= 0.05, f"{run.label}: {run.error:+.1%}"


def test_every_leave_one_out_error_within_10_percent(
    training: tuple[str, list, tuple[str, ...]],
) -> None:
    _, runs, keys = training
    for run, error in zip(runs, leave_one_out(runs, keys), strict=True):
        assert abs(error) <= 0.10, f"{run.label}: {error:+.1%}"


def test_the_yaml_holds_the_fitted_constants(training: tuple[str, list, tuple[str, ...]]) -> None:
    name, runs, keys = training
    fitted = fit(runs, keys)
    hw = runs[0].config.hardware
    for key, value in fitted.items():
        assert getattr(hw, key) == pytest.approx(value, rel=0.01), f"{name}.{key}: rerun the fit"


@pytest.mark.slow
def test_uncalibrated_gpus_hold_their_derived_constants() -> None:
    for name, constants in derived_constants().items():
        hw = sim.load_config("llama_405b", [f"hardware={name}"]).hardware
        for key, value in constants.items():
            assert getattr(hw, key) == pytest.approx(value, rel=0.01), f"{name}.{key}"


def test_out_of_sample_runs_within_15_percent() -> None:
    # Never fitted on: Narayanan et al. 2021 Table 2 (GPT 175B and 530B on 384 to 2,240 A100s),
    # Nemotron-4 340B report Table 2 (1,536 to 6,144 H100s), NVIDIA's DGXC Nemotron4 340B recipe
    # (128 H100s). The aim is 10%; every row is listed with its error in the README.
    runs = validation_runs()
    assert len(runs) == 10
    errors = [abs(run.error) for run in runs]
    assert max(errors) <= 0.15
    assert sorted(errors)[len(errors) // 2] <= 0.10  # the median row
