"""The machine a run happened on, and the results as a Markdown table."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from importlib import metadata

from benchmarks._timing import Comparison, Measurement, Settings


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


def markdown(results: Sequence[Comparison], settings: Settings, mode: str) -> str:
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
    lines.append("")
    details = "; ".join(f"{key} {value}" for key, value in environment().items())
    lines.append(f"Mode: {mode} ({settings.rounds} rounds). {details}.")
    return "\n".join(lines) + "\n"


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
