"""Small checks the sections share: each raises ``ConfigError`` naming the key, the value and
what is valid."""

from __future__ import annotations

import math

from sim.config import Distribution
from sim.errors import ConfigError
from sim.outputs.summary import SEP

MAX_SHAPE = {"weibull": (0.05, 50.0), "lognormal": (0.0, 4.0)}  # beyond: draws overflow or
# nearly all fall near zero (the mean is kept by a vanishing few huge ones), and a run hangs


CLOCKS = [d.value for d in Distribution if d is not Distribution.empirical]  # need no table


def positive(key: str, value: float | None) -> None:
    if value is None or not math.isfinite(value) or value <= 0:
        raise ConfigError(key, value, "must be a positive finite number")


def non_negative(key: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ConfigError(key, value, "must be zero or a positive finite number")


def divisors(n: int) -> list[int]:
    """The valid degrees of a parallelism that must split ``n`` evenly."""
    return [d for d in range(1, n + 1) if n % d == 0]


def valid_name(key: str, name: str) -> None:
    """Names become summary keys joined by ``__`` (sim/outputs/summary.py): a name must not
    hold it."""
    if SEP in name:
        raise ConfigError(key, name, f"a name must not contain {SEP!r}")


def one_of(key: str, value: str, valid: tuple[str, ...] | list[str]) -> None:
    if value not in valid:
        raise ConfigError(key, value, f"unknown option; valid: {', '.join(valid)}")


def shape(key: str, distribution: str, value: float) -> None:
    """A Weibull shape or lognormal sigma within the range the samplers handle."""
    positive(key, value)
    low, high = MAX_SHAPE.get(str(distribution), (0.0, math.inf))
    if not low < value <= high:  # value > 0 here
        raise ConfigError(key, value, f"a {distribution} shape must lie in ({low:g}, {high:g}]")


def fraction(key: str, value: float, *, upper_open: bool = False) -> None:
    if not (0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0):
        raise ConfigError(key, value, "must lie in [0, 1)" if upper_open else "must lie in [0, 1]")
