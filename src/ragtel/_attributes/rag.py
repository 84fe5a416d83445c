"""Pure builders: RAG event data in, a span event and span attributes out.

Each ``*_record`` function validates its arguments (raising TypeError or
ValueError naming the argument), and returns an
:class:`~ragtel._attributes.events.EventRecord`: the event's name and
attributes, and the attributes its span gets (the step kind and the GenAI
mirror, and OpenInference's keys in compatibility mode). Nothing here touches
a span, so each builder can be tested alone, or used with any tracer. How
chunks are read and recorded is :mod:`ragtel._attributes.chunks`'s business.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragtel._attributes import openinference as oi
from ragtel._attributes.chunks import (
    add_chunk_texts,
    chunk_contents,
    chunk_extras,
    documents_json,
    read_chunks,
    read_document,
    scored_chunk_attributes,
)
from ragtel._attributes.events import (
    Attributes,
    EventRecord,
    Metadata,
    add_name_and_metadata,
    as_event_kind,
    captured,
    check_text,
    recorded_contents_of,
    recorded_text_of,
    recorded_texts_of,
    step_attributes,
)
from ragtel._config import CaptureConfig
from ragtel._encoding.arguments import read_sequence
from ragtel._encoding.encoder import (
    clean_text,
    encode_json,
    masked_json,
    masked_text,
    plain_text,
    quoted,
    recorded_text,
)
from ragtel._types import RAGEventType
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events
from ragtel.semconv.references import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_RETRIEVAL_DOCUMENTS,
    GEN_AI_RETRIEVAL_QUERY_TEXT,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
)


def span_event_record(
    *,
    input: object,
    output: object,
    event_data: object,
    event_kind: RAGEventType | str,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A step's input, output and data (``ragtel.span_event``), once per span."""
    kind = as_event_kind(event_kind)
    attributes: Attributes = {attrs.RAGTEL_SPAN_KIND: kind.value}
    # Masked once: the mime types below follow what the mask returned.
    masked_input, masked_output = captured(input, capture), captured(output, capture)
    if capture.capture_content:
        if masked_input is not None:
            attributes[attrs.RAGTEL_INPUT] = recorded_text(masked_input, capture.limits)
        if masked_output is not None:
            attributes[attrs.RAGTEL_OUTPUT] = recorded_text(masked_output, capture.limits)
        if event_data is not None:
            attributes[attrs.RAGTEL_EVENT_DATA] = masked_text(event_data, capture)
    add_name_and_metadata(attributes, metadata=None, name=name, capture=capture)
    span_attributes = step_attributes(kind)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.io(
                input=recorded_text_of(attributes, attrs.RAGTEL_INPUT),
                output=recorded_text_of(attributes, attrs.RAGTEL_OUTPUT),
                # Values that are not text were recorded as JSON.
                input_json=not isinstance(masked_input, str),
                output_json=not isinstance(masked_output, str),
            )
        )
    return EventRecord(kind, events.RAGTEL_SPAN_EVENT, attributes, span_attributes)


def trace_event_record(
    *,
    input: object,
    output: object,
    metadata: object,
    capture: CaptureConfig,
    name: str | None = None,
) -> EventRecord:
    """The input and output of a whole flow (``ragtel.trace_event``), once per trace.

    ``name`` is the event's own name (LastMile's ``add_rag_event_for_trace``).
    """
    attributes: Attributes = {}
    if capture.capture_content:
        if input is not None:
            attributes[attrs.RAGTEL_INPUT] = masked_text(input, capture)
        if output is not None:
            attributes[attrs.RAGTEL_OUTPUT] = masked_text(output, capture)
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    return EventRecord(RAGEventType.CUSTOM, events.RAGTEL_TRACE_EVENT, attributes, {})


