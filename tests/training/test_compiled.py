"""The compiled engine is used only while it was built from the sources as they are."""

from __future__ import annotations

import json
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
    assert sys.path[0] == str(tmp_path)


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
