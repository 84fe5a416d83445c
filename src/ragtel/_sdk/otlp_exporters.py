"""The SDK's OTLP span exporters, telling when a collector refused a request as too large.

A request over a collector's size limit is refused whole: HTTP status 413,
or gRPC ``RESOURCE_EXHAUSTED`` with "message larger than max". The SDK
exporters report only a failure, so ragtel's batch processor could not tell
such a request (worth sending again in halves) from a collector that is down.
These thin subclasses set ``last_export_too_large`` after each ``export``.

* HTTP: the status comes from the requests session ragtel gives the
  exporter (:func:`ragtel._sdk.tls.tls_reporting_session`), which keeps the last
  response's status code. The SDK's ERROR line for such a 413 is dropped on
  ragtel's export threads (ragtel reports the split itself); elsewhere it stays.
* gRPC: the stub is wrapped so that such an error ends the export at once:
  the SDK would retry ``RESOURCE_EXHAUSTED`` with backoff until its timeout,
  and the same request can only be refused again. Any other
  ``RESOURCE_EXHAUSTED`` (a collector asking to slow down) is retried as
  before.

Defined on first use: the exporter modules load gRPC or requests.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any

from ragtel._config import EXPORT_THREAD_PREFIX
from ragtel._sdk.size_refusal import HTTP_PAYLOAD_TOO_LARGE, is_too_large_grpc, is_too_large_http


@functools.cache
def http_span_exporter_class() -> type[Any]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    class HttpSpanExporter(OTLPSpanExporter):
        """The SDK's OTLP/HTTP span exporter, with ``last_export_too_large``."""

        def __init__(self, *, session: Any, **kwargs: Any) -> None:
            super().__init__(session=session, **kwargs)
            self._status_session = session
            self.last_export_too_large = False

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            session = self._status_session
            if session is not None:
                session.last_status_code = None
            result = super().export(spans)
            self.last_export_too_large = (
                result is not SpanExportResult.SUCCESS
                and session is not None
                and is_too_large_http(session.last_status_code)
            )
            return result

    logging.getLogger(OTLPSpanExporter.__module__).addFilter(_QuietTooLargeOnExportThreads())
    return HttpSpanExporter


@functools.cache
def grpc_span_exporter_class() -> type[Any]:
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    class GrpcSpanExporter(OTLPSpanExporter):
        """The SDK's OTLP/gRPC span exporter, with ``last_export_too_large``."""

        last_export_too_large = False

        def _initialize_channel_and_stub(self) -> None:
            super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]
            self._client = _SizeRefusalStub(self._client, self, grpc)  # type: ignore[assignment]

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.last_export_too_large = False
            result = super().export(spans)
            return SpanExportResult.FAILURE if self.last_export_too_large else result

    return GrpcSpanExporter


class _SizeRefusalStub:
    """A TraceService stub that turns a too-large refusal into a recorded, final outcome."""

    def __init__(self, stub: Any, exporter: Any, grpc: Any) -> None:
        self._stub = stub
        self._exporter = exporter
        self._grpc = grpc

    def Export(self, *args: Any, **kwargs: Any) -> Any:  # the stub's method name
        try:
            return self._stub.Export(*args, **kwargs)
        except self._grpc.RpcError as error:
            code = getattr(error, "code", None)
            details = getattr(error, "details", None)
            if (
                callable(code)
                and callable(details)
                and is_too_large_grpc(getattr(code(), "name", ""), str(details() or ""))
            ):
                # Returning ends the SDK's retry loop; export() turns it into FAILURE.
                self._exporter.last_export_too_large = True
                return None
            raise


class _QuietTooLargeOnExportThreads(logging.Filter):
    """Drops the SDK's "Failed to export ... code: 413" where ragtel sends the request in halves."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            isinstance(args, tuple)
            and len(args) >= 2
            and args[1] == HTTP_PAYLOAD_TOO_LARGE
            and str(record.msg).startswith("Failed to export")
            and threading.current_thread().name.startswith(EXPORT_THREAD_PREFIX)
        )
