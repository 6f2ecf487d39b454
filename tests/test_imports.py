"""Start-up: the arithmetic modules load without Hydra, pandas, scipy.stats or plotting, and the
engine (what a joblib worker unpickles) without pandas or scipy.stats."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("hydra", "pandas", "scipy.stats", "seaborn", "matplotlib", "simpy")


def heavy_modules_loaded_by(modules: str) -> list[str]:
    code = f"import sys, {modules}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.slow
def test_importing_the_model_arithmetic_loads_nothing_heavy() -> None:
    assert heavy_modules_loaded_by("sim.perf.model, sim.perf.memory") == []


@pytest.mark.slow
def test_a_worker_that_only_simulates_loads_neither_pandas_nor_scipy_stats() -> None:
    # pandas and scipy.stats load where they are used (the events frame, the premiums table,
    # non-exponential clocks): a worker process starts in a fraction of a second.
    assert heavy_modules_loaded_by("sim.training.replicate") == ["simpy"]
