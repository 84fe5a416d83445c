"""Quickstart: trace a tiny RAG pipeline with ragtel.

Run it with ``python examples/quickstart.py``. Nothing needs to be running:
with no exporter configured, ragtel writes the spans as OTLP JSON Lines to
``./ragtel-traces.jsonl`` (or to the file named by ``RAGTEL_TRACES_FILE``).
Point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at a Collector to send them there
instead (see ``examples/collector``).

The "pipeline" is deliberately a toy (word-count chunking, keyword overlap
retrieval, a templated answer) so the example runs anywhere in a fraction of
a second; the tracing calls are exactly what a real pipeline would use.
"""

from __future__ import annotations

import json
import re

from ragtel import get_lastmile_tracer

# The knobs that shape the pipeline's behaviour. They are recorded on every
# trace's root span (as ``ragtel.param.chunk_size`` and ``ragtel.param.top_k``)
# so that when an answer looks wrong you can see which settings produced it.
PARAMS = {"chunk_size": 12, "top_k": 2}

# Create the tracer once, at import time, so the decorators below can use it.
# No output_filepath here on purpose: the default destination (the file, or
# whatever the OTEL_* environment variables say) is what a quickstart should show.
tracer = get_lastmile_tracer(
    "quickstart",
    project_name="support-bot",
    initial_params=PARAMS,
    rag_flow_type="query",
)

CORPUS = """\
Refunds are available within 30 days of purchase. To request a refund, open
the billing page and choose the order you want to return. Refunds go back to
the original payment method within five business days. Annual plans can be
cancelled at any time; the remaining months are refunded pro rata. Support is
available by chat from 9am to 6pm on weekdays, and by email at all times.
Passwords can be reset from the login page with the "forgot password" link.
"""


# Every step is decorated: each call becomes a span named after the function,
# recording its arguments as ``ragtel.input`` and its result as ``ragtel.output``.
@tracer.trace_function()
def split_into_chunks(text: str, chunk_size: int) -> list[str]:
    # A real app would chunk and index documents once, in an ingestion
    # pipeline; here the index is rebuilt per query to keep one short trace.
    words = text.split()
    return [" ".join(words[i : i + chunk_size]) for i in range(0, len(words), chunk_size)]


def _terms(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if len(word) > 2}


@tracer.trace_function()
def retrieve(question: str, chunks: list[str], top_k: int) -> list[str]:
    # Rank chunks by how many of the question's words they share.
    wanted = _terms(question)
    ranked = sorted(chunks, key=lambda chunk: len(wanted & _terms(chunk)), reverse=True)
    return ranked[:top_k]


@tracer.trace_function()
def generate_answer(question: str, context: list[str]) -> str:
    # Stands in for the LLM call: the prompt a model would get, and a reply.
    sources = " ".join(f"[{n}] {chunk}" for n, chunk in enumerate(context, start=1))
    return f"Q: {question}\nBased on {sources}"


# The outermost decorated call starts the trace: this span is the root that
# carries the project name, the RAG flow type and the parameters above.
@tracer.trace_function()
def answer_question(question: str) -> str:
    chunks = split_into_chunks(CORPUS, PARAMS["chunk_size"])
    context = retrieve(question, chunks, PARAMS["top_k"])
    return generate_answer(question, context)


def _count_spans(path: str) -> tuple[int, int]:
    """(lines, spans) in an OTLP JSON Lines file: one export batch per line."""
    lines = spans = 0
    with open(path, encoding="utf-8") as traces:
        for line in traces:
            if not line.strip():
                continue
            lines += 1
            for resource_spans in json.loads(line).get("resourceSpans", []):
                for scope_spans in resource_spans.get("scopeSpans", []):
                    spans += len(scope_spans.get("spans", []))
    return lines, spans


def main() -> None:
    print(answer_question("How long do refunds take to reach my card?"))

    # Spans are exported in the background, in batches; flush so the file is
    # complete before we read it (a short script could otherwise exit first).
    tracer.force_flush()

    # Where this tracer's spans were written: the default file (RAGTEL_TRACES_FILE
    # or ./ragtel-traces.jsonl) unless OTEL_* settings sent them elsewhere.
    for path in tracer.output_filepaths:
        lines, spans = _count_spans(path)
        print(f"\nTraces written to {path}")
        print(f"It now holds {spans} spans in {lines} line(s): one line per export batch,")
        print("appended on every run.")
    if not tracer.output_filepaths:
        print("\nNo trace file was written: OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_ENDPOINT")
        print("sent the spans elsewhere.")

    tracer.shutdown()


if __name__ == "__main__":
    main()
