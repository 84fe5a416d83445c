"""Public data types of RAG events: documents and chunks.

Plain dicts of the same shape are accepted wherever these types are. Kept
apart from the kinds in ``ragtel._types``: defining dataclasses costs time at
import, so this module loads only when its names are first used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chunk", "Document", "RetrievedChunk"]


@dataclass
class Document:
    """A source document (for chunking events).

    Example::

        Document(id="refund-policy", name="refund-policy.md", content=text)
    """

    id: str
    name: str | None = None
    content: Any | None = None
    extras: dict[str, Any] | None = None


@dataclass
class Chunk:
    """A piece of a document; ``embedding`` is recorded only when enabled."""

    id: str
    content: str | None = None
    embedding: list[float] | None = None
    extras: dict[str, Any] | None = None


@dataclass
class RetrievedChunk(Chunk):
    """A chunk returned by a retriever, with its similarity score (e.g. cosine).

    Example::

        RetrievedChunk("c7", "Refunds take five days.", retrieval_score=0.91)
    """

    retrieval_score: float = field(kw_only=True)
