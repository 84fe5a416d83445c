"""The machine a run happened on, and the results as a Markdown table."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from importlib import metadata

from benchmarks._timing import Comparison, LineupResult, Measurement, Settings


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    return {
        "CPU": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        "OS": f"{platform.system()} {platform.machine()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "opentelemetry-sdk": _version("opentelemetry-sdk"),
        "ragtel": _version("ragtel"),
    }


def _microseconds(nanoseconds: float) -> str:
    return f"{nanoseconds / 1000:.2f}"


def _rate(nanoseconds: float, unit: str) -> str:
    return f"{1e9 / nanoseconds:,.0f} {unit}s/s"


def _time_table(results: Sequence[Comparison]) -> list[str]:
    lines = [
        "| Benchmark | Baseline median (µs/op) | ragtel median (µs/op) | Ratio | Target | Result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {_microseconds(result.baseline_ns)} "
            f"| {_microseconds(result.candidate_ns)} | {result.ratio:.3f} "
            f"| ≤ {result.target:.2f} | {'pass' if result.passed else 'FAIL'} |"
        )
    return lines


def _throughput_table(results: Sequence[Comparison]) -> list[str]:
    lines = [
        "| Benchmark | Baseline median | ragtel median | Ratio (ragtel / baseline rate) "
        "| Target | Result | Checked |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {_rate(result.baseline_ns, result.unit)} "
            f"| {_rate(result.candidate_ns, result.unit)} | {result.ratio:.3f} "
            f"| ≥ {result.target:.2f} | {'pass' if result.passed else 'FAIL'} "
            f"| {result.detail or '—'} |"
        )
    return lines


def _lineup_tables(results: Sequence[LineupResult]) -> list[str]:
    """One table per run of lineups with the same sides; every ratio is to the baseline."""
    lines: list[str] = []
    labels: tuple[str, ...] = ()
    for result in results:
        if result.labels != labels:
            labels = result.labels
            lines += [
                "",
                f"| Operation | {labels[0]} (µs/op) | "
                + " | ".join(f"{label} (µs/op, ratio)" for label in labels[1:])
                + " | Rounds × ops |",
                "|---|" + "---:|" * len(labels) + "---:|",
            ]
        cells = [_microseconds(result.medians_ns[0])] + [
            f"{_microseconds(median)} ({result.ratio(index):.2f}×)"
            for index, median in enumerate(result.medians_ns)
            if index
        ]
        lines.append(f"| {result.name} | {' | '.join(cells)} | {result.rounds} × {result.loops} |")
    notes = dict.fromkeys(result.note for result in results if result.note)
    if notes:
        lines += ["", *notes]
    return lines


def markdown(
    results: Sequence[Comparison],
    settings: Settings,
    mode: str,
    lineups: Sequence[LineupResult] = (),
) -> str:
    timed = [result for result in results if not result.higher_is_better]
    rates = [result for result in results if result.higher_is_better]
    lines: list[str] = []
    if timed:
        lines += _time_table(timed)
    if rates:
        lines += ([""] if lines else []) + _throughput_table(rates)
    if results:
        lines += [
            "",
            "| Benchmark | Rounds | Ops per round and side | Per-round ratio: p25 / median / p75 |",
            "|---|---:|---:|---|",
        ]
    for result in results:
        q1, q2, q3 = result.round_ratio_quartiles()
        lines.append(
            f"| {result.name} | {result.rounds} | {result.loops} | {q1:.3f} / {q2:.3f} / {q3:.3f} |"
        )
    lines += _lineup_tables(lineups)
    lines.append("")
    details = "; ".join(f"{key} {value}" for key, value in environment().items())
    lines.append(f"Mode: {mode} ({settings.rounds} rounds). {details}.")
    return "\n".join(lines).lstrip("\n") + "\n"


def measurements_markdown(results: Sequence[Measurement]) -> str:
    if not results:
        return ""
    lines = ["", "| Measurement | Value | Limit | Result | Detail |", "|---|---:|---:|---|---|"]
    for result in results:
        lines.append(
            f"| {result.name} | {result.value:.2f} {result.unit} "
            f"| ≤ {result.limit:g} {result.unit} "
            f"| {'pass' if result.passed else 'FAIL'} | {result.detail} |"
        )
    return "\n".join(lines) + "\n"
