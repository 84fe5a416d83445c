"""Pure builder of the embedding event: vectors in, a span event and span attributes out.

Vectors are counted and measured (``ragtel.embedding.count``, ``…dimensions``),
and recorded only when asked (``record_vectors``), rounded to
:data:`EMBEDDING_DECIMALS` digits and capped at the item limit each way; the
embedded texts are recorded when content is captured.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._attributes import openinference as oi
from ragtel._attributes.events import (
    Attributes,
    EventRecord,
    Metadata,
    add_name_and_metadata,
    recorded_texts_of,
    step_attributes,
)
from ragtel._config import CaptureConfig
from ragtel._encoding.arguments import read_sequence
from ragtel._encoding.encoder import encode_json, masked_text, quoted
from ragtel._types import RAGEventType
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events
from ragtel.semconv.references import GEN_AI_EMBEDDINGS_DIMENSION_COUNT, GEN_AI_OPERATION_NAME

EMBEDDING_DECIMALS: Final = 4
"""Digits kept of each embedding value when vectors are recorded."""


def embedding_record(
    *,
    embeddings: object,
    data: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
    record_vectors: bool,
) -> EventRecord:
    """Texts embedded: count, dimensions, and (when asked) the rounded vectors."""
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
    masked_metadata = add_name_and_metadata(
        attributes, metadata=metadata, name=name, capture=capture
    )
    kind = RAGEventType.EMBEDDING
    span_attributes = step_attributes(kind, **span_extra)
    if capture.openinference:
        embedded = recorded_texts_of(attributes, attrs.RAGTEL_CHUNK_CONTENTS)
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
