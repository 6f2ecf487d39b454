"""GPU constants fitted on Vidur's measured profiles (sim.app.gpu_kernels): the engines' kernel
floor and h100_sxm's in-switch all-reduce rate are the fits, and each profile is predicted from
the others."""

from __future__ import annotations

import pytest

from sim.app.gpu_kernels import (
    all_reduce_times,
    fit,
    fitted,
    kernel_times,
    switch_efficiency,
)
from sim.app.loading import load_config
from sim.app.serving_calibration import engine_profile


@pytest.mark.parametrize("name", ["trtllm", "vllm", "sglang"])
def test_each_gpu_engine_holds_the_fitted_kernel_floor(name: str) -> None:
    assert engine_profile(name).kernel_floor_us == pytest.approx(fitted().floor_s * 1e6, abs=0.01)


def test_h100_holds_the_fitted_switch_efficiency() -> None:
    hw = load_config("mlperf_llama2_70b").hardware
    assert hw.switch_reduction_efficiency == pytest.approx(
        switch_efficiency(all_reduce_times()), abs=1e-4
    )


def test_every_profile_is_predicted_within_6_percent_by_a_fit_on_the_others() -> None:
    """Median error of each (device, model) profile's GEMMs, from a fit without it: 2-5%."""
    kernels = kernel_times()
    assert len(kernels) == 480
    for group in {(k.device, k.model) for k in kernels}:
        others = fit([k for k in kernels if (k.device, k.model) != group])
        errors = sorted(abs(others.predict(k) / k.seconds - 1)
                        for k in kernels if (k.device, k.model) == group)  # fmt: skip
        assert errors[len(errors) // 2] < 0.06, group
    assert 4.5e-6 < fitted().floor_s < 5.5e-6  # the A100's and the H100's alike
