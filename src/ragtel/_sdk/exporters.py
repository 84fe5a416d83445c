"""Choosing span exporters from arguments and the standard environment, and building them.

Exporter modules (gRPC, HTTP, protobuf) are imported only when an exporter of
that kind is built.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ragtel import _environment as env
from ragtel._config import (
    DEFAULT_TRACES_FILE,
    ExportConfig,
    OtlpConfig,
    resolve_batch,
)
from ragtel._sdk.log_hygiene import hide_in_logs, protect_loggers, url_credentials
from ragtel._sdk.otlp_headers import environment_headers, merged_headers
from ragtel._sdk.tls import tls_reporting_session

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    from ragtel._sdk.batching import CountingBatchSpanProcessor

_logger = logging.getLogger("ragtel")

EXPORTER_NAMES: Final = ("otlp", "console", "file", "none")
PROTOCOLS: Final = ("grpc", "http/protobuf")
COMPRESSIONS: Final = ("gzip", "deflate", "none")
_TRACES_PATH: Final = "/v1/traces"
_LOGS_PATH: Final = "/v1/logs"


def parse_exporter_names(value: str | Sequence[str], *, source: str) -> tuple[str, ...]:
    """Validate exporter names (``"otlp,file"`` or a sequence).

    Raises ValueError naming ``source`` for an unknown name.
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    result: list[str] = []
    for raw in names:
        if not isinstance(raw, str):
            raise TypeError(f"{source} must name exporters as strings, got {raw!r}")
        name = raw.strip().lower()
        if not name:
            continue
        if name not in EXPORTER_NAMES:
            raise ValueError(f"{source} must be one of {', '.join(EXPORTER_NAMES)}; got {raw!r}")
        if name not in result:
            result.append(name)
    return tuple(result)


def resolve_export(
    *,
    exporter: str | Sequence[str] | None,
    output_filepath: str | os.PathLike[str] | None,
    otlp_endpoint: str | None,
    otlp_protocol: str | None,
    otlp_headers: Mapping[str, str] | None,
    otlp_compression: str | None,
    otlp_timeout: float | None,
    otlp_certificate: str | None,
    api_token: str | None,
    fallback_token: str | None,
    reusing_provider: bool,
) -> ExportConfig:
    """Decide where spans go.

    Arguments win. With none that asks for export, a provider the app already
    set up gets no exporter (the app already exports), and a provider ragtel
    creates follows ``OTEL_TRACES_EXPORTER``, then an OTLP endpoint from the
    environment, then the embedded default: OTLP JSON Lines in
    ``./ragtel-traces.jsonl`` (or ``RAGTEL_TRACES_FILE``).
    """
    names: list[str] = list(parse_exporter_names(exporter, source="exporter")) if exporter else []
    explicit_otlp = any(
        value is not None
        for value in (otlp_endpoint, otlp_protocol, otlp_headers, otlp_compression, otlp_timeout)
    )
    if output_filepath is not None and "file" not in names:
        names.append("file")
    if explicit_otlp and "otlp" not in names and not exporter:
        names.append("otlp")

    # True only when nothing at all chose an exporter: then the log says where traces go.
    is_default_file = False
    if not names and not reusing_provider:
        names = list(_names_from_environment())
        if not names:
            names = ["file"]
            is_default_file = not os.environ.get(env.RAGTEL_TRACES_FILE)
    if "none" in names:
        names = []

    file_path: str | None = None
    if "file" in names:
        if output_filepath is not None:
            file_path = os.fspath(output_filepath)
            _check_output_file(file_path)
        else:
            file_path = os.environ.get(env.RAGTEL_TRACES_FILE) or DEFAULT_TRACES_FILE

    otlp = OtlpConfig()
    if "otlp" in names:
        otlp = _resolve_otlp(
            endpoint=otlp_endpoint,
            protocol=otlp_protocol,
            headers=otlp_headers,
            compression=otlp_compression,
            timeout=otlp_timeout,
            certificate=otlp_certificate,
            api_token=api_token,
            fallback_token=fallback_token,
        )
    return ExportConfig(
        exporters=tuple(names),
        file_path=file_path,
        otlp=otlp,
        batch=resolve_batch(),
        is_default_file=is_default_file,
    )


