"""Checkpoint policies: small functions, chosen by name, that decide the checkpoint interval."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sim.analytic import daly_interval_s, young_interval_s


@dataclass(frozen=True)
class PolicyInputs:
    """What a policy may base its interval on."""

    interval_min: float  # the configured interval, for ``fixed``
    write_s: float  # checkpoint cost C
    job_mtbf_s: float  # mean time between failures of the whole job, M


def fixed(inputs: PolicyInputs) -> float:
    return inputs.interval_min * 60.0


def none(inputs: PolicyInputs) -> float:
    """Never checkpoint: a failure rolls the job back to the start."""
    return math.inf


def young(inputs: PolicyInputs) -> float:
    return young_interval_s(inputs.write_s, inputs.job_mtbf_s)


def daly(inputs: PolicyInputs) -> float:
    return daly_interval_s(inputs.write_s, inputs.job_mtbf_s)


POLICIES: dict[str, Callable[[PolicyInputs], float]] = {
    "fixed": fixed,
    "none": none,
    "young": young,
    "daly": daly,
}
