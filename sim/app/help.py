"""``--help``: what a new user needs first, in one screen: the scenarios with one line each (from
their YAML headers), the groups with their options, the keys most runs change, and the flags."""

from __future__ import annotations

import re
import textwrap

from sim.config import CONF_DIR

SIM = (
    "python -m sim",
    "Simulate a large ML training run under failures, checkpoints, spares and cost (many Monte "
    "Carlo replicates), or serving a model to a stream of requests (a serving scenario).",
)
EXPLORE = (
    "python -m sim.app.explore",
    "Rank every parallelism plan of the scenario's model on its servers that fits in memory, by "
    "predicted step time; writes plans.csv.",
)
PUBLIC_KEYS = (
    "sim.seed", "sim.replicates", "sim.horizon_days", "sim.outputs.trace", "sim.objective",
    "sim.deadline_days", "cluster.servers", "cluster.spare_servers", "checkpoint.policy",
    "checkpoint.interval_min", "parallelism.tp", "parallelism.pp", "parallelism.dp",
    "serving.rate_per_s", "serving.replicas", "serving.tp", "serving.weights",
    "serving.slo_ttft_s", "serving.slo_tpot_s",
)  # fmt: skip
WIDTH = 100
NAME_COLUMN = 27  # where a scenario's line starts, after two spaces and its name


def scenario_lines() -> list[tuple[str, str]]:
    """Each scenario and the first sentence of its YAML header."""
    out = []
    for path in sorted((CONF_DIR / "scenario").glob("*.yaml")):
        comments = []
        for line in path.read_text().splitlines():
            if not line.startswith("#"):
                break
            if "@package" not in line:
                comments.append(line.lstrip("# ").strip())
        sentence = re.split(r"(?<=[a-z0-9)])[.:] ", " ".join(comments) + " ", maxsplit=1)[0]
        room = WIDTH - max(NAME_COLUMN, len(path.stem) + 3)  # the line starts after the name
        out.append((path.stem, textwrap.shorten(sentence.strip(" .:"), room, placeholder="...")))
    return out


def group_lines() -> list[tuple[str, str]]:
    groups = sorted(p for p in CONF_DIR.iterdir() if p.is_dir() and p.name not in ("hydra",))
    return [
        (g.name, ", ".join(sorted(p.stem for p in g.glob("*.yaml"))))
        for g in groups
        if g.name != "scenario"
    ]


def help_text(program: tuple[str, str] = SIM) -> str:
    command, about = program
    wrap = textwrap.TextWrapper(width=WIDTH, subsequent_indent=" " * 24)
    lines = [
        *textwrap.wrap(about, WIDTH),
        "",
        f"Usage: {command} [flags] scenario=NAME [group=option ...] [key=value ...]",
        "",
        "Scenarios (scenario=NAME):",
        *(f"  {name:<{NAME_COLUMN - 3}} {line}" for name, line in scenario_lines()),
        "",
        "Groups and their options (group=option):",
        *(wrap.fill(f"  {name:<22}{options}") for name, options in group_lines()),
        "",
        "Keys most runs change (key=value; --cfg job prints every key with its value):",
        *textwrap.wrap(", ".join(PUBLIC_KEYS), WIDTH, initial_indent="  ", subsequent_indent="  "),
        "",
        "Flags:",
        "  -m                    a sweep: key=a,b,c or range(start, stop, step) (Hydra multirun)",
        "  --cfg job             print the composed configuration instead of running",
        "  --config-dir DIR      your own scenarios (DIR/scenario/NAME.yaml) and group options",
        "  --hydra-help          Hydra's own options (launchers, sweepers, output directories)",
        "",
        "Every mistake is one line naming the key, the value and what is valid. See README.md.",
    ]
    if program is SIM:
        lines.insert(-1, "Also: python -m sim.app.explore --help (the plan explorer)")
    return "\n".join(lines)
