"""Public data types: the pipeline and event kinds, documents and chunks.

Plain dicts of the same shape are accepted wherever the dataclasses are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class RagFlowType(str, Enum):
    """Which RAG pipeline a tracer's traces belong to.

    Recorded on each trace's root span as ``ragtel.rag_flow.type``. Leave it
    unset to use one tracer for both pipelines.
    """

    INGESTION = "ingestion"
    """Loading, chunking, embedding and indexing documents."""

    QUERY = "query"
    """Answering a query: rewrite, retrieval, rerank, generation."""


class RAGEventType(str, Enum):
    """The kind of RAG step an event records; also the span's ``ragtel.span.kind``."""

    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    MULTI_EMBEDDING = "multi_embedding"
    QUERY = "query"
    RETRIEVAL = "retrieval"
    SYNTHESIZE = "synthesize"
    SUB_QUESTION = "sub_question"
    TEMPLATING = "templating"
    TOOL_CALL = "tool_call"
    RERANKING = "reranking"
    PROMPT_COMPOSITION = "prompt_composition"
    GUARDRAIL = "guardrail"
    CUSTOM = "custom"


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
