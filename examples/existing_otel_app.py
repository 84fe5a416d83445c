"""Adding ragtel to an app that already has its own OpenTelemetry setup.

Run it with ``python examples/existing_otel_app.py``. The app exports its
spans with its own exporter: to the OTLP/HTTP endpoint in
``OTEL_EXPORTER_OTLP_ENDPOINT`` when that is set (e.g. a Collector on
``http://localhost:4318``), otherwise to stdout with the SDK's console
exporter, so the example also runs offline.

What the example shows: ragtel finds the app's SDK TracerProvider and joins
it instead of replacing it. ragtel's spans become children of the app's
spans, in the same trace, and leave through the app's exporter, exactly
once: ragtel adds no exporter of its own and writes no ragtel-traces.jsonl.
"""

from __future__ import annotations

import os
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind

from ragtel import get_lastmile_tracer

# --- 1. The app's own OpenTelemetry setup, as it was before ragtel ----------


def app_exporter() -> SpanExporter:
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        # Imported only when used. With no arguments the exporter reads the
        # OTEL_EXPORTER_OTLP_* variables itself (and adds /v1/traces to the URL).
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return ConsoleSpanExporter(out=sys.stdout)


provider = TracerProvider(resource=Resource.create({"service.name": "support-api"}))
provider.add_span_processor(BatchSpanProcessor(app_exporter()))
trace.set_tracer_provider(provider)
app_tracer = trace.get_tracer("support-api")

# --- 2. ragtel, added afterwards ---------------------------------------------

# Order matters: the app's provider must be installed first. If ragtel came
# first it would install a provider of its own (writing ragtel-traces.jsonl),
# and OpenTelemetry would then refuse the app's set_tracer_provider call.
#
# No exporter arguments here: the app already exports, so ragtel only adds
# its span processor to the app's provider.
rag_tracer = get_lastmile_tracer("support-rag")

DOCUMENTS = [
    "Refunds are available within 30 days of purchase.",
    "Refunds go back to the original payment method within five business days.",
    "Support is available by chat from 9am to 6pm on weekdays.",
]


@rag_tracer.trace_function()
def retrieve(question: str, top_k: int = 2) -> list[str]:
    # Toy keyword retrieval: documents sharing the most words with the question.
    words = set(question.lower().split())
    ranked = sorted(DOCUMENTS, key=lambda doc: len(words & set(doc.lower().split())), reverse=True)
    return ranked[:top_k]


@rag_tracer.trace_function()
def generate_answer(question: str, context: list[str]) -> str:
    # Stands in for the LLM call.
    return f"{context[0]} (answering: {question!r})"


# --- 3. The app's code, unchanged: its own spans, with ragtel's nested inside --


def load_settings() -> dict[str, str]:
    # App work traced with the app's own tracer, exactly as before ragtel.
    with app_tracer.start_as_current_span("load_settings"):
        return {"model": "toy-model"}


def handle_ask(question: str) -> str:
    # The app's request span is the current span while the RAG steps run, so
    # ragtel's spans join its trace as its children.
    with app_tracer.start_as_current_span("POST /ask", kind=SpanKind.SERVER) as span:
        span.set_attribute("http.request.method", "POST")
        context = retrieve(question)
        answer = generate_answer(question, context)
        span.set_attribute("http.response.status_code", 200)
        return answer


def main() -> None:
    load_settings()
    print("answer:", handle_ask("how long do refunds take"))
    # The app's shutdown flushes the app's exporter, ragtel's spans included.
    provider.shutdown()


if __name__ == "__main__":
    main()
