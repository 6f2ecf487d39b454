"""Discrete-event simulator of large ML training runs under failures, checkpoints and cost.

Notebook use::

    import sim
    config = sim.load_config("llama_405b", ["sim.replicates=20"])
    result = sim.run(config)          # result.summary, result.replicates, result.events
"""

from sim.compare import run_variants
from sim.config import Config
from sim.errors import ConfigError
from sim.loading import load_config
from sim.results import Result
from sim.simulation import run

__all__ = ["Config", "ConfigError", "Result", "load_config", "run", "run_variants"]
