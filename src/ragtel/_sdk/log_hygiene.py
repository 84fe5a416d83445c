"""Keeping OTLP credentials out of every log line ragtel and the exporter libraries write.

Header values (the API token among them) go on the wire and nowhere else.
The libraries under the exporters do not know that: requests quotes a
refused header value in its error, which the OTLP/HTTP exporter logs on every
export; the OTel header parser logs a malformed entry whole. So every header
value ragtel hands to an exporter is registered here, and a filter on the
loggers of ragtel, OpenTelemetry, requests, urllib3 and gRPC replaces any
registered value in a record (its message, arguments and traceback) with
``[REDACTED]`` before a handler sees it.

Values shorter than :data:`MIN_SECRET_LENGTH` are not registered: replacing
``gzip`` or ``1`` wherever it appears would garble every log line, and no
credential is that short. The filter costs nothing until a record is
written, and records on these loggers are rare (failures, or DEBUG).

The registered values and the loggers already filtered are kept in
``ragtel._state.STATE`` (``secrets``, ``filtered_loggers``), for the whole
process: a credential once seen stays hidden.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from ragtel._state import STATE

MIN_SECRET_LENGTH: Final = 8
REDACTED: Final = "[REDACTED]"

# Every logger under these is filtered: the exporters log through their own
# module loggers, requests and urllib3 through theirs.
_LOGGER_PREFIXES: Final = ("ragtel", "opentelemetry", "requests", "urllib3", "grpc")
# Loggers that log header values or exporter failures, filtered even before
# their modules are imported (getLogger creates them).
_KNOWN_LOGGERS: Final = (
    "ragtel",
    "opentelemetry.util.re",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.http",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
    "opentelemetry.exporter.otlp.proto.common._internal",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk._logs._internal.export",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.util.retry",
    "requests",
    "grpc._channel",
    "grpc._common",
)


def hide_in_logs(values: Iterable[str]) -> None:
    """Never let ``values`` (header values, tokens) appear in a log record from now on.

    A credential-looking part of a value (``Bearer <token>``: the token) is
    registered on its own too, in case a library logs only that part.
    """
    found = set()
    for value in values:
        found.update(_secret_parts(value))
    with STATE.secrets_lock:
        known = STATE.secrets
        if found - set(known):
            # Longest first, so a value containing another is replaced whole.
            STATE.secrets = tuple(sorted(set(known) | found, key=len, reverse=True))
    protect_loggers()


def url_credentials(url: str | None) -> list[str]:
    """The password and query values of ``url``: credentials some endpoints carry."""
    from urllib.parse import parse_qsl, urlsplit

    if not url:
        return []
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        found += [value for _, value in parse_qsl(parts.query)]
    except ValueError:
        return []
    return [value for value in found if value]


def protect_loggers() -> None:
    """Put the filter on every logger that may write a credential, including newly created ones."""
    filtered = STATE.filtered_loggers
    existing = [
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.startswith(_LOGGER_PREFIXES) and name not in filtered
    ]
    for name in (*_KNOWN_LOGGERS, *existing):
        with STATE.secrets_lock:
            if name in filtered:
                continue
            filtered.add(name)
        logging.getLogger(name).addFilter(_SECRET_FILTER)


def hide(text: str) -> str:
    """``text`` with every registered secret replaced."""
    for secret in STATE.secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _HideHeaderEntry(logging.Filter):
    """Keeps a malformed ``OTEL_EXPORTER_OTLP_HEADERS`` entry out of the log.

    The OTel parser logs such an entry whole, and it is often a bare secret
    (a token pasted without its header name).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _hide_header_entry(record)
        return True


def _hide_header_entry(record: logging.LogRecord) -> None:
    if record.args and str(record.msg).startswith("Header format invalid"):
        record.args = ("[entry not shown: it may hold a secret]",)


_HEADER_ENTRY_FILTER: Final = _HideHeaderEntry()


def hide_malformed_header_entries() -> None:
    # On the parser's own logger, so it also covers the exporters' own parsing.
    # One filter object: a logger adds the same one only once.
    logging.getLogger("opentelemetry.util.re").addFilter(_HEADER_ENTRY_FILTER)


def _secret_parts(value: str) -> set[str]:
    if not isinstance(value, str):
        return set()
    parts = {value, value.strip(), *value.split()}
    return {part for part in parts if len(part) >= MIN_SECRET_LENGTH}


class _HideSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not STATE.secrets:
            return True
        _hide_header_entry(record)  # whichever of the two filters runs first
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the handler's to report
            return True
        hidden = hide(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            hidden = hide(text)
            if hidden != text:
                # The handler prints exc_text as it is once exc_info is gone.
                record.exc_info, record.exc_text = None, hidden
        elif record.exc_text:
            record.exc_text = hide(record.exc_text)
        return True


_SECRET_FILTER: Final = _HideSecrets()
"""One filter for every logger: it keeps no state of its own (the secrets are in STATE)."""
