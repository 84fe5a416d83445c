"""ragtel: OpenTelemetry for RAG and LLM pipelines.

``get_lastmile_tracer`` returns a real OpenTelemetry tracer that also records
pipeline parameters, captured inputs and outputs, and trace context
hand-over, all as plain OTel spans and attributes exported over OTLP or to a
local OTLP JSON Lines file.

Example::

    from ragtel import get_lastmile_tracer

    tracer = get_lastmile_tracer("my-rag-app", project_name="support-bot")

    @tracer.trace_function()
    def answer(question: str) -> str:
        ...
"""

from typing import TYPE_CHECKING, Any

from ragtel._get_tracer import get_lastmile_tracer, traced
from ragtel._span_context import (
    get_distributed_trace_headers,
    get_traceparent,
    serialize_span_context,
)
from ragtel._tracer import LastMileTracer
from ragtel._types import RagFlowType
from ragtel._version import __version__

if TYPE_CHECKING:
    from ragtel._rag_types import Chunk, Document, RAGEventType, RetrievedChunk

# Loaded on first use: the RAG data types are dataclasses, costly to define at import.
_LAZY = {"Chunk", "Document", "RAGEventType", "RetrievedChunk"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ragtel import _rag_types

        return getattr(_rag_types, name)
    raise AttributeError(f"module 'ragtel' has no attribute {name!r}")


__all__ = [
    "Chunk",
    "Document",
    "LastMileTracer",
    "RAGEventType",
    "RagFlowType",
    "RetrievedChunk",
    "__version__",
    "get_distributed_trace_headers",
    "get_lastmile_tracer",
    "get_traceparent",
    "serialize_span_context",
    "traced",
]
