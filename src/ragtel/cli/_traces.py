"""Traces assembled from an OTLP JSON Lines file, kept small enough for 100,000 spans.

Only what ``view`` and ``report`` show is decoded: names, times, status, the
RAG step kind, ParamSet entries, feedback and the few event attributes the
summaries need. Content (chunk texts, inputs, outputs, stack traces) stays
in the file, so memory grows with the number of spans, not with their size.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ragtel.cli._jsonl import (
    LOGS_JSON,
    BadLine,
    LineStats,
    count_items,
    numbered_otlp_lines,
    raise_if_nothing_readable,
)
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events, references
from ragtel.semconv.attribute_values import RagtelFeedbackKindValues as FeedbackKind

_PARAM_PREFIX = attrs.RAGTEL_PARAM_PREFIX
# The namespace every feedback attribute shares.
_FEEDBACK_PREFIX = attrs.RAGTEL_FEEDBACK_KIND.rpartition(".")[0] + "."
_STATUS_ERROR = 2
_SERVICE_NAME = "service.name"

# Attributes decoded on spans; everything else is skipped unread.
_SPAN_KEYS = frozenset(
    {
        attrs.RAGTEL_SPAN_KIND,
        attrs.RAGTEL_RAG_FLOW_TYPE,
        attrs.RAGTEL_PROJECT_NAME,
        attrs.RAGTEL_PARAM_SET_REMOVED,
        references.GEN_AI_OPERATION_NAME,
        references.GEN_AI_REQUEST_MODEL,
        references.GEN_AI_USAGE_INPUT_TOKENS,
        references.GEN_AI_USAGE_OUTPUT_TOKENS,
        references.GEN_AI_EVALUATION_NAME,
        references.GEN_AI_EVALUATION_SCORE_LABEL,
        references.GEN_AI_EVALUATION_SCORE_VALUE,
    }
)
# Attributes decoded on events: what the one-line summaries need.
_EVENT_KEYS = frozenset(
    {
        attrs.RAGTEL_EVENT_NAME,
        attrs.RAGTEL_CHUNK_COUNT,
        attrs.RAGTEL_CHUNK_SCORES,
        attrs.RAGTEL_DOCUMENT_ID,
        attrs.RAGTEL_DOCUMENT_NAME,
        attrs.RAGTEL_EMBEDDING_COUNT,
        attrs.RAGTEL_EMBEDDING_DIMENSIONS,
        attrs.RAGTEL_QUERY,
        attrs.RAGTEL_REWRITTEN_QUERIES,
        attrs.RAGTEL_RERANK_INPUT_IDS,
        attrs.RAGTEL_RESPONSE,
        references.GEN_AI_TOOL_NAME,
        references.GEN_AI_EVALUATION_NAME,
        references.GEN_AI_EVALUATION_SCORE_LABEL,
        references.GEN_AI_EVALUATION_SCORE_VALUE,
        "exception.type",
        "exception.message",
    }
)


@dataclass(slots=True)
class Event:
    name: str
    time: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start: int
    end: int
    status_code: int
    status_message: str
    service: str
    attributes: dict[str, Any]
    params: dict[str, Any]
    events: list[Event]

    @property
    def duration(self) -> int:
        return max(self.end - self.start, 0)

    @property
    def is_error(self) -> bool:
        return self.status_code == _STATUS_ERROR

    @property
    def is_feedback(self) -> bool:
        return attrs.RAGTEL_FEEDBACK_KIND in self.attributes

    @property
    def kind(self) -> str | None:
        """The RAG step: ``ragtel.span.kind``, else the GenAI operation name."""
        value = self.attributes.get(attrs.RAGTEL_SPAN_KIND) or self.attributes.get(
            references.GEN_AI_OPERATION_NAME
        )
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class Feedback:
    """One piece of feedback, from a carrier span or an evaluation event."""

    kind: str
    name: str
    value: Any  # bool (binary), float (numeric), str (category or text), or None
    annotator: str | None
    target_span_id: str | None
    time: int


@dataclass
class Trace:
    trace_id: str
    spans: list[Span]
    root: Span | None
    params: dict[str, Any]
    feedback: list[Feedback]

    @property
    def start(self) -> int:
        return self.root.start if self.root is not None else min(s.start for s in self.spans)

    @property
    def latency(self) -> int | None:
        return self.root.duration if self.root is not None else None

    @property
    def has_error(self) -> bool:
        return any(span.is_error for span in self.spans)

    @property
    def flow(self) -> str | None:
        value = self.root.attributes.get(attrs.RAGTEL_RAG_FLOW_TYPE) if self.root else None
        return value if isinstance(value, str) else None


@dataclass
class FileContents:
    """Every trace of a file, oldest first, and what could not be read."""

    traces: list[Trace]
    stats: LineStats
    span_count: int = 0
    log_record_count: int = 0


def load(path: str) -> FileContents:
    """Read ``path`` and assemble its traces, ordered by start time."""
    stats = LineStats(path)
    by_trace: dict[str, list[Span]] = {}
    span_count = log_record_count = 0
    for line_number, data in numbered_otlp_lines(path, stats):
        try:
            spans = list(_decode_spans(data))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            stats.good_lines -= 1
            stats.bad_lines.append(BadLine(line_number, f"malformed OTLP span: {error!r:.80}"))
            continue
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        span_count += len(spans)
        log_record_count += count_items(data, LOGS_JSON)
    stats.bad_lines.sort(key=lambda bad: bad.number)
    raise_if_nothing_readable(stats)
    traces = [_assemble(trace_id, spans) for trace_id, spans in by_trace.items()]
    traces.sort(key=lambda trace: (trace.start, trace.trace_id))
    return FileContents(traces, stats, span_count, log_record_count)


def _decode_spans(data: dict[str, Any]) -> Iterator[Span]:
    for resource_spans in data.get("resourceSpans", ()):
        resource = resource_spans.get("resource") or {}
        service = _string_attribute(resource.get("attributes", ()), _SERVICE_NAME)
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for raw in scope_spans.get("spans", ()):
                yield _decode_span(raw, service)


def _decode_span(raw: dict[str, Any], service: str) -> Span:
    attributes: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for item in raw.get("attributes", ()):
        key = item["key"]
        if key.startswith(_PARAM_PREFIX):
            params[key[len(_PARAM_PREFIX) :]] = any_value(item.get("value"))
        elif key in _SPAN_KEYS or key.startswith(_FEEDBACK_PREFIX):
            attributes[key] = any_value(item.get("value"))
    status = raw.get("status") or {}
    trace_id = raw["traceId"]
    span_id = raw["spanId"]
    if not isinstance(trace_id, str) or not isinstance(span_id, str) or not trace_id:
        raise ValueError("traceId and spanId must be hex strings")
    return Span(
        trace_id=trace_id.lower(),
        span_id=span_id.lower(),
        parent_id=(raw.get("parentSpanId") or "").lower() or None,
        name=str(raw.get("name", "")),
        start=int(raw.get("startTimeUnixNano") or 0),
        end=int(raw.get("endTimeUnixNano") or 0),
        status_code=int(status.get("code") or 0),
        status_message=str(status.get("message") or ""),
        service=service,
        attributes=attributes,
        params=params,
        events=[_decode_event(event) for event in raw.get("events", ())],
    )


def _decode_event(raw: dict[str, Any]) -> Event:
    name = str(raw.get("name", ""))
    keep_all_feedback = name == events.GEN_AI_EVALUATION_RESULT_EVENT
    attributes = {
        item["key"]: any_value(item.get("value"))
        for item in raw.get("attributes", ())
        if item["key"] in _EVENT_KEYS
        or (keep_all_feedback and item["key"].startswith(_FEEDBACK_PREFIX))
    }
    return Event(name, int(raw.get("timeUnixNano") or 0), attributes)


def _string_attribute(items: Iterable[dict[str, Any]], key: str) -> str:
    for item in items:
        if item.get("key") == key:
            value = any_value(item.get("value"))
            return value if isinstance(value, str) else ""
    return ""


def any_value(value: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` as the Python value it holds (None when empty)."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])  # also "NaN" and "Infinity", as OTLP/JSON writes them
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in (value["arrayValue"] or {}).get("values", ())]
    if "kvlistValue" in value:
        return {
            item["key"]: any_value(item.get("value"))
            for item in (value["kvlistValue"] or {}).get("values", ())
        }
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


# Assembling a trace ---------------------------------------------------------------


def _assemble(trace_id: str, spans: list[Span]) -> Trace:
    spans.sort(key=lambda span: (span.start, span.span_id))
    root = _find_root(spans)
    return Trace(trace_id, spans, root, _trace_params(spans, root), list(_trace_feedback(spans)))


def _find_root(spans: list[Span]) -> Span | None:
    """The earliest span without a parent, else the earliest whose parent is not in the file.

    Feedback carriers never count: project feedback is a trace of its own
    with no root, and a carrier for a trace this file lacks has none either.
    """
    ids = {span.span_id for span in spans}
    orphans = [
        s for s in spans if not s.is_feedback and (s.parent_id is None or s.parent_id not in ids)
    ]
    parentless = [s for s in orphans if s.parent_id is None]
    candidates = parentless or orphans
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


def span_name_matches(trace: Trace, pattern: str) -> bool:
    """Whether any span of ``trace`` has a name matching the glob ``pattern``."""
    return any(fnmatch.fnmatchcase(span.name, pattern) for span in trace.spans)
