"""``ragtel report``'s three outputs: an aligned table, CSV and JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from ragtel.cli._filters import format_param
from ragtel.cli._json_text import json_text
from ragtel.cli._jsonl import LineStats
from ragtel.cli._style import Style
from ragtel.cli._summaries import duration
from ragtel.cli.report.groups import GroupStats, Report

_FIGURE_COLUMNS = ("traces", "p50", "p95", "errors", "thumbs up", "score", "categories", "text")


def notes(report: Report) -> Iterator[str]:
    """What the table leaves out: fixed params, params that vary ungrouped, traces left out."""
    if report.fixed:
        fixed = ", ".join(f"{key}={format_param(value)}" for key, value in report.fixed.items())
        yield f"fixed: {fixed}"
    if report.varying:
        varying = ", ".join(f"{key} ({count} values)" for key, count in report.varying.items())
        yield f"also varying, not grouped: {varying}"
    if report.left_out_traces:
        noun = "trace" if report.left_out_traces == 1 else "traces"
        lacking = ", ".join(f"{key}: {count:,}" for key, count in sorted(report.left_out.items()))
        yield f"left out {report.left_out_traces:,} {noun} without a --by param ({lacking})"


def table(report: Report, style: Style) -> str:
    header = [*report.by, *_FIGURE_COLUMNS]
    rows = [[*map(format_param, group.values), *_figures(group)] for group in report.groups]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = range(len(report.by), len(report.by) + 6)  # right-aligned figure columns

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    lines = [style(line(header), "bold"), *(line(row) for row in rows)]
    return "\n".join(lines)


def _figures(group: GroupStats) -> list[str]:
    thumbs = group.thumbs_up_rate
    score = group.score_mean
    return [
        f"{group.traces:,}",
        duration(group.latency(0.5)),
        duration(group.latency(0.95)),
        _percent(group.error_rate),
        f"{_percent(thumbs)} of {group.binary_count}" if thumbs is not None else "-",
        f"{score:.2f} ({group.numeric_count})" if score is not None else "-",
        ", ".join(f"{label} {count}" for label, count in sorted(group.categories.items())) or "-",
        str(group.text_count),
    ]


def _percent(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def csv_text(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            *map(_text_cell, report.by),
            "traces",
            "latency_p50_ms",
            "latency_p95_ms",
            "errors",
            "error_rate",
            "binary_count",
            "thumbs_up_rate",
            "score_count",
            "score_mean",
            "categories",
            "text_count",
            "json_count",
        ]
    )
    for group in report.groups:
        writer.writerow(
            [
                *map(_value_cell, group.values),
                group.traces,
                _ms(group.latency(0.5)),
                _ms(group.latency(0.95)),
                group.errors,
                _round(group.error_rate),
                group.binary_count,
                _round(group.thumbs_up_rate),
                group.numeric_count,
                _round(group.score_mean),
                _text_cell(
                    ";".join(
                        f"{label}={count}" for label, count in sorted(group.categories.items())
                    )
                ),
                group.text_count,
                group.json_count,
            ]
        )
    return out.getvalue()


# A spreadsheet opening the CSV runs a cell starting with one of these as a formula
# (CSV injection): such text gets a leading apostrophe, which shows it as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _value_cell(value: Any) -> str:
    """A param value as a CSV cell: numbers as they are, text guarded against formulas."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_param(value)
    return _text_cell(format_param(value))


def _text_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def json_object(report: Report, path: str, stats: LineStats) -> dict[str, Any]:
    return {
        "file": path,
        "by": report.by,
        "traces": report.traces,
        "fixed": report.fixed,
        "varying": report.varying,
        "left_out": {"traces": report.left_out_traces, "by_param": report.left_out},
        # The first KEPT_BAD_LINES of them; the counts are complete.
        "skipped_lines": sorted({bad.number for bad in stats.bad_lines}),
        "skipped_line_count": stats.skipped,
        "skipped_span_count": stats.skipped_spans,
        "groups": [_group_json(report.by, group) for group in report.groups],
    }


def _group_json(by: list[str], group: GroupStats) -> dict[str, Any]:
    return {
        "params": dict(zip(by, group.values, strict=True)),
        "traces": group.traces,
        "latency_ms": {"p50": _ms(group.latency(0.5)), "p95": _ms(group.latency(0.95))},
        "errors": group.errors,
        "error_rate": _round(group.error_rate),
        "feedback": {
            "binary_count": group.binary_count,
            "thumbs_up": group.binary_positive,
            "thumbs_up_rate": _round(group.thumbs_up_rate),
            "score_count": group.numeric_count,
            "score_mean": _round(group.score_mean),
            "scores_by_name": {
                name: {"count": len(scores), "mean": _round(sum(scores) / len(scores))}
                for name, scores in sorted(group.numeric_by_name.items())
            },
            "categories": dict(sorted(group.categories.items())),
            "text_count": group.text_count,
            "json_count": group.json_count,
        },
    }


def _ms(ns: int | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def dumps(data: dict[str, Any]) -> str:
    return json_text(data, indent=2)
