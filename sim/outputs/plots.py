"""Seaborn figures for the common questions, drawn from the tidy frames of ``sim.outputs.analysis``.

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
from matplotlib.patches import Rectangle
from matplotlib.ticker import PercentFormatter

from sim.outputs import analysis
from sim.outputs.trace import SERVER_TRACKS, US
from sim.units import SECONDS_PER_DAY

KDE_MIN = 10  # replicates below which a density curve would invent a shape
# Axis labels in words with units, for the figures and swept keys the notebooks plot.
LABELS = {
    "time_to_train_days": "time to train (days)",
    "wall_clock_days": "wall clock (days)",
    "cost_usd": "cost (USD)",
    "compute_cost_usd": "compute cost (USD)",
    "energy_cost_usd": "energy cost (USD)",
    "device_hours": "device-hours",
    "ettr": "effective training time ratio",
    "job_mtbf_h": "job MTBF (hours)",
    "interruptions_unexpected": "unexpected interruptions",
    "interruptions_planned": "planned interruptions",
    "checkpoint.interval_min": "checkpoint interval (minutes)",
    "cluster.spare_servers": "spare servers",
    "tokens": "tokens",
    "days": "days",
    "data_stall_h": "data-pipeline stall (hours)",
}
UNITS = {"_days": "days", "_h": "hours", "_usd": "USD", "_s": "s", "_min": "minutes"}


def label(name: str) -> str:
    """A figure or config key in words, with its unit (``data_stall_h``: data stall (hours))."""
    if name in LABELS:
        return LABELS[name]
    stem = name.rsplit(".", 1)[-1]
    for suffix, unit in UNITS.items():
        if stem.endswith(suffix):
            return f"{stem.removesuffix(suffix).replace('_', ' ')} ({unit})"
    return stem.replace("_", " ")


def time_to_train(replicates: pd.DataFrame, hue: str | None = None, ax: Axes | None = None) -> Axes:
    """The distribution of the time-to-train over the replicates, its mean marked."""
    ax = ax or _axes()
    days = replicates["time_to_train_days"]
    kde = len(days) >= KDE_MIN and days.nunique() > 1
    sns.histplot(replicates, x="time_to_train_days", hue=hue, kde=kde, ax=ax)
    if hue is None:
        mean = replicates["time_to_train_days"].mean()
        ax.axvline(mean, color="black", linestyle="--", label=f"mean {mean:.1f} days")
        ax.legend()
    _legend_outside(ax)
    ax.set(xlabel=label("time_to_train_days"), ylabel="replicates")
    return ax


def time_budget(frame: pd.DataFrame, hue: str | None = None, ax: Axes | None = None) -> Axes:
    """Where the time that was not productive went: each accounting bucket's share of the wall
    clock (productive time, most of it, goes in the title so it does not flatten the bars)."""
    ax = ax or _axes()
    long = analysis.time_budget(frame, by=[hue] if hue else [])
    productive = frame["productive_h"].sum() / (frame["wall_clock_days"].sum() * 24.0)
    sns.barplot(long[long["bucket"] != "productive"], x="share", y="bucket", hue=hue, ax=ax)
    ax.set(xlabel="share of the wall clock", ylabel="", title=f"productive: {productive:.1%}")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))  # no repeated ticks
    _words(ax.yaxis)
    _legend_outside(ax)
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
    _words(ax.yaxis)
    _legend_outside(ax)
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
    low, high = replicates[x].min(), replicates[x].max()
    for (name, value), color in zip((marks or {}).items(), sns.color_palette()[1:], strict=False):
        if low <= value <= high:
            ax.axvline(value, color=color, linestyle="--", label=f"{name}: {value:.3g}")
        else:  # named, not drawn off the axis
            ax.plot([], [], " ", label=f"{name}: {value:.3g} (outside the swept range)")
    if marks:
        ax.legend()
    if x == "checkpoint.interval_min":
        log_ticks(ax, replicates[x])
    ax.set(xlabel=label(x), ylabel="effective training time ratio")
    return ax


def compare(replicates: pd.DataFrame, metrics: Sequence[str], by: str = "variant") -> Figure:
    """One panel per metric, one bar per variant (or any column ``by``)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics), 3.5), squeeze=False)
    for metric, ax in zip(metrics, axes[0], strict=True):
        sns.barplot(replicates, x=by, y=metric, hue=by, ax=ax)
        ax.set(xlabel="", ylabel="", title=label(metric))
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


