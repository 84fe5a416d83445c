"""OTLP JSON Lines: one ``TracesData`` (or ``LogsData``) JSON object per line.

This is the OpenTelemetry file-exporter format that the Collector's
``otlpjsonfile`` receiver reads. OTLP/JSON differs from protobuf's canonical
JSON mapping in two ways handled here: trace and span ids are lowercase hex
(not base64), and enums are integers.

protobuf and the OTLP encoder are imported on first use: ``import ragtel``
must stay cheap for apps that never write a file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.trace import ReadableSpan

_SPAN_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_TRACE_AND_SPAN_ID_FIELDS = ("traceId", "spanId")


def encode_spans_line(spans: Sequence[ReadableSpan]) -> str:
    """Encode ``spans`` as one OTLP JSON line (without the trailing newline)."""
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    data = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    _convert_ids(data, _base64_to_hex)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def encode_logs_line(records: Sequence[ReadableLogRecord]) -> str:
    """Encode log ``records`` as one OTLP JSON line (without the trailing newline)."""
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    data = json_format.MessageToDict(encode_logs(records), use_integers_for_enums=True)
    for resource_logs in data.get("resourceLogs", ()):
        for scope_logs in resource_logs.get("scopeLogs", ()):
            for record in scope_logs.get("logRecords", ()):
                for name in _TRACE_AND_SPAN_ID_FIELDS:
                    if record.get(name):
                        record[name] = _base64_to_hex(record[name])
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def decode_traces_line(line: str) -> TracesData:
    """Parse one OTLP JSON line into a ``TracesData`` message.

    Raises ``ValueError`` when the line is not OTLP JSON.
    """
    from google.protobuf import json_format
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("an OTLP JSON line must hold a JSON object")
    try:
        _convert_ids(data, _hex_to_base64)
    except (TypeError, AttributeError) as error:
        raise ValueError(f"not OTLP JSON: unexpected structure ({error})") from error
    message = TracesData()
    try:
        json_format.ParseDict(data, message)
    except json_format.ParseError as error:
        raise ValueError(f"not OTLP JSON: {error}") from error
    return message


def _iter_spans(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_spans in data.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            yield from scope_spans.get("spans", ())


def _convert_ids(data: dict[str, Any], convert: Callable[[str], str]) -> None:
    for span in _iter_spans(data):
        for name in _SPAN_ID_FIELDS:
            if span.get(name):
                span[name] = convert(span[name])
        for link in span.get("links", ()):
            for name in _TRACE_AND_SPAN_ID_FIELDS:
                if link.get(name):
                    link[name] = convert(link[name])


def _base64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _hex_to_base64(value: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError as error:
        raise ValueError(f"not OTLP JSON: id {value!r} is not hex") from error
    return base64.b64encode(raw).decode("ascii")
