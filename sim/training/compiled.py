"""The engine's hot modules compiled with mypyc, used only while they match their sources.

`make compile` (``sim.training.compiled.build``) compiles ``ENGINE`` with mypyc (part of mypy, a dev
dependency; it needs a C compiler) into ``build/compiled/``, outside the source tree, and records a
hash of each source. ``import sim`` puts that directory ahead of the sources on the package's path
only while every hash still matches, so an edited module is never shadowed by a stale build;
``SIM_COMPILED=0`` keeps the pure-Python engine. Compiled or not, a seed gives the same numbers:
`make compile` runs the golden-data test against the build. A compiled replicate takes about 0.6
of the time (README, "Performance").

Paths are plain strings and the tools load only when a build exists, so that ``import sim`` stays
as light as it was without this check.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))  # the training engine's folder: sim/training
PACKAGE = os.path.dirname(HERE)  # sim/
BUILT = os.path.join(os.path.dirname(PACKAGE), "build", "compiled")
# The modules of a replicate's hot path. failures.py stays interpreted: its frozen dataclass
# Category, compiled, cannot be unpickled in a joblib worker.
ENGINE = (
    "job", "activity", "books", "progress", "trainer", "recovery", "restore_points", "accounting",
    "pace", "cluster", "events",
)  # fmt: skip


def source_hashes() -> dict[str, str]:
    import hashlib  # deferred, as every import here: ``import sim`` stays light

    hashes = {}
    for name in ENGINE:
        with open(os.path.join(HERE, f"{name}.py"), "rb") as source:
            hashes[name] = hashlib.sha256(source.read()).hexdigest()
    return hashes


def use_if_fresh(package_path: list[str], built: str = BUILT) -> bool:
    """Put the compiled modules in ``built`` ahead of the sources on ``package_path`` (the
    training engine's ``__path__``) if they were compiled from the sources as they are now."""
    stamp = os.path.join(built, "sources.json")
    if os.environ.get("SIM_COMPILED") == "0" or not os.path.exists(stamp):
        return False
    import json
    import warnings

    with open(stamp) as recorded:
        if json.load(recorded) != source_hashes():
            warnings.warn(
                f"sim: the compiled engine in {built} was built from other sources; running the "
                "pure-Python engine (`make compile` rebuilds it)",
                stacklevel=2,
            )
            return False
    # mypyc's shared library is a top-level module, in a folder of its own: with ``built`` itself
    # on sys.path, a process that inherits the path before importing sim (a joblib worker) would
    # take build/compiled/sim for a namespace package and miss the sources
    sys.path.insert(0, os.path.join(built, "lib"))
    package_path.insert(0, os.path.join(built, "sim", "training"))
    return True


def build(built: str = BUILT) -> None:
    """Compile a copy of the package, so that nothing compiled lands beside the sources."""
    import json
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    hashes = source_hashes()
    root, target = Path(PACKAGE).parent, Path(built)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(PACKAGE, work / "sim", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):  # mypy's settings, the project's metadata
            shutil.copy(root / name, work)
        modules = [f"sim/training/{name}.py" for name in ENGINE]
        quiet = {**os.environ, "PYTHONWARNINGS": "ignore"}  # setuptools' notes on pyproject.toml
        mypyc = subprocess.run([sys.executable, "-m", "mypyc", *modules], cwd=work, env=quiet,
                               stdout=subprocess.DEVNULL)  # fmt: skip
        if mypyc.returncode:
            raise SystemExit(
                f"make compile: mypyc failed (exit {mypyc.returncode}, its errors above); it needs "
                "a C compiler and Python's headers. The pure-Python engine runs as before."
            )
        shutil.rmtree(target, ignore_errors=True)
        (target / "sim" / "training").mkdir(parents=True)
        (target / "lib").mkdir()
        for library in work.glob("*.so"):
            shutil.move(library, target / "lib")
        for library in (work / "sim" / "training").glob("*.so"):
            shutil.move(library, target / "sim" / "training")
    (target / "sources.json").write_text(json.dumps(hashes, indent=1) + "\n")
    print(f"compiled {', '.join(ENGINE)} into {target}")
