"""Figures, the printed table, and the JSON results."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.deploy import Memory


@dataclass
class Figure:
    name: str
    measured: str  # as printed, e.g. "1830 ev/s (61% of /livez 3000 req/s)"
    target: str  # as printed, e.g. ">= 40% of /livez"
    passed: bool | None  # None: for information, no target
    value: float  # the number judged against the target
    unit: str

    @property
    def verdict(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass
class MemoryReading:
    label: str  # which serve process
    idle: Memory  # after start-up, before any load
    loaded: Memory  # after the load; .peak is the peak over its whole life


@dataclass
class Section:
    name: str
    figures: list[Figure] = field(default_factory=list)
    memory: list[MemoryReading] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def table(figures: list[Figure]) -> str:
    rows = [("Figure", "Measured", "Target", "Result")]
    rows += [(f.name, f.measured, f.target, f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| Figure | Measured | Target | Result |", "| --- | --- | --- | --- |"]
    lines += [f"| {f.name} | {f.measured} | {f.target} | {f.verdict} |" for f in figures]
    return "\n".join(lines)


def write(results: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """``latest.json`` and a timestamped copy in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, default=_plain)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    latest, stamped = directory / "latest.json", directory / f"bench-{stamp}.json"
    latest.write_text(text + "\n")
    stamped.write_text(text + "\n")
    return latest, stamped


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
