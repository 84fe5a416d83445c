"""``ragtel view``'s output: a trace as a tree of lines, or as one JSON object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ragtel.cli._filters import format_param
from ragtel.cli._style import Style
from ragtel.cli._summaries import (
    duration,
    event_summary,
    feedback_summary,
    local_time,
    utc_iso,
)
from ragtel.cli._traces import Feedback, Span, Trace
from ragtel.semconv import attributes as attrs
from ragtel.semconv import references

_STATUS_NAMES = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _children(trace: Trace) -> tuple[list[Span], dict[str, list[Span]]]:
    """The tree's top spans and each span's children, feedback carriers left out."""
    shown = [span for span in trace.spans if not span.is_feedback]
    ids = {span.span_id for span in shown}
    children: dict[str, list[Span]] = {}
    top: list[Span] = []
    for span in shown:  # already in start order
        if span.parent_id is not None and span.parent_id in ids:
            children.setdefault(span.parent_id, []).append(span)
        else:
            top.append(span)
    if trace.root is not None and trace.root in top:  # the root first, orphans after it
        top.remove(trace.root)
        top.insert(0, trace.root)
    return top, children


def _feedback_by_span(trace: Trace, shown_ids: set[str]) -> dict[str | None, list[Feedback]]:
    placed: dict[str | None, list[Feedback]] = {}
    root_id = trace.root.span_id if trace.root is not None else None
    for item in trace.feedback:
        target = item.target_span_id if item.target_span_id in shown_ids else root_id
        placed.setdefault(target, []).append(item)
    return placed


def trace_lines(trace: Trace, style: Style) -> Iterator[str]:
    """The trace header, its params, then one line per span with its notes indented below."""
    yield _header(trace, style)
    if trace.params:
        params = "  ".join(
            f"{style(key, 'cyan')}={format_param(value)}"
            for key, value in sorted(trace.params.items())
        )
        yield f"  params: {params}"
    top, children = _children(trace)
    feedback = _feedback_by_span(trace, {span.span_id for span in trace.spans})
    if not top:
        for item in feedback.get(None, ()):
            yield "  " + style(feedback_summary(item), "magenta")
        return
    for index, span in enumerate(top):
        yield from _span_lines(span, children, feedback, style, "  ", index == len(top) - 1, True)


def _span_lines(
    span: Span,
    children: dict[str, list[Span]],
    feedback: dict[str | None, list[Feedback]],
    style: Style,
    prefix: str,
    is_last: bool,
    is_top: bool,
) -> Iterator[str]:
    branch = "" if is_top else ("└─ " if is_last else "├─ ")
    yield prefix + branch + _span_line(span, style)
    below = prefix + ("" if is_top else ("   " if is_last else "│  "))
    kids = children.get(span.span_id, [])
    note_prefix = below + ("│ " if kids else "  ")
    for event in span.events:
        summary = event_summary(event)
        if summary is not None:
            color = "red" if event.name == "exception" else "dim"
            yield note_prefix + style(summary, color)
    for item in feedback.get(span.span_id, ()):
        yield note_prefix + style(feedback_summary(item), "magenta")
    for index, child in enumerate(kids):
        yield from _span_lines(
            child, children, feedback, style, below, index == len(kids) - 1, False
        )


def _span_line(span: Span, style: Style) -> str:
    parts = [style(span.name, "bold"), style(duration(span.duration), "dim")]
    if span.kind:
        parts.append(style(f"[{span.kind}]", "blue"))
    model = span.attributes.get(references.GEN_AI_REQUEST_MODEL)
    if isinstance(model, str):
        parts.append(style(model, "dim"))
    if span.is_error:
        message = f"ERROR {span.status_message}" if span.status_message else "ERROR"
        parts.append(style(message, "red", "bold"))
    elif span.status_code == 1:
        parts.append(style("OK", "green"))
    return "  ".join(parts)


def _header(trace: Trace, style: Style) -> str:
    parts = [
        style(f"trace {trace.trace_id}", "yellow", "bold"),
        local_time(trace.start),
        duration(trace.latency),
    ]
    if trace.flow:
        parts.append(trace.flow)
    project = _project(trace)
    if project:
        parts.append(project)
    if trace.has_error:
        parts.append(style("ERROR", "red", "bold"))
    return "  ".join(parts)


def _project(trace: Trace) -> str | None:
    if trace.root is None:
        return None
    name = trace.root.attributes.get(attrs.RAGTEL_PROJECT_NAME)
    if isinstance(name, str) and name:
        return name
    return trace.root.service or None


def trace_json(trace: Trace) -> dict[str, Any]:
    """The trace as one JSON-ready object: what the tree shows, in fields."""
    return {
        "trace_id": trace.trace_id,
        "start": utc_iso(trace.start),
        "duration_ms": _ms(trace.latency),
        "root": trace.root.name if trace.root is not None else None,
        "flow": trace.flow,
        "project": _project(trace),
        "error": trace.has_error,
        "params": trace.params,
        "feedback": [
            {
                "kind": item.kind,
                "name": item.name,
                "value": item.value,
                "annotator": item.annotator,
                "span_id": item.target_span_id,
            }
            for item in trace.feedback
        ],
        "spans": [_span_json(span) for span in trace.spans if not span.is_feedback],
    }


def _span_json(span: Span) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "parent_span_id": span.parent_id,
        "name": span.name,
        "start": utc_iso(span.start),
        "duration_ms": _ms(span.duration),
        "kind": span.kind,
        "status": _STATUS_NAMES.get(span.status_code, str(span.status_code)),
        "status_message": span.status_message or None,
        "events": [s for s in (event_summary(event) for event in span.events) if s is not None],
    }


def _ms(ns: int | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)
