"""A real OTLP receiver for tests, backed by ``@elastic/mockotlpserver``.

The Node launcher in ``tests/receiver`` accepts OTLP/gRPC and OTLP/HTTP
(protobuf or JSON, uncompressed) on 127.0.0.1 and reports every export request
as a JSON line; this module runs it and decodes what arrived::

    with OTLPReceiver() as receiver:
        exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        ...
        (span,) = receiver.wait_for_spans(1)

Requires ``node`` on PATH and ``npm ci --prefix tests/receiver``.
"""

from __future__ import annotations

import base64
import collections
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

RECEIVER_DIR = Path(__file__).resolve().parent / "receiver"
LAUNCHER = RECEIVER_DIR / "launch.js"
HOST = "127.0.0.1"

SPAN_KINDS = (
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
)
STATUS_CODES = ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR")


class OTLPReceiver:
    """Runs the Node OTLP receiver as a subprocess and collects what it gets.

    Ports default to 0, letting the receiver bind free ports itself and report
    them, so there is no window in which another process can take them.
    """

    def __init__(
        self,
        *,
        grpc_port: int = 0,
        http_port: int = 0,
        startup_timeout: float = 20.0,
    ) -> None:
        self._requested_ports = (grpc_port, http_port)
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()
        self._ready: dict[str, Any] | None = None
        self._requests: list[dict[str, Any]] = []
        self._errors: list[str] = []
        # Only the tail matters for diagnosing a failed start.
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self.grpc_port = 0
        self.http_port = 0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> OTLPReceiver:
        if self._proc is not None:
            raise RuntimeError("OTLPReceiver already started")
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("OTLPReceiver needs Node.js: `node` is not on PATH")
        if not (RECEIVER_DIR / "node_modules" / "@elastic" / "mockotlpserver").is_dir():
            raise RuntimeError(
                "OTLP receiver dependencies are not installed; "
                "run `npm ci --prefix tests/receiver` from the repository root"
            )
        grpc_port, http_port = self._requested_ports
        self._ready = None
        self._proc = subprocess.Popen(
            [
                node,
                str(LAUNCHER),
                "--grpc-port",
                str(grpc_port),
                "--http-port",
                str(http_port),
                "--exit-on-stdin-close",
            ],
            cwd=RECEIVER_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._threads = [
            threading.Thread(
                target=self._read_stdout,
                args=(self._proc.stdout,),
                name="otlp-receiver-stdout",
                daemon=True,
            ),
            threading.Thread(
                target=self._read_stderr,
                args=(self._proc.stderr,),
                name="otlp-receiver-stderr",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._startup_timeout
        with self._cond:
            while self._ready is None:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"OTLP receiver exited with code {self._proc.returncode} "
                        f"before it was ready:\n{self._stderr_tail()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(
                        f"OTLP receiver not ready after {self._startup_timeout}s:\n"
                        f"{self._stderr_tail()}"
                    )
                # Short waits so a crashed child is noticed promptly.
                self._cond.wait(min(remaining, 0.1))
            self.grpc_port = int(self._ready["grpc_port"])
            self.http_port = int(self._ready["http_port"])

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- endpoints -----------------------------------------------------------

    @property
    def grpc_endpoint(self) -> str:
        """For ``OTLPSpanExporter(endpoint=..., insecure=True)`` (gRPC)."""
        self._check_started()
        return f"http://{HOST}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL; signals are posted to ``/v1/traces``, ``/v1/logs``, ..."""
        self._check_started()
        return f"http://{HOST}:{self.http_port}"

    @property
    def traces_url(self) -> str:
        return f"{self.http_endpoint}/v1/traces"

    @property
    def logs_url(self) -> str:
        return f"{self.http_endpoint}/v1/logs"

    def _check_started(self) -> None:
        if self._proc is None:
            raise RuntimeError("OTLPReceiver is not started")

    # -- received data -------------------------------------------------------

    def requests(self, signal: str | None = None) -> list[dict[str, Any]]:
        """Raw export requests as reported by the launcher, oldest first.

        Each is ``{"type": "traces"|"logs"|"metrics", "transport": "grpc"|"http",
        "headers": {...}, "request": <OTLP/JSON-shaped export request>}``.
        """
        with self._cond:
            return [r for r in self._requests if signal is None or r["type"] == signal]

    def errors(self) -> list[str]:
        """Problems the receiver reported, e.g. a request body it could not decode."""
        with self._cond:
            return list(self._errors)

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()
            self._errors.clear()

    def spans(self) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        for req in self.requests("traces"):
            for resource_spans in req["request"].get("resourceSpans", []):
                resource = _attributes(resource_spans.get("resource", {}))
                for scope_spans in resource_spans.get("scopeSpans", []):
                    scope = scope_spans.get("scope", {})
                    for span in scope_spans.get("spans", []):
                        spans.append(_span(span, req, resource, scope))
        return spans

    def log_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for req in self.requests("logs"):
            for resource_logs in req["request"].get("resourceLogs", []):
                resource = _attributes(resource_logs.get("resource", {}))
                for scope_logs in resource_logs.get("scopeLogs", []):
                    scope = scope_logs.get("scope", {})
                    for record in scope_logs.get("logRecords", []):
                        records.append(_log_record(record, req, resource, scope))
        return records

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Waits until at least ``count`` spans arrived; returns all of them.

        Needed because exporters get their response before the receiver has
        reported the request.
        """
        return self._wait_for(self.spans, "spans", count, timeout)

    def wait_for_log_records(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return self._wait_for(self.log_records, "log records", count, timeout)

    def _wait_for(
        self,
        collect: Callable[[], list[dict[str, Any]]],
        what: str,
        count: int,
        timeout: float,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            items = collect()
            if len(items) >= count:
                return items
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._proc is None or self._proc.poll() is not None:
                break
            with self._cond:
                self._cond.wait(min(remaining, 0.1))
        state = "running" if self._proc is not None and self._proc.poll() is None else "not running"
        raise AssertionError(
            f"expected at least {count} {what} within {timeout}s, got {len(items)} "
            f"(receiver {state}): {json.dumps(items, indent=1, default=repr)}"
            + "".join(f"\nreceiver error: {e}" for e in self.errors())
        )

    # -- subprocess output ---------------------------------------------------

    def _read_stdout(self, stdout: IO[str]) -> None:
        # Keep reading until EOF so the child never blocks on a full pipe.
        for line in stdout:
            try:
                message = json.loads(line)
                kind = message["type"]
            except (ValueError, KeyError, TypeError):
                with self._cond:
                    self._stderr.append(f"(stdout) {line.rstrip()}")
                continue
            with self._cond:
                if kind == "ready":
                    self._ready = message
                elif kind == "error":
                    self._errors.append(str(message.get("message")))
                else:
                    self._requests.append(message)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self, stderr: IO[str]) -> None:
        for line in stderr:
            with self._cond:
                self._stderr.append(line.rstrip())

    def _stderr_tail(self) -> str:
        with self._cond:
            return "\n".join(self._stderr) or "(no output)"


# -- OTLP/JSON decoding ------------------------------------------------------


def any_value(value: dict[str, Any]) -> Any:
    """Converts an OTLP ``AnyValue`` to the matching Python value."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        # int64 arrives as a decimal string to survive JSON.
        return int(value["intValue"])
    if "doubleValue" in value:
        # float() also parses "NaN"/"Infinity" and turns JSON's 2 back into 2.0.
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _key_values(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    return None


def _key_values(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: any_value(kv.get("value", {})) for kv in pairs}


def _attributes(holder: dict[str, Any]) -> dict[str, Any]:
    return _key_values(holder.get("attributes", []))


def _hex_id(value: str | None) -> str | None:
    return value.lower() if value else None


def _enum_name(value: Any, names: tuple[str, ...]) -> str:
    # OTLP/JSON allows enums as numbers or names.
    if isinstance(value, str) and not value.isdigit():
        return value
    index = int(value or 0)
    return names[index] if index < len(names) else str(index)


def _span(
    span: dict[str, Any],
    req: dict[str, Any],
    resource: dict[str, Any],
    scope: dict[str, Any],
) -> dict[str, Any]:
    status = span.get("status", {})
    return {
        "transport": req["transport"],
        "name": span.get("name", ""),
        "trace_id": _hex_id(span.get("traceId")),
        "span_id": _hex_id(span.get("spanId")),
        "parent_span_id": _hex_id(span.get("parentSpanId")),
        "kind": _enum_name(span.get("kind"), SPAN_KINDS),
        "start_time_unix_nano": int(span.get("startTimeUnixNano", 0)),
        "end_time_unix_nano": int(span.get("endTimeUnixNano", 0)),
        "attributes": _attributes(span),
        "events": [
            {
                "name": event.get("name", ""),
                "time_unix_nano": int(event.get("timeUnixNano", 0)),
                "attributes": _attributes(event),
            }
            for event in span.get("events", [])
        ],
        "links": [
            {
                "trace_id": _hex_id(link.get("traceId")),
                "span_id": _hex_id(link.get("spanId")),
                "attributes": _attributes(link),
            }
            for link in span.get("links", [])
        ],
        "status": {
            "code": _enum_name(status.get("code"), STATUS_CODES),
            "message": status.get("message", ""),
        },
        "resource": resource,
        "scope": scope.get("name", ""),
        "scope_version": scope.get("version", ""),
        "headers": req["headers"] or {},
    }


def _log_record(
    record: dict[str, Any],
    req: dict[str, Any],
    resource: dict[str, Any],
    scope: dict[str, Any],
) -> dict[str, Any]:
    severity = record.get("severityNumber", 0)
    return {
        "transport": req["transport"],
        "body": any_value(record["body"]) if "body" in record else None,
        "event_name": record.get("eventName", ""),
        # A name only if the sender used OTLP/JSON enum names.
        "severity_number": int(severity) if str(severity).isdigit() else severity,
        "severity_text": record.get("severityText", ""),
        "time_unix_nano": int(record.get("timeUnixNano", 0)),
        "observed_time_unix_nano": int(record.get("observedTimeUnixNano", 0)),
        "trace_id": _hex_id(record.get("traceId")),
        "span_id": _hex_id(record.get("spanId")),
        "attributes": _attributes(record),
        "resource": resource,
        "scope": scope.get("name", ""),
        "scope_version": scope.get("version", ""),
        "headers": req["headers"] or {},
    }
