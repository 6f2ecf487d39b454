"""The readable summary printed at the end of a run (sim.outputs.report)."""

from __future__ import annotations

import sim


def test_a_skewed_run_prints_mean_median_and_intervals_from_its_own_spread() -> None:
    """Issue 16: at seed 6, cpu_llama_1b has one replicate in 50 that waits ~40 h for a repair."""
    from sim.outputs.report import format_summary

    result = sim.run(sim.load_config("cpu_llama_1b", ["sim.progress=false", "sim.seed=6"]))
    s, days = result.summary, result.replicates["time_to_train_days"]
    assert (days > 1.5 * days.median()).sum() == 1
    tiny = 1e-12  # the 49 undisturbed replicates differ in the last bits
    assert s["time_to_train_days_median_ci95_low"] - tiny <= days.median()
    assert days.median() <= s["time_to_train_days_median_ci95_high"] + tiny
    assert s["time_to_train_days_ci95_low"] >= days.min()  # a normal interval fell below it
    text = format_summary(s)
    assert f"mean {days.mean():.3f} days (95% CI" in text
    assert f"median {days.median():.3f} (95% CI 0.348-0.348)" in text
    outlier = result.replicates["replicate"][days.idxmax()]
    assert f"1 of 50 replicates ({outlier})" in text and "waiting for servers" in text
    assert "lost servers found no spare free (2 spares) and waited for a repair" in text
