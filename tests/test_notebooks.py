"""Every notebook in analysis/ is committed without outputs, executes on small settings, and draws
a figure in every cell that calls ``sim.outputs.plots``."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from helpers import REPO
from nbclient import NotebookClient

NOTEBOOKS = sorted((REPO / "analysis").glob("*.ipynb"))


def test_the_six_notebooks_are_there() -> None:
    names = {path.stem for path in NOTEBOOKS}
    assert names == {"llama_405b", "checkpoint_interval", "gpu_vs_cpu", "multilingual", "serving",
                     "fleet_mix"}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_runs_and_draws(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), (
        f"{path.name} has outputs; clear them before committing"
    )
    monkeypatch.setenv("SIM_NOTEBOOK_REPLICATES", "4")
    monkeypatch.setenv("SIM_NOTEBOOK_INTERVALS", "4,16,64")
    monkeypatch.setenv("SIM_NOTEBOOK_SEARCH_REQUESTS", "100")
    monkeypatch.setenv("SIM_NOTEBOOK_WINDOW_S", "300")
    monkeypatch.setenv("SIM_NOTEBOOK_RATES", "0.3,3")
    monkeypatch.setenv("SIM_NOTEBOOK_SHARES", "0,1")
    monkeypatch.setenv("SIM_NOTEBOOK_DAY_S", "3600")
    monkeypatch.setenv("SIM_SWEEP_DIR", str(tmp_path / "sweep"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(notebook, timeout=240, resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in code:
        if "plots." in cell.source:
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert images, f"{path.name}: no figure from\n{cell.source}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors
