"""Feedback on :class:`~ragtel.LastMileTracer`: it joins the trace it judges.

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, TraceFlags

from ragtel._config import CaptureConfig
from ragtel._context.handover import ContextLike, is_sampled_out
from ragtel._encoding.encoder import quoted
from ragtel._sdk.processor import TracerProfile
from ragtel._sdk.recording import DROPS_ALL, recording_target
from ragtel.semconv.attributes import (
    RAGTEL_FEEDBACK_SCOPE,
    RAGTEL_FEEDBACK_TARGET_SPAN_ID,
    RAGTEL_PROJECT_NAME,
)
from ragtel.semconv.events import GEN_AI_EVALUATION_RESULT_EVENT
from ragtel.semconv.spans import RAGTEL_FEEDBACK_SPAN

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


_builders_module: Any = None


def _builders() -> Any:
    """The attribute builders, imported on first use: import ragtel stays cheap."""
    global _builders_module
    if _builders_module is None:
        from ragtel._attributes import feedback as _feedback_attributes

        _builders_module = _feedback_attributes
    return _builders_module


class FeedbackAPI:
    """User and evaluator feedback; mixed into LastMileTracer."""

    _capture: CaptureConfig
    _profile: TracerProfile
    _reach: int

    def log_feedback(
        self,
        feedback: str | Mapping[str, Any],
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record feedback given as text or as a JSON-like object (a dict).

        A string is text feedback; anything else is recorded as JSON, with
        values JSON cannot represent written as their ``repr``.
        ``trace_id``, ``span_id`` and ``context`` choose the judged span (see
        :meth:`log_binary_feedback`). Raises TypeError for ``None`` and
        ValueError for empty text.
        """
        if self._nothing_records(trace_id, span_id, context):
            return  # no check, no encoding
        self._record(
            _builders().json_value(feedback, self._capture),
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def log_binary_feedback(
        self,
        value: bool,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a thumbs up (``True``) or down (``False``).

        ``value`` must be a bool: ``1`` and ``0`` raise TypeError, since they
        could as well be ratings on another scale.

        The judged span: ``trace_id`` (32 hex digits or an int) with an
        optional ``span_id`` (16 hex digits or an int), or ``context``; with
        neither, the current span, or the project when no span is active.
        ``name`` says what was judged (default ``"feedback"``), ``annotator``
        who judged (``"human"``, ``"llm"`` or ``"code"``); ``explanation``
        and ``metadata`` are recorded as content. An invalid id or context
        raises ValueError quoting it.
        """
        if self._nothing_records(trace_id, span_id, context):
            return  # no check, no encoding
        self._record(
            _builders().binary_value(value),
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def log_numeric_feedback(
        self,
        value: float,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a score from 0 to 1, both included (a rating scaled to [0, 1]).

        Raises ValueError for a value outside [0, 1], NaN or infinity, and
        TypeError for a non-number (a bool included). Other arguments as in
        :meth:`log_binary_feedback`.
        """
        if self._nothing_records(trace_id, span_id, context):
            return  # no check, no encoding
        self._record(
            _builders().numeric_value(value),
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def log_categorical_feedback(
        self,
        value: str,
        categories: Sequence[str],
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one label chosen out of ``categories``.

        Raises ValueError when ``categories`` is empty or repeats a category,
        or ``value`` is not one of them. Other arguments as in
        :meth:`log_binary_feedback`.
        """
        if self._nothing_records(trace_id, span_id, context):
            return  # no check, no encoding
        self._record(
            _builders().categorical_value(value, categories, self._capture),
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def log_text_feedback(
        self,
        value: str,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record free-text feedback. Raises ValueError for empty text.

        The text is content: masked, capped, and left out when content capture
        is off. Other arguments as in :meth:`log_binary_feedback`.
        """
        if self._nothing_records(trace_id, span_id, context):
            return  # no check, no encoding
        self._record(
            _builders().text_value(value, self._capture),
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def _nothing_records(self, trace_id: Any, span_id: Any, context: Any) -> bool:
        """True when the feedback could not be recorded anywhere, decided before any work.

        Inline feedback goes on the current span, or on a carrier span of its
        own; feedback for a given span goes on a carrier in that span's trace.
        """
        if trace_id is None and span_id is None and context is None:
            return recording_target(None, self._reach) is None
        return self._reach == DROPS_ALL

    def _record(
        self,
        value_attributes: dict[str, Any],
        trace_id: str | int | None,
        span_id: str | int | None,
        context: ContextLike | None,
        *,
        name: Any,
        annotator: Any,
        explanation: Any,
        metadata: Any,
    ) -> None:
        builders = _builders()
        attributes = builders.feedback_attributes(
            value_attributes,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
            capture=self._capture,
        )
        if context is not None:
            if trace_id is not None or span_id is not None:
                raise ValueError("give the judged span as context or as trace_id/span_id, not both")
            from ragtel._context.carrier import target_span_context

            self._record_for_span(attributes, target_span_context(context), builders.SCOPE_SPAN)
        elif trace_id is not None:
            self._record_for_ids(attributes, trace_id, span_id)
        elif span_id is not None:
            raise ValueError(
                f"span_id needs the trace_id of its trace; got span_id={quoted(span_id)}"
            )
        else:
            self._record_inline(attributes)

    def _record_inline(self, attributes: dict[str, Any]) -> None:
        current = trace.get_current_span()
        if current.is_recording():
            attributes[RAGTEL_FEEDBACK_SCOPE] = _builders().SCOPE_SPAN
            current.add_event(GEN_AI_EVALUATION_RESULT_EVENT, attributes)
            return
        target = current.get_span_context()
        if not target.is_valid:
            attributes[RAGTEL_FEEDBACK_SCOPE] = _builders().SCOPE_PROJECT
            self._emit_carrier(attributes, None)
        elif not is_sampled_out(current):  # a remote parent, or a span that has ended
            self._record_for_span(attributes, target, _builders().SCOPE_SPAN)

    def _record_for_ids(
        self, attributes: dict[str, Any], trace_id: str | int, span_id: str | int | None
    ) -> None:
        from ragtel._context.ids import anchor_span_id, parse_span_id, parse_trace_id
        from ragtel._sdk.processor import recent_root

        trace_number = parse_trace_id(trace_id)
        span_number = parse_span_id(span_id) if span_id is not None else None
        root = recent_root(trace_number)
        flags = TraceFlags(root.trace_flags) if root is not None else _SAMPLED
        if span_number is not None:
            target = SpanContext(trace_number, span_number, is_remote=True, trace_flags=flags)
            self._record_for_span(attributes, target, _builders().SCOPE_SPAN)
        elif root is not None:
            self._record_for_span(attributes, root, _builders().SCOPE_TRACE)
        else:
            # The trace's root is unknown here: hang the carrier in the trace,
            # under the trace's anchor id (the request-id parent, if any), unlinked.
            attributes[RAGTEL_FEEDBACK_SCOPE] = _builders().SCOPE_TRACE
            anchor = SpanContext(
                trace_number, anchor_span_id(trace_number), is_remote=True, trace_flags=flags
            )
            self._emit_carrier(attributes, anchor, link=False)

    def _record_for_span(self, attributes: dict[str, Any], target: SpanContext, scope: str) -> None:
        from ragtel._sdk.processor import live_span

        attributes[RAGTEL_FEEDBACK_SCOPE] = scope
        running = live_span(target.span_id)
        if (
            running is not None
            and running.get_span_context().trace_id == target.trace_id
            and running.is_recording()
        ):
            running.add_event(GEN_AI_EVALUATION_RESULT_EVENT, attributes)
            return
        attributes[RAGTEL_FEEDBACK_TARGET_SPAN_ID] = _builders().target_attribute(target.span_id)
        self._emit_carrier(attributes, target)

    def _emit_carrier(
        self, attributes: dict[str, Any], target: SpanContext | None, *, link: bool = True
    ) -> None:
        from ragtel._context.carrier import emit_carrier_span

        project = self._profile.root_attributes.get(RAGTEL_PROJECT_NAME)
        if project is not None:
            attributes[RAGTEL_PROJECT_NAME] = project
        emit_carrier_span(self, RAGTEL_FEEDBACK_SPAN, target, attributes, link=link)  # type: ignore[arg-type]
