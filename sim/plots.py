"""Seaborn figures for the common questions, drawn from the tidy frames of ``sim.analysis``.

Each function draws on ``ax`` (a new figure when None) and returns the axes, so figures compose
in notebooks; seaborn's error bars are 95% bootstrap intervals over the replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim import analysis
from sim.trace import SERVER_TRACKS


def time_to_train(replicates: pd.DataFrame, hue: str | None = None, ax: Axes | None = None) -> Axes:
    """The distribution of the time-to-train over the replicates, its mean marked."""
    ax = ax or _axes()
    sns.histplot(replicates, x="time_to_train_days", hue=hue, kde=True, ax=ax)
    if hue is None:
        mean = replicates["time_to_train_days"].mean()
        ax.axvline(mean, color="black", linestyle="--", label=f"mean {mean:.1f} days")
        ax.legend()
    ax.set(xlabel="time to train (days)", ylabel="replicates")
    return ax


def time_budget(frame: pd.DataFrame, hue: str | None = None, ax: Axes | None = None) -> Axes:
    """Where the time that was not productive went: each accounting bucket's share of the wall
    clock (productive time, most of it, goes in the title so it does not flatten the bars)."""
    ax = ax or _axes()
    long = analysis.time_budget(frame, by=[hue] if hue else [])
    productive = frame["productive_h"].sum() / (frame["wall_clock_days"].sum() * 24.0)
    sns.barplot(long[long["bucket"] != "productive"], x="share", y="bucket", hue=hue, ax=ax)
    ax.set(xlabel="share of the wall clock", ylabel="", title=f"productive: {productive:.1%}")
    ax.xaxis.set_major_formatter("{x:.1%}")
    return ax


def interruptions_vs_published(replicates: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Unexpected interruptions by cause: the simulated mean per replicate (95% interval) beside
    Llama 3's Table 5. Meaningful for a 54-day window of llama_405b (``sim.horizon_days=54``)."""
    ax = ax or _axes(height=6.0)
    published = analysis.published_interruptions()
    simulated = analysis.interruptions(replicates, by=["replicate"])
    simulated = simulated[simulated["cause"].isin(published["cause"])].assign(source="simulated")
    both = pd.concat([simulated, published.assign(source="Llama 3, Table 5")], ignore_index=True)
    order = published.sort_values("count", ascending=False)["cause"]
    sns.barplot(both, x="count", y="cause", hue="source", order=order, ax=ax)
    ax.set(xlabel="unexpected interruptions in the window", ylabel="")
    return ax


