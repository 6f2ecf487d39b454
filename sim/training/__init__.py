"""The training engine. Its compiled modules, once built by `make compile`, are used while they
match their sources (``sim.training.compiled``)."""

from sim.training.compiled import use_if_fresh

use_if_fresh(__path__)
