"""The client: starts a trace and hands it to the retrieval service over HTTP.

The request carries the current span's W3C ``traceparent`` header (from
``tracer.get_distributed_trace_headers()``), so the service's spans join this
trace as children of the client's HTTP span.

Run the service first, then
``python examples/distributed/client.py --url http://127.0.0.1:8765``
(the URL defaults to ``RETRIEVAL_SERVICE_URL``). Prints the answer and the
trace id to look for in your tracing backend or trace file.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request

from opentelemetry.trace import SpanKind, format_trace_id

from ragtel import get_lastmile_tracer

TOP_K = 2

tracer = get_lastmile_tracer(
    "support-frontend",
    project_name="support-bot",
    initial_params={"top_k": TOP_K},
    rag_flow_type="query",
)

# The service runs on this machine: talk to it directly even if an
# http_proxy variable is set in the environment.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch_chunks(service_url: str, question: str, top_k: int) -> list[str]:
    # A CLIENT span around the call. Its context is what the headers carry, so
    # the service's span becomes its child.
    with tracer.start_as_current_span("POST /retrieve", kind=SpanKind.CLIENT) as span:
        headers = {"Content-Type": "application/json", **tracer.get_distributed_trace_headers()}
        request = urllib.request.Request(
            f"{service_url.rstrip('/')}/retrieve",
            data=json.dumps({"question": question, "top_k": top_k}).encode(),
            headers=headers,
            method="POST",
        )
        with _http.open(request, timeout=10) as response:
            span.set_attribute("http.response.status_code", response.status)
            chunks: list[str] = json.load(response)["chunks"]
            return chunks


@tracer.trace_function()
def generate_answer(question: str, chunks: list[str]) -> str:
    # Stands in for the LLM call.
    return f"{chunks[0]} (answering: {question!r})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("RETRIEVAL_SERVICE_URL") or "http://127.0.0.1:8765"
    )
    parser.add_argument("--question", default="How long do refunds take?")
    args = parser.parse_args()

    try:
        # The trace's root span, in this process.
        with tracer.start_as_current_span("answer_question") as root:
            chunks = fetch_chunks(args.url, args.question, TOP_K)
            print(generate_answer(args.question, chunks))
        print(f"trace id: {format_trace_id(root.get_span_context().trace_id)}")
    finally:
        tracer.shutdown()  # flush before exiting: export runs in the background


if __name__ == "__main__":
    main()
