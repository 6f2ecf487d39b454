"""Runs several test files need, simulated once per process: the whole ``llama_405b`` run and the
54-day window of the Llama 3 paper (Table 5), both with the scenario's 50 replicates."""

from __future__ import annotations

import functools

import sim


@functools.cache
def llama_405b() -> sim.Result:
    config = sim.load_config("llama_405b", ["sim.progress=false"])
    return sim.run(config, scenario="llama_405b")


@functools.cache
def llama_405b_window() -> sim.Result:
    config = sim.load_config("llama_405b", ["sim.horizon_days=54", "sim.progress=false"])
    return sim.run(config, scenario="llama_405b")
