"""Choosing where spans go, from the arguments and the standard environment.

:func:`resolve_export` turns ``get_lastmile_tracer``'s export arguments into
one checked :class:`~ragtel._config.ExportConfig`: which exporters, the file
path, the OTLP endpoint, protocol, headers (merged with the API token),
compression, timeout and CA file. Nothing is built here;
:mod:`ragtel._sdk.exporters` builds the exporters a configuration names.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ragtel import _environment as env
from ragtel._config import (
    DEFAULT_TRACES_FILE,
    ExportConfig,
    OtlpConfig,
    resolve_batch,
)
from ragtel._sdk.log_hygiene import hide_in_logs, url_credentials
from ragtel._sdk.otlp_headers import merged_headers

_logger = logging.getLogger("ragtel")

EXPORTER_NAMES: Final = ("otlp", "console", "file", "none")
PROTOCOLS: Final = ("grpc", "http/protobuf")
COMPRESSIONS: Final = ("gzip", "deflate", "none")
TRACES_PATH: Final = "/v1/traces"
"""The path of the traces endpoint under an OTLP/HTTP collector's base URL."""


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
    explicit_otlp = any(
        value is not None
        for value in (otlp_endpoint, otlp_protocol, otlp_headers, otlp_compression, otlp_timeout)
    )
    names, is_default_file = _exporter_names(
        exporter, output_filepath, explicit_otlp=explicit_otlp, reusing_provider=reusing_provider
    )
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


def _exporter_names(
    exporter: str | Sequence[str] | None,
    output_filepath: str | os.PathLike[str] | None,
    *,
    explicit_otlp: bool,
    reusing_provider: bool,
) -> tuple[list[str], bool]:
    """The exporters to build, and whether the file is the default nobody chose."""
    names: list[str] = list(parse_exporter_names(exporter, source="exporter")) if exporter else []
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
    return names, is_default_file


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
    return with_path(
        endpoint, lambda path: path if path.endswith(TRACES_PATH) else path + TRACES_PATH
    )


def with_path(url: str, change: Callable[[str], str]) -> str:
    """``url`` with its path changed; a query string stays after it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=change(parts.path.rstrip("/"))))
