"""pytest configuration: the property tests' profiles, and the expensive runs several test files
share as session fixtures. The helpers test files import are in ``helpers.py``."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import TypeVar

import helpers
import pytest
from filelock import FileLock
from hypothesis import settings

import sim

# Property tests: a quick profile for `make test`, the long one for `make test-long`.
settings.register_profile("quick", max_examples=25)
settings.register_profile("long", max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

T = TypeVar("T")


def once_per_session(
    tmp_path_factory: pytest.TempPathFactory, name: str, compute: Callable[[], T]
) -> T:
    """``compute()`` once per test session. Under pytest-xdist the first worker to ask computes it
    and leaves it pickled in the session's shared temporary directory, and the others, waiting on
    the lock meanwhile, read it (pytest-xdist's documentation: "Making session-scoped fixtures
    execute only once")."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:  # one process: nothing to share
        return compute()
    path = tmp_path_factory.getbasetemp().parent / f"{name}.pickle"
    with FileLock(f"{path}.lock"):
        if path.is_file():
            value: T = pickle.loads(path.read_bytes())
            return value
        value = compute()
        path.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def llama_405b(tmp_path_factory: pytest.TempPathFactory) -> sim.Result:
    """The whole ``llama_405b`` run, 50 replicates."""
    return once_per_session(tmp_path_factory, "llama_405b", helpers.run_llama_405b)


@pytest.fixture(scope="session")
def llama_405b_window(tmp_path_factory: pytest.TempPathFactory) -> sim.Result:
    """``llama_405b`` over the 54 days of the Llama 3 paper's Table 5, 50 replicates."""
    return once_per_session(tmp_path_factory, "llama_405b_window", helpers.run_llama_405b_window)


@pytest.fixture(scope="session")
def interval_sweep_means(tmp_path_factory: pytest.TempPathFactory) -> tuple[float, ...]:
    """Mean wall time of ``helpers.SWEEP_PLAN`` at each of ``helpers.SWEEP_FACTORS`` x Daly's
    interval, ``helpers.SWEEP_REPLICATES`` replicates each."""
    return once_per_session(tmp_path_factory, "interval_sweep", helpers.simulate_interval_sweep)
