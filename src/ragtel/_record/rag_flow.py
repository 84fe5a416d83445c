"""``set_rag_flow_type``: a trace's RAG flow type, set from inside the trace.

A tracer made with ``rag_flow_type=`` records it on every trace's local root
(``ragtel.rag_flow.type``); this sets it for the current trace alone, on the
same root, replacing the tracer's. A query trace may also name the ingestion
trace it reads from (``ragtel.rag_flow.ingestion_trace_id``, 32 hex digits):
an attribute, not a span link, because OpenTelemetry Python cannot add a
link to a span after it started.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from ragtel._context.handover import is_local_span
from ragtel._context.ids import parse_trace_id
from ragtel._encoding.encoder import quoted
from ragtel._record.core import TracerCore
from ragtel._state import STATE
from ragtel._types import RagFlowType
from ragtel.semconv.attributes import RAGTEL_RAG_FLOW_INGESTION_TRACE_ID, RAGTEL_RAG_FLOW_TYPE

_logger = logging.getLogger("ragtel")


def set_rag_flow_type(
    core: TracerCore, flow_type: RagFlowType | str, ingestion_trace_id: int | str | None
) -> None:
    """Record the current trace's flow type (and ingestion trace) on its local root.

    ValueError names ``flow_type`` or ``ingestion_trace_id`` when it is not
    one; with no recording span current, nothing is recorded (a warning says
    so, once).
    """
    attributes: dict[str, AttributeValue] = {RAGTEL_RAG_FLOW_TYPE: _flow_type(flow_type).value}
    if ingestion_trace_id is not None:
        ingestion = parse_trace_id(ingestion_trace_id, argument="ingestion_trace_id")
        attributes[RAGTEL_RAG_FLOW_INGESTION_TRACE_ID] = f"{ingestion:032x}"
    current = trace.get_current_span()
    if not current.is_recording() or not is_local_span(current):
        if STATE.first_time("set_rag_flow_type without a span"):
            _logger.warning(
                "ragtel: set_rag_flow_type needs a recording span of the trace; none is current"
            )
        return
    processor = core.processor
    state = processor.trace_state_of(current) if processor is not None else None
    root = state.root if state is not None else None
    # Without ragtel's processor (an app's provider it did not join) the current span
    # stands in for the root: the flow type is still recorded in the trace.
    target = root if root is not None and root.is_recording() else current
    target.set_attributes(attributes)


def _flow_type(value: object) -> RagFlowType:
    try:
        return RagFlowType(value)
    except Exception:  # noqa: BLE001 - Enum's own message repr()s the value, which may raise
        allowed = ", ".join(repr(member.value) for member in RagFlowType)
        raise ValueError(f"flow_type must be one of {allowed}; got {quoted(value)}") from None
