"""The plan explorer: finds a plan as fast as Meta's, lists only plans that fit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_command

import sim
from sim.app.explore import candidate_plans, explore
from sim.app.validation import validate

pytestmark = pytest.mark.slow  # the explorer over every plan of llama_405b, and its command line


@pytest.fixture(scope="module")
def plans() -> pd.DataFrame:
    return explore(sim.load_config("llama_405b"))


def test_best_plan_within_10_percent_of_the_best_table_4_throughput(plans: pd.DataFrame) -> None:
    # Llama 3 paper, Table 4: the best row reached 430 TFLOP/s per GPU. Tolerance 10% (issue 12):
    # a plan much faster than Meta's best would mean the model misses a cost Meta paid.
    assert plans["tflops_per_device"].iloc[0] == pytest.approx(430, rel=0.10)
    assert plans["step_time_s"].is_monotonic_increasing


def test_varies_zero_stage_and_interleaving(plans: pd.DataFrame) -> None:
    assert set(plans["zero_stage"]) == {0, 1, 2, 3}
    assert {1, 2, 4, 8} <= set(plans["virtual_stages"])


def test_lists_nothing_that_does_not_fit(plans: pd.DataFrame) -> None:
    assert (plans["memory_per_device_gib"] <= plans["memory_capacity_gib"]).all()
    base = sim.load_config("llama_405b")
    for row in plans.sample(40, random_state=0).itertuples():
        par = dataclasses.replace(
            base.parallelism, tp=row.tp, pp=row.pp, dp=row.dp, cp=row.cp,
            micro_batch_size=row.micro_batch_size, recompute=row.recompute,
            virtual_stages=row.virtual_stages, zero_stage=row.zero_stage,
            fewer_layers_first_last=0 if base.model.layers % row.pp == 0 else 1,
        )  # fmt: skip
        validate(dataclasses.replace(base, parallelism=par))  # raises if it does not fit


def test_includes_metas_plan(plans: pd.DataFrame) -> None:
    meta = plans.query("tp == 8 and pp == 16 and dp == 128 and cp == 1 and micro_batch_size == 1")
    assert "selective" in set(meta["recompute"])
    candidates = sum(1 for _ in candidate_plans(sim.load_config("llama_405b")))
    assert len(plans) < candidates / 2  # memory and batch rule many candidates out


def test_cli_prints_the_table_and_writes_the_csv(tmp_path: Path) -> None:
    proc = run_command(
        "sim.app.explore", "scenario=llama_405b", "model=llama3_70b", "cluster.servers=64",
        f"hydra.run.dir={tmp_path}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "plans of llama3_70b on 512 x H100 SXM 80GB fit in memory" in proc.stdout
    table = pd.read_csv(tmp_path / "plans.csv")
    assert (table["tp"] * table["pp"] * table["dp"] * table["cp"] == 512).all()


def test_cli_says_when_nothing_fits(tmp_path: Path) -> None:
    proc = run_command(
        "sim.app.explore",
        "scenario=llama_405b",
        "cluster.servers=1",
        f"hydra.run.dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "error: no plan of llama3_405b on 8 x H100 SXM 80GB fits in memory"
    )