def _check_output_file(path: str) -> None:
    """Refuse, before anything is written, a file that is not ragtel's to append to.

    A path from the environment is checked when it is first written instead:
    a bad variable must not stop the app (the spans are dropped and counted).
    """
    from ragtel._sdk.jsonl_target import ForeignFileError, check_target

    full_path = os.path.abspath(path)
    try:
        check_target(full_path, "traces")
    except ForeignFileError as error:
        raise ValueError(f"output_filepath: {error}") from None
    except (OSError, ValueError) as error:  # the documented error, naming the argument
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise ValueError(f"output_filepath: cannot use {full_path!r}: {reason}") from None


def _names_from_environment() -> tuple[str, ...]:
    raw = os.environ.get(env.OTEL_TRACES_EXPORTER, "").strip()
    if raw:
        names = []
        for name in raw.split(","):
            name = name.strip().lower()
            if name in EXPORTER_NAMES:
                names.append(name)
            elif name:
                _logger.warning(
                    "ragtel: ignoring unknown exporter %r in %s", name, env.OTEL_TRACES_EXPORTER
                )
        return tuple(names) or ("none",)
    if os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or os.environ.get(
        env.OTEL_EXPORTER_OTLP_ENDPOINT
    ):
        return ("otlp",)
    return ()


def _resolve_otlp(
    *,
    endpoint: str | None,
    protocol: str | None,
    headers: Mapping[str, str] | None,
    compression: str | None,
    timeout: float | None,
    certificate: str | None,
    api_token: str | None,
    fallback_token: str | None,
) -> OtlpConfig:
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"otlp_protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    if compression is not None and compression not in COMPRESSIONS:
        raise ValueError(
            f"otlp_compression must be one of {', '.join(COMPRESSIONS)}; got {compression!r}"
        )
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout < math.inf  # also refuses NaN
    ):
        raise ValueError(f"otlp_timeout must be a positive number of seconds; got {timeout!r}")
    if certificate is not None and not os.access(certificate, os.R_OK):
        raise ValueError(f"otlp_certificate must be a readable CA file; got {certificate!r}")
    # An endpoint's password or query token must not reach a log line either.
    hide_in_logs(
        credential
        for url in (
            endpoint,
            os.environ.get(env.OTEL_EXPORTER_OTLP_ENDPOINT),
            os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
            os.environ.get(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT),
        )
        for credential in url_credentials(url)
    )
    resolved_protocol = protocol or _protocol_from_environment()
    if endpoint is not None and resolved_protocol == "http/protobuf":
        endpoint = _http_traces_url(endpoint)
    return OtlpConfig(
        protocol=resolved_protocol,
        endpoint=endpoint,
        headers=merged_headers(headers, api_token, fallback_token),
        compression=compression,
        timeout=float(timeout) if timeout is not None else None,
        certificate_file=certificate,
    )


def _protocol_from_environment() -> str:
    raw = (
        os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
        or os.environ.get(env.OTEL_EXPORTER_OTLP_PROTOCOL)
        or "http/protobuf"
    ).strip()
    if raw not in PROTOCOLS:
        _logger.warning("ragtel: OTLP protocol %r is not supported, using http/protobuf", raw)
        return "http/protobuf"
    return raw


def _http_traces_url(endpoint: str) -> str:
    # Like OTEL_EXPORTER_OTLP_ENDPOINT, the argument is the collector's base URL.
    return _with_path(
        endpoint, lambda path: path if path.endswith(_TRACES_PATH) else path + _TRACES_PATH
    )


def _with_path(url: str, change: Callable[[str], str]) -> str:
    """``url`` with its path changed; a query string stays after it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=change(parts.path.rstrip("/"))))


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
    return _with_path(
        traces_url,
        lambda path: (
            (path[: -len(_TRACES_PATH)] if path.endswith(_TRACES_PATH) else path).rstrip("/")
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
