"""OTLP/gRPC for ``ragtel send``: one channel, insecure for ``http://``, TLS for ``https://``.

grpc and the generated OTLP stubs are imported on first use only: the other
commands, and ``import ragtel``, never load them.
"""

from __future__ import annotations

import os
from typing import Any

from ragtel._sdk.size_refusal import is_too_large_grpc
from ragtel.cli._errors import CliError
from ragtel.cli.send.batches import Batch, export_request
from ragtel.cli.send.destination import Destination
from ragtel.cli.send.outcome import (
    USER_AGENT,
    Attempt,
    Outcome,
    Retry,
    deliver,
    partial_outcome,
    shorten_reason,
)

# The codes the OTLP specification calls retryable.
_RETRYABLE_GRPC_CODES = frozenset(
    {
        "CANCELLED",
        "DEADLINE_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNAVAILABLE",
        "DATA_LOSS",
    }
)


class GrpcSender:
    """OTLP/gRPC over one channel: insecure for ``http://``, TLS for ``https://``."""

    def __init__(self, destination: Destination) -> None:
        # gRPC's core logs every failed TLS handshake on stderr; the outcome says enough.
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
        import grpc
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
            TraceServiceStub,
        )

        self._destination = destination
        self._channel = _grpc_channel(destination.urls["traces"], destination.certificate)
        # The generated stubs are untyped.
        self._stubs: dict[str, Any] = {
            "traces": TraceServiceStub(self._channel),  # type: ignore[no-untyped-call]
            "logs": LogsServiceStub(self._channel),  # type: ignore[no-untyped-call]
        }
        self._metadata = tuple(destination.headers.items())
        self._rpc_error = grpc.RpcError

    def send(self, batch: Batch) -> Outcome:
        encoded = export_request(batch)
        request = encoded.request
        export = self._stubs[batch.layout.signal].Export

        def attempt(sent: Batch, seconds_left: float) -> Attempt:
            try:
                response = export(request, timeout=seconds_left, metadata=self._metadata)
            except self._rpc_error as error:
                return _grpc_failure(error, sent)
            partial = response.partial_success
            rejected = (
                partial.rejected_spans
                if sent.layout.signal == "traces"
                else partial.rejected_log_records
            )
            return partial_outcome(rejected, partial.error_message, sent)

        return deliver(batch, encoded, self._destination.timeout, attempt)

    def close(self) -> None:
        self._channel.close()


def grpc_target(url: str) -> tuple[str, bool]:
    """``host:port`` of an ``http(s)://`` URL (4317 by default), and whether to use TLS."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port or 4317}", parts.scheme == "https"


def _grpc_channel(url: str, certificate: str | None) -> Any:
    import grpc

    target, secure = grpc_target(url)
    options = [("grpc.primary_user_agent", USER_AGENT)]
    if not secure:
        return grpc.insecure_channel(target, options=options)
    root_certificates = None
    if certificate:
        try:
            with open(certificate, "rb") as pem:
                root_certificates = pem.read()
        except OSError as error:
            raise CliError(f"{certificate}: cannot read: {error.strerror or error}") from None
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    return grpc.secure_channel(target, credentials, options=options)


def _grpc_failure(error: Any, batch: Batch) -> Attempt:
    code = error.code()
    name = getattr(code, "name", str(code))
    details = error.details() or ""
    reason = f"gRPC {name}: {shorten_reason(details)}".rstrip(": ")
    if is_too_large_grpc(name, details):
        # A message over the server's size limit: retrying the same would fail the same.
        return Outcome(batch.size, reason, too_large=True)
    if name in _RETRYABLE_GRPC_CODES:
        return Retry(reason)
    return Outcome(batch.size, reason)
