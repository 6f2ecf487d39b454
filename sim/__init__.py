"""Discrete-event simulator of large ML training runs under failures, checkpoints and cost.

Notebook use::

    import sim
    config = sim.load_config("llama_405b", ["sim.replicates=20"])
    result = sim.run(config)          # result.summary, result.replicates, result.events

The names below load their modules on first use, so ``import sim.perf.model`` does not pull in
Hydra, pandas or the engine. ``sim.analysis`` and ``sim.plots`` name the modules of ``sim.outputs``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.app.compare import run_variants
    from sim.app.loading import load_config
    from sim.app.simulation import run
    from sim.config import Config
    from sim.errors import ConfigError
    from sim.outputs.results import Result

_HOMES = {
    "Config": "sim.config",
    "ConfigError": "sim.errors",
    "Result": "sim.outputs.results",
    "load_config": "sim.app.loading",
    "run": "sim.app.simulation",
    "run_variants": "sim.app.compare",
}
_MODULES = {"analysis": "sim.outputs.analysis", "plots": "sim.outputs.plots"}  # the notebooks'
__all__ = ["Config", "ConfigError", "Result", "load_config", "run", "run_variants"]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name not in _HOMES:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
