"""Public kinds: which pipeline a trace belongs to, and which RAG step an event records.

The documents and chunks that events carry are in ``ragtel._documents``.
"""

from __future__ import annotations

from enum import Enum


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
