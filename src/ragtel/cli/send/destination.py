"""Where ``ragtel send`` sends: the arguments, else the standard OTLP environment variables.

``--endpoint``, ``--protocol``, ``--header`` and ``--certificate`` win over
``OTEL_EXPORTER_OTLP_TRACES_*``, which win over ``OTEL_EXPORTER_OTLP_*``.
Every problem is a :class:`CliError` raised before anything is read or sent,
and no message ever quotes a header value: values are credentials.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ragtel import _environment as env
from ragtel.cli._errors import CliError

_PROTOCOLS = ("grpc", "http/protobuf", "http/json")
_CERTIFICATE_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE")
_HEADER_NAME_CHARACTERS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Destination:
    """Where and how to send, resolved from the arguments and the environment."""

    protocol: str
    """``grpc``, ``http/protobuf`` or ``http/json``."""
    urls: Mapping[str, str]
    """By signal (``traces``, ``logs``): the URL to post to, or for gRPC the endpoint."""
    headers: Mapping[str, str]
    certificate: str | None
    timeout: float
    """Seconds per request, retries included."""


def resolve_destination(args: argparse.Namespace, environ: Mapping[str, str]) -> Destination:
    """The endpoint, protocol, headers and CA of ``args``, else of the environment."""
    protocol = args.protocol or _first(
        environ, env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, env.OTEL_EXPORTER_OTLP_PROTOCOL
    )
    protocol = protocol or "http/protobuf"
    if protocol not in _PROTOCOLS:
        raise CliError(
            f"unknown OTLP protocol {protocol!r} in the environment; use {', '.join(_PROTOCOLS)}"
        )
    endpoint = args.endpoint or _first(
        environ, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT
    )
    if not endpoint:
        raise CliError(
            "no endpoint: give --endpoint URL (e.g. http://localhost:4318) "
            "or set OTEL_EXPORTER_OTLP_ENDPOINT"
        )
    certificate = args.certificate or _first(environ, *_CERTIFICATE_VARIABLES)
    if certificate and not os.path.isfile(certificate):
        raise CliError(f"{certificate}: no such certificate file")
    return Destination(
        protocol=protocol,
        urls=signal_urls(endpoint, protocol),
        headers=request_headers(environ, args.header),
        certificate=certificate,
        timeout=args.timeout,
    )


def signal_urls(endpoint: str, protocol: str) -> dict[str, str]:
    """By signal, the URL to post to (for gRPC, the endpoint itself).

    A URL with no path gets the signal's standard path; any other path is
    the traces URL as given, and for logs its ``/v1/traces`` becomes ``/v1/logs``.
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(
            f"endpoint {without_password(endpoint)!r} is not a URL: "
            "give it with http:// or https://, e.g. http://localhost:4318"
        )
    if protocol == "grpc":
        return {"traces": endpoint, "logs": endpoint}
    if parts.path in ("", "/"):
        return {
            signal: urlunsplit(parts._replace(path=f"/v1/{signal}"))
            for signal in ("traces", "logs")
        }
    logs_path = parts.path
    if logs_path.endswith("/v1/traces"):
        logs_path = logs_path[: -len("traces")] + "logs"
    return {"traces": endpoint, "logs": urlunsplit(parts._replace(path=logs_path))}


def request_headers(environ: Mapping[str, str], options: Sequence[str]) -> dict[str, str]:
    """The environment's OTLP headers, overridden by ``--header KEY=VALUE`` options.

    No message here ever quotes a header value: values are credentials.
    """
    headers = _environment_headers(environ)
    for option in options:
        key, equals, value = option.partition("=")
        if not equals:
            raise CliError("--header takes KEY=VALUE, and one has no '='")
        headers[key.strip().lower()] = value.strip()
    for key, value in headers.items():
        _check_header(key, value)
    return headers


def _environment_headers(environ: Mapping[str, str]) -> dict[str, str]:
    from opentelemetry.util.re import parse_env_headers

    from ragtel._sdk.log_hygiene import hide_malformed_header_entries

    raw = _first(environ, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, env.OTEL_EXPORTER_OTLP_HEADERS)
    if not raw:
        return {}
    hide_malformed_header_entries()
    return {key.lower(): value for key, value in parse_env_headers(raw, liberal=True).items()}


def _check_header(key: str, value: str) -> None:
    # requests and gRPC refuse such headers later, in messages that quote the value.
    if not key or not set(key) <= _HEADER_NAME_CHARACTERS:
        raise CliError(f"header name {key!r} is not a valid HTTP header name")
    if any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in value):
        raise CliError(f"the value of header {key!r} holds a control character")


def _first(environ: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def without_password(url: str) -> str:
    """``url`` with its password, if it has one, as ``***``: for messages."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
