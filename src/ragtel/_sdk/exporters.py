"""Building span exporters, and their log-record counterparts, from an ``ExportConfig``.

Which exporters a tracer gets is decided in :mod:`ragtel._sdk.export_config`.
Exporter modules (gRPC, HTTP, protobuf) are imported only when an exporter of
that kind is built.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Final

from ragtel import _environment as env
from ragtel._config import ExportConfig, OtlpConfig
from ragtel._sdk.export_config import TRACES_PATH, with_path
from ragtel._sdk.log_hygiene import protect_loggers
from ragtel._sdk.otlp_headers import environment_headers
from ragtel._sdk.tls import tls_reporting_session

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    from ragtel._sdk.batching import CountingBatchSpanProcessor

_logger = logging.getLogger("ragtel")

_LOGS_PATH: Final = "/v1/logs"


def build_processors(config: ExportConfig) -> list[CountingBatchSpanProcessor]:
    """One batching processor per configured exporter."""
    from ragtel._sdk.batching import CountingBatchSpanProcessor

    processors = []
    for name in config.exporters:
        exporter = _build_exporter(name, config)
        processors.append(CountingBatchSpanProcessor(exporter, config.batch, label=name))
    # The exporters' modules (and loggers) are loaded now: filter them too.
    protect_loggers()
    if config.is_default_file and config.file_path:
        # Said once per provider, so a user who configured nothing learns where traces went.
        _logger.warning(
            "ragtel: no exporter configured; writing traces as OTLP JSON Lines to %s",
            os.path.abspath(config.file_path),
        )
    elif "file" in config.exporters and config.file_path:
        _logger.info(
            "ragtel: writing traces as OTLP JSON Lines to %s", os.path.abspath(config.file_path)
        )
    return processors


def _build_exporter(name: str, config: ExportConfig) -> SpanExporter:
    if name == "file":
        from ragtel._sdk.jsonl_file import OtlpJsonLinesExporter

        assert config.file_path is not None
        return OtlpJsonLinesExporter(config.file_path)
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from ragtel._sdk.otlp_exporters import grpc_span_exporter_class, http_span_exporter_class

    if config.otlp.protocol == "grpc":
        exporter_class = grpc_span_exporter_class()
        return _grpc_exporter(exporter_class, config.otlp, config.otlp.endpoint)  # type: ignore[no-any-return]
    exporter_class = http_span_exporter_class()
    return _http_exporter(exporter_class, config.otlp, config.otlp.endpoint)  # type: ignore[no-any-return]


def build_log_exporter(name: str, config: ExportConfig) -> LogRecordExporter:
    """The log-record counterpart of span exporter ``name``: same destination, logs signal.

    A traces file gets a sibling logs file (:func:`logs_path_for`); OTLP goes
    to the same collector's logs endpoint, with the same headers and TLS.
    """
    if name == "file":
        from ragtel._sdk.jsonl_log_file import OtlpJsonLinesLogExporter

        assert config.file_path is not None
        return OtlpJsonLinesLogExporter(logs_path_for(config.file_path))
    if name == "console":
        from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter

        return ConsoleLogRecordExporter()
    endpoint = config.otlp.endpoint or _traces_only_endpoint()
    otlp = _with_traces_certificate(config.otlp) if endpoint else config.otlp
    if otlp.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        # Given no headers, this exporter reads them from the environment by
        # itself; ragtel reads them instead, leaving out values it cannot send.
        headers = (
            dict(otlp.headers)
            or environment_headers(env.OTEL_EXPORTER_OTLP_LOGS_HEADERS)
            or environment_headers(env.OTEL_EXPORTER_OTLP_HEADERS)
        )
        return _grpc_exporter(OTLPLogExporter, otlp._replace(headers=headers), endpoint)  # type: ignore[no-any-return]
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )

    return _http_exporter(HttpLogExporter, otlp, _http_logs_url(endpoint))  # type: ignore[no-any-return]


def logs_path_for(traces_path: str | os.PathLike[str]) -> str:
    """The logs file beside a traces file: ``traces`` in its name becomes ``logs``.

    ``ragtel-traces.jsonl`` -> ``ragtel-logs.jsonl``; a name without
    ``traces`` gets ``.logs`` before its extension (``run.jsonl`` ->
    ``run.logs.jsonl``).
    """
    directory, name = os.path.split(os.fspath(traces_path))
    if "traces" in name:
        head, _, tail = name.rpartition("traces")
        return os.path.join(directory, head + "logs" + tail)
    stem, extension = os.path.splitext(name)
    return os.path.join(directory, f"{stem}.logs{extension or '.jsonl'}")


def _http_logs_url(traces_url: str | None) -> str | None:
    if traces_url is None:
        return None  # the exporter reads the logs endpoint from the environment itself
    return with_path(
        traces_url,
        lambda path: (
            (path[: -len(TRACES_PATH)] if path.endswith(TRACES_PATH) else path).rstrip("/")
            + _LOGS_PATH
        ),
    )


def _traces_only_endpoint() -> str | None:
    """The traces endpoint of the environment when it names no logs or general endpoint.

    A log exporter reads its own or the general endpoint by itself; an
    endpoint given for traces only must be handed to it.
    """
    if os.environ.get(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT) or os.environ.get(
        env.OTEL_EXPORTER_OTLP_ENDPOINT
    ):
        return None
    return os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or None


def _with_traces_certificate(otlp: OtlpConfig) -> OtlpConfig:
    """``otlp`` with the CA of ``OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE``, for a log exporter.

    A log exporter handed the traces endpoint talks to the traces collector,
    so it needs the CA that collector is trusted with. By itself it reads only
    the logs or the general variable.
    """
    from opentelemetry.sdk.environment_variables import (
        OTEL_EXPORTER_OTLP_CERTIFICATE,
        OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
        OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    )

    if (
        otlp.certificate_file
        or os.environ.get(OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE)
        or os.environ.get(OTEL_EXPORTER_OTLP_CERTIFICATE)
    ):
        return otlp
    return otlp._replace(
        certificate_file=os.environ.get(OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE) or None
    )


def _http_exporter(exporter_class: Any, otlp: OtlpConfig, endpoint: str | None) -> Any:
    from opentelemetry.exporter.otlp.proto.http import Compression

    return exporter_class(
        endpoint=endpoint,
        certificate_file=otlp.certificate_file,
        headers=dict(otlp.headers),
        timeout=otlp.timeout,
        compression=Compression(otlp.compression) if otlp.compression else None,
        session=tls_reporting_session(),
    )


def _grpc_exporter(exporter_class: Any, otlp: OtlpConfig, endpoint: str | None) -> Any:
    import grpc

    credentials = None
    if otlp.certificate_file:
        with open(otlp.certificate_file, "rb") as ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
    compression = None
    if otlp.compression:
        compression = {
            "gzip": grpc.Compression.Gzip,
            "deflate": grpc.Compression.Deflate,
            "none": grpc.Compression.NoCompression,
        }[otlp.compression]
    exporter = exporter_class(
        endpoint=endpoint,
        credentials=credentials,
        headers=dict(otlp.headers) or None,
        timeout=otlp.timeout,
        compression=compression,
    )
    # Given no header, the SDK would read OTEL_EXPORTER_OTLP_HEADERS unchecked:
    # the headers ragtel merged and checked are the ones sent.
    exporter._headers = tuple(otlp.headers.items())
    return exporter
