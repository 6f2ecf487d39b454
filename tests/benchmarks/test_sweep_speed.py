"""A 20-point Hydra sweep on the basic launcher (one job after another) and on the joblib launcher
(2 processes). Run with `make bench`. Target from the sweeps issue: joblib at least 1.6x faster on
a 2-core machine; both launchers must give the same numbers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_sweep

from sim.outputs.analysis import load

pytestmark = pytest.mark.benchmark

# 20 checkpoint intervals, 50 replicates each (about 3 s per point on this machine).
SWEEP = ("scenario=llama_405b", "checkpoint.interval_min=range(2,42,2)", "sim.record_events=false")


def timed_sweep(sweep_dir: Path, *launcher: str) -> float:
    started = time.perf_counter()
    proc = run_sweep(sweep_dir, *SWEEP, *launcher, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return time.perf_counter() - started


def test_joblib_runs_a_20_point_sweep_faster_than_the_basic_launcher(tmp_path: Path) -> None:
    basic_s = timed_sweep(tmp_path / "basic", "hydra/launcher=basic")
    joblib_s = timed_sweep(tmp_path / "joblib", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    speedup = basic_s / joblib_s
    print(f"\n20-point sweep on {os.cpu_count()} cores ({sys.platform}): basic {basic_s:.1f} s, "
          f"joblib (2 processes) {joblib_s:.1f} s, speed-up {speedup:.2f}x")  # fmt: skip
    basic, joblib = load(tmp_path / "basic"), load(tmp_path / "joblib")
    assert len(basic) == 20 and basic["error"].isna().all()
    figures = ["checkpoint.interval_min", "time_to_train_days", "cost_usd", "ettr"]
    pd.testing.assert_frame_equal(basic[figures], joblib[figures])
    assert speedup >= 1.6
