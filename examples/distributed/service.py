"""The retrieval service: continues the caller's trace from its traceparent header.

A stdlib HTTP server on 127.0.0.1 answering ``POST /retrieve`` with the
chunks that best match a question. Each request's span continues the trace
of the client that sent it, so one trace shows both processes.

Run it with ``python examples/distributed/service.py --port 8765`` (the port
defaults to ``RETRIEVAL_SERVICE_PORT``, else 8765) and stop it with Ctrl-C or
SIGTERM, which flush its spans. Spans go where ragtel's defaults send them:
``RAGTEL_TRACES_FILE`` (else ``./ragtel-traces.jsonl``) or the Collector in
``OTEL_EXPORTER_OTLP_ENDPOINT``. ``run.py`` starts it together with the client.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.trace import Span, SpanKind

from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("retrieval-service", project_name="support-bot", rag_flow_type="query")

CHUNKS = [
    "Refunds are available within 30 days of purchase.",
    "Refunds go back to the original payment method within five business days.",
    "Annual plans can be cancelled at any time and are refunded pro rata.",
    "Support is available by chat from 9am to 6pm on weekdays.",
    "Passwords can be reset from the login page.",
]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@tracer.trace_function()
def retrieve(question: str, top_k: int) -> list[str]:
    # Toy keyword retrieval; a real service would query a vector index here.
    wanted = _words(question)
    return sorted(CHUNKS, key=lambda chunk: len(wanted & _words(chunk)), reverse=True)[:top_k]


def server_span(name: str, traceparent: str | None) -> AbstractContextManager[Span]:
    """A SERVER span continuing the caller's trace when it sent a valid traceparent.

    ragtel accepts the header's value as ``context=`` directly. A header that
    is not a valid traceparent raises ValueError; a server should not fail a
    request over it, so it starts a new trace instead.
    """
    if traceparent:
        try:
            return tracer.start_as_current_span(name, context=traceparent, kind=SpanKind.SERVER)
        except ValueError:
            pass
    return tracer.start_as_current_span(name, kind=SpanKind.SERVER)


class RetrievalHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        if self.path != "/retrieve":
            self.send_error(404)
            return
        with server_span("POST /retrieve", self.headers.get("traceparent")) as span:
            span.set_attribute("http.request.method", "POST")
            length = int(self.headers.get("Content-Length") or 0)
            request: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            chunks = retrieve(str(request.get("question", "")), int(request.get("top_k", 2)))
            body = json.dumps({"chunks": chunks}).encode()
            span.set_attribute("http.response.status_code", 200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the spans already record every request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("RETRIEVAL_SERVICE_PORT") or 8765)
    )
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), RetrievalHandler)
    # Process managers (and run.py) stop services with SIGTERM, which would
    # otherwise kill the process before the batched spans are exported: turn
    # it into a normal exit so the finally block below runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"retrieval service listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        tracer.shutdown()  # flush and stop export


if __name__ == "__main__":
    main()
