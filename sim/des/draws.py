"""Mean-matched time distributions from scipy.stats, and fast batched samplers over them.

Changing a shape never changes the mean, so it never changes the average rate of a failure
category: Weibull scale = mean / Gamma(1 + 1/k); lognormal mu = ln(mean) - sigma^2 / 2; an empirical
table is rescaled to the mean and resampled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BLOCK = 256  # draws per call into numpy or scipy: one call per event would dominate the run time


def children(seed: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """The first ``n`` children of ``seed``, as ``seed.spawn(n)`` gives them the first time.
    ``spawn`` counts what it handed out and gives new children on the next call, so a replicate
    run twice from the same SeedSequence object would draw different numbers."""
    return [
        np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, i), pool_size=seed.pool_size
        )
        for i in range(n)
    ]


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """Replicate i gets child i of ``SeedSequence(seed)``: the same numbers whatever the count of
    replicates, the process or the launcher (training and serving alike)."""
    return children(np.random.SeedSequence(seed), replicates)


def frozen(distribution: str, mean: float, shape: float = 1.0) -> Any:
    """The scipy.stats distribution with this mean (not for ``empirical``). scipy.stats loads
    here, not with the module: a replicate with exponential clocks never needs its half second."""
    from scipy import stats

    if distribution == "exponential":
        return stats.expon(scale=mean)
    if distribution == "weibull":
        return stats.weibull_min(c=shape, scale=mean / math.gamma(1.0 + 1.0 / shape))
    if distribution == "lognormal":
        return stats.lognorm(s=shape, scale=math.exp(math.log(mean) - shape**2 / 2.0))
    raise ValueError(f"distribution={distribution!r}: valid: exponential, weibull, lognormal")


class Draws:
    """Draws from one numpy Generator, taken ``BLOCK`` at a time: a scalar numpy draw (about
    1 us, 2 us for an integer) costs as much as the failure it places."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buffer: list[float] = []

    def __call__(self) -> float:
        if not self._buffer:
            self._buffer = self._block().tolist()
        return self._buffer.pop()

    def _block(self) -> np.ndarray:
        raise NotImplementedError


class Uniforms(Draws):
    """Uniform draws on [0, 1)."""

    def _block(self) -> np.ndarray:
        return self._rng.random(BLOCK)


class Sampler(Draws):
    """Draws from a mean-matched distribution."""

    def __init__(
        self,
        distribution: str,
        mean: float,
        rng: np.random.Generator,
        shape: float = 1.0,
        empirical: Sequence[float] = (),
    ) -> None:
        super().__init__(rng)
        self._mean = mean
        self._table = None
        self._dist = None
        if distribution == "empirical":
            table = np.asarray(empirical, dtype=float)
            self._table = table * (mean / table.mean())
        elif distribution != "exponential":
            self._dist = frozen(distribution, mean, shape)

    def _block(self) -> np.ndarray:
        if self._table is not None:
            return self._rng.choice(self._table, size=BLOCK)
        if self._dist is None:
            return self._rng.exponential(self._mean, size=BLOCK)
        return np.asarray(self._dist.rvs(size=BLOCK, random_state=self._rng))
