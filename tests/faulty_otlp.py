"""Small OTLP trace receivers that refuse requests over a byte limit, as collectors do.

* :class:`ByteLimitedHttpReceiver`: OTLP/HTTP (protobuf) on 127.0.0.1; a
  request body over ``limit`` bytes gets ``413 Payload Too Large``, as a
  Collector or a reverse proxy with a body size limit answers.
* :class:`ByteLimitedGrpcReceiver`: OTLP/gRPC on 127.0.0.1, a real gRPC server
  whose ``max_receive_message_length`` is ``limit``: a bigger request is
  refused by gRPC itself with ``RESOURCE_EXHAUSTED`` (the Collector's default
  is 4 MiB).

Both decode every request they accept and keep its spans, so a test can
assert that each span arrived, and arrived once.
"""

from __future__ import annotations

import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

HOST = "127.0.0.1"


class _Received:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.span_ids: list[bytes] = []
        self.names: list[str] = []
        self.accepted_sizes: list[int] = []
        self.refused_sizes: list[int] = []
        self.headers: list[dict[str, str]] = []

    def accept(self, body: bytes, headers: dict[str, str]) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            self.accepted_sizes.append(len(body))
            self.headers.append(headers)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.span_ids.append(span.span_id)
                        self.names.append(span.name)

    def refuse(self, size: int) -> None:
        with self.lock:
            self.refused_sizes.append(size)


class ByteLimitedHttpReceiver(_Received):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if length > received.limit:
                    received.refuse(length)
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                received.accept(body, {k.lower(): v for k, v in self.headers.items()})
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def __enter__(self) -> ByteLimitedHttpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class ByteLimitedGrpcReceiver(_Received):
    def __init__(self, limit: int) -> None:
        super().__init__()
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        received = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> ExportTraceServiceResponse:
                metadata = {key: value for key, value in context.invocation_metadata()}
                received.accept(request.SerializeToString(), metadata)
                return ExportTraceServiceResponse()

        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[("grpc.max_receive_message_length", limit)],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self._server)
        self._port = self._server.add_insecure_port(f"{HOST}:0")

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self._port}"

    def __enter__(self) -> ByteLimitedGrpcReceiver:
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stop(grace=None)
