"""``ragtel view``'s output: a trace as a tree of lines, or as one JSON object."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Forest:
    """The spans to draw: the tops in order, and each span's children by its place in ``spans``.

    Keyed by place, not by span id, because a crafted file can give two spans
    one id; each span is placed exactly once, so no id loop can repeat one.
    """

    spans: list[Span]
    tops: list[int]
    children: dict[int, list[int]]
    in_loop: set[int]


def _forest(trace: Trace) -> _Forest:
    """The tree's top spans and each span's children, feedback carriers left out.

    A span whose parent is missing from the file is a top. Spans whose parents
    only lead round in a loop (a span its own parent, two spans each other's,
    two spans sharing an id) would never be reached from a top: each of them
    that is still unplaced becomes a top too, in start order, so no span is dropped.
    """
    shown = [span for span in trace.spans if not span.is_feedback]  # already in start order
    ids = {span.span_id for span in shown}
    by_parent: dict[str, list[int]] = {}
    tops: list[int] = []
    for index, span in enumerate(shown):
        if span.parent_id is not None and span.parent_id in ids:
            by_parent.setdefault(span.parent_id, []).append(index)
        else:
            tops.append(index)
    if trace.root is not None:  # the root first, orphans after it
        root = next((i for i in tops if shown[i] is trace.root), None)
        if root is not None:
            tops.remove(root)
            tops.insert(0, root)
    placed: set[int] = set(tops)
    children: dict[int, list[int]] = {}
    in_loop: set[int] = set()

    def claim(pending: list[int]) -> None:
        # Iterative, so a legal chain thousands deep needs no deep recursion.
        while pending:
            index = pending.pop()
            kids = [i for i in by_parent.get(shown[index].span_id, ()) if i not in placed]
            placed.update(kids)
            if kids:
                children[index] = kids
                pending.extend(kids)

    claim(list(tops))
    for index in range(len(shown)):
        if index not in placed:
            placed.add(index)
            tops.append(index)
            in_loop.add(index)
            claim([index])
    return _Forest(shown, tops, children, in_loop)


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
    forest = _forest(trace)
    feedback = _feedback_by_span(trace, {span.span_id for span in trace.spans})
    if not forest.tops:
        for item in feedback.get(None, ()):
            yield "  " + style(feedback_summary(item), "magenta")
        return
    yield from _tree_lines(forest, feedback, style)


def _tree_lines(
    forest: _Forest, feedback: dict[str | None, list[Feedback]], style: Style
) -> Iterator[str]:
    """Each span's line and notes, children below: depth first, with a stack, not recursion."""
    # (span's place, prefix, is last of its siblings, is a top), the next to draw at the end
    stack = [(index, "  ", n == len(forest.tops) - 1, True) for n, index in enumerate(forest.tops)]
    stack.reverse()
    while stack:
        index, prefix, is_last, is_top = stack.pop()
        span = forest.spans[index]
        branch = "" if is_top else ("└─ " if is_last else "├─ ")
        line = prefix + branch + _span_line(span, style)
        if index in forest.in_loop:
            line += "  " + style("(its parents form a loop)", "yellow")
        yield line
        below = prefix + ("" if is_top else ("   " if is_last else "│  "))
        kids = forest.children.get(index, [])
        note_prefix = below + ("│ " if kids else "  ")
        for event in span.events:
            summary = event_summary(event)
            if summary is not None:
                color = "red" if event.name == "exception" else "dim"
                yield note_prefix + style(summary, color)
        for item in feedback.get(span.span_id, ()):
            yield note_prefix + style(feedback_summary(item), "magenta")
        stack.extend(
            (kid, below, n == len(kids) - 1, False) for n, kid in reversed(list(enumerate(kids)))
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
