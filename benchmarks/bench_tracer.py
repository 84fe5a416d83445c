"""Overhead of ``LastMileTracer`` over the OpenTelemetry SDK tracer it wraps.

Both sides of each benchmark use one and the same SDK ``TracerProvider``: a
``SimpleSpanProcessor`` into an exporter that discards spans, plus the span
processor ragtel adds to any provider it is given. Sampling, span limits,
processors and export are therefore identical, and the ratio measures only
what ragtel's tracer adds on top of the SDK.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import ragtel
from benchmarks._timing import Benchmark, Pair
from ragtel.semconv.attributes import RAGTEL_INPUT, RAGTEL_OUTPUT

_names = itertools.count(1)


class DiscardingExporter(SpanExporter):
    """Drops every span; remembers only the last batch, for the sanity checks."""

    def __init__(self) -> None:
        self.last: Sequence[ReadableSpan] = ()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.last = spans
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class _Setup:
    """A provider shared by both sides, with an SDK tracer and a ragtel tracer on it."""

    def __init__(self) -> None:
        # A fresh tracer name per setup: get_lastmile_tracer returns the tracer
        # already created under a name, which would be bound to an older provider.
        name = f"ragtel-benchmark-{next(_names)}"
        self.exporter = DiscardingExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        # Adds ragtel's span processor to the provider: from here on it runs
        # for the spans of both tracers. No exporter is added.
        self.ragtel_tracer = ragtel.get_lastmile_tracer(
            name, tracer_provider=self.provider, capture_content=True
        )
        self.sdk_tracer = self.provider.get_tracer(name)

    def last_span(self) -> ReadableSpan:
        assert len(self.exporter.last) == 1, "expected one exported span"
        return self.exporter.last[0]

    def close(self) -> None:
        self.provider.shutdown()


# 1. Per-span overhead ---------------------------------------------------------


def _prepare_span() -> Pair:
    setup = _Setup()
    sdk_tracer = setup.sdk_tracer
    ragtel_tracer = setup.ragtel_tracer

    def baseline(loops: int) -> None:
        for _ in repeat(None, loops):
            with sdk_tracer.start_as_current_span("op"):
                pass

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            with ragtel_tracer.start_as_current_span("op"):
                pass

    # Both sides must produce the same kind of span.
    for side in (baseline, candidate):
        side(1)
        span = setup.last_span()
        assert span.name == "op" and span.parent is None and span.end_time is not None
    return Pair(baseline, candidate, setup.close)


SPAN = Benchmark(
    name="span: `start_as_current_span`",
    target=1.05,
    prepare=_prepare_span,
)


# 2. Decorated function with input and output capture --------------------------

QUERY = "What is the refund policy for annual plans?"
TOP_K = 3
FILTERS: dict[str, Any] = {"source": "help-center", "language": "en", "year": 2024}
_DOCUMENTS = [
    {"id": "doc-17", "score": 0.91, "text": "Annual plans can be refunded within 30 days."},
    {"id": "doc-04", "score": 0.87, "text": "Refunds are issued to the original payment method."},
    {"id": "doc-42", "score": 0.79, "text": "Monthly plans renew automatically each month."},
    {"id": "doc-08", "score": 0.66, "text": "Contact support to cancel a subscription."},
]


def retrieve(query: str, top_k: int, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Stands in for a retriever: returns ``top_k`` small documents."""
    return _DOCUMENTS[:top_k]


def _prepare_function() -> Pair:
    setup = _Setup()
    sdk_tracer = setup.sdk_tracer
    traced_retrieve = setup.ragtel_tracer.trace_function()(retrieve)
    dumps = json.dumps

    # What a hand-instrumented call looks like with the plain SDK: a span, the
    # arguments and the result as JSON attributes.
    def manual_retrieve(query: str, top_k: int, filters: dict[str, Any]) -> list[dict[str, Any]]:
        with sdk_tracer.start_as_current_span("retrieve") as span:
            span.set_attribute("in", dumps({"query": query, "top_k": top_k, "filters": filters}))
            result = retrieve(query, top_k, filters)
            span.set_attribute("out", dumps(result))
            return result

    def baseline(loops: int) -> None:
        for _ in repeat(None, loops):
            manual_retrieve(QUERY, TOP_K, FILTERS)

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            traced_retrieve(QUERY, TOP_K, FILTERS)

    # Both sides must record the same input and output.
    baseline(1)
    manual = setup.last_span().attributes or {}
    candidate(1)
    traced = setup.last_span().attributes or {}
    assert json.loads(str(manual["in"])) == json.loads(str(traced[RAGTEL_INPUT]))
    assert json.loads(str(manual["out"])) == json.loads(str(traced[RAGTEL_OUTPUT]))
    return Pair(baseline, candidate, setup.close)


FUNCTION = Benchmark(
    name="function: `trace_function()` with input + output",
    target=1.3,
    prepare=_prepare_function,
)


BENCHMARKS = (SPAN, FUNCTION)
