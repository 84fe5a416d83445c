"""One-line summaries of what a span recorded: RAG events, feedback, errors, durations.

Pure functions from the decoded model to text, shared by ``view``'s tree and
its JSON output.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ragtel.cli._traces import Event, Feedback
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events, references
from ragtel.semconv.attribute_values import RagtelFeedbackKindValues as FeedbackKind

_QUOTE_LIMIT = 60


def duration(ns: int | None) -> str:
    if ns is None:
        return "-"
    if ns < 1_000_000:
        return f"{ns / 1e6:.2f} ms"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e9:.2f} s"


def local_time(ns: int) -> str:
    moment = dt.datetime.fromtimestamp(ns / 1e9).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def utc_iso(ns: int) -> str:
    moment = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 1_000_000_000:09d}Z"


def quote(text: Any, limit: int = _QUOTE_LIMIT) -> str:
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return f'"{value}"'


def _chunks(count: Any) -> str:
    return "1 chunk" if count == 1 else f"{count} chunks"


def _top_score(scores: Any) -> str:
    numbers = [s for s in scores if isinstance(s, (int, float))] if isinstance(scores, list) else []
    return f", top score {max(numbers):.2f}" if numbers else ""


def _event_name(event: Event) -> str:
    name = event.attributes.get(attrs.RAGTEL_EVENT_NAME)
    return f" ({name})" if isinstance(name, str) and name else ""


def event_summary(event: Event) -> str | None:
    """A RAG event, an exception or any other event as one line; None for feedback events."""
    a = event.attributes
    name = event.name
    if name == events.GEN_AI_EVALUATION_RESULT_EVENT and attrs.RAGTEL_FEEDBACK_KIND in a:
        return None  # shown as feedback
    if name == events.RAGTEL_RETRIEVAL_EVENT:
        text = f"retrieval: {_chunks(a.get(attrs.RAGTEL_CHUNK_COUNT, 0))}"
        text += _top_score(a.get(attrs.RAGTEL_CHUNK_SCORES))
    elif name == events.RAGTEL_RERANK_EVENT:
        before = a.get(attrs.RAGTEL_RERANK_INPUT_IDS)
        after = _chunks(a.get(attrs.RAGTEL_CHUNK_COUNT, 0))
        text = "rerank: " + (f"{len(before)} → {after}" if isinstance(before, list) else after)
        text += _top_score(a.get(attrs.RAGTEL_CHUNK_SCORES))
    elif name == events.RAGTEL_CHUNKING_EVENT:
        text = f"chunking: {_chunks(a.get(attrs.RAGTEL_CHUNK_COUNT, 0))}"
        document = a.get(attrs.RAGTEL_DOCUMENT_NAME) or a.get(attrs.RAGTEL_DOCUMENT_ID)
        if document:
            text += f" of {document}"
    elif name == events.RAGTEL_EMBEDDING_EVENT:
        count = a.get(attrs.RAGTEL_EMBEDDING_COUNT, 0)
        dimensions = a.get(attrs.RAGTEL_EMBEDDING_DIMENSIONS)
        text = f"embedding: {count} × {dimensions}" if dimensions else f"embedding: {count}"
    elif name == events.RAGTEL_QUERY_REWRITE_EVENT:
        rewritten = a.get(attrs.RAGTEL_REWRITTEN_QUERIES)
        text = f"query rewrite: {quote(a.get(attrs.RAGTEL_QUERY, ''))}"
        if isinstance(rewritten, list):
            text += " → " + ", ".join(quote(item, 40) for item in rewritten[:3])
    elif name == events.RAGTEL_TOOL_CALL_EVENT:
        text = f"tool call: {a.get(references.GEN_AI_TOOL_NAME, '?')}"
    elif name == events.RAGTEL_QUERY_EVENT:
        text = f"query: {quote(a.get(attrs.RAGTEL_QUERY, ''))}"
        if attrs.RAGTEL_RESPONSE in a:
            text += f" → {quote(a[attrs.RAGTEL_RESPONSE])}"
    elif name == "exception":
        kind = a.get("exception.type", "exception")
        message = a.get("exception.message")
        return f"exception: {kind}: {message}" if message else f"exception: {kind}"
    else:
        return f"event: {name}"
    return text + _event_name(event)


def feedback_summary(feedback: Feedback) -> str:
    value = feedback.value
    if feedback.kind == FeedbackKind.BINARY.value and isinstance(value, bool):
        shown = "👍 positive" if value else "👎 negative"
    elif feedback.kind == FeedbackKind.NUMERIC.value and isinstance(value, (int, float)):
        shown = f"{value:.2f}"
    elif value is None:
        shown = f"({feedback.kind}, content not recorded)"
    elif feedback.kind == FeedbackKind.CATEGORICAL.value:
        shown = str(value)
    else:
        shown = quote(value)
    by = f" ({feedback.annotator})" if feedback.annotator and feedback.annotator != "human" else ""
    return f"feedback {feedback.name}: {shown}{by}"
