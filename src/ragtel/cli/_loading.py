"""Reading a traces file: each line decoded, its spans grouped by trace, each trace assembled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ragtel.cli._arguments import DEFAULT_MAX_LINE_BYTES
from ragtel.cli._jsonl import (
    LineStats,
    numbered_otlp_lines,
    raise_if_nothing_readable,
)
from ragtel.cli._otlp_decoding import DECODE_ERRORS, count_log_records, decode_line, error_reason
from ragtel.cli._traces import Feedback, Span, Trace
from ragtel.semconv import attributes as attrs
from ragtel.semconv import references
from ragtel.semconv.attribute_values import RagtelFeedbackKindValues as FeedbackKind


@dataclass
class FileContents:
    """Every trace of a file, oldest first, and what could not be read."""

    traces: list[Trace]
    stats: LineStats
    span_count: int = 0
    log_record_count: int = 0


def load(path: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> FileContents:
    """Read ``path`` and assemble its traces, ordered by start time.

    A span that does not decode (a bad id, a time out of range, a value of the
    wrong type) is skipped and counted with its line; a line whose structure is
    wrong is skipped whole. Nothing in a file makes this raise but the
    :class:`CliError` of an unreadable file.
    """
    stats = LineStats(path)
    by_trace: dict[str, list[Span]] = {}
    span_count = log_record_count = 0
    for line_number, data in numbered_otlp_lines(path, stats, max_line_bytes):
        try:
            spans, bad_spans, reason = decode_line(data)
            log_records = count_log_records(data)
        except DECODE_ERRORS as error:
            stats.reject_line(line_number, f"malformed OTLP line: {error_reason(error)}")
            continue
        if bad_spans:
            stats.skip_spans(line_number, bad_spans, reason)
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        span_count += len(spans)
        log_record_count += log_records
    raise_if_nothing_readable(stats)
    traces = [_assemble(trace_id, spans) for trace_id, spans in by_trace.items()]
    traces.sort(key=lambda trace: (trace.start, trace.trace_id))
    return FileContents(traces, stats, span_count, log_record_count)


def _assemble(trace_id: str, spans: list[Span]) -> Trace:
    spans.sort(key=lambda span: (span.start, span.span_id))
    root = _find_root(spans)
    return Trace(trace_id, spans, root, _trace_params(spans, root), list(_trace_feedback(spans)))


def _find_root(spans: list[Span]) -> Span | None:
    """The earliest span without a parent, else the earliest whose parent is not in the file,
    else the earliest span: in a crafted file every parent link may lead round in a loop.

    Feedback carriers never count: project feedback is a trace of its own
    with no root, and a carrier for a trace this file lacks has none either.
    """
    ids = {span.span_id for span in spans}
    shown = [s for s in spans if not s.is_feedback]
    orphans = [s for s in shown if s.parent_id is None or s.parent_id not in ids]
    parentless = [s for s in orphans if s.parent_id is None]
    candidates = parentless or orphans or shown
    return candidates[0] if candidates else None  # spans are in start order


def _trace_params(spans: list[Span], root: Span | None) -> dict[str, Any]:
    """The root's ParamSet, completed by other local roots (a trace that crossed processes)."""
    params: dict[str, Any] = {}
    removed: set[str] = set()
    ordered = ([root] if root is not None else []) + [s for s in spans if s is not root]
    for span in ordered:
        if not span.params:
            continue
        for key, value in span.params.items():
            params.setdefault(key, value)
        gone = span.attributes.get(attrs.RAGTEL_PARAM_SET_REMOVED)
        if isinstance(gone, list) and span is root:
            removed.update(str(key) for key in gone)
    for key in removed:
        params.pop(key, None)
    return params


def _trace_feedback(spans: list[Span]) -> Iterator[Feedback]:
    for span in spans:
        if span.is_feedback:
            target = span.attributes.get(attrs.RAGTEL_FEEDBACK_TARGET_SPAN_ID) or span.parent_id
            yield _feedback(span.attributes, target, span.start)
        for event in span.events:
            if attrs.RAGTEL_FEEDBACK_KIND in event.attributes:
                yield _feedback(event.attributes, span.span_id, event.time)


def _feedback(attributes: dict[str, Any], target: str | None, time: int) -> Feedback:
    kind = str(attributes.get(attrs.RAGTEL_FEEDBACK_KIND))
    if kind == FeedbackKind.BINARY.value:
        value: Any = attributes.get(attrs.RAGTEL_FEEDBACK_VALUE_BINARY)
    elif kind == FeedbackKind.NUMERIC.value:
        value = attributes.get(attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC)
    elif kind == FeedbackKind.CATEGORICAL.value:
        value = attributes.get(references.GEN_AI_EVALUATION_SCORE_LABEL)
    else:  # text and json: the text itself, absent when content capture was off
        value = attributes.get(attrs.RAGTEL_FEEDBACK_VALUE_TEXT)
    annotator = attributes.get(attrs.RAGTEL_FEEDBACK_ANNOTATOR)
    return Feedback(
        kind=kind,
        name=str(attributes.get(references.GEN_AI_EVALUATION_NAME) or "feedback"),
        value=value,
        annotator=annotator if isinstance(annotator, str) else None,
        target_span_id=target if isinstance(target, str) else None,
        time=time,
    )
