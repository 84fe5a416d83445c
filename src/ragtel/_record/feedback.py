"""What the feedback methods of :class:`~ragtel.LastMileTracer` do: feedback joins its trace.

Which span the feedback is for:

* ``trace_id`` (and ``span_id``), or ``context`` (a traceparent, a string
  from ``serialize_span_context``, a ``SpanContext`` or headers): that trace
  and span. A trace id alone means the trace's root, which this process finds
  when it recorded the trace recently.
* neither, with a span active: the current span ("inline");
* neither, with no span active: the project.

How it is recorded:

* on a span still running in this process: a ``gen_ai.evaluation.result``
  event on it, with ragtel's feedback attributes;
* on a span that has ended, or lives in another process: a ``ragtel.feedback``
  carrier span in the same trace, a child of the judged span and linked to it;
* about the project: a ``ragtel.feedback`` span of a trace of its own.

Sampling: feedback follows its trace's decision. A context string carries it;
bare ids take it from the trace's root when this process recorded it, and
otherwise count as sampled. Where nothing would record (a trace sampled out,
``OTEL_SDK_DISABLED``, a no-op provider, an ``ALWAYS_OFF`` sampler), a
feedback call returns at once, without checking or encoding its arguments.

Each function takes the tracer's :class:`~ragtel._record.core.TracerCore`
first. The builders (``ragtel._attributes.feedback``) are imported where first
used, so ``import ragtel`` stays cheap; inline feedback imports them once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, TraceFlags
from opentelemetry.util.types import AttributeValue

from ragtel._context.handover import ContextLike, is_sampled_out
from ragtel._encoding.encoder import quoted
from ragtel._record.core import TracerCore
from ragtel._sdk.processor import live_span, recent_root
from ragtel._sdk.recording import DROPS_ALL, recording_target
from ragtel.semconv.attributes import (
    RAGTEL_FEEDBACK_SCOPE,
    RAGTEL_FEEDBACK_TARGET_SPAN_ID,
    RAGTEL_PROJECT_NAME,
)
from ragtel.semconv.events import GEN_AI_EVALUATION_RESULT_EVENT
from ragtel.semconv.spans import RAGTEL_FEEDBACK_SPAN

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)

_Attributes = dict[str, AttributeValue]


def log_feedback(
    core: TracerCore,
    feedback: str | float | Mapping[str, Any],
    trace_id: str | int | None,
    span_id: str | int | None,
    context: ContextLike | None,
    *,
    name: str | None,
    annotator: str,
    explanation: str | None,
    metadata: Mapping[str, Any] | None,
    scale: tuple[float, float] | None = None,
) -> None:
    """Record feedback given as text (a string), a score (a number) or a JSON-like object."""
    if _nothing_records(core, trace_id, span_id, context):
        return  # no check, no encoding
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

    attributes = builders.feedback_attributes(
        builders.json_value(feedback, core.capture, scale),
        name=name,
        annotator=annotator,
        explanation=explanation,
        metadata=metadata,
        capture=core.capture,
    )
    attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_SPAN  # _deliver may make it trace or project
    _deliver(core, attributes, trace_id, span_id, context)


def log_binary_feedback(
    core: TracerCore,
    value: bool,
    trace_id: str | int | None,
    span_id: str | int | None,
    context: ContextLike | None,
    *,
    name: str | None,
    annotator: str,
    explanation: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    """Record a thumbs up (``True``) or down (``False``)."""
    if _nothing_records(core, trace_id, span_id, context):
        return  # no check, no encoding
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

    attributes = builders.feedback_attributes(
        builders.binary_value(value),
        name=name,
        annotator=annotator,
        explanation=explanation,
        metadata=metadata,
        capture=core.capture,
    )
    attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_SPAN  # _deliver may make it trace or project
    _deliver(core, attributes, trace_id, span_id, context)


def log_numeric_feedback(
    core: TracerCore,
    value: float,
    trace_id: str | int | None,
    span_id: str | int | None,
    context: ContextLike | None,
    *,
    name: str | None,
    annotator: str,
    explanation: str | None,
    metadata: Mapping[str, Any] | None,
    scale: tuple[float, float] | None = None,
) -> None:
    """Record a finite score, and the ``(low, high)`` scale it is on when given."""
    if _nothing_records(core, trace_id, span_id, context):
        return  # no check, no encoding
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

    attributes = builders.feedback_attributes(
        builders.numeric_value(value, scale),
        name=name,
        annotator=annotator,
        explanation=explanation,
        metadata=metadata,
        capture=core.capture,
    )
    attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_SPAN  # _deliver may make it trace or project
    _deliver(core, attributes, trace_id, span_id, context)


def log_categorical_feedback(
    core: TracerCore,
    value: str,
    categories: Sequence[str],
    trace_id: str | int | None,
    span_id: str | int | None,
    context: ContextLike | None,
    *,
    name: str | None,
    annotator: str,
    explanation: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    """Record one label chosen out of ``categories``."""
    if _nothing_records(core, trace_id, span_id, context):
        return  # no check, no encoding
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

    attributes = builders.feedback_attributes(
        builders.categorical_value(value, categories, core.capture),
        name=name,
        annotator=annotator,
        explanation=explanation,
        metadata=metadata,
        capture=core.capture,
    )
    attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_SPAN  # _deliver may make it trace or project
    _deliver(core, attributes, trace_id, span_id, context)


def log_text_feedback(
    core: TracerCore,
    value: str,
    trace_id: str | int | None,
    span_id: str | int | None,
    context: ContextLike | None,
    *,
    name: str | None,
    annotator: str,
    explanation: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    """Record free-text feedback."""
    if _nothing_records(core, trace_id, span_id, context):
        return  # no check, no encoding
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

    attributes = builders.feedback_attributes(
        builders.text_value(value, core.capture),
        name=name,
        annotator=annotator,
        explanation=explanation,
        metadata=metadata,
        capture=core.capture,
    )
    attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_SPAN  # _deliver may make it trace or project
    _deliver(core, attributes, trace_id, span_id, context)


# Where the feedback goes ----------------------------------------------------------


def _nothing_records(core: TracerCore, trace_id: Any, span_id: Any, context: Any) -> bool:
    """True when the feedback could not be recorded anywhere, decided before any work.

    Inline feedback goes on the current span, or on a carrier span of its
    own; feedback for a given span goes on a carrier in that span's trace.
    """
    if trace_id is None and span_id is None and context is None:
        return recording_target(None, core.reach) is None
    return core.reach == DROPS_ALL


def _deliver(
    core: TracerCore,
    attributes: _Attributes,
    trace_id: str | int | None,
    span_id: str | int | None,
    context: ContextLike | None,
) -> None:
    """Record ``attributes`` for the span the arguments name, or inline."""
    if context is not None:
        if trace_id is not None or span_id is not None:
            raise ValueError("give the judged span as context or as trace_id/span_id, not both")
        from ragtel._context.carrier import target_span_context

        _record_for_span(core, attributes, target_span_context(context))
    elif trace_id is not None:
        _record_for_ids(core, attributes, trace_id, span_id)
    elif span_id is not None:
        raise ValueError(f"span_id needs the trace_id of its trace; got span_id={quoted(span_id)}")
    else:
        _record_inline(core, attributes)


def _record_inline(core: TracerCore, attributes: _Attributes) -> None:
    current = trace.get_current_span()
    if current.is_recording():
        current.add_event(GEN_AI_EVALUATION_RESULT_EVENT, attributes)
        return
    target = current.get_span_context()
    if not target.is_valid:
        from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

        attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_PROJECT
        _emit_carrier(core, attributes, None)
    elif not is_sampled_out(current):  # a remote parent, or a span that has ended
        _record_for_span(core, attributes, target)


def _record_for_ids(
    core: TracerCore, attributes: _Attributes, trace_id: str | int, span_id: str | int | None
) -> None:
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap
    from ragtel._context.ids import anchor_span_id, parse_span_id, parse_trace_id

    trace_number = parse_trace_id(trace_id)
    span_number = parse_span_id(span_id, trace_id=trace_id) if span_id is not None else None
    root = recent_root(trace_number)
    flags = TraceFlags(root.trace_flags) if root is not None else _SAMPLED
    if span_number is not None:
        target = SpanContext(trace_number, span_number, is_remote=True, trace_flags=flags)
        _record_for_span(core, attributes, target)
    elif root is not None:
        attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_TRACE
        _record_for_span(core, attributes, root)
    else:
        # The trace's root is unknown here: hang the carrier in the trace,
        # under the trace's anchor id (the request-id parent, if any), unlinked.
        attributes[RAGTEL_FEEDBACK_SCOPE] = builders.SCOPE_TRACE
        anchor = SpanContext(
            trace_number, anchor_span_id(trace_number), is_remote=True, trace_flags=flags
        )
        _emit_carrier(core, attributes, anchor, link=False)


def _record_for_span(core: TracerCore, attributes: _Attributes, target: SpanContext) -> None:
    """On the judged span while it runs here; else on a carrier span under it."""
    running = live_span(target.span_id)
    if (
        running is not None
        and running.get_span_context().trace_id == target.trace_id
        and running.is_recording()
    ):
        running.add_event(GEN_AI_EVALUATION_RESULT_EVENT, attributes)
        return
    from ragtel._attributes import feedback as builders  # lazy: import ragtel stays cheap

    attributes[RAGTEL_FEEDBACK_TARGET_SPAN_ID] = builders.target_attribute(target.span_id)
    _emit_carrier(core, attributes, target)


def _emit_carrier(
    core: TracerCore, attributes: _Attributes, target: SpanContext | None, *, link: bool = True
) -> None:
    from ragtel._context.carrier import emit_carrier_span

    project = core.profile.root_attributes.get(RAGTEL_PROJECT_NAME)
    if project is not None:
        attributes[RAGTEL_PROJECT_NAME] = project
    emit_carrier_span(core.delegate, RAGTEL_FEEDBACK_SPAN, target, attributes, link=link)
