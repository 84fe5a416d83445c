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
from benchmarks._timing import FULL, QUICK, Benchmark, Comparison, Measure, Measurement, compare


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
    if not selected and not measures:
        parser.error(f"no benchmark name contains {args.select!r}")

    results: list[Comparison] = []
    started = time.perf_counter()
    for benchmark in selected:
        print(f"running {benchmark.name} ...", file=sys.stderr, flush=True)
        results.append(compare(benchmark, settings))
    measured: list[Measurement] = []
    for name, measure in measures:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        measured.append(measure(settings))
    elapsed = time.perf_counter() - started

    table = (markdown(results, settings, mode) if results else "") + measurements_markdown(measured)
    print(table, end="")
    print(f"({len(results)} benchmarks in {elapsed:.1f} s)", file=sys.stderr)
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
