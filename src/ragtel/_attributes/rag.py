"""Pure builders: RAG event data in, a span event and span attributes out.

Each ``*_record`` function validates its arguments (raising TypeError or
ValueError naming the argument), and returns an :class:`EventRecord`: the
event's name and attributes, and the attributes its span gets (the step kind
and the GenAI mirror). Nothing here touches a span, so each builder can be
tested alone, or used with any tracer.

Scores: NaN and infinities are accepted and recorded as they are in
``ragtel.chunk.scores`` (OTLP doubles carry them); in JSON text (the GenAI
``gen_ai.retrieval.documents``) they become ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any, Final, NamedTuple

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding.arguments import read_mapping, read_sequence
from ragtel._encoding.encoder import (
    apply_mask,
    clean_text,
    encode_json,
    encode_known_plain,
    masked_json,
    masked_text,
    plain_text,
    quoted,
    recorded_text,
)
from ragtel._encoding.redaction import may_hold_secrets, may_hold_url_credentials
from ragtel._types import RAGEventType
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events
from ragtel.semconv.references import (
    GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
    GEN_AI_OPERATION_NAME,
    GEN_AI_RETRIEVAL_DOCUMENTS,
    GEN_AI_RETRIEVAL_QUERY_TEXT,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
)

Attributes = dict[str, AttributeValue]

EMBEDDING_DECIMALS: Final = 4
"""Digits kept of each embedding value when vectors are recorded."""


class EventRecord(NamedTuple):
    """One RAG event ready to record: the event, and what its span gets."""

    kind: RAGEventType
    event_name: str
    event_attributes: Attributes
    span_attributes: Attributes


class ChunkData(NamedTuple):
    id: str
    content: Any
    embedding: Any
    score: float | None
    extras: Any


_new_chunk: Final = tuple.__new__


def as_event_kind(kind: Any) -> RAGEventType:
    try:
        return RAGEventType(kind)
    except Exception:  # noqa: BLE001 - Enum's own message repr()s the value, which may raise
        allowed = ", ".join(member.value for member in RAGEventType)
        raise ValueError(f"event_kind must be one of {allowed}; got {quoted(kind)}") from None


_CHUNK_FIELDS: Final = ("id", "content", "embedding", "retrieval_score", "extras")
_READERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
_MAX_READERS: Final = 256  # chunk classes in one app; past it, readers are not kept


def _reader(kind: type) -> Callable[[Any], tuple[Any, ...]] | None:
    """How to read the chunk fields of a dataclass type; None if it is not one."""
    fields = getattr(kind, "__dataclass_fields__", None)
    if not isinstance(fields, Mapping):
        return None
    reader = attrgetter(*_CHUNK_FIELDS) if all(f in fields for f in _CHUNK_FIELDS) else _read_any
    if len(_READERS) < _MAX_READERS:
        _READERS[kind] = reader
    return reader


def _read_any(item: Any) -> tuple[Any, ...]:
    chunk_id, content, embedding, score, extras = (
        getattr(item, name, None) for name in _CHUNK_FIELDS
    )
    if score is None:
        score = getattr(item, "score", None)  # as a dict chunk may name it
    return chunk_id, content, embedding, score, extras


def chunk_data(item: Any, argument: str, *, scored: bool, max_length: int) -> ChunkData:
    """A Chunk, RetrievedChunk or dict of the same shape, checked; its id as recorded text."""
    # This runs once per chunk of every event: dataclasses are read by a reader
    # made once per type, and tested before Mapping (an ABC miss is slow).
    reader = _READERS.get(type(item)) or _reader(type(item))
    if reader is not None:
        try:
            chunk_id, content, embedding, score, extras = reader(item)
        except AttributeError:  # a declared field this instance lacks
            chunk_id, content, embedding, score, extras = _read_any(item)
    elif type(item) is dict or isinstance(item, Mapping):
        if type(item) is not dict:  # read once: a Mapping's own methods may raise
            item = read_mapping(item, argument, expected="Chunk objects or dicts")
        chunk_id, content = item.get("id"), item.get("content")
        embedding, score = item.get("embedding"), item.get("retrieval_score", item.get("score"))
        extras = item.get("extras")
    else:
        raise TypeError(f"{argument} must hold Chunk objects or dicts; got {type(item).__name__}")
    if chunk_id is None or isinstance(chunk_id, bool):
        raise ValueError(f"{argument}: every chunk needs an id; got {quoted(item)}")
    if type(score) is not float:
        number = _as_score(score, argument, chunk_id)
        if number is None and scored:
            raise TypeError(
                f"{argument}: retrieval_score must be a number; "
                f"got {quoted(score)} for chunk {quoted(chunk_id)}"
            )
        score = number
    # Ids are recorded as text: cleaned and capped like any recorded text (a lone
    # surrogate would fail the whole export batch), except in the common case.
    if (
        type(chunk_id) is str
        and len(chunk_id) <= max_length
        and chunk_id.isascii()
        and not may_hold_secrets(chunk_id)
    ):
        text_id = chunk_id
    else:
        text_id = plain_text(chunk_id, max_length)
    # tuple.__new__ skips NamedTuple's Python-level constructor: once per chunk.
    return _new_chunk(ChunkData, (text_id, content, embedding, score, extras))


def _as_score(value: Any, argument: str, chunk_id: Any) -> float | None:
    """A score as a float (any real number: int, NumPy float...), None if not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:
        raise ValueError(
            f"{argument}: retrieval_score does not fit a double; "
            f"got {quoted(value)} for chunk {quoted(chunk_id)}"
        ) from None


