"""The layout's rules that import-linter cannot state (ARCHITECTURE.md): what each layer loads at
import, that the plan contract covers the whole training engine, and the size limits."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sim.config import POLICIES
from sim.training.checkpointing import REGISTRY

SIM = Path(__file__).resolve().parent.parent / "sim"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


def _modules(package: str) -> list[str]:
    folder = SIM / package
    return [f"sim.{package}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem != "__init__"]


def _loaded(module: str) -> list[str]:
    """The heavy or engine modules in ``sys.modules`` after importing ``module`` alone."""
    code = (
        f"import sys, {module}\n"
        "heavy = ('pandas', 'hydra', 'seaborn', 'matplotlib', 'simpy')\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in heavy and '.' not in m\n"
        "               or m.startswith('sim.training.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return sorted(out.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("module", ["sim.config", "sim.units", "sim.errors", *_modules("perf")])
def test_the_schema_and_the_arithmetic_load_nothing_heavy(module: str) -> None:
    assert _loaded(module) == []


@pytest.mark.slow
@pytest.mark.parametrize("module", _modules("serving"))
def test_the_serving_engine_loads_simpy_and_no_training_table_or_hydra_module(module: str) -> None:
    assert set(_loaded(module)) <= {"simpy"}


def test_the_plan_contract_names_every_training_module_but_planning() -> None:
    contracts = tomllib.loads((SIM.parent / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in contracts["contracts"] if "reads its plan" in c["name"]]
    engine = set(_modules("training")) - {"sim.training.planning"}
    assert set(contract["source_modules"]) == engine
    assert contract["forbidden_modules"] == ["sim.config"]


def test_the_policy_registry_implements_every_policy_name_the_schema_allows() -> None:
    assert list(REGISTRY) == list(POLICIES)


def test_no_module_over_400_lines_and_no_class_over_250() -> None:
    long_modules, long_classes = {}, {}
    for path in SIM.rglob("*.py"):
        text = path.read_text()
        name = str(path.relative_to(SIM.parent))
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules[name] = text.count("\n")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    long_classes[f"{name}:{node.name}"] = lines
    assert long_modules == {}
    assert long_classes == {}
