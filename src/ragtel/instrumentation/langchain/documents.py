"""LangChain documents as ragtel's chunks: ids, contents, metadata and scores (pure functions)."""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ragtel._documents import Chunk, RetrievedChunk
from ragtel._documents import Document as SourceDocument

# Metadata keys under which retrievers and rerankers leave a document's score.
_SCORE_KEYS: Final = ("relevance_score", "score", "similarity_score")

NO_SCORE: Final = math.nan
"""The score recorded for a document its retriever gave none (a retrieval event needs one)."""

ScoreOf = Callable[[Any], float | None]


def text_id(text: Any) -> str:
    """A stable id for a text with none of its own: the same text gets the same id in every run."""
    data = str(text).encode("utf-8", "surrogatepass")
    return "text-" + hashlib.sha256(data, usedforsecurity=False).hexdigest()[:16]


def document_id(document: Any) -> str:
    """The document's own id, else an ``id`` in its metadata, else the id of its text."""
    own = getattr(document, "id", None)
    if isinstance(own, str) and own:
        return own
    metadata = _metadata(document)
    for key in ("id", "doc_id"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return text_id(getattr(document, "page_content", ""))


def retrieved_chunks(documents: Sequence[Any], score_of: ScoreOf | None) -> list[RetrievedChunk]:
    """The retrieved documents, each with the score its vector store gave, else its metadata's.

    A document with neither is recorded with :data:`NO_SCORE` (NaN).
    """
    chunks = []
    for document in documents:
        metadata = _metadata(document)
        score = score_of(document) if score_of is not None else None
        if score is None:
            score = _metadata_score(metadata)
        chunks.append(
            RetrievedChunk(
                document_id(document),
                getattr(document, "page_content", None),
                extras=dict(metadata) or None,
                retrieval_score=NO_SCORE if score is None else score,
            )
        )
    return chunks


def _metadata_score(metadata: Mapping[str, Any]) -> float | None:
    for key in _SCORE_KEYS:
        value = metadata.get(key)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    return None


Source = tuple[str | None, Mapping[str, Any]]
"""A split text's origin: its document's id if it has one, and its metadata."""


def source_of(document: Any) -> Source:
    """The origin of a LangChain document's text, for :func:`chunking_inputs`."""
    own = getattr(document, "id", None)
    metadata = _metadata(document)
    return (own if isinstance(own, str) and own else None), metadata


def chunking_inputs(
    splits: Sequence[tuple[str, Sequence[str]]],
    sources: Sequence[Source] | None,
    outputs: Sequence[Any] | None,
) -> list[tuple[SourceDocument, list[Chunk]]]:
    """Each split text as a source document and its chunks: one chunking event each.

    ``splits`` are the texts split and their pieces, in order; ``sources``
    where each text came from (one per split), when known; ``outputs`` the
    chunk documents made from all the pieces, in order, when the splitter
    made documents. A chunk's extras are its metadata where it differs from
    its source's (``start_index``, say).
    """
    if outputs is not None and len(outputs) != sum(len(pieces) for _, pieces in splits):
        outputs = None  # not one document per piece: the metadata cannot be matched up
    inputs: list[tuple[SourceDocument, list[Chunk]]] = []
    offset = 0
    for index, (text, pieces) in enumerate(splits):
        own_id, metadata = (
            sources[index] if sources is not None and index < len(sources) else (None, {})
        )
        source_id = own_id or text_id(text)
        name = metadata.get("source")
        source = SourceDocument(
            source_id, name=name if isinstance(name, str) else None, extras=dict(metadata) or None
        )
        chunks = []
        for position, piece in enumerate(pieces):
            made = outputs[offset + position] if outputs is not None else None
            chunks.append(
                Chunk(
                    f"{source_id}#{position}",
                    piece,
                    extras=_own_metadata(_metadata(made), metadata) if made is not None else None,
                )
            )
        offset += len(pieces)
        inputs.append((source, chunks))
    return inputs


def _own_metadata(
    metadata: Mapping[str, Any], inherited: Mapping[str, Any]
) -> dict[str, Any] | None:
    own = {
        key: value
        for key, value in metadata.items()
        if key not in inherited or not _same(inherited[key], value)
    }
    return own or None


def _same(left: Any, right: Any) -> bool:
    if left is right:
        return True
    try:
        return bool(left == right)
    except Exception:  # noqa: BLE001 - arrays and other values without one truth value
        return False


def _metadata(document: Any) -> Mapping[str, Any]:
    metadata = getattr(document, "metadata", None)
    return metadata if type(metadata) is dict or isinstance(metadata, Mapping) else {}


def retriever_top_k(retriever: Any, call_kwargs: Mapping[str, Any]) -> int | None:
    """How many documents a retriever returns: ``k`` of the call, of its search, or its own."""
    search_kwargs = getattr(retriever, "search_kwargs", None)
    for candidate in (
        call_kwargs.get("k"),
        search_kwargs.get("k") if isinstance(search_kwargs, Mapping) else None,
        getattr(retriever, "k", None),
        getattr(retriever, "top_k", None),
    ):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
    return None
