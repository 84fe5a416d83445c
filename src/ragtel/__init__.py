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

from ragtel._get_tracer import get_lastmile_tracer, traced
from ragtel._span_context import (
    get_distributed_trace_headers,
    get_traceparent,
    serialize_span_context,
)
from ragtel._tracer import LastMileTracer
from ragtel._types import RagFlowType
from ragtel._version import __version__

__all__ = [
    "LastMileTracer",
    "RagFlowType",
    "__version__",
    "get_distributed_trace_headers",
    "get_lastmile_tracer",
    "get_traceparent",
    "serialize_span_context",
    "traced",
]
