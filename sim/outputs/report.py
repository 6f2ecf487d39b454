"""The short, readable summary printed at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.outputs.summary import Summary
from sim.training.accounting import Bucket


def format_summary(summary: Summary) -> str:
    s = summary
    lines = [
        f"scenario {s['scenario']}: {s['replicates']} replicates, seed {s['seed']}",
        f"  devices            {s['devices']:,} ({s['servers']:,} servers + "
        f"{s['spare_servers']} spares)",
        f"  model              {s['model']}, {s['model_parameters'] / 1e9:.2f} B parameters, on "
        f"{s['device']}",
        f"  memory per device  {s['memory_per_device_gib']:.1f} of {s['memory_capacity_gib']:g} GiB"
        f" (weights {s['memory_weights_gib']:.1f}, gradients {s['memory_gradients_gib']:.1f}, "
        f"optimizer {s['memory_optimizer_gib']:.1f}, activations {s['memory_activations_gib']:.1f},"
        f" reserve {s['memory_reserve_gib']:.1f})",
        f"  step time          {s['step_time_s']:.2f} s at {s['tflops_per_device']:.0f} TFLOP/s "
        f"per device (MFU {s['mfu']:.0%}, {s['virtual_stages']} model chunks per device): "
        + ", ".join(
            f"{part} {s[f'step_{part}_s']:.2f}"
            for part in (
                "compute",
                "tp_comm",
                "ep_comm",
                "cp_comm",
                "pp_comm",
                "dp_comm",
                "bubble",
                "optimizer",
            )
            if s[f"step_{part}_s"] > 0
        ),
    ]
    if s["time_to_train_days"] is not None:
        lines.append(
            f"  time to train      mean {s['time_to_train_days']:.3g} days"
            f"{_interval(s, 'time_to_train_days_ci95')}, median {s['time_to_train_days_p50']:.3g}"
            f"{_interval(s, 'time_to_train_days_median_ci95')}; p05 "
            f"{s['time_to_train_days_p05']:.3g}, p95 {s['time_to_train_days_p95']:.3g}; "
            f"failure-free {s['failure_free_days']:.3g} days"
        )
        if s["time_to_train_skew"]:
            lines.append(f"  skewed             {s['time_to_train_skew']}")
    else:
        lines.append(
            f"  horizon reached    {s['wall_clock_days']:.1f} days; "
            f"{s['completed_fraction']:.0%} of replicates finished"
        )
    lines += [
        f"  device-hours       {_count(s['device_hours'])}",
        f"  cost               ${_count(s['cost_usd'])} (compute ${_count(s['compute_cost_usd'])}, "
        f"energy ${_count(s['energy_cost_usd'])})",
        f"  ETTR               {s['ettr']:.3f}",
        f"  interruptions      {s['interruptions_unexpected']:.3g} unexpected, "
        f"{s['interruptions_planned']:.3g} planned per replicate (job MTBF "
        f"{s['job_mtbf_h']:.2f} h)",
        f"  checkpoints        {s['checkpoint_policy']}, every "
        + (
            f"{s['checkpoint_interval_s'] / 60:.1f} min"
            if s["checkpoint_interval_s"] is not None
            else "never"
        )
        + f", {s['checkpoints_written']:.0f} written, {s['checkpoint_write_s']:.3g} s to write,"
        + f" {s['checkpoint_size_gb']:,.0f} GB",
        f"  restores           {s['restores_from_memory']:.1f} from memory, "
        f"{s['restores_from_storage']:.1f} from storage ({s['persists_lost']:.1f} persists lost)",
        "  where the time went (hours per replicate):",
    ]
    waited = s["waiting_for_servers_h"]
    if waited > 0.01 * s["wall_clock_days"] * 24.0:  # say why the job stood still
        lines.insert(-1, f"  waiting            {waited:.3g} h per replicate with too few servers: "
                     f"lost servers found no spare free ({s['spare_servers']} spares) and "
                     f"waited for a repair (mean {s['repair_h']:.3g} h)")  # fmt: skip
    wall_h = s["wall_clock_days"] * 24.0
    for bucket in Bucket:
        hours = s[f"{bucket.value}_h"]
        lines.append(f"    {bucket.value:<22}{hours:>10.1f}  {hours / wall_h:6.1%}")
    if len(s.phases) > 1:
        lines.append("  phases: tokens, days, cost, data-pipeline speed")
        for name, p in s.phases.items():
            tokens, cost = _count(p["tokens"]), _count(p["cost_usd"])
            lines.append(
                f"    {name:<22}{tokens:>10}{p['days']:>9.2f}  ${cost:<10}{p['data_speed']:>6.0%}"
            )
    if s.languages:
        lines.append("  languages: tokens, days, cost, epochs of the corpus")
        for name, lang in s.languages.items():
            lines.append(
                f"    {name:<22}{_count(lang['tokens']):>10}{lang['days']:>9.2f}  "
                f"${_count(lang['cost_usd']):<10}{lang['epochs']:>6.2f}"
            )
    causes = {cause: count for cause, count in s.interruptions.items() if count > 0}
    if causes:
        total = sum(causes.values())
        lines.append("  unexpected interruptions by cause (mean per replicate):")
        for cause, count in sorted(causes.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {cause:<26}{count:>8.1f}  {count / total:6.1%}")
    return "\n".join(lines)


def format_serving(summary: Mapping[str, Any]) -> str:
    s = summary
    if "routing" in s:
        return format_mix(s)

    def ms(key: str) -> str:
        return "n/a" if s[key] is None else f"{s[key] * 1e3:,.0f} ms"

    stages = f"{s['pp']} stages of " if s["pp"] > 1 else ""
    return "\n".join(
        [
            f"scenario {s['scenario']}: serving, {s['replicates']} replicates, seed {s['seed']}",
            f"  fleet              {s['replicas']} replicas of {stages}{s['tp']} x {s['device']} "
            f"({s['servers']} servers), {s['model']} weights in {s['weights']} "
            f"(multiplied in {s['compute_path']}), KV cache in {s['kv_cache']}",
            f"  memory per device  weights {s['memory_weights_gib']:.1f} + reserve "
            f"{s['memory_reserve_gib']:.1f} + KV cache {s['memory_kv_gib']:.1f} of "
            f"{s['memory_capacity_gib']:g} GiB ({s['kv_cache_tokens']:,} tokens per replica)",
            f"  traffic            {s['arrivals']}, {s['requests']:,.0f} requests per replicate"
            f" over {s['span_s']:,.0f} s",
            f"  throughput         {s['tokens_per_s']:,.0f} output tokens/s, "
            f"{s['requests_per_s']:.3g} requests/s, utilisation {s['utilisation']:.0%}",
            f"  TTFT               mean {ms('ttft_mean_s')}, p50 {ms('ttft_p50_s')}, p99 "
            f"{ms('ttft_p99_s')} (unloaded {s['unloaded_ttft_s'] * 1e3:,.0f} ms)",
            f"  TPOT               mean {ms('tpot_mean_s')}, p50 {ms('tpot_p50_s')}, p99 "
            f"{ms('tpot_p99_s')} (unloaded {s['unloaded_tpot_s'] * 1e3:,.1f} ms)",
            f"  end to end         mean {ms('e2e_mean_s')}, p99 {ms('e2e_p99_s')}",
            f"  SLO                TTFT <= {s['slo_ttft_s']:g} s and TPOT <= "
            f"{s['slo_tpot_s']:g} s: {s['slo_attainment']:.1%} of requests ({s['late']:,.0f} "
            f"late), goodput {s['goodput_rps']:.3g} requests/s",
            f"  cost               ${s['cost_per_m_output_tokens']:,.2f} per million output "
            f"tokens (${_count(s['cost_usd'])} per replicate, {s['energy_kwh']:,.1f} kWh)",
            f"  availability       {s['availability']:.4f} simulated, "
            f"{s['availability_steady_state']:.5f} steady state; {s['failures']:.2f} replica "
            f"failures, {s['dropped']:.1f} requests lost, {s['retried']:.1f} retried",
        ]
    )


def format_mix(summary: Mapping[str, Any]) -> str:
    """A mixed fleet: its groups (servers, kind, utilisation, cost) and classes (latency and
    target attainment)."""
    s = summary
    groups = [k.split(".")[1] for k in s if k.startswith("group.") and k.endswith(".device")]
    classes = [k.split(".")[1] for k in s if k.startswith("class.") and k.endswith(".share")]
    lines = [
        f"scenario {s['scenario']}: mixed fleet, {s['routing']} routing, {s['replicates']} "
        f"replicates, seed {s['seed']}",
        f"  traffic            {s['requests']:,.0f} requests per replicate over "
        f"{s['span_s']:,.0f} s ({s['rate_per_s']:g} per second on average)",
    ]
    for g in groups:
        owned = "owned" if s[f"group.{g}.owned"] else "rented"
        lines.append(
            f"  group {g:<12} {s[f'group.{g}.servers']:,.0f} x {s[f'group.{g}.device']} "
            f"({owned}), {s[f'group.{g}.requests']:,.0f} requests, utilisation "
            f"{s[f'group.{g}.utilisation']:.0%}, ${s[f'group.{g}.cost_usd']:,.0f}"
        )
    for c in classes:
        met = "meets" if s[f"class.{c}.meets_target"] else "MISSES"
        ttft, tpot = s[f"class.{c}.ttft_p99_s"], s[f"class.{c}.tpot_p99_s"]
        lines.append(
            f"  class {c:<12} {s[f'class.{c}.requests']:,.0f} requests, p99 TTFT "
            f"{'n/a' if ttft is None else f'{ttft:,.2f} s'}, p99 TPOT "
            f"{'n/a' if tpot is None else f'{tpot * 1e3:,.0f} ms'}, "
            f"{s[f'class.{c}.slo_attainment']:.1%} within target: {met} its attainment"
        )
    lines.append(
        f"  cost               ${s['cost_per_m_output_tokens']:,.2f} per million output tokens "
        f"(${_count(s['cost_usd'])} per replicate), {s['energy_per_output_token_j']:,.1f} J "
        f"per output token; every class meets its target: {'yes' if s['meets_targets'] else 'no'}"
    )
    return "\n".join(lines)


def format_trials(summary: Mapping[str, Any], frame: Any) -> str:
    """A mix search: the mixes it simulated, why each that failed did, and how many it spared."""
    groups = [c for c in frame.columns if c not in ("bound_usd", "status", "cost_usd", "reason")]
    lines = [f"  mix search: {summary['search_candidates']} candidate mixes, "
             f"{summary['search_simulations']} simulated in {summary['search_seconds']:.1f} s; "
             f"cheapest meeting every target: {summary['search_best']}"]  # fmt: skip
    simulated = frame[frame["cost_usd"].notna()]
    for row in simulated.itertuples():
        counts = " ".join(f"{g}={getattr(row, g)}" for g in groups)
        lines.append(f"    {counts:<28} {row.status:<8} ${row.cost_usd:>9,.0f}  {row.reason}")
    unserved = frame[(frame["status"] == "misses") & frame["cost_usd"].isna()]
    skipped = frame[frame["status"] == "skipped"]
    if len(unserved):
        lines.append(f"    {len(unserved)} not simulated: a class has no replica to go to")
    if len(skipped):
        lines.append(f"    {len(skipped)} not simulated: they cost at least what the best costs")
    return "\n".join(lines)


def format_capacity(frame: Any) -> str:
    """The capacity search: per rate and SLO, the fleet that meets it and its cost."""
    lines = ["  capacity: fewest servers meeting the SLO, $ per million output tokens, p99 TPOT"]
    for row in frame.itertuples():
        where = f"{row.hardware} {row.weights}, {row.rate_per_s:g} req/s, {row.slo}"
        if not row.feasible:
            lines.append(f"    {where:<44} infeasible: {row.reason}")
            continue
        lines.append(
            f"    {where:<44} {row.servers:>5.0f} servers  ${row.cost_per_m_output_tokens:>9,.2f}"
            f"  {row.tpot_p99_s * 1e3:>7,.0f} ms"
        )
    return "\n".join(lines)


def format_line(summary: Mapping[str, Any], label: str) -> str:
    """One line per job of a sweep, so parallel jobs' output stays readable."""
    s = summary
    if s.get("mode") == "serving":
        cost = s["cost_per_m_output_tokens"]
        return (f"{label}: {s['tokens_per_s']:,.0f} tokens/s, p99 TPOT "
                f"{s['tpot_p99_s'] * 1e3:,.0f} ms, ${cost:,.2f}/M tokens")  # fmt: skip
    days = s.get("time_to_train_days")
    time = f"{days:.3g} days to train" if days is not None else "horizon reached"
    return f"{label}: {time}, ETTR {s['ettr']:.3f}, ${_count(s['cost_usd'])}"


def _interval(s: Mapping[str, Any], stem: str) -> str:
    low, high = s[f"{stem}_low"], s[f"{stem}_high"]
    return "" if low is None else f" (95% CI {low:.3g}-{high:.3g})"


def _count(value: float) -> str:
    """A large count in a few digits: 30.25 M, 1.6 k."""
    for scale, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    return f"{value:.4g}"