def _chunks(items: Any, argument: str, *, scored: bool, max_length: int) -> list[ChunkData]:
    if type(items) is not list and (
        isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence)
    ):
        raise TypeError(f"{argument} must be a list of chunks; got {type(items).__name__}")
    if type(items) is not list:  # read once: a sequence's own methods may raise
        items = read_sequence(items, argument, expected="a list of chunks")
    return [chunk_data(item, argument, scored=scored, max_length=max_length) for item in items]


def _contents(chunks: Sequence[ChunkData], capture: CaptureConfig) -> list[str]:
    # One string per chunk, so the list lines up with ragtel.chunk.ids.
    texts = []
    limit = capture.limits.max_length
    plain = capture.mask is None
    for chunk in chunks:
        content = chunk.content if chunk.content is not None else ""
        if (
            plain
            and type(content) is str
            and len(content) <= limit
            and content.isascii()
            and not may_hold_secrets(content)
        ):
            texts.append(content)  # nothing to mask, clean or cut: the common case
        else:
            texts.append(masked_text(content, capture))
    return texts


def _common(
    attributes: Attributes, *, metadata: Any, name: str | None, capture: CaptureConfig
) -> Any:
    """Add the event name and metadata; return the metadata as masked (None if not captured)."""
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str; got {type(name).__name__}")
        attributes[attrs.RAGTEL_EVENT_NAME] = clean_text(name, capture.limits.max_length)
    masked = _captured(metadata, capture) if metadata is not None else None
    if masked is not None:
        attributes[attrs.RAGTEL_EVENT_METADATA] = encode_json(masked, capture.limits)
    return masked


def _captured(value: Any, capture: CaptureConfig) -> Any:
    """``value`` through the mask hook when content is captured, else None."""
    return apply_mask(value, capture.mask) if capture.capture_content else None


def _span(kind: RAGEventType, **extra: AttributeValue) -> Attributes:
    return {attrs.RAGTEL_SPAN_KIND: kind.value, **extra}


def _compat(capture: CaptureConfig) -> Any:
    """The OpenInference builders when compatibility mode is on, else None."""
    if not capture.openinference:
        return None
    from ragtel._attributes import openinference as _openinference

    return _openinference


def span_event_record(
    *,
    input: Any,
    output: Any,
    event_data: Any,
    event_kind: Any,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    kind = as_event_kind(event_kind)
    attributes: Attributes = {attrs.RAGTEL_SPAN_KIND: kind.value}
    # Masked once: the mime types below follow what the mask returned.
    masked_input, masked_output = _captured(input, capture), _captured(output, capture)
    if capture.capture_content:
        if masked_input is not None:
            attributes[attrs.RAGTEL_INPUT] = recorded_text(masked_input, capture.limits)
        if masked_output is not None:
            attributes[attrs.RAGTEL_OUTPUT] = recorded_text(masked_output, capture.limits)
        if event_data is not None:
            attributes[attrs.RAGTEL_EVENT_DATA] = masked_text(event_data, capture)
    _common(attributes, metadata=None, name=name, capture=capture)
    span_attributes = _span(kind)
    if (oi := _compat(capture)) is not None:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.io(
                input=attributes.get(attrs.RAGTEL_INPUT),
                output=attributes.get(attrs.RAGTEL_OUTPUT),
                # Values that are not text were recorded as JSON.
                input_json=not isinstance(masked_input, str),
                output_json=not isinstance(masked_output, str),
            )
        )
    return EventRecord(kind, events.RAGTEL_SPAN_EVENT, attributes, span_attributes)


