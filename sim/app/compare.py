"""Side-by-side runs: the variants of one scenario (a GPU fleet against a CPU fleet, say), each a
full simulation, and one flat summary with every variant's figures under its name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.app.loading import compose_config
from sim.app.simulation import run
from sim.outputs.files import write_parquet, write_summary
from sim.outputs.results import Result
from sim.outputs.serving_results import CAPACITY_FILE, ServingResult

# What the side-by-side table shows, with its format.
COLUMNS = {
    "device": "{}",
    "devices": "{:,}",
    "time_to_train_days": "{:.3g}",
    "wall_clock_days": "{:.3g}",
    "device_hours": "{:,.0f}",
    "cost_usd": "{:,.0f}",
    "ettr": "{:.3f}",
    "data_stall_h": "{:.2f}",
    "interruptions_unexpected": "{:.2f}",
    "step_time_s": "{:.3g}",
    "mfu": "{:.1%}",
    "memory_per_device_gib": "{:.1f}",
    "model_parameters": "{:.4g}",
    "model_active_parameters": "{:.4g}",
    "checkpoint_size_gb": "{:,.0f}",
}
SERVING_COLUMNS = {
    "device": "{}",
    "servers": "{:,}",
    "weights": "{}",
    "tokens_per_s": "{:,.0f}",
    "ttft_p99_s": "{:.3g}",
    "tpot_p99_s": "{:.3g}",
    "slo_attainment": "{:.1%}",
    "meets_targets": "{}",  # a mixed fleet: every class meets its target attainment
    "utilisation": "{:.0%}",
    "cost_per_m_output_tokens": "{:,.2f}",
    "availability_steady_state": "{:.5f}",
}


def run_variants(
    scenario: str,
    variants: dict[str, list[str]],
    overrides: Sequence[str],
    out_dir: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Result | ServingResult]]:
    """Run each variant (the scenario, then its own overrides, then ``overrides``) into its own
    sub-directory; return the combined flat summary and each variant's result."""
    results = {}
    for name, changes in variants.items():
        config = compose_config([f"scenario={scenario}", *changes, *overrides])
        results[name] = run(
            config, None if out_dir is None else out_dir / name, scenario=f"{scenario}/{name}"
        )
    first = next(iter(results.values())).summary
    summary: dict[str, Any] = {
        "scenario": scenario,
        "seed": first["seed"],
        "replicates": first["replicates"],
        "variants": list(variants),
    }
    for name, result in results.items():  # flat: the variant's summary.json keys under its name
        summary |= {f"{name}.{key}": value for key, value in result.summary.items()}
    capacity = [
        r.capacity.assign(variant=name)
        for name, r in results.items()
        if isinstance(r, ServingResult) and r.capacity is not None
    ]
    if out_dir is not None:
        if capacity:
            write_parquet(pd.concat(capacity, ignore_index=True), out_dir / CAPACITY_FILE)
        write_summary(summary, out_dir)
    return summary, results


def format_comparison(summary: dict[str, Any]) -> str:
    names = summary["variants"]
    serving = summary.get(f"{names[0]}.mode") == "serving"
    columns = SERVING_COLUMNS if serving else COLUMNS
    width = max(14, *(len(str(summary[f"{n}.device"])) + 2 for n in names))
    lines = [
        f"scenario {summary['scenario']}: {summary['replicates']} replicates per variant, "
        f"seed {summary['seed']}",
        f"  {'':<26}" + "".join(f"{n:>{width}}" for n in names),
    ]
    for key, fmt in columns.items():
        cells = []
        for n in names:
            value = summary.get(f"{n}.{key}")  # None: a figure this variant has not
            cells.append("n/a" if value is None else fmt.format(value))
        lines.append(f"  {key:<26}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)
