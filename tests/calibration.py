"""Fit the H100 throughput curve's plateau on Table 4 of the Llama 3 paper.

`python tests/calibration.py` prints each row's predicted TFLOP/s per GPU against the published
figure, and the scale of the efficiency curve that minimises the squared relative error; the fitted
curve is then written by hand into conf/hardware/h100_sxm.yaml with a note. `test_throughput.py`
holds the prediction of every row within 5%.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from scipy.optimize import minimize_scalar

import sim
from sim.config import Config
from sim.throughput import throughput

TABLE_4 = Path(__file__).resolve().parent / "data" / "llama3_405b_parallelism.csv"


def table_4() -> list[tuple[Config, float]]:
    """Each row of Table 4 as a config of the llama_405b scenario, with its published TFLOP/s."""
    with TABLE_4.open() as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    cases = []
    for row in rows:
        dp = int(row["dp"])
        config = sim.load_config(
            "llama_405b",
            [f"cluster.servers={int(row['gpus']) // 8}", f"parallelism.tp={row['tp']}",
             f"parallelism.cp={row['cp']}", f"parallelism.pp={row['pp']}", f"parallelism.dp={dp}",
             f"workload.seq_len={row['seq_len']}",
             f"workload.global_batch_size={dp * int(row['batch_size_per_dp'])}"],
        )  # fmt: skip
        cases.append((config, float(row["tflops_per_gpu"])))
    return cases


def scaled(config: Config, scale: float) -> Config:
    hw = config.hardware
    curve = [min(1.0, e * scale) for e in hw.efficiency]
    return dataclasses.replace(config, hardware=dataclasses.replace(hw, efficiency=curve))


def main() -> None:
    cases = table_4()

    def loss(scale: float) -> float:
        return sum(
            (throughput(scaled(c, scale)).tflops_per_device / published - 1) ** 2
            for c, published in cases
        )

    best = minimize_scalar(loss, bounds=(0.5, 1.5), method="bounded").x
    for config, published in cases:
        now = throughput(config)
        fitted = throughput(scaled(config, best))
        par = config.parallelism
        print(
            f"tp{par.tp} cp{par.cp} pp{par.pp} dp{par.dp} seq {config.workload.seq_len}: "
            f"published {published:.0f}, now {now.tflops_per_device:.1f} "
            f"({now.tflops_per_device / published - 1:+.1%}), "
            f"fitted {fitted.tflops_per_device:.1f} "
            f"({fitted.tflops_per_device / published - 1:+.1%}); step {now.step_time_s:.2f} s "
            f"{ {k: round(v, 3) for k, v in now.breakdown().items()} }"
        )
    curve = [round(min(1.0, e * best), 3) for e in cases[0][0].hardware.efficiency]
    print(f"scale {best:.4f}: efficiency: {curve}")


if __name__ == "__main__":
    main()
