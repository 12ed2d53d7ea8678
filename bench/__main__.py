"""``python -m bench [--quick] [--only webhook|start|memory|relay]``"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import relay, start, webhook
from bench.deploy import REPO, loadavg
from bench.report import Figure, MemoryReading, Section, markdown_table, table, write

RSS_TARGET_MIB = 120.0
SECTIONS = ("webhook", "start", "memory", "relay")


def memory_section(readings: list[MemoryReading]) -> Section:
    """Figure 3, from the serve processes the other figures ran."""
    section = Section("memory")
    if not readings:
        return section
    idle = max(readings, key=lambda r: r.idle.rss)
    loaded = max(readings, key=lambda r: r.loaded.peak)
    for name, mib, label in (
        ("Serve RSS, idle", idle.idle.rss, idle.label),
        ("Serve RSS, peak under load", loaded.loaded.peak, loaded.label),
    ):
        section.figures.append(
            Figure(
                name=name,
                measured=f"{mib:.0f} MiB (largest: {label})",
                target=f"< {RSS_TARGET_MIB:.0f} MiB",
                passed=mib < RSS_TARGET_MIB,
                value=round(mib, 1),
                unit="MiB",
            )
        )
    section.details = {
        r.label: {
            "idle_rss_mib": round(r.idle.rss, 1),
            "rss_after_load_mib": round(r.loaded.rss, 1),
            "peak_rss_mib": round(r.loaded.peak, 1),
        }
        for r in readings
    }
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher figures")
    parser.add_argument("--only", choices=SECTIONS, help="one figure (memory runs short loads)")
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench-results", help="where the JSON goes"
    )
    args = parser.parse_args(argv)

    wanted = {args.only} if args.only else set(SECTIONS)
    runs: list[tuple[str, Callable[[Path], Section]]] = []
    if wanted & {"webhook", "memory"}:
        quick = args.quick or args.only == "memory"
        backends = ("sqlite",) if args.only == "memory" else ("sqlite", "postgres")
        runs.append(("webhook", lambda w: webhook.run(w, quick=quick, backends=backends)))
    if wanted & {"start", "memory"}:
        quick = args.quick or args.only == "memory"
        runs.append(("start", lambda w: start.run(w, quick=quick)))
    if "relay" in wanted:
        runs.append(("relay", lambda w: relay.run(w, quick=args.quick)))

    started = time.perf_counter()
    load_before = loadavg()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="mmzoom-bench-") as tmp:
        for name, run in runs:
            print(f"measuring: {name} ...", file=sys.stderr, flush=True)
            sections.append(run(Path(tmp)))
    if "memory" in wanted:
        sections.append(memory_section([m for s in sections for m in s.memory]))
    if args.only == "memory":
        sections = [s for s in sections if s.name == "memory"]
    load_after = loadavg()

    figures = [f for s in sections for f in s.figures]
    notes = [n for s in sections for n in s.notes]
    print()
    print(table(figures))
    for note in notes:
        print(f"note: {note}")
    print(
        f"\nload average (1, 5, 15 min) before {load_before}, after {load_after};"
        f" {os.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s"
    )
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {"quick": args.quick, "only": args.only},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "seconds": round(time.perf_counter() - started, 1),
        "figures": figures,
        "notes": notes,
        "details": {s.name: s.details for s in sections},
        "markdown": markdown_table(figures),
    }
    latest, stamped = write(results, args.output)
    print(
        f"results: {latest.relative_to(REPO) if latest.is_relative_to(REPO) else latest}"
        f" and {stamped.name}"
    )
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
