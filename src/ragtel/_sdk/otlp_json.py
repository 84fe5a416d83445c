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
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, FieldDescriptor
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.trace import ReadableSpan

_SPAN_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_TRACE_AND_SPAN_ID_FIELDS = ("traceId", "spanId")
_HEX_ID_NAMES = frozenset({"trace_id", "span_id", "parent_span_id"})
"""The bytes fields OTLP/JSON writes as hex; every other bytes field is base64."""


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


def message_fields(data: dict[str, Any], descriptor: Descriptor) -> dict[str, Any]:
    """The keyword arguments that build ``descriptor``'s message from OTLP/JSON ``data``.

    Nested messages stay dicts: the message constructor builds them in C.
    With the conversion here that is about five times faster than
    ``json_format.ParseDict`` after turning ids to base64, and faster than
    the SDK's own encoding of the same spans.
    Keys may be lowerCamelCase or the proto field names; unknown keys are
    ignored, as OTLP/JSON receivers must. Ids are hex, other bytes base64,
    64-bit integers decimal strings or numbers, enums numbers or names.

    Raises ``ValueError`` when ``data`` does not have the message's shape,
    including an integer out of its field's range and messages nested deeper
    than :data:`MAX_MESSAGE_DEPTH`.
    """
    try:
        return _fields(data, descriptor)
    except (TypeError, ValueError, AttributeError, OverflowError) as error:
        raise ValueError(f"not OTLP JSON: {error}") from error
    except RecursionError:
        raise ValueError("not OTLP JSON: nested too deeply") from None


MAX_MESSAGE_DEPTH = 96
"""Protobuf parsers (C++, Java, Python, JavaScript) refuse messages nested more than
100 deep by default, and with them the whole request: deeper data (values nested
some 45 levels, which only a crafted line holds) is refused here, alone, with a
margin of four levels."""

_Converter = Callable[[Any], Any]
# How _fields treats a field; plain strings and messages, most of a span, go without a call.
_STRING, _MESSAGE, _MESSAGES, _CONVERTED = range(4)
_FieldEntry = tuple[str, int, Any]
_FIELD_TABLES: dict[str, dict[str, _FieldEntry]] = {}
"""A memo of each message type's field table, by the type's full name: bounded by the
OTLP schema (some twenty message types), whatever the input holds."""


def _fields(data: Any, descriptor: Descriptor, depth: int = 0) -> dict[str, Any]:
    if type(data) is not dict:
        raise ValueError(f"{descriptor.name}: expected a JSON object, got {_json_type(data)}")
    if depth > MAX_MESSAGE_DEPTH:
        raise ValueError(f"messages nested more than {MAX_MESSAGE_DEPTH} deep")
    table = _FIELD_TABLES.get(descriptor.full_name) or _field_table(descriptor)
    fields: dict[str, Any] = {}
    for key, value in data.items():
        entry = table.get(key)
        # null means unset in protobuf's JSON mapping.
        if entry is None or value is None:
            continue
        name, kind, arg = entry
        if kind == _STRING and type(value) is str:
            fields[name] = value
        elif kind == _MESSAGE:
            fields[name] = _fields(value, arg, depth + 1)
        elif kind == _MESSAGES:
            if type(value) is not list:
                raise ValueError(f"{key}: expected a JSON list, got {_json_type(value)}")
            fields[name] = [_fields(item, arg, depth + 1) for item in value]
        else:
            fields[name] = arg(value)
    return fields


def _field_table(descriptor: Descriptor) -> dict[str, _FieldEntry]:
    table = {}
    for field in descriptor.fields:
        entry = _field_entry(field)
        table[field.json_name] = table[field.name] = entry
    _FIELD_TABLES[descriptor.full_name] = table
    return table


def _field_entry(field: FieldDescriptor) -> _FieldEntry:
    if field.cpp_type == field.CPPTYPE_MESSAGE:
        kind = _MESSAGES if _is_repeated(field) else _MESSAGE
        return field.name, kind, field.message_type
    convert = _converter(field)
    if _is_repeated(field):
        return field.name, _CONVERTED, _repeated(convert, field.name)
    kind = _STRING if convert is _string else _CONVERTED
    return field.name, kind, convert


