"""Hydra multirun sweeps end to end: the launchers, failing points, the sweep-level table, the
analysis loader and the objective returned to Optuna."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_command, run_sweep
from hydra import compose, initialize_config_dir
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

import sim
from sim.app.cli import BASIC_SWEEPER, preflight
from sim.app.loading import register_configs
from sim.app.sweep import finished_jobs, objective, planned_jobs
from sim.config import CONF_DIR
from sim.errors import ConfigError
from sim.outputs.analysis import load

SMALL = ("sim.replicates=3", "sim.record_events=false")


@pytest.fixture(scope="module")
def interval_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's command, with few replicates: three checkpoint intervals on joblib."""
    sweep_dir = tmp_path_factory.mktemp("interval") / "sweep"
    proc = run_sweep(
        sweep_dir,
        "scenario=llama_405b",
        "checkpoint.interval_min=10,30,60",
        "hydra/launcher=joblib",
        *SMALL,
    )
    assert proc.returncode == 0, proc.stderr
    return sweep_dir


@pytest.mark.slow
def test_joblib_sweep_writes_three_runs_and_the_sweep_table(interval_sweep: Path) -> None:
    for job in range(3):
        assert (interval_sweep / str(job) / "summary.json").is_file()
    frame = load(interval_sweep)
    assert len(frame) == 3
    assert frame["checkpoint.interval_min"].tolist() == [10, 30, 60]
    assert frame["error"].isna().all()
    # A longer interval loses more work per failure at this failure rate (Daly's optimum ~8 min).
    assert frame["lost_work_h"].is_monotonic_increasing
    table = pd.read_parquet(interval_sweep / "sweep.parquet")
    pd.testing.assert_frame_equal(table, frame)
    assert len(pd.read_csv(interval_sweep / "sweep.csv")) == 3


@pytest.mark.slow
def test_loader_per_replicate_and_for_one_run(interval_sweep: Path) -> None:
    replicates = load(interval_sweep, per="replicate")
    assert len(replicates) == 3 * 3
    assert replicates.groupby("checkpoint.interval_min")["replicate"].count().tolist() == [3, 3, 3]
    one = load(interval_sweep / "1")
    assert len(one) == 1
    assert one.loc[0, "checkpoint.interval_min"] == 30


