"""Feedback costs against a raw SDK span: inline (an event) and late (a carrier span)."""

from __future__ import annotations

from itertools import repeat

from opentelemetry import context as context_api
from opentelemetry import trace

from benchmarks._timing import Benchmark, Pair
from benchmarks.bench_tracer import _Setup


def _raw_span_baseline(setup: _Setup):  # type: ignore[no-untyped-def]
    sdk_tracer = setup.sdk_tracer

    def baseline(loops: int) -> None:
        for _ in repeat(None, loops):
            sdk_tracer.start_span("op").end()

    return baseline


def _prepare_inline() -> Pair:
    setup = _Setup()
    tracer = setup.ragtel_tracer
    # One long-lived current span takes every event (the SDK keeps its last 128),
    # so the candidate pays for the feedback event alone.
    answer = tracer.start_span("answer")
    token = context_api.attach(trace.set_span_in_context(answer))

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            tracer.log_binary_feedback(True)

    def close() -> None:
        context_api.detach(token)
        answer.end()
        setup.close()

    return Pair(_raw_span_baseline(setup), candidate, close)


def _prepare_late() -> Pair:
    setup = _Setup()
    tracer = setup.ragtel_tracer
    with tracer.start_as_current_span("answer"):
        handle = tracer.serialize_span_context()

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            tracer.log_binary_feedback(True, context=handle)

    return Pair(_raw_span_baseline(setup), candidate, setup.close)


def _prepare_late_by_hand() -> Pair:
    from opentelemetry.trace import Link, NonRecordingSpan

    from ragtel._context.handover import span_context_from
    from ragtel._sdk.processor import CARRIER_KEY

    setup = _Setup()
    tracer = setup.ragtel_tracer
    with tracer.start_as_current_span("answer"):
        handle = tracer.serialize_span_context()
    # The same carrier span, built directly with the SDK from a parsed context
    # and pre-built attributes: the floor that any late feedback pays.
    target = span_context_from(handle)
    parent = context_api.set_value(
        CARRIER_KEY, True, trace.set_span_in_context(NonRecordingSpan(target))
    )
    tracer.log_binary_feedback(True, context=handle)
    carrier = setup.last_span()
    name, attributes, sdk_tracer = carrier.name, dict(carrier.attributes or {}), setup.sdk_tracer

    def baseline(loops: int) -> None:
        for _ in repeat(None, loops):
            sdk_tracer.start_span(
                name, context=parent, attributes=attributes, links=[Link(target)]
            ).end()

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            tracer.log_binary_feedback(True, context=handle)

    return Pair(baseline, candidate, setup.close)


INLINE = Benchmark(
    name="feedback: inline `log_binary_feedback` (an event on the current span) vs a raw SDK span",
    target=0.5,
    prepare=_prepare_inline,
)
LATE = Benchmark(
    name="feedback: late `log_binary_feedback(context=...)` (a carrier span) vs a raw SDK span",
    target=1.5,
    prepare=_prepare_late,
)

LATE_OVERHEAD = Benchmark(
    name="feedback: late `log_binary_feedback(context=...)` vs the same carrier span built "
    "with the SDK",
    target=1.5,
    prepare=_prepare_late_by_hand,
)

BENCHMARKS = [INLINE, LATE, LATE_OVERHEAD]
