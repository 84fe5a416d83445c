"""Public data types."""

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
