"""The Monte Carlo summary as nested data, and the one flattening to ``summary.json`` keys.

Figures per failure cause, per training phase and per language are kept in their own mappings, so
the report and the analysis read them by name; the flat file joins the parts with ``__``
(``interruptions__nic``, ``phase__long_context__days``), which no plain figure contains, so a
cause named ``planned`` cannot collide with ``interruptions_planned``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SEP = "__"
SECTIONS = ("interruptions", "phase", "language")  # nested parts, by their flat prefix


def flat_key(*parts: str) -> str:
    return SEP.join(parts)


@dataclass(frozen=True)
class Summary(Mapping[str, Any]):
    """Read as a mapping it is the flat ``summary.json`` object; the parts are attributes."""

    figures: dict[str, Any]  # one value per name: times, money, step time, memory, ...
    interruptions: dict[str, float] = field(default_factory=dict)  # cause -> mean count
    phases: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> figure -> value
    languages: dict[str, dict[str, float]] = field(default_factory=dict)  # corpus key -> ...

    @cached_property
    def flat(self) -> dict[str, Any]:
        out = dict(self.figures)
        out |= {flat_key("interruptions", cause): n for cause, n in self.interruptions.items()}
        for section, parts in (("phase", self.phases), ("language", self.languages)):
            for name, figures in parts.items():
                out |= {flat_key(section, name, key): value for key, value in figures.items()}
        return out

    def __getitem__(self, key: str) -> Any:
        return self.flat[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.flat)

    def __len__(self) -> int:
        return len(self.flat)


def nested_columns(columns: list[str], section: str) -> dict[str, dict[str, str]]:
    """Flat columns of one section by name and figure: ``{name: {figure: column}}`` (for
    ``interruptions`` the figure is ``count``)."""
    out: dict[str, dict[str, str]] = {}
    for column in columns:
        parts = column.split(SEP)
        if parts[0] != section or len(parts) not in (2, 3):
            continue
        figure = parts[2] if len(parts) == 3 else "count"
        out.setdefault(parts[1], {})[figure] = column
    return out
