"""Whether a helper call can record anything, decided before it does any work.

Tracing may be off in several ways: ``OTEL_SDK_DISABLED=true``, a
``NoOpTracerProvider``, a sampler that drops everything (``ALWAYS_OFF``) or
every root (``parentbased_always_off``), or a trace that was sampled out. In
each of them a helper must cost what any call costs: it finds out first, from
the span it would record on or the sampler of the span it would start, and
returns before checking, encoding or copying anything.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Final

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, NoOpTracer, Span

# The context key OpenTelemetry keeps the current span under. get_current_span()
# returns the same invalid span whether none was set or a no-op tracer set one;
# only the key tells "outside any span" from "inside a span that records nothing".
from opentelemetry.trace.propagation import _SPAN_KEY

MAY_RECORD: Final = 0
"""Spans this tracer starts may record."""
DROPS_ROOTS: Final = 1
"""A span this tracer starts with no parent never records."""
DROPS_ALL: Final = 2
"""No span this tracer starts ever records."""


def sdk_disabled() -> bool:
    """``OTEL_SDK_DISABLED`` is true, read as the SDK reads it."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def sampling_reach(tracer: trace.Tracer) -> int:
    """What spans started by ``tracer`` can record: MAY_RECORD, DROPS_ROOTS or DROPS_ALL.

    Only decisions known in advance count: a no-op tracer, or an SDK sampler
    that always drops (``ALWAYS_OFF``, a ratio of 0), alone or as the root
    sampler of a ``ParentBased`` one. Anything else may record.
    """
    if isinstance(tracer, NoOpTracer):
        return DROPS_ALL
    sampler = getattr(tracer, "sampler", None)
    sampling = sys.modules.get("opentelemetry.sdk.trace.sampling")
    if sampler is None or sampling is None:
        return MAY_RECORD
    if _always_drops(sampler, sampling):
        return DROPS_ALL
    if isinstance(sampler, sampling.ParentBased) and _always_drops(
        getattr(sampler, "_root", None), sampling
    ):
        return DROPS_ROOTS
    return MAY_RECORD


def _always_drops(sampler: Any, sampling: Any) -> bool:
    if isinstance(sampler, sampling.StaticSampler):
        return getattr(sampler, "_decision", None) is sampling.Decision.DROP
    if isinstance(sampler, sampling.TraceIdRatioBased):
        return bool(sampler.bound == 0)
    return False


def recording_target(span: Span | None, reach: int) -> Span | None:
    """The span a helper acts on, or None when nothing it could do would record.

    ``span``, else the current span: returned when it records. A span given
    that does not record, or a current span that was sampled out, means
    nothing records: None. With no recording span current, the helper starts
    one of its own (a child of the current span, if any): the current span is
    returned, not recording, when that new span may record, None when
    ``reach`` says it never would.
    """
    if span is not None:
        if not isinstance(span, Span):
            raise TypeError(
                f"span must be an OpenTelemetry Span or None; got {type(span).__name__}"
            )
        return span if span.is_recording() else None
    current = trace.get_current_span()
    if current.is_recording():
        return current
    if reach == DROPS_ALL:
        return None
    context = current.get_span_context()
    if context.is_valid:
        if isinstance(current, NonRecordingSpan) and not context.is_remote:
            return None  # sampled out: the whole trace records nothing
        return current  # a remote parent, or a span that has ended: a child may record
    return None if reach == DROPS_ROOTS else current


def in_a_span() -> bool:
    """A span is current, even one that records nothing (from a no-op tracer, say)."""
    return context_api.get_current().get(_SPAN_KEY) is not None
