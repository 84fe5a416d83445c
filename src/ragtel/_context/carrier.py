"""Carrier spans: data that arrives after the span it belongs to has ended.

An image that finishes rendering after its request returned, or feedback that
arrives hours later in another process, cannot be added to the original span:
OpenTelemetry exports a span once, when it ends. A carrier span takes its
place: a short span in the SAME trace, a child of the original span and
linked to it, holding the late data — so any backend shows it inside the
trace, next to the span it concerns.

A carrier is not a request: ragtel's processor gives it no ParamSet and does
not count it as a trace of its own (see ``CARRIER_KEY``).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
)
from opentelemetry.util.types import AttributeValue

from ragtel._context.handover import ContextLike, span_context_from
from ragtel._encoding.encoder import quoted
from ragtel._sdk.processor import CARRIER_KEY


def target_span_context(context: ContextLike, *, argument: str = "context") -> SpanContext:
    """The span a late call is about, from any accepted context form; ValueError if none."""
    span_context = span_context_from(context, argument=argument)
    if not span_context.is_valid:
        raise ValueError(f"{argument} does not identify a span: {quoted(context)}")
    return span_context


def emit_carrier_span(
    tracer: trace.Tracer,
    name: str,
    target: SpanContext | None,
    attributes: Mapping[str, AttributeValue],
    *,
    link: bool = True,
) -> SpanContext:
    """Record ``attributes`` on a finished carrier span under ``target``; return its context.

    The carrier is a child of ``target`` (linked to it unless ``link`` is
    false, for a parent that is not a real span), or with no target, the root
    of a trace of its own. It follows the target's sampling decision: a trace
    that was sampled out stays out.
    """
    if target is None:
        parent_span: trace.Span = INVALID_SPAN
    else:
        # A remote view of the target makes the carrier a local root of that
        # trace in this process, as it would be in any other process.
        parent_span = NonRecordingSpan(
            SpanContext(
                target.trace_id,
                target.span_id,
                is_remote=True,
                trace_flags=TraceFlags(target.trace_flags),
                trace_state=target.trace_state,
            )
        )
    context = context_api.set_value(CARRIER_KEY, True, trace.set_span_in_context(parent_span))
    span = tracer.start_span(
        name,
        context=context,
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        links=[Link(target)] if target is not None and link else None,
    )
    span.end()
    return span.get_span_context()
