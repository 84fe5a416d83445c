"""Spans of the calls ragtel wraps directly, and failures recorded on spans.

Recording must never break the application: whatever goes wrong in ragtel's
own code is logged (logger ``ragtel``) and the call goes on; the library's
result or exception passes through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import Token

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation.langchain.scope import peer_parent
from ragtel.semconv.references import ERROR_TYPE

_logger = logging.getLogger("ragtel")


def log_failure(what: str) -> None:
    """Log that recording ``what`` failed (call from an ``except`` block)."""
    _logger.warning("ragtel: could not record LangChain %s", what, exc_info=True)


def record_error(span: Span, error: BaseException) -> None:
    """Status ERROR, ``error.type`` and the exception as an event."""
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)


def outside_any_trace() -> bool:
    """No span is current: a setting registered now becomes a default of later traces.

    The direct wraps register their settings in the trace of the call and,
    for a call made outside any trace (an index built at start-up, say), in
    the tracer's defaults too, as ``register_*`` would, so that the traces
    of the queries later answered from that index carry its settings.
    """
    return not trace.get_current_span().get_span_context().is_valid


@contextmanager
def call_span(tracer: LastMileTracer, name: str, kind: SpanKind) -> Iterator[Span | None]:
    """A span around a wrapped call, current while it runs; None if it could not start.

    The call's exception is recorded and re-raised as it is.
    """
    span: Span | None = None
    token: Token[Context] | None = None
    try:
        peer_run = peer_parent()
        parent = trace.set_span_in_context(peer_run) if peer_run is not None else None
        span = tracer.start_span(name, context=parent, kind=kind)
        token = context_api.attach(trace.set_span_in_context(span))
    except Exception:  # noqa: BLE001 - the call goes on untraced
        log_failure(f"call {name!r}")
    try:
        yield span
    except BaseException as error:
        if span is not None:
            try:
                record_error(span, error)
            except Exception:  # noqa: BLE001 - the call's own exception goes on
                log_failure(f"error of {name!r}")
        raise
    finally:
        if token is not None:
            context_api.detach(token)
        if span is not None:
            span.end()
