"""The files a run writes, each whole or not at all (a sweep's loader never reads half a file)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_FILE = "summary.json"
ERROR_FILE = "error.json"  # written instead of the summary by a sweep job that failed
REPLICATES_FILE = "replicates.parquet"
EVENTS_FILE = "events.parquet"


def write_summary(summary: Mapping[str, Any], out_dir: Path) -> None:
    write_json(out_dir / SUMMARY_FILE, dict(summary))


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Strict JSON: a figure that is not a number (NaN, infinity) is written as null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(data), indent=2, allow_nan=False)
    atomic_write(path, lambda p: p.write_text(text))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """A table as Parquet, whole or not at all."""
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file and rename it: the file appears whole or not at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
