"""Discrete-event simulator of large ML training runs under failures, checkpoints and cost.

Notebook use::

    import sim
    config = sim.load_config("llama_405b", ["sim.replicates=20"])
    result = sim.run(config)          # result.summary, result.replicates, result.events

The names below load their modules on first use, so ``import sim.model`` does not pull in Hydra,
pandas or the engine. The engine's compiled modules, once built by `make compile`, are used while
they match their sources (``sim.compiled``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.compiled import use_if_fresh

use_if_fresh(__path__)

if TYPE_CHECKING:
    from sim.compare import run_variants
    from sim.config import Config
    from sim.errors import ConfigError
    from sim.loading import load_config
    from sim.results import Result
    from sim.simulation import run

_HOMES = {
    "Config": "sim.config",
    "ConfigError": "sim.errors",
    "Result": "sim.results",
    "load_config": "sim.loading",
    "run": "sim.simulation",
    "run_variants": "sim.compare",
}
__all__ = ["Config", "ConfigError", "Result", "load_config", "run", "run_variants"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
