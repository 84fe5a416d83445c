"""The sending side of the export throughput benchmark, run in a process of its own.

``python -m benchmarks._export_sender PROTOCOL ENDPOINT COUNT`` builds COUNT
finished spans once, and two span processors for the same OTLP endpoint: the
SDK's ``BatchSpanProcessor`` around the SDK's ``OTLPSpanExporter``
(``baseline``), and the processor and exporter ragtel builds for that
endpoint (``candidate``). It prints ``ready``, then for each line ``baseline``
or ``candidate`` read from standard input it feeds that side every span
through ``on_end``, calls ``force_flush``, and prints one JSON line:
``{"ns": ..., "cpu_ns": ..., "flushed": ..., "dropped": ...}`` (wall and
process CPU time). It shuts both sides down at the end of its input.

The receiver runs in the parent. Keeping the sender apart means that decoding
what the receiver reports (JSON, in Python threads) never competes with the
exporters for this interpreter's GIL.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import ragtel
from ragtel import RetrievedChunk
from ragtel._sdk.batching import CountingBatchSpanProcessor
from ragtel._sdk.export_config import resolve_export
from ragtel._sdk.exporters import build_processors

SPANS_PER_TRACE = 5
FLUSH_TIMEOUT_MILLIS = 60_000

_PASSAGE = (
    "Refunds for annual plans are issued to the original payment method and "
    "reach the card within five business days of the request. "
) * 3


def build_spans(count: int) -> list[ReadableSpan]:
    """``count`` finished spans of RAG-like traces: a root and four steps each.

    Each trace holds what ragtel records for a question answered from
    retrieved documents: the pipeline's params on the root, an embedding
    step, a retriever (its arguments and result captured, and a retrieval
    event with five 300-character chunks), a rerank event and an LLM call
    with its messages and token counts.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = ragtel.get_lastmile_tracer(
        "export-benchmark", tracer_provider=provider, project_name="support-bot"
    )

    @tracer.trace_function(name="retrieve")
    def retrieve(query: str, top_k: int) -> list[dict[str, Any]]:
        chunks = [
            RetrievedChunk(f"doc-{i}", _PASSAGE[i : i + 300], retrieval_score=0.9 - i / 20)
            for i in range(top_k)
        ]
        tracer.log_retrieval_event(query, chunks)
        return [{"id": chunk.id, "score": chunk.retrieval_score} for chunk in chunks]

    for index in range(-(-count // SPANS_PER_TRACE)):
        query = f"How long does a refund take for order {index}?"
        with tracer.start_as_current_span("answer", kind=SpanKind.SERVER):
            tracer.register_params({"chunk_size": 512, "top_k": 5, "temperature": 0.2})
            with tracer.start_as_current_span("embed") as span:
                span.set_attributes({"gen_ai.request.model": "text-embedding-3-small"})
            documents = retrieve(query, 5)
            with tracer.start_as_current_span("rerank"):
                tracer.log_rerank_event(documents, list(reversed(documents)))
            with tracer.start_as_current_span("generate"):
                tracer.log_llm_call(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": query}],
                    output="Refunds reach the card within five business days.",
                    input_tokens=812,
                    output_tokens=96,
                )
    spans = list(exporter.get_finished_spans())
    provider.shutdown()
    return spans[:count]


def baseline_processor(protocol: str, endpoint: str, count: int) -> BatchSpanProcessor:
    """The SDK's processor and exporter with their defaults, but a queue that holds every span.

    With the SDK's default queue (2,048 spans), about half of the burst is
    dropped; with room for all of it, neither side drops for want of queue,
    and the comparison is of delivering the spans.
    """
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, insecure=True), max_queue_size=count
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return BatchSpanProcessor(
        HttpSpanExporter(endpoint=f"{endpoint}/v1/traces"), max_queue_size=count
    )


def candidate_processor(protocol: str, endpoint: str) -> CountingBatchSpanProcessor:
    """What ``get_lastmile_tracer(otlp_endpoint=..., otlp_protocol=...)`` builds, its defaults."""
    config = resolve_export(
        exporter="otlp",
        output_filepath=None,
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
        otlp_headers=None,
        otlp_compression=None,
        otlp_timeout=None,
        otlp_certificate=None,
        api_token=None,
        fallback_token=None,
        reusing_provider=False,
    )
    (processor,) = build_processors(config)
    return processor


def _dropped(processor: SpanProcessor) -> int:
    # The SDK's processor does not count its drops; the parent counts what arrived.
    if isinstance(processor, CountingBatchSpanProcessor):
        return processor.drop_counts().total
    return 0


def run_round(processor: SpanProcessor, spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Feed every span to ``processor``, flush, and time the whole (garbage collector off).

    Besides the wall time, the CPU time of this process (all its threads):
    unlike the wall time, it does not depend on how fast the receiver is or
    on what else the machine runs.
    """
    dropped = _dropped(processor)
    gc.collect()
    gc.disable()
    try:
        cpu_start = time.process_time_ns()
        start = time.perf_counter_ns()
        for span in spans:
            processor.on_end(span)
        flushed = processor.force_flush(FLUSH_TIMEOUT_MILLIS)
        elapsed = time.perf_counter_ns() - start
        cpu = time.process_time_ns() - cpu_start
    finally:
        gc.enable()
    return {
        "ns": elapsed,
        "cpu_ns": cpu,
        "flushed": flushed,
        "dropped": _dropped(processor) - dropped,
    }


def main(argv: Sequence[str]) -> int:
    protocol, endpoint, count = argv[0], argv[1], int(argv[2])
    spans = build_spans(count)
    sides: dict[str, SpanProcessor] = {
        "baseline": baseline_processor(protocol, endpoint, count),
        "candidate": candidate_processor(protocol, endpoint),
    }
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            print(json.dumps(run_round(sides[line.strip()], spans)), flush=True)
    finally:
        for processor in sides.values():
            processor.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
