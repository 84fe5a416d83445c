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

import importlib
from typing import TYPE_CHECKING, Any

from ragtel._version import __version__

if TYPE_CHECKING:
    from ragtel._context.handover import (
        export_span,
        get_distributed_trace_headers,
        get_span_id,
        get_trace_id,
        get_traceparent,
        serialize_span_context,
    )
    from ragtel._context.ids import context_from_request_id, trace_id_from_request_id
    from ragtel._context.trace_id_store import read_trace_id, store_trace_id
    from ragtel._documents import Chunk, Document, RetrievedChunk
    from ragtel._factory import get_lastmile_tracer, traced
    from ragtel._tracer import LastMileTracer
    from ragtel._types import RAGEventType, RagFlowType

# The public names load on first use, so `import ragtel` alone (the CLI, say)
# costs next to nothing; the first use of the tracer API loads what it needs.
_EXPORTS = {
    "Chunk": "ragtel._documents",
    "Document": "ragtel._documents",
    "LastMileTracer": "ragtel._tracer",
    "RAGEventType": "ragtel._types",
    "RagFlowType": "ragtel._types",
    "RetrievedChunk": "ragtel._documents",
    "context_from_request_id": "ragtel._context.ids",
    "export_span": "ragtel._context.handover",
    "get_distributed_trace_headers": "ragtel._context.handover",
    "get_lastmile_tracer": "ragtel._factory",
    "get_span_id": "ragtel._context.handover",
    "get_trace_id": "ragtel._context.handover",
    "get_traceparent": "ragtel._context.handover",
    "read_trace_id": "ragtel._context.trace_id_store",
    "serialize_span_context": "ragtel._context.handover",
    "store_trace_id": "ragtel._context.trace_id_store",
    "trace_id_from_request_id": "ragtel._context.ids",
    "traced": "ragtel._factory",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ragtel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Chunk",
    "Document",
    "LastMileTracer",
    "RAGEventType",
    "RagFlowType",
    "RetrievedChunk",
    "__version__",
    "context_from_request_id",
    "export_span",
    "get_distributed_trace_headers",
    "get_lastmile_tracer",
    "get_span_id",
    "get_trace_id",
    "get_traceparent",
    "read_trace_id",
    "serialize_span_context",
    "store_trace_id",
    "trace_id_from_request_id",
    "traced",
]
