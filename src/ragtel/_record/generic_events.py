"""LastMile's generic event adders, ``add_rag_event_for_span`` / ``add_rag_event_for_trace``.

They are LastMile's older names for what ragtel records as the span event
(``ragtel.span``, one per span) and the trace event (``ragtel.trace``, one per
trace, on its local root), under the event's own name: the same rules apply,
the first event is kept and a second one is dropped with a warning.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span

from ragtel._record import rag_events
from ragtel._record.core import TracerCore
from ragtel._types import RAGEventType


def add_rag_event_for_span(
    core: TracerCore,
    event_name: str,
    span: Span | None,
    input: Any,
    output: Any,
    event_data: Any,
) -> None:
    """The span event of ``span`` (default: the current span), named ``event_name``."""
    _check_event_name(event_name)
    rag_events.log_span_event(
        core, input, output, event_data, RAGEventType.CUSTOM, event_name, span
    )


def add_rag_event_for_trace(
    core: TracerCore, event_name: str, input: Any, output: Any, event_data: Any
) -> None:
    """The current trace's trace event, named ``event_name``; ``event_data`` is its metadata."""
    _check_event_name(event_name)
    rag_events.log_trace_event(core, input, output, event_data, name=event_name)


def _check_event_name(event_name: object) -> None:
    if not isinstance(event_name, str):
        raise TypeError(f"event_name must be a str; got {type(event_name).__name__}")
