"""The compiled engine is used only while it was built from the sources as they are."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sim.training.compiled import ENGINE, source_hashes, use_if_fresh


def test_a_build_from_other_sources_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIM_COMPILED", raising=False)
    (tmp_path / "sources.json").write_text(json.dumps({name: "0" * 64 for name in ENGINE}))
    package_path = ["sources"]
    with pytest.warns(UserWarning, match="built from other sources"):
        assert not use_if_fresh(package_path, str(tmp_path))
    assert package_path == ["sources"]


def test_a_build_from_these_sources_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sources.json").write_text(json.dumps(source_hashes()))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("SIM_COMPILED", raising=False)
    package_path = ["sources"]
    assert use_if_fresh(package_path, str(tmp_path))
    assert package_path == [str(tmp_path / "sim" / "training"), "sources"]
    assert sys.path[0] == str(tmp_path / "lib")  # the shared library's folder, holding no sim/


def test_sim_compiled_0_keeps_the_pure_python_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sources.json").write_text(json.dumps(source_hashes()))
    monkeypatch.setenv("SIM_COMPILED", "0")
    package_path = ["sources"]
    assert not use_if_fresh(package_path, str(tmp_path))
    assert package_path == ["sources"]


def test_no_build_no_change(tmp_path: Path) -> None:
    package_path = ["sources"]
    assert not use_if_fresh(package_path, str(tmp_path))
    assert package_path == ["sources"]


def test_a_process_that_inherits_the_path_still_finds_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A joblib worker starts with its parent's sys.path, the build's folder on it, before it
    imports sim: that folder must not hold a `sim/` that Python would take for the package."""
    import subprocess

    (tmp_path / "sources.json").write_text(json.dumps(source_hashes()))
    (tmp_path / "sim" / "training").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("SIM_COMPILED", raising=False)
    assert use_if_fresh(["sources"], str(tmp_path))
    code = "import sys, sim.training.plan; print(sim.training.plan.__file__)"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path[:1])},
                           check=False)  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert "build" not in child.stdout and str(tmp_path) not in child.stdout
