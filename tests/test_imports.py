"""Start-up: the arithmetic modules load without Hydra, pandas, scipy.stats or plotting."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_model_arithmetic_loads_nothing_heavy() -> None:
    code = (
        "import sys, sim.model, sim.memory; "
        "print(sorted(m for m in ('hydra', 'pandas', 'scipy.stats', 'seaborn', 'matplotlib', "
        "'simpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