FLEET_COLOURS = {"GPU only": "#4c72b0", "CPU only": "#dd8452", "mixed": "#55a868",
                 "hybrid": "#8172b3", "none within reach": "#d0d0d0"}  # fmt: skip


def decision_map(cells: pd.DataFrame, groups: Sequence[str] = ()) -> Figure:
    """The cheapest fleet in each cell of request rate by interactive share (``sim.app.fleet_map``),
    coloured by its kind and labelled with its cost per million output tokens and, given the
    ``groups`` columns, its replica counts."""
    rates = sorted(cells["rate_per_s"].unique())
    shares = sorted(cells["interactive_share"].unique())
    figure, ax = plt.subplots(figsize=(2.0 * len(rates) + 1.5, 1.0 * len(shares) + 2.2))
    for _, cell in cells.iterrows():
        x, y = rates.index(cell["rate_per_s"]), shares.index(cell["interactive_share"])
        ax.add_patch(
            Rectangle(
                (x - 0.5, y - 0.5),
                1,
                1,
                facecolor=FLEET_COLOURS[cell["fleet"]],
                edgecolor="white",
                linewidth=2,
            )
        )
        cost = cell["cost_per_m_output_tokens"]
        text = "" if cost != cost else f"${cost:,.2f}/M"
        counts = "\n".join(f"{g} x {int(cell[g])}" for g in groups if pd.notna(cell.get(g)))
        ax.text(x, y, f"{text}\n{counts}".strip(), ha="center", va="center", fontsize="small")
    ax.set(xlim=(-0.5, len(rates) - 0.5), ylim=(-0.5, len(shares) - 0.5),
           xlabel="request rate (requests per second)",
           ylabel="interactive share of requests (%)")  # fmt: skip
    ax.set_xticks(range(len(rates)), labels=[f"{r:g}" for r in rates])
    ax.set_yticks(range(len(shares)), labels=[f"{s * 100:g}" for s in shares])
    ax.grid(False)
    present = [k for k in FLEET_COLOURS if k in set(cells["fleet"])]
    handles = [Rectangle((0, 0), 1, 1, color=FLEET_COLOURS[k]) for k in present]
    ax.legend(handles, present, title="cheapest fleet; $ per million output tokens in each cell",
              loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(present),
              frameon=False)  # fmt: skip
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
        day = SECONDS_PER_DAY * US
        spans = [(e["ts"] / day, max(e["dur"] / day, 1e-3)) for e in row]
        ax.broken_barh(spans, (y - 0.4, 0.8), color=colours[y])
    ax.set_yticks(range(len(rows)), labels=labels)
    ax.invert_yaxis()
    ax.set(xlabel="time (days)", title="one replicate: where the time went")
    return ax


def _panels(long: pd.DataFrame, kind: str, figures: Sequence[str], hue: str | None) -> Figure:
    fig, axes = plt.subplots(1, len(figures), figsize=(4.0 * len(figures), 3.5), squeeze=False)
    for figure, ax in zip(figures, axes[0], strict=True):
        sns.barplot(long, x=figure, y=kind, hue=hue or kind, ax=ax)
        ax.set(xlabel="", ylabel="", title=label(figure))
        _words(ax.yaxis)
        if hue:
            _legend_outside(ax)
    fig.tight_layout()
    return fig


def log_ticks(ax: Axes, values: pd.Series) -> None:
    """A log x axis labelled at the swept values themselves."""
    ax.set_xscale("log")
    ticks = sorted(values.dropna().unique())
    ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.minorticks_off()


def _words(axis: Any) -> None:
    """Category tick labels (bucket, cause, phase names) with spaces for underscores."""
    ticks = axis.get_ticklocs()
    axis.set_ticks(ticks, labels=[t.get_text().replace("_", " ") for t in axis.get_ticklabels()])


def _legend_outside(ax: Axes) -> None:
    """A legend beside the axes, where it cannot cover a bar."""
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _axes(height: float = 4.0) -> Axes:
    _, ax = plt.subplots(figsize=(7.0, height))
    return ax