def trace_event_record(
    *, input: Any, output: Any, metadata: Any, capture: CaptureConfig
) -> EventRecord:
    attributes: Attributes = {}
    if capture.capture_content:
        if input is not None:
            attributes[attrs.RAGTEL_INPUT] = masked_text(input, capture)
        if output is not None:
            attributes[attrs.RAGTEL_OUTPUT] = masked_text(output, capture)
    _common(attributes, metadata=metadata, name=None, capture=capture)
    return EventRecord(RAGEventType.CUSTOM, events.RAGTEL_TRACE_EVENT, attributes, {})


def chunking_record(
    *,
    input_document: Any,
    output_chunks: Any,
    metadata: Any,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    chunks = _chunks(
        output_chunks, "output_chunks", scored=False, max_length=capture.limits.max_length
    )
    attributes: Attributes = {
        attrs.RAGTEL_CHUNK_COUNT: len(chunks),
        attrs.RAGTEL_CHUNK_IDS: [chunk.id for chunk in chunks],
    }
    if input_document is not None:
        document_id, document_name, document_extras = _document(input_document)
        max_length = capture.limits.max_length
        attributes[attrs.RAGTEL_DOCUMENT_ID] = plain_text(document_id, max_length)
        if document_name is not None:
            attributes[attrs.RAGTEL_DOCUMENT_NAME] = plain_text(document_name, max_length)
        if document_extras is not None and capture.capture_content:
            attributes[attrs.RAGTEL_DOCUMENT_EXTRAS] = masked_json(document_extras, capture)
    _chunk_texts(attributes, chunks, capture)
    _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.CHUNKING
    span_attributes = _span(kind)
    if (oi := _compat(capture)) is not None:
        span_attributes.update(oi.span_kind(kind))
    return EventRecord(kind, events.RAGTEL_CHUNKING_EVENT, attributes, span_attributes)


def _document(document: Any) -> tuple[Any, Any, Any]:
    """A Document or dict's id (checked), name and extras."""
    if dataclasses.is_dataclass(document) and not isinstance(document, type):
        fields = {
            field.name: getattr(document, field.name) for field in dataclasses.fields(document)
        }
    elif isinstance(document, Mapping):
        fields = read_mapping(document, "input_document", expected="a Document or a dict")
    else:
        raise TypeError(
            f"input_document must be a Document or a dict; got {type(document).__name__}"
        )
    if fields.get("id") is None:
        raise ValueError(f"input_document needs an id; got {quoted(document)}")
    return fields["id"], fields.get("name"), fields.get("extras")


def embedding_record(
    *,
    embeddings: Any,
    data: Any,
    metadata: Any,
    name: str | None,
    capture: CaptureConfig,
    record_vectors: bool,
) -> EventRecord:
    if isinstance(embeddings, (str, bytes, Mapping)) or not isinstance(embeddings, Sequence):
        raise TypeError(f"embeddings must be a list of vectors; got {type(embeddings).__name__}")
    embeddings = read_sequence(embeddings, "embeddings", expected="a list of vectors")
    dimensions = {_vector_length(vector) for vector in embeddings}
    attributes: Attributes = {attrs.RAGTEL_EMBEDDING_COUNT: len(embeddings)}
    span_extra: dict[str, AttributeValue] = {GEN_AI_OPERATION_NAME: "embeddings"}
    if len(dimensions) == 1:
        (dimension,) = dimensions
        attributes[attrs.RAGTEL_EMBEDDING_DIMENSIONS] = dimension
        span_extra[GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimension
    rounded: list[list[float]] = []
    if record_vectors:
        limit = capture.limits.max_items
        try:
            rounded = [
                [round(float(value), EMBEDDING_DECIMALS) for value in list(vector)[:limit]]
                for vector in list(embeddings)[:limit]
            ]
        except OverflowError:
            raise ValueError("embeddings must hold numbers that fit a double") from None
        except (TypeError, ValueError):
            raise TypeError("embeddings must be a list of vectors of numbers") from None
        attributes[attrs.RAGTEL_EMBEDDING_VECTORS] = encode_json(rounded, capture.limits)
    if capture.capture_content and data is not None:
        texts = [data]  # one value, unless a list or tuple that can be read
        if isinstance(data, (list, tuple)):
            with contextlib.suppress(TypeError):
                texts = read_sequence(data, "data")
        attributes[attrs.RAGTEL_CHUNK_CONTENTS] = _capped_texts(texts, capture)
    masked_metadata = _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.EMBEDDING
    span_attributes = _span(kind, **span_extra)
    if (oi := _compat(capture)) is not None:
        embedded = attributes.get(attrs.RAGTEL_CHUNK_CONTENTS)
        vectors = rounded if record_vectors else None
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.embeddings(embedded, vectors, masked_metadata, capture.limits.max_length)
        )
    return EventRecord(kind, events.RAGTEL_EMBEDDING_EVENT, attributes, span_attributes)


def _capped_texts(items: Sequence[Any], capture: CaptureConfig) -> list[str]:
    """Each item as recorded text; past the item cap, a marker, as the encoder cuts a list."""
    limit = capture.limits.max_items
    texts = [masked_text(item, capture) for item in items[:limit]]
    if len(items) > limit:
        texts.append(f"…[{len(items) - limit} more items]")
    return texts


def _vector_length(vector: Any) -> int:
    # __len__ looked up on the type: a proxy answers any name asked of the instance.
    if isinstance(vector, (str, bytes, Mapping)) or not hasattr(type(vector), "__len__"):
        raise TypeError(f"embeddings must be a list of vectors; got an item {quoted(vector)}")
    try:
        return len(vector)
    except Exception as error:  # noqa: BLE001 - the vector's own __len__ broke
        raise TypeError(
            f"embeddings must be a list of vectors; an item's len() raised {type(error).__name__}"
        ) from None


def query_rewrite_record(
    *, query: Any, rewritten_query: Any, metadata: Any, name: str | None, capture: CaptureConfig
) -> EventRecord:
    _check_text("query", query)
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
    _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.QUERY
    span_attributes = _span(kind)
    if (oi := _compat(capture)) is not None:
        span_attributes.update(oi.span_kind(kind))
        rewritten_text = attributes.get(attrs.RAGTEL_REWRITTEN_QUERIES)
        span_attributes.update(
            oi.io(
                input=attributes.get(attrs.RAGTEL_QUERY),
                output=encode_json(rewritten_text, capture.limits) if rewritten_text else None,
                output_json=True,
            )
        )
    return EventRecord(kind, events.RAGTEL_QUERY_REWRITE_EVENT, attributes, span_attributes)


def retrieval_record(
    *, query: Any, retrieved_data: Any, metadata: Any, name: str | None, capture: CaptureConfig
) -> EventRecord:
    _check_text("query", query)
    chunks = _chunks(
        retrieved_data, "retrieved_data", scored=True, max_length=capture.limits.max_length
    )
    attributes = _scored_chunks(chunks, capture)
    span_extra: Attributes = {
        GEN_AI_OPERATION_NAME: "retrieval",
        GEN_AI_RETRIEVAL_DOCUMENTS: _documents_json(chunks, capture),
    }
    if capture.capture_content:
        attributes[attrs.RAGTEL_QUERY] = span_extra[GEN_AI_RETRIEVAL_QUERY_TEXT] = masked_text(
            query, capture
        )
    _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.RETRIEVAL
    span_attributes = _span(kind, **span_extra)
    if (oi := _compat(capture)) is not None:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(oi.io(input=attributes.get(attrs.RAGTEL_QUERY)))
        span_attributes.update(
            oi.documents(
                oi.RETRIEVAL_DOCUMENTS,
                chunks,
                attributes.get(attrs.RAGTEL_CHUNK_CONTENTS),
                attributes.get(attrs.RAGTEL_CHUNK_EXTRAS),
            )
        )
    return EventRecord(kind, events.RAGTEL_RETRIEVAL_EVENT, attributes, span_attributes)


_NO_EXTRAS: Final = "null"
_EXTRAS_OF: Final = itemgetter(4)  # ChunkData.extras


def _extras(chunks: Sequence[ChunkData], capture: CaptureConfig) -> list[str] | None:
    """Each chunk's extras as JSON text (masked, redacted, capped), ``"null"`` where it has none.

    None when content is not captured, or when no chunk has extras.
    """
    if not capture.capture_content or list(map(_EXTRAS_OF, chunks)).count(None) == len(chunks):
        return None  # the common case, checked at C speed
    return [
        _NO_EXTRAS if chunk.extras is None else masked_json(chunk.extras, capture)
        for chunk in chunks
    ]


def _chunk_texts(
    attributes: Attributes, chunks: Sequence[ChunkData], capture: CaptureConfig
) -> None:
    """The captured per-chunk texts: contents, and extras when any chunk has them."""
    if not capture.capture_content:
        return
    attributes[attrs.RAGTEL_CHUNK_CONTENTS] = _contents(chunks, capture)
    extras = _extras(chunks, capture)
    if extras is not None:
        attributes[attrs.RAGTEL_CHUNK_EXTRAS] = extras


def _documents_json(chunks: Sequence[ChunkData], capture: CaptureConfig) -> str:
    """The GenAI retrieval documents, ``[{"id", "score"}]``, as JSON text."""
    documents = [{"id": chunk[0], "score": chunk[3]} for chunk in chunks]
    if len(documents) <= capture.limits.max_items:
        # Plain data by construction (str ids, float scores); None means a NaN
        # or infinite score, which the general encoder marks.
        text = encode_known_plain(documents)
        if (
            text is not None
            and len(text) <= capture.limits.max_length
            and not may_hold_url_credentials(text)
        ):
            return text
    return encode_json(documents, capture.limits)


def _scored_chunks(chunks: Sequence[ChunkData], capture: CaptureConfig) -> Attributes:
    attributes: Attributes = {
        attrs.RAGTEL_CHUNK_COUNT: len(chunks),
        attrs.RAGTEL_CHUNK_IDS: [chunk.id for chunk in chunks],
        attrs.RAGTEL_CHUNK_SCORES: [chunk.score for chunk in chunks],
    }
    _chunk_texts(attributes, chunks, capture)
    return attributes


def rerank_record(
    *, retrieved: Any, reranked: Any, metadata: Any, name: str | None, capture: CaptureConfig
) -> EventRecord:
    max_length = capture.limits.max_length
    before = _chunks(retrieved, "retrieved", scored=False, max_length=max_length)
    after = _chunks(reranked, "reranked", scored=True, max_length=max_length)
    known = {chunk.id for chunk in before}
    unknown = [chunk.id for chunk in after if chunk.id not in known]
    if unknown:
        raise ValueError(f"reranked holds chunks that are not in retrieved: {quoted(unknown)}")
    attributes = _scored_chunks(after, capture)
    attributes[attrs.RAGTEL_RERANK_INPUT_IDS] = [chunk.id for chunk in before]
    masked_metadata = _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.RERANKING
    span_attributes = _span(kind)
    if (oi := _compat(capture)) is not None:
        contents_before = _contents(before, capture) if capture.capture_content else None
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(oi.reranker(masked_metadata, len(after), capture.limits.max_length))
        span_attributes.update(
            oi.documents(oi.RERANKER_INPUT, before, contents_before, _extras(before, capture))
        )
        span_attributes.update(
            oi.documents(
                oi.RERANKER_OUTPUT,
                after,
                attributes.get(attrs.RAGTEL_CHUNK_CONTENTS),
                attributes.get(attrs.RAGTEL_CHUNK_EXTRAS),
            )
        )
    return EventRecord(kind, events.RAGTEL_RERANK_EVENT, attributes, span_attributes)


def tool_call_record(
    *,
    tool: Any,
    tool_args: Any,
    tool_result: Any,
    metadata: Any,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    _check_text("tool", tool)
    tool = clean_text(tool, capture.limits.max_length)
    attributes: Attributes = {GEN_AI_TOOL_NAME: tool}
    if capture.capture_content:
        attributes[GEN_AI_TOOL_CALL_ARGUMENTS] = masked_json(tool_args, capture)
        attributes[GEN_AI_TOOL_CALL_RESULT] = masked_json(tool_result, capture)
    span_extra: Attributes = {GEN_AI_OPERATION_NAME: "execute_tool", **attributes}
    _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.TOOL_CALL
    span_attributes = _span(kind, **span_extra)
    if (oi := _compat(capture)) is not None:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.tool(
                tool,
                attributes.get(GEN_AI_TOOL_CALL_ARGUMENTS),
                attributes.get(GEN_AI_TOOL_CALL_RESULT),
            )
        )
    return EventRecord(kind, events.RAGTEL_TOOL_CALL_EVENT, attributes, span_attributes)


def query_record(
    *,
    query: Any,
    response: Any,
    system_prompt: Any,
    metadata: Any,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    _check_text("query", query)
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
        text = response if isinstance(response, str) else "".join(response)
        attributes[attrs.RAGTEL_QUERY] = masked_text(query, capture)
        attributes[attrs.RAGTEL_RESPONSE] = masked_text(text, capture)
        if system_prompt is not None:
            attributes[attrs.RAGTEL_SYSTEM_PROMPT] = masked_text(system_prompt, capture)
    _common(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.QUERY
    span_attributes = _span(kind)
    if (oi := _compat(capture)) is not None:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.io(
                input=attributes.get(attrs.RAGTEL_QUERY),
                output=attributes.get(attrs.RAGTEL_RESPONSE),
            )
        )
    return EventRecord(kind, events.RAGTEL_QUERY_EVENT, attributes, span_attributes)


def _check_text(argument: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str; got {type(value).__name__}")
