"""The readable summary printed at the end of a run (sim.outputs.report): the figures of the summary
it is given, in the units it names, and the lines that appear only when they have something to
say; the serving report, a sweep job's line and the capacity table."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

import sim
from sim.outputs.report import format_capacity, format_line, format_serving, format_summary
from sim.outputs.summary import Summary


@pytest.mark.slow
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


# -- the report of a summary made up here, figure by figure ------------------------------------

HOURS = {  # per replicate; they add up to the wall clock, 12.34 days = 296.16 h
    "productive": 264.0, "checkpoint_stall": 12.0, "lost_work": 10.0, "detection": 1.0,
    "diagnosis": 0.0, "restart": 4.0, "restore": 4.16, "waiting_for_servers": 0.5,
    "planned_maintenance": 0.5, "straggler_slowdown": 0.0, "degraded_capacity": 0.0,
    "data_stall": 0.0,
}  # fmt: skip


def training(**changes: Any) -> Summary:
    """A training summary with round, recognisable figures; ``changes`` replace some."""
    figures = {
        "scenario": "demo", "replicates": 3, "seed": 7, "devices": 1024, "servers": 128,
        "spare_servers": 4, "model": "llama3_70b", "model_parameters": 70.6e9,
        "device": "H100 SXM 80GB", "memory_per_device_gib": 61.24, "memory_capacity_gib": 80.0,
        "memory_weights_gib": 17.6, "memory_gradients_gib": 17.6, "memory_optimizer_gib": 4.4,
        "memory_activations_gib": 17.64, "memory_reserve_gib": 4.0,
        "step_time_s": 6.5, "tflops_per_device": 412.3, "mfu": 0.417, "virtual_stages": 4,
        "step_compute_s": 5.0, "step_tp_comm_s": 0.75, "step_ep_comm_s": 0.0,
        "step_cp_comm_s": 0.0, "step_pp_comm_s": 0.25, "step_dp_comm_s": 0.1,
        "step_bubble_s": 0.4, "step_optimizer_s": 0.0,
        "time_to_train_days": 12.34, "time_to_train_days_ci95_low": 12.1,
        "time_to_train_days_ci95_high": 12.6, "time_to_train_days_p50": 12.3,
        "time_to_train_days_median_ci95_low": 12.2, "time_to_train_days_median_ci95_high": 12.5,
        "time_to_train_days_p05": 11.9, "time_to_train_days_p95": 13.1,
        "failure_free_days": 11.0, "time_to_train_skew": None, "wall_clock_days": 12.34,
        "completed_fraction": 1.0, "device_hours": 303_267.0, "cost_usd": 7.5e6,
        "compute_cost_usd": 6.9e6, "energy_cost_usd": 6e5, "ettr": 0.8912,
        "interruptions_unexpected": 21.7, "interruptions_planned": 3.0, "job_mtbf_h": 13.65,
        "checkpoint_policy": "fixed", "checkpoint_interval_s": 1800.0,
        "checkpoints_written": 500.0, "checkpoint_write_s": 12.5, "checkpoint_size_gb": 1234.4,
        "restores_from_memory": 0.0, "restores_from_storage": 21.7, "persists_lost": 0.0,
        "repair_h": 24.0,
        **{f"{bucket}_h": hours for bucket, hours in HOURS.items()},
    }  # fmt: skip
    parts = {
        key: changes.pop(key) for key in ("interruptions", "phases", "languages") if key in changes
    }
    interruptions = parts.get("interruptions", {"gpu": 12.0, "network": 9.7, "nothing": 0.0})
    return Summary(
        figures | changes, interruptions, parts.get("phases", {}), parts.get("languages", {})
    )


def line(text: str, label: str) -> str:
    """The one line of ``text`` that starts with ``label`` and a space, without its indent."""
    (found,) = [row.strip() for row in text.splitlines() if row.lstrip().startswith(label + " ")]
    return found


def test_the_training_report_prints_the_figures_of_its_summary_in_its_units() -> None:
    text = format_summary(training())
    assert text.splitlines()[0] == "scenario demo: 3 replicates, seed 7"
    assert "1,024 (128 servers + 4 spares)" in line(text, "devices")
    assert line(text, "model").endswith("llama3_70b, 70.60 B parameters, on H100 SXM 80GB")
    assert line(text, "memory per device").endswith(
        "61.2 of 80 GiB (weights 17.6, gradients 17.6, optimizer 4.4, activations 17.6, "
        "reserve 4.0)"
    )
    step = line(text, "step time")
    assert "6.50 s at 412 TFLOP/s per device (MFU 42%, 4 model chunks per device)" in step
    # the parts of the step that take time, in seconds; none that take none
    assert step.endswith(": compute 5.00, tp_comm 0.75, pp_comm 0.25, dp_comm 0.10, bubble 0.40")
    assert line(text, "time to train").endswith(
        "mean 12.3 days (95% CI 12.1-12.6), median 12.3 (95% CI 12.2-12.5); p05 11.9, p95 13.1; "
        "failure-free 11 days"
    )
    assert line(text, "device-hours").endswith("303.3 k")
    assert line(text, "cost").endswith("$7.5 M (compute $6.9 M, energy $600 k)")
    assert line(text, "ETTR").endswith("0.891")
    assert line(text, "interruptions").endswith(
        "21.7 unexpected, 3 planned per replicate (job MTBF 13.65 h)"
    )
    assert line(text, "checkpoints").endswith(
        "fixed, every 30.0 min, 500 written, 12.5 s to write, 1,234 GB"
    )
    assert line(text, "restores").endswith("0.0 from memory, 21.7 from storage (0.0 persists lost)")
    assert "waiting" not in line(text, "where the time went") and "skewed" not in text


def test_the_time_budget_lists_every_bucket_with_its_hours_and_share_of_the_wall_clock() -> None:
    text = format_summary(training())
    rows = text.split("where the time went (hours per replicate):\n")[1].splitlines()[:12]
    wall_h = 12.34 * 24
    for row, (bucket, hours) in zip(rows, HOURS.items(), strict=True):
        name, printed, share = row.split()
        assert (name, float(printed)) == (bucket, pytest.approx(hours, abs=0.05))
        assert float(share.rstrip("%")) == pytest.approx(100 * hours / wall_h, abs=0.05)
    assert sum(float(row.split()[2].rstrip("%")) for row in rows) == pytest.approx(100, abs=0.5)


def test_causes_are_listed_by_their_count_with_their_share_and_none_that_never_struck() -> None:
    text = format_summary(training())
    causes = text.split("unexpected interruptions by cause (mean per replicate):\n")[1]
    rows = [row.split() for row in causes.splitlines()]
    assert rows == [["gpu", "12.0", "55.3%"], ["network", "9.7", "44.7%"]]
    assert "interruptions by cause" not in format_summary(training(interruptions={"gpu": 0.0}))


def test_an_unfinished_run_reports_the_horizon_instead_of_a_time_to_train() -> None:
    text = format_summary(training(time_to_train_days=None, completed_fraction=0.4,
                                   wall_clock_days=54.0))  # fmt: skip
    assert "time to train" not in text
    assert line(text, "horizon reached").endswith("54.0 days; 40% of replicates finished")


def test_intervals_are_printed_only_when_the_summary_has_them() -> None:
    text = format_summary(training(time_to_train_days_ci95_low=None,
                                   time_to_train_days_median_ci95_low=None))  # fmt: skip
    assert "95% CI" not in text
    assert "mean 12.3 days, median 12.3; p05 11.9" in text


def test_the_report_says_why_the_job_waited_only_when_it_waited_long() -> None:
    waited = format_summary(training(waiting_for_servers_h=10.0))  # 3.4% of the wall clock
    assert line(waited, "waiting").endswith(
        "10 h per replicate with too few servers: lost servers found no spare free (4 spares) "
        "and waited for a repair (mean 24 h)"
    )
    rows = [row.strip() for row in waited.splitlines()]
    assert rows.index(line(waited, "waiting")) + 1 == rows.index(line(waited, "where the time"))
    assert "too few servers" not in format_summary(training(waiting_for_servers_h=2.9))  # < 1%


def test_a_skewed_run_says_so_and_a_job_that_never_checkpoints_says_never() -> None:
    skewed = training(time_to_train_skew="mean 30% above the median")
    assert line(format_summary(skewed), "skewed").endswith("mean 30% above the median")
    text = format_summary(training(checkpoint_policy="none", checkpoint_interval_s=None))
    assert line(text, "checkpoints").startswith("checkpoints        none, every never,")


def test_phases_and_languages_each_get_a_line_of_tokens_days_cost_and_pace() -> None:
    phases = {
        "english_heavy": {"tokens": 1e12, "days": 4.25, "cost_usd": 2.5e6, "data_speed": 0.86},
        "multilingual": {"tokens": 5e11, "days": 3.5, "cost_usd": 2.0e6, "data_speed": 0.54},
    }
    languages = {"hindi": {"tokens": 2e11, "days": 1.5, "cost_usd": 8e5, "epochs": 1.25}}
    text = format_summary(training(phases=phases, languages=languages))
    assert line(text, "english_heavy").split() == ["english_heavy", "1000", "B", "4.25", "$2.5",
                                                   "M", "86%"]  # fmt: skip
    assert line(text, "multilingual").split() == ["multilingual", "500", "B", "3.50", "$2", "M",
                                                  "54%"]  # fmt: skip
    assert line(text, "hindi").split() == ["hindi", "200", "B", "1.50", "$800", "k", "1.25"]
    one_phase = format_summary(training(phases={"main": phases["multilingual"]}))
    assert "phases:" not in one_phase and "languages:" not in one_phase


SERVING = {
    "scenario": "serve", "replicates": 2, "seed": 3, "replicas": 4, "pp": 1, "tp": 2,
    "device": "H100 SXM 80GB", "servers": 1, "model": "llama2_70b", "weights": "fp8",
    "compute_path": "fp8", "kv_cache": "fp8", "memory_weights_gib": 32.1,
    "memory_reserve_gib": 4.0, "memory_kv_gib": 39.5, "memory_capacity_gib": 80.0,
    "kv_cache_tokens": 517_632, "arrivals": "poisson", "requests": 1234.0, "span_s": 4567.8,
    "tokens_per_s": 21_606.4, "requests_per_s": 3.2412, "utilisation": 0.853,
    "ttft_mean_s": 0.2504, "ttft_p50_s": 0.2, "ttft_p99_s": 1.5, "unloaded_ttft_s": 0.016,
    "tpot_mean_s": 0.0151, "tpot_p50_s": 0.015, "tpot_p99_s": None, "unloaded_tpot_s": 0.0146,
    "e2e_mean_s": 5.1461, "e2e_p99_s": 14.004, "slo_ttft_s": 2.0, "slo_tpot_s": 0.2,
    "slo_attainment": 0.9876, "late": 15.0, "goodput_rps": 3.2, "cost_per_m_output_tokens": 4.1666,
    "cost_usd": 72.23, "energy_kwh": 12.34, "availability": 0.99871,
    "availability_steady_state": 0.999984, "failures": 1.5, "dropped": 0.0, "retried": 7.5,
}  # fmt: skip


def test_the_serving_report_prints_latencies_in_milliseconds_and_rates_per_second() -> None:
    text = format_serving(SERVING)
    assert text.splitlines()[0] == "scenario serve: serving, 2 replicates, seed 3"
    assert line(text, "fleet").endswith(
        "4 replicas of 2 x H100 SXM 80GB (1 servers), llama2_70b weights in fp8 (multiplied in "
        "fp8), KV cache in fp8"
    )
    assert line(text, "memory per device").endswith(
        "weights 32.1 + reserve 4.0 + KV cache 39.5 of 80 GiB (517,632 tokens per replica)"
    )
    assert line(text, "traffic").endswith("poisson, 1,234 requests per replicate over 4,568 s")
    assert line(text, "throughput").endswith(
        "21,606 output tokens/s, 3.24 requests/s, utilisation 85%"
    )
    assert line(text, "TTFT").endswith("mean 250 ms, p50 200 ms, p99 1,500 ms (unloaded 16 ms)")
    assert line(text, "TPOT").endswith("mean 15 ms, p50 15 ms, p99 n/a (unloaded 14.6 ms)")
    assert line(text, "end to end").endswith("mean 5,146 ms, p99 14,004 ms")
    assert line(text, "SLO").endswith(
        "TTFT <= 2 s and TPOT <= 0.2 s: 98.8% of requests (15 late), goodput 3.2 requests/s"
    )
    assert line(text, "cost").endswith(
        "$4.17 per million output tokens ($72.23 per replicate, 12.3 kWh)"
    )
    assert line(text, "availability").endswith(
        "0.9987 simulated, 0.99998 steady state; 1.50 replica failures, 0.0 requests lost, "
        "7.5 retried"
    )
    staged = format_serving(SERVING | {"pp": 2, "tp": 1})
    assert "4 replicas of 2 stages of 1 x H100 SXM 80GB" in line(staged, "fleet")


def test_a_sweep_job_is_one_line_of_its_headline_figures() -> None:
    assert format_line(training(), "job 3") == "job 3: 12.3 days to train, ETTR 0.891, $7.5 M"
    unfinished = training(time_to_train_days=None)
    assert format_line(unfinished, "job 4") == "job 4: horizon reached, ETTR 0.891, $7.5 M"
    assert format_line(SERVING | {"mode": "serving", "tpot_p99_s": 0.0321}, "job 5") == (
        "job 5: 21,606 tokens/s, p99 TPOT 32 ms, $4.17/M tokens"
    )


def test_the_capacity_table_gives_each_fleet_or_why_there_is_none() -> None:
    frame = pd.DataFrame(
        [
            {"hardware": "h100_sxm", "weights": "fp8", "rate_per_s": 20.0, "slo": "chat",
             "feasible": True, "reason": "", "servers": 3.0, "cost_per_m_output_tokens": 1234.5,
             "tpot_p99_s": 0.0456},
            {"hardware": "xeon6_6980p", "weights": "int8", "rate_per_s": 0.5, "slo": "chat",
             "feasible": False, "reason": "TPOT 120 ms unloaded", "servers": math.nan,
             "cost_per_m_output_tokens": math.nan, "tpot_p99_s": math.nan},
        ]
    )  # fmt: skip
    feasible, refused = format_capacity(frame).splitlines()[1:]
    assert feasible.split() == ["h100_sxm", "fp8,", "20", "req/s,", "chat", "3", "servers", "$",
                                "1,234.50", "46", "ms"]  # fmt: skip
    assert refused.split(" infeasible: ") == ["    xeon6_6980p int8, 0.5 req/s, chat".ljust(48),
                                              "TPOT 120 ms unloaded"]  # fmt: skip