def chunking_record(
    *,
    input_document: object,
    output_chunks: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A document split into chunks: their ids, count and (captured) contents."""
    chunks = read_chunks(
        output_chunks, "output_chunks", scored=False, max_length=capture.limits.max_length
    )
    attributes: Attributes = {
        attrs.RAGTEL_CHUNK_COUNT: len(chunks),
        attrs.RAGTEL_CHUNK_IDS: [chunk.id for chunk in chunks],
    }
    if input_document is not None:
        document_id, document_name, document_extras, document_content = read_document(
            input_document
        )
        max_length = capture.limits.max_length
        attributes[attrs.RAGTEL_DOCUMENT_ID] = plain_text(document_id, max_length)
        if document_name is not None:
            attributes[attrs.RAGTEL_DOCUMENT_NAME] = plain_text(document_name, max_length)
        if document_extras is not None and capture.capture_content:
            attributes[attrs.RAGTEL_DOCUMENT_EXTRAS] = masked_json(document_extras, capture)
        if document_content is not None and capture.capture_content:
            attributes[attrs.RAGTEL_DOCUMENT_CONTENT] = masked_text(document_content, capture)
    add_chunk_texts(attributes, chunks, capture)
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.CHUNKING
    span_attributes = step_attributes(kind)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
    return EventRecord(kind, events.RAGTEL_CHUNKING_EVENT, attributes, span_attributes)


def query_rewrite_record(
    *,
    query: str,
    rewritten_query: str | Sequence[str],
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A query rewritten into one or more queries."""
    check_text("query", query)
    rewritten = (
        [rewritten_query]
        if isinstance(rewritten_query, str)
        else read_sequence(rewritten_query, "rewritten_query", expected="a str or a list of str")
    )
    if not isinstance(rewritten, Sequence) or not all(isinstance(q, str) for q in rewritten):
        raise TypeError(
            f"rewritten_query must be a str or a list of str; got {quoted(rewritten_query)}"
        )
    attributes: Attributes = {}
    if capture.capture_content:
        attributes[attrs.RAGTEL_QUERY] = masked_text(query, capture)
        attributes[attrs.RAGTEL_REWRITTEN_QUERIES] = [masked_text(q, capture) for q in rewritten]
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.QUERY
    span_attributes = step_attributes(kind)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
        rewritten_text = recorded_texts_of(attributes, attrs.RAGTEL_REWRITTEN_QUERIES)
        span_attributes.update(
            oi.io(
                input=recorded_text_of(attributes, attrs.RAGTEL_QUERY),
                output=encode_json(rewritten_text, capture.limits) if rewritten_text else None,
                output_json=True,
            )
        )
    return EventRecord(kind, events.RAGTEL_QUERY_REWRITE_EVENT, attributes, span_attributes)


def retrieval_record(
    *,
    query: str,
    retrieved_data: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """Chunks retrieved for a query, with their scores (and the GenAI retrieval mirror)."""
    check_text("query", query)
    chunks = read_chunks(
        retrieved_data, "retrieved_data", scored=True, max_length=capture.limits.max_length
    )
    attributes = scored_chunk_attributes(chunks, capture)
    span_extra: Attributes = {
        GEN_AI_OPERATION_NAME: "retrieval",
        GEN_AI_RETRIEVAL_DOCUMENTS: documents_json(chunks, capture),
    }
    if capture.capture_content:
        attributes[attrs.RAGTEL_QUERY] = span_extra[GEN_AI_RETRIEVAL_QUERY_TEXT] = masked_text(
            query, capture
        )
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.RETRIEVAL
    span_attributes = step_attributes(kind, **span_extra)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(oi.io(input=recorded_text_of(attributes, attrs.RAGTEL_QUERY)))
        span_attributes.update(
            oi.documents(
                oi.RETRIEVAL_DOCUMENTS,
                chunks,
                recorded_contents_of(attributes, attrs.RAGTEL_CHUNK_CONTENTS),
                recorded_texts_of(attributes, attrs.RAGTEL_CHUNK_EXTRAS),
            )
        )
    return EventRecord(kind, events.RAGTEL_RETRIEVAL_EVENT, attributes, span_attributes)


def rerank_record(
    *,
    retrieved: object,
    reranked: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """Retrieved chunks reordered; every reranked chunk must be one of the retrieved."""
    max_length = capture.limits.max_length
    before = read_chunks(retrieved, "retrieved", scored=False, max_length=max_length)
    after = read_chunks(reranked, "reranked", scored=True, max_length=max_length)
    known = {chunk.id for chunk in before}
    unknown = [chunk.id for chunk in after if chunk.id not in known]
    if unknown:
        raise ValueError(f"reranked holds chunks that are not in retrieved: {quoted(unknown)}")
    attributes = scored_chunk_attributes(after, capture)
    attributes[attrs.RAGTEL_RERANK_INPUT_IDS] = [chunk.id for chunk in before]
    masked_metadata = add_name_and_metadata(
        attributes, metadata=metadata, name=name, capture=capture
    )
    kind = RAGEventType.RERANKING
    span_attributes = step_attributes(kind)
    if capture.openinference:
        contents_before = chunk_contents(before, capture) if capture.capture_content else None
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(oi.reranker(masked_metadata, len(after), capture.limits.max_length))
        span_attributes.update(
            oi.documents(oi.RERANKER_INPUT, before, contents_before, chunk_extras(before, capture))
        )
        span_attributes.update(
            oi.documents(
                oi.RERANKER_OUTPUT,
                after,
                recorded_contents_of(attributes, attrs.RAGTEL_CHUNK_CONTENTS),
                recorded_texts_of(attributes, attrs.RAGTEL_CHUNK_EXTRAS),
            )
        )
    return EventRecord(kind, events.RAGTEL_RERANK_EVENT, attributes, span_attributes)


def tool_call_record(
    *,
    tool: str,
    tool_args: object,
    tool_result: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A tool called with arguments, and its result (GenAI ``execute_tool``)."""
    check_text("tool", tool)
    tool = clean_text(tool, capture.limits.max_length)
    attributes: Attributes = {GEN_AI_TOOL_NAME: tool}
    if capture.capture_content:
        attributes[GEN_AI_TOOL_CALL_ARGUMENTS] = masked_json(tool_args, capture)
        attributes[GEN_AI_TOOL_CALL_RESULT] = masked_json(tool_result, capture)
    span_extra: Attributes = {GEN_AI_OPERATION_NAME: "execute_tool", **attributes}
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.TOOL_CALL
    span_attributes = step_attributes(kind, **span_extra)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.tool(
                tool,
                recorded_text_of(attributes, GEN_AI_TOOL_CALL_ARGUMENTS),
                recorded_text_of(attributes, GEN_AI_TOOL_CALL_RESULT),
            )
        )
    return EventRecord(kind, events.RAGTEL_TOOL_CALL_EVENT, attributes, span_attributes)


def query_record(
    *,
    query: str,
    response: str | Sequence[str],
    system_prompt: str | None,
    metadata: object,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A query answered: the query, the response and the system prompt."""
    check_text("query", query)
    if not isinstance(response, str):
        response = read_sequence(response, "response", expected="a str or a list of str")
    if not isinstance(response, str) and not (
        isinstance(response, Sequence) and all(isinstance(part, str) for part in response)
    ):
        raise TypeError(f"response must be a str or a list of str; got {type(response).__name__}")
    if system_prompt is not None and not isinstance(system_prompt, str):
        raise TypeError(f"system_prompt must be a str; got {type(system_prompt).__name__}")
    attributes: Attributes = {}
    if capture.capture_content:
        attributes[attrs.RAGTEL_QUERY] = masked_text(query, capture)
        # A list of responses is recorded as a list (JSON text), as other
        # non-text outputs are: never run together.
        attributes[attrs.RAGTEL_RESPONSE] = (
            masked_text(response, capture)
            if isinstance(response, str)
            else masked_json(list(response), capture)
        )
        if system_prompt is not None:
            attributes[attrs.RAGTEL_SYSTEM_PROMPT] = masked_text(system_prompt, capture)
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.QUERY
    span_attributes = step_attributes(kind)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.io(
                input=recorded_text_of(attributes, attrs.RAGTEL_QUERY),
                output=recorded_text_of(attributes, attrs.RAGTEL_RESPONSE),
                output_json=not isinstance(response, str),
            )
        )
    return EventRecord(kind, events.RAGTEL_QUERY_EVENT, attributes, span_attributes)
