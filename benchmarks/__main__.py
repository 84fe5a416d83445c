"""Run every benchmark: ``python -m benchmarks [--quick] [--output FILE] [--no-check]``.

Exits with status 1 when a benchmark misses its ratio target (unless
``--no-check``), so it can gate a CI job.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from collections.abc import Sequence

import benchmarks
from benchmarks._report import markdown, measurements_markdown
from benchmarks._timing import (
    FULL,
    QUICK,
    Benchmark,
    Comparison,
    Lineup,
    LineupResult,
    Measure,
    Measurement,
    compare,
    measure_lineup,
)


def _modules() -> list[object]:
    return [
        importlib.import_module(f"benchmarks.{info.name}")
        for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name)
        if info.name.startswith("bench_")
    ]


def discover() -> list[Benchmark]:
    """The ``BENCHMARKS`` of every ``bench_*`` module in this package, in module order."""
    return [b for module in _modules() for b in getattr(module, "BENCHMARKS", [])]


def discover_measurements() -> list[tuple[str, Measure]]:
    """The ``MEASUREMENTS`` (name, function) of every ``bench_*`` module."""
    return [m for module in _modules() for m in getattr(module, "MEASUREMENTS", [])]


def discover_lineups() -> list[Lineup]:
    """The ``LINEUPS`` (reports against several peers, no target) of every ``bench_*`` module."""
    return [lineup for module in _modules() for lineup in getattr(module, "LINEUPS", [])]


def unavailable_notes() -> list[str]:
    """Each module's ``UNAVAILABLE``: one line on what it cannot measure here, and why."""
    notes = (getattr(module, "UNAVAILABLE", None) for module in _modules())
    return [note for note in notes if note]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure ragtel against the plain OpenTelemetry SDK, interleaved in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="a short run (noisier figures)")
    parser.add_argument("--output", metavar="FILE", help="also write the Markdown table to FILE")
    parser.add_argument(
        "--no-check", action="store_true", help="exit 0 even when a ratio target is missed"
    )
    parser.add_argument(
        "-k", metavar="TEXT", dest="select", help="only benchmarks whose name contains TEXT"
    )
    args = parser.parse_args(argv)

    settings = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    selected = [b for b in discover() if not args.select or args.select in b.name]
    measures = [m for m in discover_measurements() if not args.select or args.select in m[0]]
    lineups = [
        lineup for lineup in discover_lineups() if not args.select or args.select in lineup.name
    ]
    notes = [note for note in unavailable_notes() if not args.select or args.select in note]
    for note in notes:
        print(f"not measured: {note}", file=sys.stderr, flush=True)
    if not selected and not measures and not lineups and not notes:
        parser.error(f"no benchmark name contains {args.select!r}")

    results: list[Comparison] = []
    started = time.perf_counter()
    for benchmark in selected:
        print(f"running {benchmark.name} ...", file=sys.stderr, flush=True)
        results.append(compare(benchmark, settings))
    lined_up: list[LineupResult] = []
    for lineup in lineups:
        print(f"running {lineup.name} ...", file=sys.stderr, flush=True)
        lined_up.append(measure_lineup(lineup, settings))
    measured: list[Measurement] = []
    for name, measure in measures:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        measured.append(measure(settings))
    elapsed = time.perf_counter() - started

    table = markdown(results, settings, mode, lined_up) if results or lined_up else ""
    table += measurements_markdown(measured)
    if notes:
        table += ("\n" if table else "") + "".join(f"Not measured: {note}\n" for note in notes)
    print(table, end="")
    print(f"({len(results) + len(lined_up)} benchmarks in {elapsed:.1f} s)", file=sys.stderr)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as output:
            output.write(table)

    missed = [result.name for result in [*results, *measured] if not result.passed]
    if missed and not args.no_check:
        print(f"target missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