@pytest.mark.slow
def test_a_sweep_point_gives_the_numbers_of_the_same_single_run(
    interval_sweep: Path, tmp_path: Path
) -> None:
    """Same seed, same numbers: the joblib worker and a plain run agree to the last digit."""
    single = tmp_path / "single"
    proc = run_command(
        "sim", "checkpoint.interval_min=30", *SMALL, f"hydra.run.dir={single}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    alone = json.loads((single / "summary.json").read_text())
    in_sweep = json.loads((interval_sweep / "1" / "summary.json").read_text())
    assert in_sweep["time_to_train_days"] == alone["time_to_train_days"]
    assert in_sweep["cost_usd"] == alone["cost_usd"]


@pytest.mark.slow
def test_an_invalid_point_records_its_error_and_the_others_keep_their_results(
    tmp_path: Path,
) -> None:
    sweep_dir = tmp_path / "sweep"
    proc = run_sweep(sweep_dir, "checkpoint.interval_min=10,-5,30", *SMALL)
    assert proc.returncode == 0, proc.stderr
    error = json.loads((sweep_dir / "1" / "error.json").read_text())
    assert error["key"] == "checkpoint.interval_min"
    assert error["type"] == "ConfigError"
    assert not (sweep_dir / "1" / "summary.json").exists()
    frame = load(sweep_dir)
    assert frame["checkpoint.interval_min"].tolist() == [10, -5, 30]
    assert frame["error"].notna().tolist() == [False, True, False]
    assert frame["time_to_train_days"].notna().tolist() == [True, False, True]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("checkpoint=fixed,nope", "checkpoint=nope: no such option; valid: adaptive"),
        ("checkpoint.interval_min=10,abc", "checkpoint.interval_min=abc: Value 'abc' of type"),
        ("sim.seed=1,2 sim.nope=3", "sim.nope=3: unknown key 'sim.nope'; valid: sim.seed"),
    ],
)
def test_a_point_that_does_not_compose_stops_the_sweep_in_one_line(
    points: str, message: str, tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "sweep"
    proc = run_sweep(sweep_dir, *points.split(), *SMALL)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {message}")
    assert not sweep_dir.exists()


@pytest.mark.slow
def test_hydra_does_not_compose_the_points_the_preflight_composed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The basic sweeper's own check composes every point before the first job (0.2 s a point);
    # once the preflight has composed them all, a batch it would refuse passes it untouched.
    sweeper = Plugins.instance().class_name_to_class[BASIC_SWEEPER]
    hydras = Sweeper.validate_batch_is_legal
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", hydras)  # restored after the test
    assert preflight(["-m", "hardware=h100_sxm,nope"]) is not None
    assert sweeper.validate_batch_is_legal is hydras  # a refused sweep leaves Hydra's check on
    assert preflight(["-m", "scenario=llama_405b", "checkpoint.interval_min=10,30"]) is None
    sweeper.validate_batch_is_legal(object(), [["hardware=nope"]])  # Hydra's would raise


@pytest.mark.slow
def test_a_missing_launcher_plugin_names_the_extra(tmp_path: Path) -> None:
    proc = run_command("sim", "-m", "hydra/launcher=ray_cluster", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: hydra/launcher=ray: its Hydra plugin is not installed; pip install -e '.[ray]'\n"
    )


@pytest.mark.slow
def test_submitit_local_runs_a_tiny_sweep(tmp_path: Path) -> None:
    """Submitit's local executor stands in for SLURM: each point in its own submitted process."""
    sweep_dir = tmp_path / "sweep"
    proc = run_sweep(sweep_dir, "hydra/launcher=local", "sim.seed=1,2", *SMALL)
    assert proc.returncode == 0, proc.stderr
    frame = load(sweep_dir)
    assert frame["sim.seed"].tolist() == [1, 2]
    assert frame["error"].isna().all()
    assert frame["time_to_train_days"].nunique() == 2
    assert (sweep_dir / "sweep.parquet").is_file()


@pytest.mark.slow
def test_optuna_finds_the_cheapest_point_that_meets_the_deadline(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    optuna = ("scenario=cheapest_under_deadline", "hydra.sweeper.n_trials=4")
    proc = run_sweep(sweep_dir, *optuna, *SMALL)
    assert proc.returncode == 0, proc.stderr
    frame = load(sweep_dir)
    assert len(frame) == 4
    best = (sweep_dir / "optimization_results.yaml").read_text()
    met = frame[frame["time_to_train_days"] <= 76.0]
    assert not met.empty
    cheapest = met.loc[met["cost_usd"].idxmin()]
    assert f"best_value: {cheapest['cost_usd']}" in best


@pytest.mark.long
def test_the_optuna_scenario_beats_the_default_it_starts_from(tmp_path: Path) -> None:
    """Issue 16: the searched plan must cost less than the scenario's own unsearched point (the
    same seed and replicates), and still meet the deadline. About a minute."""
    sweep_dir = tmp_path / "sweep"
    proc = run_sweep(sweep_dir, "scenario=cheapest_under_deadline", timeout=600)
    assert proc.returncode == 0, proc.stderr
    frame = load(sweep_dir)
    met = frame[frame["time_to_train_days"] <= 76.0]
    default = sim.run(sim.load_config("cheapest_under_deadline", ["sim.progress=false"]))
    assert met["cost_usd"].min() < default.summary["cost_usd"]


@pytest.mark.slow
def test_the_optuna_scenario_without_m_says_it_is_a_sweep(tmp_path: Path) -> None:
    proc = run_command("sim", "scenario=cheapest_under_deadline", "sim.replicates=2",
                       f"hydra.run.dir={tmp_path}", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "note: this scenario is an Optuna sweep; run it with -m" in proc.stderr


@pytest.mark.slow
def test_the_sweep_bar_counts_the_jobs_the_sweeper_will_run() -> None:
    register_configs()
    overrides = ["checkpoint.interval_min=10,30,60", "sim.seed=1,2"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        basic = compose("config", return_hydra_config=True)
        optuna = compose(
            "config", overrides=["scenario=cheapest_under_deadline"], return_hydra_config=True
        )
    OmegaConf.set_readonly(basic, False)
    basic.hydra.overrides.task = overrides  # as Hydra fills it on the command line
    assert planned_jobs(basic) == 6
    assert planned_jobs(optuna) == 40


def test_the_sweep_bar_counts_summaries_and_errors_only(tmp_path: Path) -> None:
    jobs = [
        ["summary.json", "replicates.parquet"],  # finished: the summary is written last
        ["error.json"],
        [".summary.json.tmp", "replicates.parquet"],  # still writing its summary
        ["summary.json"],  # killed before its tables: not a finished run
    ]
    for job, names in enumerate(jobs):
        (tmp_path / str(job)).mkdir()
        for name in names:
            (tmp_path / str(job) / name).write_text("{}")
    (tmp_path / "sweep.csv").write_text("")
    assert finished_jobs(tmp_path) == 2


def test_objective_is_the_figure_or_infinity_past_the_deadline() -> None:
    summary = {"time_to_train_days": 80.0, "cost_usd": 5.0, "scenario": "x"}
    assert objective(summary, "cost_usd", None) == 5.0
    assert objective(summary, "cost_usd", 90.0) == 5.0
    assert math.isinf(objective(summary, "cost_usd", 70.0))
    assert math.isinf(objective(summary | {"time_to_train_days": None}, "cost_usd", 70.0))
    with pytest.raises(ConfigError, match=r"sim.objective='scenario': not a numeric summary"):
        objective(summary, "scenario", None)


def test_a_mixed_fleet_short_of_a_target_scores_infinity() -> None:
    """The Optuna sweep of cheapest_mix minimises the cost of mixes that meet every target."""
    mixed = {"cost_usd": 500.0, "meets_targets": True}
    assert objective(mixed, "cost_usd", None) == 500.0
    assert math.isinf(objective(mixed | {"meets_targets": False}, "cost_usd", None))


@pytest.mark.slow
def test_a_killed_joblib_sweep_takes_its_workers_with_it(tmp_path: Path) -> None:
    """Issue 16: the workers of a killed sweep used to run on, orphaned."""
    import signal
    import subprocess
    import sys
    import time

    from sim.app.cli import _children

    command = [sys.executable, "-m", "sim", "-m", "scenario=llama_405b", "hydra/launcher=joblib",
               "sim.seed=1,2,3,4", "sim.replicates=5000", "sim.progress=false",
               f"hydra.sweep.dir={tmp_path / 'sweep'}"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = _children(proc.pid)
    assert len(workers) >= 2, "the sweep never started its workers"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    time.sleep(1.0)

    def running(pid: int) -> bool:  # a killed child not yet reaped is a zombie ("Z"): gone
        stat = Path(f"/proc/{pid}/stat")
        return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"

    alive = [pid for pid in workers if running(pid)]
    assert not alive, f"workers left running: {alive}"
