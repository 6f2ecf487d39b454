"""The requests a serving run receives: when they arrive and how long their prompts and replies are.

Drawn up front as arrays from one numpy Generator, so the same seed gives the same traffic whatever
the fleet serving it (a capacity search compares fleets on identical requests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from sim.config import LengthConfig, ServingConfig
from sim.errors import ConfigError
from sim.units import SECONDS_PER_DAY

BLOCK = 4096  # arrivals drawn per call into numpy
TRACE_COLUMNS = ("arrival_s", "prompt_tokens", "output_tokens")


@dataclass(frozen=True)
class Traffic:
    """Arrival times (sorted) and the prompt and reply lengths of each request, in tokens."""

    arrival_s: np.ndarray
    prompt: np.ndarray
    output: np.ndarray
    klass: np.ndarray | None = (
        None  # a mixed fleet's request class of each (index into mix.classes)
    )

    def __len__(self) -> int:
        return len(self.arrival_s)


def merged(parts: list[Traffic]) -> Traffic:
    """Classes' traffic as one stream in arrival order (ties in class order), each request
    labelled with its class's index in ``parts``."""
    arrival = np.concatenate([p.arrival_s for p in parts])
    order = np.argsort(arrival, kind="stable")
    klass = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
    return Traffic(
        arrival[order],
        np.concatenate([p.prompt for p in parts])[order],
        np.concatenate([p.output for p in parts])[order],
        klass[order],
    )


def lengths(spec: LengthConfig, count: int, rng: np.random.Generator) -> np.ndarray:
    """Token counts with mean ``spec.mean`` (before clipping to [1, max]), or a dataset's."""
    if spec.distribution == "fixed":
        values = np.full(count, spec.mean)
    elif spec.distribution == "dataset":
        assert spec.dataset is not None  # validated
        values = rng.choice(dataset_lengths(spec.dataset), size=count)
    else:
        mu = math.log(spec.mean) - spec.sigma**2 / 2.0
        values = rng.lognormal(mu, spec.sigma, size=count)
    clipped: np.ndarray = np.clip(np.rint(values), 1, spec.max).astype(np.int64)
    return clipped


@cache
def dataset_lengths(source: str) -> np.ndarray:
    """The column of ``"FILE.csv:COLUMN"``: FILE in sim/data (a published dataset's lengths, with
    its source in the header) or a path."""
    import pandas as pd  # only dataset lengths read CSV

    file, _, column = source.rpartition(":")
    path = Path(file) if Path(file).is_file() else Path(str(files("sim") / "data" / file))
    if not file or not column or not path.is_file():
        raise ConfigError("serving.*_tokens.dataset", source, "a CSV in sim/data or a path, then "
                          ":COLUMN, e.g. mlperf_llama31_405b_lengths.csv:input_length")  # fmt: skip
    frame = pd.read_csv(path, comment="#")
    if column not in frame.columns:
        raise ConfigError("serving.*_tokens.dataset", source,
                          f"no column {column}; valid: {', '.join(frame.columns)}")  # fmt: skip
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    if len(values) == 0 or not np.all(np.isfinite(values) & (values >= 1)):
        raise ConfigError("serving.*_tokens.dataset", source, "lengths must be numbers >= 1")
    return values


def traffic(
    serving: ServingConfig, rng: np.random.Generator, classes: Sequence[str] = ()
) -> Traffic:
    """The run's requests; a trace for a mixed fleet (``classes``) labels each row by its
    ``class`` column."""
    if serving.arrivals == "trace":
        return _trace(serving, classes)
    times = _arrival_times(serving, rng)
    return Traffic(
        times,
        lengths(serving.prompt_tokens, len(times), rng),
        lengths(serving.output_tokens, len(times), rng),
    )


def _arrival_times(serving: ServingConfig, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrivals at ``rate_per_s`` (diurnal: thinned from the peak rate along a sinusoid
    of one day) until ``duration_s``, or until ``requests`` have arrived when that is set."""
    limit = serving.requests
    if serving.arrivals in ("offline", "closed"):  # closed: the fleet sets each on release
        assert limit is not None  # validated
        return np.zeros(limit)
    ratio = serving.diurnal_peak_to_mean if serving.arrivals == "diurnal" else 1.0
    peak = serving.rate_per_s * ratio
    blocks, t, count = [], 0.0, 0
    while (t < serving.duration_s) if limit is None else (count < limit):
        times = t + np.cumsum(rng.exponential(1.0 / peak, size=BLOCK))
        t = float(times[-1])
        if ratio != 1.0:
            shift = 2.0 * np.pi * (serving.diurnal_peak_h - 6.0) / 24.0  # sin peaks at 6 h
            rate = 1.0 + (ratio - 1.0) * np.sin(2.0 * np.pi * times / SECONDS_PER_DAY - shift)
            times = times[rng.random(len(times)) * ratio < rate]
        blocks.append(times)
        count += len(times)
    times = np.concatenate(blocks) if blocks else np.zeros(0)
    return times[times < serving.duration_s] if limit is None else times[:limit]


def _trace(serving: ServingConfig, classes: Sequence[str] = ()) -> Traffic:
    import pandas as pd  # only trace runs read CSV

    path = Path(serving.trace or "")
    if not path.is_file():
        raise ConfigError("serving.trace", serving.trace, "no such file; a CSV with columns "
                          + ", ".join(TRACE_COLUMNS))  # fmt: skip
    frame = pd.read_csv(path)
    missing = [c for c in TRACE_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError("serving.trace", serving.trace, f"missing columns {', '.join(missing)}")
    frame = frame.sort_values("arrival_s")
    if serving.requests is not None:
        frame = frame.head(serving.requests)
    if (frame[list(TRACE_COLUMNS[1:])] < 1).any().any() or (frame["arrival_s"] < 0).any():
        raise ConfigError("serving.trace", serving.trace, "arrival_s must be >= 0 and lengths >= 1")
    klass = None
    if classes:
        if "class" not in frame.columns:
            raise ConfigError("serving.trace", serving.trace, "a mixed fleet's trace needs a "
                              f"class column naming one of {', '.join(classes)}")  # fmt: skip
        unknown = sorted(set(frame["class"].astype(str)) - set(classes))
        if unknown:
            raise ConfigError("serving.trace", serving.trace, f"class {unknown[0]!r} is not one "
                              f"of mix.classes: {', '.join(classes)}")  # fmt: skip
        klass = frame["class"].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
    return Traffic(
        frame["arrival_s"].to_numpy(float),
        frame["prompt_tokens"].to_numpy(np.int64),
        frame["output_tokens"].to_numpy(np.int64),
        klass,
    )
