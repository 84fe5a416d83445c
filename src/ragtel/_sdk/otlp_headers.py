"""OTLP request headers: merged from the environment, the arguments and the API token, checked once.

A header value goes on the wire as it is, and the clients refuse some:
requests a value with a line break (raising an error that quotes the value,
which the OTLP/HTTP exporter then logs on every export, token and all), gRPC
any value that is not printable ASCII. Both then fail every export. So each
value is checked here, when a tracer is created:

* surrounding whitespace is stripped: a token read from a mounted secret
  file ends in a newline;
* a value still holding a character outside printable ASCII (a line break,
  a control character) is refused: from an argument with a ValueError that
  names the header, from the environment with one warning that names the
  header and its variable, the header being left out. A library must not
  stop its host for a bad environment variable.

No message here ever shows a value. Every value, good or refused, is also
registered with :mod:`ragtel._sdk.log_hygiene`, so no log line can show it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Final

from ragtel import _environment as env
from ragtel._sdk.log_hygiene import hide_in_logs, hide_malformed_header_entries
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")

HEADER_NAME_CHARACTERS: Final = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
"""What an HTTP header name (a token, lowercase as HTTP/2 and gRPC want it) is made of."""

_NOT_SHOWN: Final = (
    "holds a line break or another character not allowed in a header value "
    "(printable ASCII only); the value is not shown"
)


def is_valid_header_value(value: str) -> bool:
    """True when ``value`` can be sent as is over HTTP/1.1, HTTP/2 and gRPC."""
    # isprintable() is False for control characters (line breaks, tabs, DEL).
    return value.isascii() and value.isprintable() and value == value.strip()


def merged_headers(
    explicit: Mapping[str, str] | None, api_token: str | None, fallback_token: str | None
) -> dict[str, str]:
    """Environment headers, then explicit ones, then the API token.

    ``api_token`` (an argument) always sets ``authorization``;
    ``fallback_token`` (from ``LASTMILE_API_TOKEN``) only when no header did,
    so a collector's own credentials in ``OTEL_EXPORTER_OTLP_HEADERS`` win
    over a token that merely sits in the environment. Merged here because the
    gRPC exporter ignores the environment's headers as soon as any header is
    passed to it.

    Raises ValueError for an explicit header or token that cannot be sent.
    """
    traces_variable = (
        env.OTEL_EXPORTER_OTLP_TRACES_HEADERS
        if os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS)
        else env.OTEL_EXPORTER_OTLP_HEADERS
    )
    headers = environment_headers(traces_variable)
    # The log exporters read these by themselves: checked and hidden from logs as well.
    environment_headers(env.OTEL_EXPORTER_OTLP_LOGS_HEADERS)
    for key, value in (explicit or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("otlp_headers must map header names (str) to values (str)")
        hide_in_logs((value,))
        name = key.strip().lower()
        if not name or not set(name) <= HEADER_NAME_CHARACTERS:
            raise ValueError(
                "otlp_headers: a header name holds characters not allowed in HTTP header names "
                "(letters, digits and !#$%&'*+-.^_`|~); the name is not shown"
            )
        value = value.strip()
        if not is_valid_header_value(value):
            raise ValueError(f"otlp_headers: the value of header {name!r} {_NOT_SHOWN}")
        headers[name] = value
    token = _explicit_token(api_token)
    if token is None and "authorization" not in headers:
        token = _environment_token(fallback_token)
    if token:
        headers["authorization"] = f"Bearer {token}"
    hide_in_logs(headers.values())
    return headers


def environment_headers(variable: str) -> dict[str, str]:
    """The headers of ``variable`` that can be sent; the others are left out, warned once."""
    from opentelemetry.util.re import parse_env_headers

    raw = os.environ.get(variable, "")
    if not raw.strip():
        return {}
    entries = raw.split(",")
    hide_in_logs((raw, *entries, *(entry.partition("=")[2] for entry in entries)))
    hide_malformed_header_entries()
    parsed = parse_env_headers(raw, liberal=True)
    headers: dict[str, str] = {}
    for key, value in parsed.items():
        name = key.lower()
        value = value.strip()
        if is_valid_header_value(value):
            headers[name] = value
        else:
            _warn_once(
                variable, name, f"ignoring header {name!r} of {variable}: its value {_NOT_SHOWN}"
            )
    for entry in entries:
        # An entry the parser refused (a raw line break in it, say) is named, never shown.
        name, equals, _ = entry.partition("=")
        name = name.strip().lower()
        if equals and name not in parsed and name and set(name) <= HEADER_NAME_CHARACTERS:
            _warn_once(
                variable, name, f"ignoring header {name!r} of {variable}: its value {_NOT_SHOWN}"
            )
    return headers


def _explicit_token(token: str | None) -> str | None:
    if token is None:
        return None
    hide_in_logs((token,))
    token = token.strip()
    if token and not is_valid_header_value(token):
        raise ValueError(f"lastmile_api_token {_NOT_SHOWN}")
    return token or None


def _environment_token(token: str | None) -> str | None:
    if token is None:
        return None
    hide_in_logs((token,))
    token = token.strip()
    if token and not is_valid_header_value(token):
        _warn_once(
            env.LASTMILE_API_TOKEN,
            "",
            f"ignoring {env.LASTMILE_API_TOKEN}: it {_NOT_SHOWN}; no token is sent",
        )
        return None
    return token or None


def _warn_once(variable: str, name: str, message: str) -> None:
    if STATE.first_time(("refused header", variable, name)):
        _logger.warning("ragtel: %s", message)
