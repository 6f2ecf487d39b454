"""The short, readable summary printed at the end of a run."""

from __future__ import annotations

from typing import Any

from sim.accounting import Bucket


def format_summary(summary: dict[str, Any]) -> str:
    s = summary
    lines = [
        f"scenario {s['scenario']}: {s['replicates']} replicates, seed {s['seed']}",
        f"  devices            {s['devices']:,} ({s['servers']:,} servers + "
        f"{s['spare_servers']} spares)",
        f"  step time          {s['step_time_s']:.2f} s at {s['tflops_per_device']:.0f} TFLOP/s "
        f"per device (MFU {s['mfu']:.0%})",
    ]
    if s["time_to_train_days"] is not None:
        lines.append(
            f"  time to train      {s['time_to_train_days']:.1f} days (p05 "
            f"{s['time_to_train_days_p05']:.1f}, p50 {s['time_to_train_days_p50']:.1f}, p95 "
            f"{s['time_to_train_days_p95']:.1f}); failure-free {s['failure_free_days']:.1f} days"
        )
    else:
        lines.append(
            f"  horizon reached    {s['wall_clock_days']:.1f} days; "
            f"{s['completed_fraction']:.0%} of replicates finished"
        )
    lines += [
        f"  device-hours       {s['device_hours'] / 1e6:.2f} M",
        f"  cost               ${s['cost_usd'] / 1e6:.1f} M (compute "
        f"${s['compute_cost_usd'] / 1e6:.1f} M, energy ${s['energy_cost_usd'] / 1e6:.1f} M)",
        f"  ETTR               {s['ettr']:.3f}",
        f"  interruptions      {s['interruptions_unexpected']:.1f} unexpected, "
        f"{s['interruptions_planned']:.1f} planned (job MTBF {s['job_mtbf_h']:.2f} h)",
        f"  checkpoints        {s['checkpoint_policy']}, every "
        + (
            f"{s['checkpoint_interval_s'] / 60:.1f} min"
            if s["checkpoint_interval_s"] is not None
            else "never"
        )
        + f", {s['checkpoint_write_s']:.0f} s stall each",
        "  where the time went (hours per replicate):",
    ]
    wall_h = s["wall_clock_days"] * 24.0
    for bucket in Bucket:
        hours = s[f"{bucket.value}_h"]
        lines.append(f"    {bucket.value:<22}{hours:>10.1f}  {hours / wall_h:6.1%}")
    return "\n".join(lines)