def _converter(field: FieldDescriptor) -> _Converter:
    cpp_type = field.cpp_type
    if cpp_type == field.CPPTYPE_STRING:
        if field.type == field.TYPE_BYTES:
            return _hex_id_converter(field.name) if field.name in _HEX_ID_NAMES else _base64_bytes
        return _string
    if cpp_type == field.CPPTYPE_ENUM:
        return _enum_converter(field)
    if cpp_type == field.CPPTYPE_BOOL:
        return _bool
    if cpp_type in (field.CPPTYPE_DOUBLE, field.CPPTYPE_FLOAT):
        return _float
    return _int_converter(field)


def _is_repeated(field: FieldDescriptor) -> bool:
    # Older protobuf (4.25, the oldest supported) has only label; protobuf 7 only is_repeated.
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:
        return bool(field.label == field.LABEL_REPEATED)
    return bool(repeated)


def _repeated(convert: _Converter, name: str) -> _Converter:
    def convert_each(values: Any) -> list[Any]:
        if type(values) is not list:
            raise ValueError(f"{name}: expected a JSON list, got {_json_type(values)}")
        return [convert(value) for value in values]

    return convert_each


def _enum_converter(field: FieldDescriptor) -> _Converter:
    numbers: dict[str, int] = {value.name: value.number for value in field.enum_type.values}

    def convert(value: Any) -> int:
        if type(value) is int and -(1 << 31) <= value < 1 << 31:
            return value  # an unknown number is kept, as protobuf keeps open enums
        if isinstance(value, str) and value in numbers:
            return numbers[value]
        raise ValueError(f"{field.name}: {value!r} is not a {field.enum_type.name}")

    return convert


def _string(value: Any) -> str:
    if type(value) is not str:
        raise ValueError(f"expected a string, got {_json_type(value)}")
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError(f"expected true or false, got {_json_type(value)}")
    return value


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    raise ValueError(f"expected an integer, got {_json_type(value)}")


def _int_converter(field: FieldDescriptor) -> _Converter:
    """``_int`` within the field's range, checked here so that a line the message cannot
    hold is refused alone, before it is batched with others."""
    unsigned = field.cpp_type in (field.CPPTYPE_UINT32, field.CPPTYPE_UINT64)
    bits = 64 if field.cpp_type in (field.CPPTYPE_INT64, field.CPPTYPE_UINT64) else 32
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)

    def convert(value: Any) -> int:
        # 64-bit integers come as decimal strings: that case first, without a call.
        number = int(value) if type(value) is str else _int(value)
        if low <= number <= high:
            return number
        raise ValueError(f"{field.name}: {number} is out of range")

    return convert


def _float(value: Any) -> float:
    # float() also reads OTLP/JSON's "NaN", "Infinity" and "-Infinity".
    if isinstance(value, (int, float, str)) and type(value) is not bool:
        return float(value)
    raise ValueError(f"expected a number, got {_json_type(value)}")


def _hex_bytes(value: Any) -> bytes:
    try:
        return bytes.fromhex(value)
    except (ValueError, TypeError):
        raise ValueError(f"id {value!r} is not hex") from None


def _hex_id_converter(name: str) -> _Converter:
    """Hex ids of their exact size (16 bytes for a trace, 8 for a span) or empty (unset):
    collectors refuse a whole request holding an id of another size."""
    size = 16 if name == "trace_id" else 8

    def convert(value: Any) -> bytes:
        data = _hex_bytes(value)
        if data and len(data) != size:
            raise ValueError(f"{name} {value!r} is not {2 * size} hex digits")
        return data

    return convert


def _base64_bytes(value: Any) -> bytes:
    try:
        # Protobuf's JSON mapping accepts the URL-safe alphabet and missing padding too.
        text = _string(value).replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise ValueError(f"{value!r} is not base64") from None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


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
