"""Delivery for ``ragtel send``: the HTTP and gRPC transports, and their retries.

A sender takes one :class:`~ragtel.cli.send.batches.Batch` at a time and
returns an :class:`Outcome`: accepted, partly or wholly rejected, or
rejected after retrying for the whole timeout, when the collector is
unreachable and sending more would only wait again. Transient failures
(HTTP 408/429/502/503/504, connection errors, gRPC UNAVAILABLE and the
like) are retried with exponential backoff and jitter, honouring HTTP
``Retry-After``, within the timeout of the request.

requests, grpc and protobuf are imported here only, on first use: the
other commands, and ``import ragtel``, never load them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ragtel._sdk.size_refusal import is_too_large_grpc, is_too_large_http
from ragtel._version import __version__
from ragtel.cli._errors import CliError, shorten
from ragtel.cli.send.batches import Batch, Encoded, export_request, halves, json_body
from ragtel.cli.send.destination import Destination

if TYPE_CHECKING:
    import requests

_USER_AGENT = f"ragtel-send/{__version__}"
_RETRYABLE_HTTP_STATUSES = frozenset({408, 429, 502, 503, 504})
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
_FIRST_BACKOFF_SECONDS = 0.5
_MAX_BACKOFF_SECONDS = 8.0
_MAX_REASON = 200


@dataclass(frozen=True)
class Outcome:
    """What became of one batch."""

    rejected: int = 0
    """Items the collector did not take (all of the batch, unless a partial success)."""
    reason: str = ""
    stop: bool = False
    """The batch failed after retrying for the whole timeout (or TLS failed):
    later batches would only wait as long, so the sender should stop."""
    left_out: int = 0
    """Items never sent: protobuf could not encode them (see :func:`export_request`)."""
    left_out_reason: str = ""
    too_large: bool = False
    """The collector refused the request for its size: smaller parts may pass."""
    requests: int = 1
    """Requests the batch took (more when it was split, none when nothing was left)."""

    def __add__(self, other: Outcome) -> Outcome:
        """The outcome of two parts of a batch, together."""
        return Outcome(
            rejected=self.rejected + other.rejected,
            reason=self.reason or other.reason,
            stop=self.stop or other.stop,
            left_out=self.left_out + other.left_out,
            left_out_reason=self.left_out_reason or other.left_out_reason,
            requests=self.requests + other.requests,
        )


@dataclass(frozen=True)
class _Retry:
    reason: str
    delay: float | None = None
    """What the server asked for (``Retry-After``), else the backoff decides."""


_Attempt = Outcome | _Retry


class Sender(Protocol):
    def send(self, batch: Batch) -> Outcome: ...

    def close(self) -> None: ...


def open_sender(destination: Destination) -> Sender:
    """A sender for ``destination``'s protocol; close it when done."""
    if destination.protocol == "grpc":
        return SplittingSender(GrpcSender(destination))
    return SplittingSender(HttpSender(destination))


class SplittingSender:
    """Sends a batch the collector refuses for its size (HTTP 413, gRPC "larger than
    max") again in halves, down to single items, so that one big span costs only
    itself; a single item over the limit is rejected and counted."""

    def __init__(self, inner: Sender) -> None:
        self._inner = inner

    def send(self, batch: Batch) -> Outcome:
        outcome = self._inner.send(batch)
        if not outcome.too_large:
            return outcome
        if batch.size <= 1:
            reason = f"{outcome.reason} (one {batch.layout.noun} alone is over the limit)"
            return dataclasses.replace(outcome, reason=reason, too_large=False)
        total = Outcome(requests=outcome.requests)  # the refused request counts too
        for part in halves(batch):
            # Once a part stops the sending, the parts after it are not sent either.
            total += Outcome(part.size, stop=True, requests=0) if total.stop else self.send(part)
        return total

    def close(self) -> None:
        self._inner.close()


