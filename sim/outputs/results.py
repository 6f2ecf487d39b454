"""Results of a run: tidy per-replicate and per-event tables, the flat summary, and the files."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.config import Config
from sim.outputs.files import EVENTS_FILE, REPLICATES_FILE, write_parquet, write_summary
from sim.outputs.summary import Summary, flat_key, nested_columns
from sim.perf.memory import MemoryBreakdown
from sim.perf.model import active_parameter_count, parameter_count
from sim.perf.throughput import Throughput
from sim.perf.workload import corpus_tokens, phases
from sim.training.accounting import Bucket
from sim.training.events import EventRow, events_table
from sim.training.plan import JobPlan
from sim.training.replicate import ReplicateOutcome
from sim.units import SECONDS_PER_DAY

SKEW = 0.05  # mean and median further apart than this: the summary says which replicates


@dataclass(frozen=True)
class Result:
    """One simulation: the summary and the two tidy tables. The events are in memory, or, for a
    run that wrote its files, in ``events.parquet``, read when asked for."""

    summary: Summary
    replicates: pd.DataFrame
    events_table: pd.DataFrame | None = None
    events_file: Path | None = None

    @property
    def events(self) -> pd.DataFrame:
        if self.events_table is not None:
            return self.events_table
        if self.events_file is not None:
            return typed_events(pd.read_parquet(self.events_file))
        return typed_events(pd.DataFrame(columns=["replicate", *EventRow._fields]))


def replicates_frame(
    outcomes: list[ReplicateOutcome], config: Config, plan: JobPlan
) -> pd.DataFrame:
    """One row per replicate: time, money, ETTR, interruptions and every accounting bucket."""
    servers_held = plan.servers + plan.spare_servers
    devices_held = servers_held * config.hardware.devices_per_server
    server_kw_held = servers_held * config.hardware.server_power_kw
    causes = sorted({c.name for c in plan.categories})
    rows = []
    for o in outcomes:
        wall_h = o.wall_s / 3600.0
        compute_usd = servers_held * wall_h * config.hardware.price_per_server_hour_usd
        energy_usd = (
            server_kw_held * wall_h * config.pricing.pue * config.pricing.energy_usd_per_kwh
        )
        row: dict[str, Any] = {
            "replicate": o.index,
            "finished": o.finished,
            "wall_clock_days": o.wall_s / SECONDS_PER_DAY,
            "time_to_train_days": o.wall_s / SECONDS_PER_DAY if o.finished else math.nan,
            "device_hours": devices_held * wall_h,
            "cost_usd": compute_usd + energy_usd,
            "compute_cost_usd": compute_usd,
            "energy_cost_usd": energy_usd,
            "ettr": o.seconds[Bucket.PRODUCTIVE] / o.wall_s if o.wall_s > 0 else math.nan,
            "interruptions_unexpected": sum(o.interruptions.values()),
            "interruptions_planned": o.planned,
            "servers_retired": o.retired,
            "checkpoints_written": o.checkpoints,
            "checkpoint_mean_interval_s": o.mean_interval_s,
            "checkpoint_last_interval_s": o.last_interval_s,
            "restores_from_memory": o.restores.get("memory", 0),
            "restores_from_storage": o.restores.get("storage", 0),
            "persists_lost": o.persists_lost,
        }
        row |= {flat_key("interruptions", cause): o.interruptions[cause] for cause in causes}
        row |= {f"{bucket.value}_h": o.seconds[bucket] / 3600.0 for bucket in Bucket}
        # Wall time and cost per phase, in proportion to the time spent training in it.
        training = sum(o.phase_training_s) or 1.0
        for phase, spent in zip(plan.phase_plans, o.phase_training_s, strict=True):
            share = spent / training
            row[flat_key("phase", phase.name, "days")] = row["wall_clock_days"] * share
            row[flat_key("phase", phase.name, "cost_usd")] = row["cost_usd"] * share
        row["engine_events"] = o.engine_events
        rows.append(row)
    return pd.DataFrame(rows)


def events_frame(outcomes: list[ReplicateOutcome]) -> pd.DataFrame:
    """One row per recorded event, all replicates stacked."""
    frames = [events_table(o.events, o.event_runs).assign(replicate=o.index) for o in outcomes]
    events = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[*EventRow._fields, "replicate"])
    )
    return typed_events(events[["replicate", *EventRow._fields]])


class EventsWriter:
    """Appends the events of each batch of replicates to ``events.parquet`` as they finish and
    lets them go, so a run's memory stays flat in its replicate count (pyarrow ParquetWriter;
    the file appears whole, renamed from a temporary name, when closed)."""

    BATCH = 20  # replicates per row group

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / EVENTS_FILE
        self._tmp = self.path.with_name(f".{EVENTS_FILE}.tmp")
        self._pending: list[ReplicateOutcome] = []
        self._writer: pq.ParquetWriter | None = None

    def add(self, outcome: ReplicateOutcome) -> ReplicateOutcome:
        self._pending.append(outcome)
        if len(self._pending) >= self.BATCH:
            self._flush()
        return outcome

    def close(self) -> Path:
        self._flush()
        if self._writer is None:  # no replicate: an empty table
            self._write(events_frame([]))
        assert self._writer is not None
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def _flush(self) -> None:
        if self._pending:
            self._write(events_frame(self._pending))
            for outcome in self._pending:  # written: free the rows
                outcome.events.clear()
                outcome.event_runs.clear()
            self._pending = []

    def _write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame.astype({"kind": str, "cause": str}), EVENTS_SCHEMA,
                                     preserve_index=False)  # fmt: skip
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, EVENTS_SCHEMA)
        self._writer.write_table(table)


EVENTS_SCHEMA = pa.schema(
    [("replicate", pa.int64()), ("time_s", pa.float64()), ("kind", pa.string()),
     ("cause", pa.string()), ("server", pa.int64()), ("duration_s", pa.float64())]
)  # fmt: skip


def typed_events(events: pd.DataFrame) -> pd.DataFrame:
    return events.astype(
        {
            "replicate": "int64",
            "time_s": "float64",
            "kind": "category",
            "cause": "category",
            "server": "int64",
            "duration_s": "float64",
        }
    )


def summarize_training(
    scenario: str,
    config: Config,
    plan: JobPlan,
    speed: Throughput,
    memory: MemoryBreakdown,
    replicates: pd.DataFrame,
) -> Summary:
    """The Monte Carlo summary: means over replicates, percentiles and 95% confidence intervals
    of the time-to-train's mean and median (percentile bootstrap, ``ci95``)."""
    days = replicates["time_to_train_days"]
    finished = replicates["finished"].all()
    summary: dict[str, Any] = {
        "scenario": scenario,
        "seed": config.sim.seed,
        "replicates": len(replicates),
        "completed_fraction": float(replicates["finished"].mean()),
        "time_to_train_days": float(days.mean()) if finished else None,
    }
    for q in (5, 50, 95):
        summary[f"time_to_train_days_p{q:02d}"] = (
            float(np.percentile(days, q)) if finished else None
        )
    values = days.to_numpy()
    low, high = ci95(values, np.mean) if finished else (None, None)
    summary |= {"time_to_train_days_ci95_low": low, "time_to_train_days_ci95_high": high}
    low, high = ci95(values, np.median) if finished else (None, None)
    summary |= {
        "time_to_train_days_median_ci95_low": low,
        "time_to_train_days_median_ci95_high": high,
    }
    summary["time_to_train_skew"] = skew(replicates) if finished else None
    means = {
        str(key): float(value)
        for key, value in replicates.drop(columns=["replicate", "finished", "time_to_train_days"])
        .mean()
        .items()
    }
    nested = {
        section: nested_columns(list(means), section) for section in ("interruptions", "phase")
    }
    in_parts = {
        column for parts in nested.values() for part in parts.values() for column in part.values()
    }
    summary |= {key: value for key, value in means.items() if key not in in_parts}
    summary |= machine_figures(config)
    summary |= {
        "model_flops_per_token": speed.model_flops_per_token,
        "hardware_flops_per_token": speed.hardware_flops_per_token,
        "memory_per_device_gib": memory.total_gib,
        "memory_capacity_gib": memory.capacity_gib,
        "memory_weights_gib": memory.weights_gib,
        "memory_gradients_gib": memory.gradients_gib,
        "memory_optimizer_gib": memory.optimizer_gib,
        "memory_activations_gib": memory.activations_gib,
        "memory_reserve_gib": memory.reserve_gib,
        "memory_fullest_stage": memory.stage,
        "failure_free_days": plan.work_s / SECONDS_PER_DAY,
        "step_time_s": speed.step_time_s,
        **{f"step_{key}": value for key, value in speed.breakdown().items()},
        # The first phase's wait for data per step (the devices' step at the pipeline's pace).
        "step_data_stall_s": speed.step_time_s * (1.0 / plan.phase_plans[0].data_speed - 1.0),
        "compute_efficiency": speed.efficiency,
        "virtual_stages": config.parallelism.virtual_stages,
        "tokens_per_s": speed.tokens_per_s,
        "tflops_per_device": speed.tflops_per_device,
        "mfu": speed.mfu,
        "devices": plan.servers * config.hardware.devices_per_server,
        "servers": plan.servers,
        "spare_servers": plan.spare_servers,
        "repair_h": plan.repair_mean_s / 3600.0,
        "job_mtbf_h": plan.job_mtbf_s / 3600.0,
        "checkpoint_policy": config.checkpoint.policy,
        "checkpoint_interval_s": None if math.isinf(plan.interval_s) else plan.interval_s,
        "data_stall_failure_free_h": plan.data_stall_s / 3600.0,
        "checkpoint_write_s": plan.checkpoint_write_s,
        "checkpoint_size_gb": plan.checkpoint_bytes / 1e9,
        "restore_s": plan.restore_s,
    }
    interruptions = {cause: means[part["count"]] for cause, part in nested["interruptions"].items()}
    phase_figures = {
        p.name: {
            "tokens": p.tokens,
            "step_time_s": p.step_time_s,
            "data_speed": p.data_speed,
            "data_stall_h": p.work_s * (1.0 / p.data_speed - 1.0) / 3600.0,
            "days": means[flat_key("phase", p.name, "days")],
            "cost_usd": means[flat_key("phase", p.name, "cost_usd")],
        }
        for p in plan.phase_plans
    }
    return Summary(summary, interruptions, phase_figures, _languages(config, phase_figures))


