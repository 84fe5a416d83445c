"""OTLP/HTTP for ``ragtel send``: protobuf or JSON bodies through one ``requests`` session.

``requests`` and protobuf are imported on first use only: the other
commands, and ``import ragtel``, never load them.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ragtel._sdk.size_refusal import is_too_large_http
from ragtel.cli.send.batches import Batch, Encoded, export_request, json_body
from ragtel.cli.send.destination import Destination
from ragtel.cli.send.outcome import (
    MAX_REASON,
    USER_AGENT,
    Attempt,
    Outcome,
    Retry,
    deliver,
    partial_outcome,
    shorten_reason,
)

if TYPE_CHECKING:
    import requests

_RETRYABLE_HTTP_STATUSES = frozenset({408, 429, 502, 503, 504})


class HttpSender:
    """OTLP/HTTP through one ``requests`` session (one kept-alive connection)."""

    def __init__(self, destination: Destination) -> None:
        import requests

        self._destination = destination
        self._session = requests.Session()
        # Given per request, the CA wins over REQUESTS_CA_BUNDLE, which a session's would not.
        self._verify: str | bool = destination.certificate or True
        content_type = (
            "application/json" if destination.protocol == "http/json" else "application/x-protobuf"
        )
        self._headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            **destination.headers,
        }

    def send(self, batch: Batch) -> Outcome:
        if self._destination.protocol == "http/json":
            body, encoded = json_body(batch), Encoded(None)
        else:
            encoded = export_request(batch)
            body = encoded.request.SerializeToString()
        url = self._destination.urls[batch.layout.signal]

        def attempt(sent: Batch, seconds_left: float) -> Attempt:
            return self._post(url, body, sent, seconds_left)

        return deliver(batch, encoded, self._destination.timeout, attempt)

    def close(self) -> None:
        self._session.close()

    def _post(self, url: str, body: bytes, batch: Batch, seconds_left: float) -> Attempt:
        import requests

        try:
            response = self._session.post(
                url, data=body, headers=self._headers, timeout=seconds_left, verify=self._verify
            )
        except requests.exceptions.SSLError as error:
            reason = f"TLS with {_host(url)} failed: {_innermost_problem(error)}"
            return Outcome(batch.size, reason, stop=True)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            return Retry(f"cannot reach {_host(url)}: {_innermost_problem(error)}")
        except requests.exceptions.RequestException as error:
            # Not str(error): an invalid header's message would quote its value, a secret.
            return Outcome(batch.size, f"request failed: {type(error).__name__}", stop=True)
        if 200 <= response.status_code < 300:
            return self._partial_success(response, batch)
        reason = f"HTTP {response.status_code}: {_response_text(response)}"
        if response.status_code in _RETRYABLE_HTTP_STATUSES:
            return Retry(reason, retry_after_seconds(response.headers.get("Retry-After")))
        return Outcome(batch.size, reason, too_large=is_too_large_http(response.status_code))

    def _partial_success(self, response: requests.Response, batch: Batch) -> Outcome:
        if not response.content:
            return Outcome()
        if self._destination.protocol == "http/json":
            rejected, message = _json_partial_success(response.content, batch)
        else:
            rejected, message = _protobuf_partial_success(response.content, batch)
        return partial_outcome(rejected, message, batch)


def _protobuf_partial_success(content: bytes, batch: Batch) -> tuple[int, str]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    try:
        if batch.layout.signal == "traces":
            partial = ExportTraceServiceResponse.FromString(content).partial_success
            return partial.rejected_spans, partial.error_message
        logs = ExportLogsServiceResponse.FromString(content).partial_success
        return logs.rejected_log_records, logs.error_message
    except DecodeError:
        # A 2xx whose body is not a response message still delivered the batch.
        return 0, ""


def _json_partial_success(content: bytes, batch: Batch) -> tuple[int, str]:
    key = "rejectedSpans" if batch.layout.signal == "traces" else "rejectedLogRecords"
    try:
        partial = json.loads(content).get("partialSuccess") or {}
        return int(partial.get(key) or 0), str(partial.get("errorMessage") or "")
    except (ValueError, AttributeError, TypeError):
        return 0, ""


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _response_text(response: requests.Response) -> str:
    """A short, printable account of an error response's body."""
    content = response.content
    if "protobuf" in response.headers.get("Content-Type", ""):
        message = _status_message(content)
        if message:
            return shorten_reason(message)
    text = content[: MAX_REASON * 2].decode("utf-8", "replace")
    printable = "".join(char if char.isprintable() else " " for char in text)
    return shorten_reason(printable) or response.reason or "no body"


def _status_message(content: bytes) -> str:
    # OTLP/HTTP servers answer errors with a google.rpc.Status; its message is for people.
    try:
        from google.protobuf.message import DecodeError
        from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]
    except ImportError:
        return ""
    try:
        return str(Status.FromString(content).message)
    except DecodeError:
        return ""


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc.rpartition("@")[2]


def _innermost_problem(error: BaseException) -> str:
    """The cause at the bottom of requests' and urllib3's wrappers: "Connection refused"."""
    seen = {id(error)}
    while True:
        inner = error.__cause__ or error.__context__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        error = inner
    if isinstance(error, OSError) and error.strerror:
        return shorten_reason(error.strerror)
    return shorten_reason(str(error) or type(error).__name__)