def retrying(
    attempt: Callable[[float], _Attempt],
    timeout: float,
    size: int,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Call ``attempt(seconds_left)`` until it gives an outcome or ``timeout`` runs out."""
    deadline = clock() + timeout
    retries = 0
    while True:
        result = attempt(max(deadline - clock(), 0.001))
        if isinstance(result, Outcome):
            return result
        delay = result.delay if result.delay is not None else backoff_seconds(retries)
        if clock() + delay >= deadline:
            return Outcome(size, f"{result.reason} (still failing after {timeout:g} s)", stop=True)
        sleep(delay)
        retries += 1


def backoff_seconds(retry: int) -> float:
    """0.5 s, 1 s, 2 s ... up to 8 s, each ±20 % so that many senders do not retry in step."""
    base: float = min(_FIRST_BACKOFF_SECONDS * 2.0**retry, _MAX_BACKOFF_SECONDS)
    return base * random.uniform(0.8, 1.2)


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
            "User-Agent": _USER_AGENT,
            **destination.headers,
        }

    def send(self, batch: Batch) -> Outcome:
        if self._destination.protocol == "http/json":
            body, encoded = json_body(batch), Encoded(None)
        else:
            encoded = export_request(batch)
            body = encoded.request.SerializeToString()
        sent = _without_left_out(batch, encoded)
        url = self._destination.urls[batch.layout.signal]

        def attempt(seconds_left: float) -> _Attempt:
            return self._post(url, body, sent, seconds_left)

        if not sent.size:
            return _with_left_out(Outcome(requests=0), encoded)
        return _with_left_out(retrying(attempt, self._destination.timeout, sent.size), encoded)

    def close(self) -> None:
        self._session.close()

    def _post(self, url: str, body: bytes, batch: Batch, seconds_left: float) -> _Attempt:
        import requests

        try:
            response = self._session.post(
                url, data=body, headers=self._headers, timeout=seconds_left, verify=self._verify
            )
        except requests.exceptions.SSLError as error:
            reason = f"TLS with {_host(url)} failed: {_innermost_problem(error)}"
            return Outcome(batch.size, reason, stop=True)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            return _Retry(f"cannot reach {_host(url)}: {_innermost_problem(error)}")
        except requests.exceptions.RequestException as error:
            # Not str(error): an invalid header's message would quote its value, a secret.
            return Outcome(batch.size, f"request failed: {type(error).__name__}", stop=True)
        if 200 <= response.status_code < 300:
            return self._partial_success(response, batch)
        reason = f"HTTP {response.status_code}: {_response_text(response)}"
        if response.status_code in _RETRYABLE_HTTP_STATUSES:
            return _Retry(reason, retry_after_seconds(response.headers.get("Retry-After")))
        return Outcome(batch.size, reason, too_large=is_too_large_http(response.status_code))

    def _partial_success(self, response: requests.Response, batch: Batch) -> Outcome:
        if not response.content:
            return Outcome()
        if self._destination.protocol == "http/json":
            rejected, message = _json_partial_success(response.content, batch)
        else:
            rejected, message = _protobuf_partial_success(response.content, batch)
        return _partial_outcome(rejected, message, batch)


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
        batch = _without_left_out(batch, encoded)
        if not batch.size:
            return _with_left_out(Outcome(requests=0), encoded)
        export = self._stubs[batch.layout.signal].Export

        def attempt(seconds_left: float) -> _Attempt:
            try:
                response = export(request, timeout=seconds_left, metadata=self._metadata)
            except self._rpc_error as error:
                return _grpc_failure(error, batch)
            partial = response.partial_success
            rejected = (
                partial.rejected_spans
                if batch.layout.signal == "traces"
                else partial.rejected_log_records
            )
            return _partial_outcome(rejected, partial.error_message, batch)

        return _with_left_out(retrying(attempt, self._destination.timeout, batch.size), encoded)

    def close(self) -> None:
        self._channel.close()


def _without_left_out(batch: Batch, encoded: Encoded) -> Batch:
    """The batch as sent: its size without the items encoding left out."""
    if not encoded.left_out:
        return batch
    return Batch(batch.layout, batch.resources, batch.size - encoded.left_out)


def _with_left_out(outcome: Outcome, encoded: Encoded) -> Outcome:
    if not encoded.left_out:
        return outcome
    return dataclasses.replace(
        outcome, left_out=encoded.left_out, left_out_reason=_shorten(encoded.reason)
    )


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
    options = [("grpc.primary_user_agent", _USER_AGENT)]
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


def _grpc_failure(error: Any, batch: Batch) -> _Attempt:
    code = error.code()
    name = getattr(code, "name", str(code))
    details = error.details() or ""
    reason = f"gRPC {name}: {_shorten(details)}".rstrip(": ")
    if is_too_large_grpc(name, details):
        # A message over the server's size limit: retrying the same would fail the same.
        return Outcome(batch.size, reason, too_large=True)
    if name in _RETRYABLE_GRPC_CODES:
        return _Retry(reason)
    return Outcome(batch.size, reason)


def _partial_outcome(rejected: int, message: str, batch: Batch) -> Outcome:
    if rejected <= 0:
        return Outcome()
    noun = batch.layout.noun if rejected == 1 else f"{batch.layout.noun}s"
    detail = f": {_shorten(message)}" if message else ""
    return Outcome(
        min(rejected, batch.size), f"partial success, {rejected:,} {noun} rejected{detail}"
    )


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
            return _shorten(message)
    text = content[: _MAX_REASON * 2].decode("utf-8", "replace")
    printable = "".join(char if char.isprintable() else " " for char in text)
    return _shorten(printable) or response.reason or "no body"


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
        return _shorten(error.strerror)
    return _shorten(str(error) or type(error).__name__)


def _shorten(text: str) -> str:
    return shorten(text, _MAX_REASON)
