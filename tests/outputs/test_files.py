"""The files a run writes, each whole or not at all (sim.outputs.files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.outputs.files import atomic_write


def test_an_interrupted_write_leaves_no_half_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"

    def killed(path: Path) -> None:
        path.write_text('{"half":')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, killed)
    assert not target.exists()
