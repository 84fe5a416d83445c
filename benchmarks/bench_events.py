"""RAG event costs: a retrieval event against setting the same attributes by hand."""

from __future__ import annotations

import statistics
import timeit
from itertools import repeat

from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan

from benchmarks._timing import QUICK, Benchmark, Measurement, Pair, Settings
from benchmarks.bench_tracer import _Setup
from ragtel import RetrievedChunk
from ragtel._attributes.rag import retrieval_record
from ragtel._tracer import tracer_core

QUERY = "How long do refunds take to reach my card?"
CHUNKS = [
    RetrievedChunk(
        f"chunk-{i}",
        ("Refunds reach the card in five business days. " * 11)[:500],
        retrieval_score=0.9 - i / 20,
    )
    for i in range(10)
]


def _prepare_retrieval() -> Pair:
    setup = _Setup()
    tracer = setup.ragtel_tracer
    # Both sides add to one long-lived span (the SDK keeps its last 128 events),
    # so only the event's own cost is measured, not a span's.
    span = tracer.start_span("retrieve")
    capture = tracer_core(tracer).capture
    record = retrieval_record(
        query=QUERY, retrieved_data=CHUNKS, metadata=None, name=None, capture=capture
    )
    event_name, event_attributes, span_attributes = (
        record.event_name,
        record.event_attributes,
        record.span_attributes,
    )

    def baseline(loops: int) -> None:
        for _ in repeat(None, loops):
            span.set_attributes(span_attributes)
            span.add_event(event_name, event_attributes)

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            tracer.log_retrieval_event(QUERY, CHUNKS, span=span)

    def close() -> None:
        span.end()
        setup.close()

    return Pair(baseline, candidate, close)


RETRIEVAL = Benchmark(
    name="events: `log_retrieval_event` (10 chunks × 500 chars) vs the same attributes pre-built",
    target=2.0,
    prepare=_prepare_retrieval,
)

BENCHMARKS = [RETRIEVAL]


def non_recording_call(settings: Settings) -> Measurement:
    setup = _Setup()
    tracer = setup.ragtel_tracer
    span = NonRecordingSpan(INVALID_SPAN_CONTEXT.__class__(1, 1, False))
    number = 20_000 if settings is QUICK else 200_000
    runs = [
        timeit.timeit(lambda: tracer.log_retrieval_event(QUERY, CHUNKS, span=span), number=number)
        / number
        * 1e6
        for _ in range(5 if settings is QUICK else 15)
    ]
    setup.close()
    return Measurement(
        name="events: `log_retrieval_event` on a span that does not record",
        value=statistics.median(runs),
        unit="µs",
        limit=1.0,
        detail=f"median of {len(runs)} runs of {number:,} calls",
    )


MEASUREMENTS = [
    ("events: `log_retrieval_event` on a span that does not record", non_recording_call)
]