def ettr_curve(
    replicates: pd.DataFrame,
    x: str = "checkpoint.interval_min",
    marks: dict[str, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """ETTR against a swept setting (by default the checkpoint interval, on a log axis), with
    reference values such as Young's and Daly's intervals drawn as vertical lines."""
    ax = ax or _axes()
    sns.lineplot(replicates, x=x, y="ettr", marker="o", ax=ax)
    for (label, value), color in zip((marks or {}).items(), sns.color_palette()[1:], strict=False):
        ax.axvline(value, color=color, linestyle="--", label=f"{label}: {value:.3g}")
    if marks:
        ax.legend()
    if x == "checkpoint.interval_min":
        log_ticks(ax, replicates[x])
    ax.set(xlabel=x, ylabel="effective training time ratio")
    return ax


def compare(replicates: pd.DataFrame, metrics: Sequence[str], by: str = "variant") -> Figure:
    """One panel per metric, one bar per variant (or any column ``by``)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics), 3.5), squeeze=False)
    for metric, ax in zip(metrics, axes[0], strict=True):
        sns.barplot(replicates, x=by, y=metric, hue=by, ax=ax)
        ax.set(xlabel="", title=metric)
    fig.tight_layout()
    return fig


def languages(summary: pd.DataFrame, hue: str | None = None) -> Figure:
    """Tokens, days and cost per language, from summary rows (one bar per ``hue`` value)."""
    figures = ("tokens", "days", "cost_usd")
    return _panels(analysis.by_language(summary), "language", figures, hue)


def phases(summary: pd.DataFrame, hue: str | None = None) -> Figure:
    """Tokens, days, cost and data-pipeline stall per training phase, from summary rows."""
    figures = ("tokens", "days", "cost_usd", "data_stall_h")
    return _panels(analysis.by_phase(summary), "phase", figures, hue)


def serving_capacity(capacity: pd.DataFrame, by: str = "variant") -> Figure:
    """Per fleet and latency target, against the request rate: what a million output tokens costs
    on the fewest servers that meet the target, and the p99 TPOT they give. Infeasible points
    (a fleet that cannot meet the target at any size) are left out and listed in the title."""
    feasible = capacity[capacity["feasible"]]
    figure, (cost, tpot) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    sns.lineplot(feasible, x="rate_per_s", y="cost_per_m_output_tokens", hue=by, style="slo",
                 markers=True, ax=cost)  # fmt: skip
    sns.lineplot(feasible, x="rate_per_s", y="tpot_p99_s", hue=by, style="slo", markers=True,
                 legend=False, ax=tpot)  # fmt: skip
    for ax in (cost, tpot):
        ax.set(xscale="log", yscale="log", xlabel="requests per second")
    cost.set(ylabel="$ per million output tokens")
    tpot.set(ylabel="p99 time per output token (s)")
    for limit in feasible["slo_tpot_s"].unique():
        tpot.axhline(limit, color="grey", linestyle=":", linewidth=1)
    missing = capacity.loc[~capacity["feasible"], [by, "slo"]].drop_duplicates()
    if len(missing):
        names = ", ".join(f"{row[by]} {row['slo']}" for _, row in missing.iterrows())
        figure.suptitle(f"cannot meet the target at any size: {names}", fontsize="small")
    figure.tight_layout()
    return figure


def timeline(trace: dict[str, Any], ax: Axes | None = None) -> Axes:
    """A Gantt chart of one replicate's trace (``trace.json``): a row per accounting bucket it
    used, and one row for every failed server's repairs together (the trace itself keeps a track
    per server); time in days."""
    ax = ax or _axes(height=4.5)
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}  # fmt: skip
    buckets = sorted(t for t in names if t < SERVER_TRACKS)
    servers = len(names) - len(buckets)
    rows = [[e for e in events if e["ph"] == "X" and e["tid"] == t] for t in buckets]
    rows.append([e for e in events if e["ph"] == "X" and e["tid"] >= SERVER_TRACKS])
    labels = [names[t].replace("_", " ") for t in buckets] + [f"repairs ({servers} servers)"]
    colours = sns.color_palette("tab20", len(rows))
    for y, row in enumerate(rows):
        spans = [(e["ts"] / 86400e6, max(e["dur"] / 86400e6, 1e-3)) for e in row]
        ax.broken_barh(spans, (y - 0.4, 0.8), color=colours[y])
    ax.set_yticks(range(len(rows)), labels=labels)
    ax.invert_yaxis()
    ax.set(xlabel="time (days)", title="one replicate: where the time went")
    return ax


def _panels(long: pd.DataFrame, kind: str, figures: Sequence[str], hue: str | None) -> Figure:
    fig, axes = plt.subplots(1, len(figures), figsize=(4.0 * len(figures), 3.5), squeeze=False)
    for figure, ax in zip(figures, axes[0], strict=True):
        sns.barplot(long, x=figure, y=kind, hue=hue or kind, ax=ax)
        ax.set(ylabel="", title=figure)
    fig.tight_layout()
    return fig


def log_ticks(ax: Axes, values: pd.Series) -> None:
    """A log x axis labelled at the swept values themselves."""
    ax.set_xscale("log")
    ticks = sorted(values.dropna().unique())
    ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.minorticks_off()


def _axes(height: float = 4.0) -> Axes:
    _, ax = plt.subplots(figsize=(7.0, height))
    return ax