def machine_figures(config: Config) -> dict[str, Any]:
    """What a summary, training or serving, says of the server type and the model."""
    return {
        "hardware": config.hardware.name,
        "device": config.hardware.device,
        "model": config.model.name,
        "model_parameters": float(parameter_count(config.model)),
        "model_active_parameters": float(active_parameter_count(config.model)),
    }


def _languages(config: Config, phase_figures: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Tokens, time and cost per language: its token share of each phase's."""
    out: dict[str, Any] = {}
    mixes = {spec.name: spec.mix for spec in phases(config)}
    for key, corpus in config.workload.corpus.items():
        tokens = days = cost = 0.0
        for name, figures in phase_figures.items():
            share = mixes[name].get(key, 0.0)
            tokens += share * figures["tokens"]
            days += share * figures["days"]
            cost += share * figures["cost_usd"]
        available = corpus_tokens(corpus, config.workload)
        out[key] = {
            "tokens": tokens,
            "corpus_tokens": available,
            "epochs": tokens / available,
            "days": days,
            "cost_usd": cost,
        }
    return out


def ci95(values: np.ndarray, statistic: Callable[..., Any]) -> tuple[float | None, float | None]:
    """A 95% percentile-bootstrap interval of ``statistic`` (scipy.stats.bootstrap, fixed seed):
    from the replicates' own spread, so a few long replicates widen it upwards only and it never
    reaches below the smallest replicate, as a normal interval on skewed data does."""
    if len(values) < 2:
        return None, None
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    from scipy import stats  # 0.4 s to import: a sweep's parent process never summarises

    result = stats.bootstrap((values,), statistic, confidence_level=0.95, method="percentile",
                             n_resamples=4999, random_state=np.random.default_rng(0))  # fmt: skip
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def skew(replicates: pd.DataFrame) -> str | None:
    """When the mean time-to-train is more than 5% from the median: which replicates drive it,
    and the accounting bucket they spent the extra time in."""
    days = replicates["time_to_train_days"]
    mean, median = days.mean(), days.median()
    if abs(mean / median - 1.0) <= SKEW:
        return None
    slow = replicates[days > median * (1.0 + SKEW)]
    extra = {b: slow[f"{b.value}_h"].mean() - replicates[f"{b.value}_h"].median() for b in Bucket}
    bucket = max(extra, key=lambda b: extra[b])
    listed = ", ".join(map(str, slow["replicate"].head(5))) + (", ..." if len(slow) > 5 else "")
    ratio = slow["time_to_train_days"].mean() / median
    where = bucket.value.replace("_", " ")
    return (f"mean {mean / median - 1.0:+.0%} from the median: {len(slow)} of {len(replicates)} "
            f"replicates ({listed}) take {ratio:.2g}x the median, {extra[bucket]:.3g} h more "
            f"{where} each")  # fmt: skip


def write_result(result: Result, out_dir: Path) -> None:
    """Write the three files; each appears whole or not at all (write, then rename), and the
    summary last: its presence marks the run finished. Events already streamed to the run's
    directory are not written again."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(result.replicates, out_dir / REPLICATES_FILE)
    if result.events_file != out_dir / EVENTS_FILE:
        write_parquet(result.events, out_dir / EVENTS_FILE)
    write_summary(result.summary, out_dir)
