"""Arguments many APIs share, drawn for the fuzz tests: spans, contexts, OTel attributes, params."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, Span, SpanContext, TraceFlags

import fuzz_strategies as fs
from fuzz_contract import Arguments
from ragtel import LastMileTracer

# Shared argument strategies ------------------------------------------------------------

# What the OpenTelemetry API itself accepts, for arguments ragtel hands to the
# SDK untouched (span names, attributes): valid UTF-8 text, 64-bit ints.
otel_text = st.text(st.characters(codec="utf-8"), max_size=30)
otel_names = otel_text.map(lambda name: "app " + name)
_otel_scalars = st.one_of(otel_text, st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats())
otel_attributes = st.dictionaries(
    otel_text.map(lambda key: "app." + key),
    st.one_of(_otel_scalars, st.lists(otel_text, max_size=3), st.lists(st.floats(), max_size=3)),
    max_size=4,
)

SPAN_CHOICES = ("none", "current", "ended", "invalid", "remote")


def span_argument(arguments: Arguments, tracer: LastMileTracer) -> Any:
    """``span=``: None, the current span, an ended one, a non-recording one, or wild."""
    choice = arguments.draw("span", st.sampled_from(SPAN_CHOICES))
    if "span" in arguments.wild:
        return choice
    if choice == "current":
        return trace.get_current_span()
    if choice == "ended":
        ended = tracer.start_span("app ended")
        ended.end()
        return ended
    if choice == "invalid":
        return INVALID_SPAN
    if choice == "remote":
        return NonRecordingSpan(SpanContext(0x1234, 0x5678, is_remote=True))
    return None


@contextlib.contextmanager
def maybe_in_span(arguments: Arguments, tracer: LastMileTracer) -> Iterator[Span | None]:
    """The example runs inside a fresh root span, or with no span active."""
    if arguments.aside(st.booleans(), "inside a span"):
        with tracer.start_as_current_span("app root") as span:
            yield span
    else:
        yield None


def valid_contexts(*, lenient: bool = True) -> st.SearchStrategy[Any]:
    """Every accepted form of ``context``, pointing at a span of this process or anywhere.

    ``lenient``: also any mapping of headers, which starts a new trace when it
    holds no context (where a context is a parent); where it must name a span
    (feedback, a late image), a mapping without one is refused.
    """

    def build(form: str, trace_id: int, span_id: int, sampled: bool) -> Any:
        flags = TraceFlags(int(sampled))
        span_context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
        traceparent = f"00-{trace_id:032x}-{span_id:016x}-{int(sampled):02x}"
        if form == "traceparent":
            return traceparent
        if form == "serialized":
            return json.dumps({"traceparent": traceparent, "tracestate": "k=v"})
        if form == "span_context":
            return span_context
        if form == "otel_context":
            return trace.set_span_in_context(NonRecordingSpan(span_context))
        return {"TraceParent": traceparent, "baggage": "k=v"}

    pointing = st.builds(
        build,
        st.sampled_from(["traceparent", "serialized", "span_context", "otel_context", "headers"]),
        st.integers(1, 2**128 - 1),
        st.integers(1, 2**64 - 1),
        st.booleans(),
    )
    if not lenient:
        return pointing
    # A headers mapping is lenient like OTel's extract: any mapping is accepted.
    return st.one_of(pointing, st.dictionaries(fs.hashables, fs.anything, max_size=4))


def current_ids() -> tuple[str, str] | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


# A mapping of params (register_params, metadata=): param keys, any values.
param_mappings = st.dictionaries(fs.param_keys, fs.anything, max_size=4)
