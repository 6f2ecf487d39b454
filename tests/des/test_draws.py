"""Mean-matched distributions, batched samplers and replicate seeds (sim.des.draws)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.des.draws import Sampler, frozen, replicate_seeds


def test_seeds_are_children_of_one_seed_sequence() -> None:
    seeds = replicate_seeds(3, 2)
    assert [s.spawn_key for s in seeds] == [(0,), (1,)]
    assert all(s.entropy == 3 for s in seeds)


@pytest.mark.parametrize(
    ("name", "shape"), [("weibull", 0.7), ("weibull", 1.5), ("lognormal", 1.2)]
)
def test_shapes_are_mean_matched(name: str, shape: float) -> None:
    assert frozen(name, 5.0, shape).mean() == pytest.approx(5.0)


def test_empirical_table_is_rescaled_to_the_mean() -> None:
    draws = Sampler("empirical", 10.0, np.random.default_rng(0), empirical=[1, 2, 3, 6])
    assert np.mean([draws() for _ in range(20_000)]) == pytest.approx(10.0, rel=0.02)
