"""LlamaIndex spans as OpenTelemetry spans: start, make current, end exactly once.

:class:`LlamaIndexRecorder` receives what LlamaIndex's dispatcher tells its
handlers — a span entered, exited or dropped, an event sent — and keeps one
OpenTelemetry span per LlamaIndex span. Each span starts under the current
OpenTelemetry context (LlamaIndex's own span ids and the OpenTelemetry
context live in the same kind of context variables, so they travel
together), is made current while LlamaIndex runs inside it, so spans of any
other instrumentation nest in it, and is ended once:

* when LlamaIndex leaves it, or drops it with an error (ERROR status, the
  exception recorded);
* for an LLM stream, when the stream's end event arrives (LlamaIndex leaves
  the span as soon as the stream is returned, before it is read);
* when it is evicted from the bounded map of open spans, or the
  instrumentor is switched off.

Nothing here raises into LlamaIndex: a failure of ragtel's recording is
logged (logger ``ragtel``) and the application's call goes on unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from llama_index.core.instrumentation.events import BaseEvent
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation.llama_index import steps
from ragtel.instrumentation.llama_index.spans import (
    ENTERED_SPAN,
    MAX_OPEN_SPANS,
    OpenSpan,
    OpenSpans,
    Role,
    classify,
    span_start,
)
from ragtel.instrumentation.llama_index.values import is_live_stream, model_name, span_identity

_logger = logging.getLogger("ragtel")


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Catch and log a failure of ragtel's own recording: the application never sees it."""
    try:
        yield
    except Exception:
        _logger.warning(
            "ragtel: recording %s of LlamaIndex failed; the application is unaffected",
            what,
            exc_info=True,
        )


def fail_span(tracer: LastMileTracer, span: Span, error: BaseException) -> None:
    """Record ``error`` on ``span`` as the SDK does: an exception event and ERROR status, with
    ``error.type``. Exits and cancellations (not ``Exception``s) are not failures."""
    if not isinstance(error, Exception) or not span.is_recording():
        return
    span.record_exception(error)
    tracer.mark_failed(f"{type(error).__name__}: {error}", span=span, error_type=_type_name(error))


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


class LlamaIndexRecorder:
    """Turns a LlamaIndex dispatcher's span and event notices into OpenTelemetry spans.

    ``steps_aside`` is asked at each span: while it answers True (another
    instrumentation already traces LlamaIndex) no span is created, and only
    the trace's ParamSet is recorded.
    """

    def __init__(
        self,
        tracer: LastMileTracer,
        *,
        steps_aside: Callable[[], bool],
        max_open_spans: int = MAX_OPEN_SPANS,
    ) -> None:
        self._tracer = tracer
        self._steps_aside = steps_aside
        self._spans = OpenSpans(max_open_spans)

    @property
    def open_span_count(self) -> int:
        return len(self._spans)

    # Span notices ----------------------------------------------------------------

    def enter(
        self, span_id: str, instance: Any, arguments: dict[str, Any], parent_id: str | None
    ) -> None:
        if not is_instrumentation_enabled():
            return
        record: OpenSpan | None = None
        with guarded("a span start"):
            record = self._start(span_id, instance, parent_id)
        if record is not None:
            with guarded("a step's settings"):
                steps.on_enter(self._tracer, record)

    def exit(self, span_id: str, arguments: dict[str, Any], result: Any) -> None:
        record = self._spans.get(span_id)
        if record is None:
            return
        with guarded("a span end"):
            self._leave_context(record)
        if (
            record.role is Role.LLM_CALL
            and record.llm_request is not None
            and not record.llm_answered
            and is_live_stream(result)
        ):
            record.exited = True  # the stream's end event ends it
            return
        if not self._spans.pop_if(span_id, record):
            return
        with guarded("a step's result"):
            steps.on_exit(self._tracer, record, arguments, result)
        with guarded("a span end"):
            self._end(record, None)

    def drop(self, span_id: str, error: BaseException | None) -> None:
        record = self._spans.pop(span_id)
        if record is None:
            return
        with guarded("a span end"):
            self._leave_context(record)
        with guarded("a span end"):
            self._end(record, error)

    # Events ------------------------------------------------------------------------

    def event(self, event: BaseEvent) -> None:
        record = self._spans.get(event.span_id)
        if record is None or not is_instrumentation_enabled():
            return
        finished = False
        with guarded(f"a {type(event).__name__}"):
            finished = steps.on_event(self._tracer, record, event)
        if finished and event.span_id is not None and self._spans.pop_if(event.span_id, record):
            error = getattr(event, "exception", None)
            with guarded("a span end"):
                self._end(record, error if isinstance(error, BaseException) else None)

    # Switching off -----------------------------------------------------------------

    def close(self) -> None:
        """End every span still open: no notice about them will come any more."""
        for record in self._spans.drain():
            with guarded("a span end"):
                self._end(record, None)

    # Internals ---------------------------------------------------------------------

    def _start(self, span_id: str, instance: Any, parent_id: str | None) -> OpenSpan:
        qualified_name, method = span_identity(span_id)
        parent = self._spans.get(parent_id)
        role = classify(instance, method, parent)
        if self._steps_aside():
            model = model_name(instance) if role in (Role.LLM_CALL, Role.EMBEDDING_CALL) else None
            record = OpenSpan(None, role, instance, parent, model=model)
            self._track(span_id, record)
            return record
        start = span_start(role, instance, qualified_name, method)
        span = self._tracer.start_span(start.name, kind=start.kind)
        record = OpenSpan(
            span, role, instance, parent, model=start.model, operation=start.operation
        )
        self._track(span_id, record)
        record.context_token = context_api.attach(trace.set_span_in_context(span))
        record.entered_token = ENTERED_SPAN.set(span_id)
        return record

    def _track(self, span_id: str, record: OpenSpan) -> None:
        evicted = self._spans.add(span_id, record)
        if not evicted:
            return
        if self._spans.evicted_count == len(evicted) or self._spans.evicted_count % 1000 == 0:
            _logger.warning(
                "ragtel: more than %d LlamaIndex spans open at once; the oldest were ended "
                "early (%d so far)",
                len(self._spans),
                self._spans.evicted_count,
            )
        for old in evicted:
            self._end(old, None)

    @staticmethod
    def _leave_context(record: OpenSpan) -> None:
        """Make the span's parent context current again, where the span was made current."""
        token, entered = record.context_token, record.entered_token
        record.context_token = record.entered_token = None
        if token is None or entered is None:
            return
        try:
            ENTERED_SPAN.reset(entered)
        except (ValueError, RuntimeError):
            # Another context (a Future's done callback, which runs in a copy): the
            # context the span was entered in is left as LlamaIndex leaves it.
            return
        context_api.detach(token)

    def _end(self, record: OpenSpan, error: BaseException | None) -> None:
        span = record.span
        if span is None:
            return
        if error is not None:
            fail_span(self._tracer, span, error)
        span.end()
