"""Chunks (and the documents they come from) as RAG events carry them: read and checked.

A chunk is a ``Chunk`` or ``RetrievedChunk`` (any dataclass with the same
fields) or a dict of the same shape. Reading one runs once per chunk of every
retrieval, rerank and chunking event, so the common cases (a dataclass, a
plain dict, short ASCII text) take fast paths; anything else goes through the
encoder's general rules (mask, redaction, caps).

Scores: NaN and infinities are accepted and recorded as they are in
``ragtel.chunk.scores`` (OTLP doubles carry them); in JSON text (the GenAI
``gen_ai.retrieval.documents``) they become ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any, Final, NamedTuple

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding.arguments import read_mapping, read_sequence
from ragtel._encoding.encoder import (
    encode_json,
    encode_known_plain,
    masked_json,
    masked_text,
    plain_text,
    quoted,
)
from ragtel._encoding.redaction import may_hold_secrets, may_hold_url_credentials
from ragtel.semconv import attributes as attrs

Attributes = dict[str, AttributeValue]


class ChunkData(NamedTuple):
    """One chunk, checked: its id as recorded text, its score as a float (or None)."""

    id: str
    content: Any
    embedding: Any
    score: float | None
    extras: Any


_new_chunk: Final = tuple.__new__

_CHUNK_FIELDS: Final = ("id", "content", "embedding", "retrieval_score", "extras")
_MAX_READERS: Final = 256  # chunk classes in one app; past it, readers are not kept
_READERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
"""A memo, not state: how to read each dataclass type seen, made once per type.

Bounded by ``_MAX_READERS``; emptying it at any time changes nothing but speed.
"""


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


def read_chunks(items: object, argument: str, *, scored: bool, max_length: int) -> list[ChunkData]:
    """The chunks of a list, each checked; TypeError/ValueError naming ``argument``."""
    listed: Any = items
    if type(items) is not list and (
        isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence)
    ):
        raise TypeError(f"{argument} must be a list of chunks; got {type(items).__name__}")
    if type(items) is not list:  # read once: a sequence's own methods may raise
        listed = read_sequence(items, argument, expected="a list of chunks")
    return [chunk_data(item, argument, scored=scored, max_length=max_length) for item in listed]


def chunk_contents(chunks: Sequence[ChunkData], capture: CaptureConfig) -> list[str | None]:
    """One recorded text per chunk, so the list lines up with ``ragtel.chunk.ids``.

    A chunk given without content has ``None`` in its place (an OTel array may
    hold nulls): absent, not an empty text.
    """
    texts: list[str | None] = []
    limit = capture.limits.max_length
    plain = capture.mask is None
    for chunk in chunks:
        content = chunk.content
        if content is None:
            texts.append(None)
        elif (
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


_CONTENT_OF: Final = itemgetter(1)  # ChunkData.content
_NO_EXTRAS: Final = "null"
_EXTRAS_OF: Final = itemgetter(4)  # ChunkData.extras


def chunk_extras(chunks: Sequence[ChunkData], capture: CaptureConfig) -> list[str] | None:
    """Each chunk's extras as JSON text (masked, redacted, capped), ``"null"`` where it has none.

    None when content is not captured, or when no chunk has extras.
    """
    if not capture.capture_content or list(map(_EXTRAS_OF, chunks)).count(None) == len(chunks):
        return None  # the common case, checked at C speed
    return [
        _NO_EXTRAS if chunk.extras is None else masked_json(chunk.extras, capture)
        for chunk in chunks
    ]


def add_chunk_texts(
    attributes: Attributes, chunks: Sequence[ChunkData], capture: CaptureConfig
) -> None:
    """Add the captured per-chunk texts: contents, and extras when any chunk has them."""
    if not capture.capture_content:
        return
    if list(map(_CONTENT_OF, chunks)).count(None) != len(chunks):  # absent when none has any
        attributes[attrs.RAGTEL_CHUNK_CONTENTS] = chunk_contents(chunks, capture)
    extras = chunk_extras(chunks, capture)
    if extras is not None:
        attributes[attrs.RAGTEL_CHUNK_EXTRAS] = extras


def scored_chunk_attributes(chunks: Sequence[ChunkData], capture: CaptureConfig) -> Attributes:
    """Count, ids, scores and (when captured) texts of scored chunks."""
    attributes: Attributes = {
        attrs.RAGTEL_CHUNK_COUNT: len(chunks),
        attrs.RAGTEL_CHUNK_IDS: [chunk.id for chunk in chunks],
        attrs.RAGTEL_CHUNK_SCORES: [chunk.score for chunk in chunks],
    }
    add_chunk_texts(attributes, chunks, capture)
    return attributes


def documents_json(chunks: Sequence[ChunkData], capture: CaptureConfig) -> str:
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


def read_document(document: object) -> tuple[Any, Any, Any, Any]:
    """A Document or dict's id (checked), name, extras and content."""
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
    return fields["id"], fields.get("name"), fields.get("extras"), fields.get("content")
