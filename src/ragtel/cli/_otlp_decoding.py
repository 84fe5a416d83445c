"""OTLP/JSON lines decoded into spans: strict about types and ranges, safe for a terminal.

Strict, so that what the commands later format, sort and add up is what they
expect; and every string taken from the file passes through ``_text``, which
escapes it for the terminal: that one place keeps a crafted file from
commanding the terminal of whoever views it, whatever field it uses.

Only the attributes the commands show are decoded (``_SPAN_KEYS``,
``_EVENT_KEYS``, ParamSet entries and feedback); everything else is skipped
unread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ragtel.cli._errors import shorten
from ragtel.cli._escape import terminal_safe
from ragtel.cli._traces import Event, Span
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events, references

_PARAM_PREFIX = attrs.RAGTEL_PARAM_PREFIX
# The namespace every feedback attribute shares.
_FEEDBACK_PREFIX = attrs.RAGTEL_FEEDBACK_KIND.rpartition(".")[0] + "."
_SERVICE_NAME = "service.name"

# Attributes decoded on spans; everything else is skipped unread.
_SPAN_KEYS = frozenset(
    {
        attrs.RAGTEL_SPAN_KIND,
        attrs.RAGTEL_RAG_FLOW_TYPE,
        attrs.RAGTEL_PROJECT_NAME,
        attrs.RAGTEL_PARAM_SET_REMOVED,
        references.GEN_AI_OPERATION_NAME,
        references.GEN_AI_REQUEST_MODEL,
        references.GEN_AI_USAGE_INPUT_TOKENS,
        references.GEN_AI_USAGE_OUTPUT_TOKENS,
        references.GEN_AI_EVALUATION_NAME,
        references.GEN_AI_EVALUATION_SCORE_LABEL,
        references.GEN_AI_EVALUATION_SCORE_VALUE,
    }
)
# Attributes decoded on events: what the one-line summaries need.
_EVENT_KEYS = frozenset(
    {
        attrs.RAGTEL_EVENT_NAME,
        attrs.RAGTEL_CHUNK_COUNT,
        attrs.RAGTEL_CHUNK_SCORES,
        attrs.RAGTEL_DOCUMENT_ID,
        attrs.RAGTEL_DOCUMENT_NAME,
        attrs.RAGTEL_EMBEDDING_COUNT,
        attrs.RAGTEL_EMBEDDING_DIMENSIONS,
        attrs.RAGTEL_QUERY,
        attrs.RAGTEL_REWRITTEN_QUERIES,
        attrs.RAGTEL_RERANK_INPUT_IDS,
        attrs.RAGTEL_RESPONSE,
        references.GEN_AI_TOOL_NAME,
        references.GEN_AI_EVALUATION_NAME,
        references.GEN_AI_EVALUATION_SCORE_LABEL,
        references.GEN_AI_EVALUATION_SCORE_VALUE,
        "exception.type",
        "exception.message",
    }
)


class _Malformed(ValueError):
    """A span (or line) that does not have OTLP's shape."""


# What decoding hostile JSON can raise, besides _Malformed: a missing key, a
# wrong type, a number too large for a float, nesting too deep to walk.
DECODE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)
_TRACE_ID = re.compile("[0-9a-fA-F]{32}")
_SPAN_ID = re.compile("[0-9a-fA-F]{16}")
_MAX_UINT64 = (1 << 64) - 1
_MIN_INT64, _MAX_INT64 = -(1 << 63), (1 << 63) - 1
_MAX_VALUE_DEPTH = 64
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def error_reason(error: BaseException) -> str:
    """Why a span or line did not decode, in a few words for the skipped-lines report."""
    if isinstance(error, _Malformed):
        return shorten(str(error))
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return shorten(f"{type(error).__name__}: {error}")


def decode_line(data: dict[str, Any]) -> tuple[list[Span], int, str]:
    """The spans of a line that decode, how many did not, and why the first did not."""
    spans: list[Span] = []
    bad = 0
    reason = ""
    for resource_spans in _objects(data, "resourceSpans"):
        resource = resource_spans.get("resource") or {}
        if type(resource) is not dict:
            raise _Malformed("resource is not a JSON object")
        service = _string_attribute(_list(resource, "attributes"), _SERVICE_NAME)
        for scope_spans in _objects(resource_spans, "scopeSpans"):
            for raw in _list(scope_spans, "spans"):
                try:
                    spans.append(_decode_span(raw, service))
                except DECODE_ERRORS as error:
                    bad += 1
                    reason = reason or error_reason(error)
    return spans, bad, reason


def count_log_records(data: dict[str, Any]) -> int:
    """How many log records a line holds (``ragtel send`` replays them; the rest count them)."""
    return sum(
        len(_list(scope, "logRecords"))
        for resource in _objects(data, "resourceLogs")
        for scope in _objects(resource, "scopeLogs")
    )


def _objects(holder: dict[str, Any], key: str) -> list[dict[str, Any]]:
    values = _list(holder, key)
    if not all(type(value) is dict for value in values):
        raise _Malformed(f"{key} holds something other than JSON objects")
    return values


def _list(holder: dict[str, Any], key: str) -> list[Any]:
    values = holder.get(key)
    if values is None:
        return []
    if type(values) is not list:
        raise _Malformed(f"{key} is not a list")
    return values


def _decode_span(raw: Any, service: str) -> Span:
    if type(raw) is not dict:
        raise _Malformed("a span is not a JSON object")
    attributes: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for item in _list(raw, "attributes") if "attributes" in raw else ():
        key = _key(item)
        if key in _SPAN_KEYS:
            attributes[key] = any_value(item.get("value"))
        elif key.startswith(_PARAM_PREFIX):
            params[_text(key[len(_PARAM_PREFIX) :])] = any_value(item.get("value"))
        elif key.startswith(_FEEDBACK_PREFIX):
            attributes[_text(key)] = any_value(item.get("value"))
    status = raw.get("status") or {}
    if type(status) is not dict:
        raise _Malformed("status is not a JSON object")
    trace_id, span_id, parent_id = _ids(raw)
    start, end = _span_times(raw)
    name = raw.get("name")
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id,
        name=name if type(name) is str and name.isprintable() else _text(name),
        start=start,
        end=end,
        status_code=_status_code(status.get("code")) if "code" in status else 0,
        status_message=_text(status.get("message")),
        service=service,
        attributes=attributes,
        params=params,
        events=[_decode_event(event) for event in _list(raw, "events")] if "events" in raw else [],
    )


def _decode_event(raw: Any) -> Event:
    if type(raw) is not dict:
        raise _Malformed("an event is not a JSON object")
    name = _text(raw.get("name"))
    keep_all_feedback = name == events.GEN_AI_EVALUATION_RESULT_EVENT
    attributes: dict[str, Any] = {}
    for item in _list(raw, "attributes"):
        key = _key(item)
        if key in _EVENT_KEYS:
            attributes[key] = any_value(item.get("value"))
        elif keep_all_feedback and key.startswith(_FEEDBACK_PREFIX):
            attributes[_text(key)] = any_value(item.get("value"))
    return Event(name, _nanos(raw.get("timeUnixNano"), "timeUnixNano"), attributes)


def _key(item: Any) -> str:
    """An attribute's key, unescaped: the caller escapes any it keeps but does not know."""
    key = item["key"]  # TypeError for an item that is not an object
    if type(key) is not str:
        raise _Malformed(f"an attribute key is {_json_type(key)}")
    return key


def _text(value: Any) -> str:
    """A string field of the file, escaped for the terminal; absent is empty."""
    if type(value) is str:
        return value if value.isprintable() else terminal_safe(value)
    if value is None:
        return ""
    raise _Malformed(f"expected a string, got {_json_type(value)}")


def _ids(raw: dict[str, Any]) -> tuple[str, str, str | None]:
    """The span's trace id, span id and parent span id (None for a root), checked as hex."""
    trace_id = raw.get("traceId")
    if type(trace_id) is not str or _TRACE_ID.fullmatch(trace_id) is None:
        raise _Malformed("traceId is not 32 hex digits")
    span_id = raw.get("spanId")
    if type(span_id) is not str or _SPAN_ID.fullmatch(span_id) is None:
        raise _Malformed("spanId is not 16 hex digits")
    parent_id = raw.get("parentSpanId")
    if not parent_id:  # absent or "": a root
        return trace_id.lower(), span_id.lower(), None
    if type(parent_id) is not str or _SPAN_ID.fullmatch(parent_id) is None:
        raise _Malformed("parentSpanId is not 16 hex digits")
    return trace_id.lower(), span_id.lower(), parent_id.lower()


def _span_times(raw: dict[str, Any]) -> tuple[int, int]:
    start = raw.get("startTimeUnixNano")
    end = raw.get("endTimeUnixNano")
    # The usual form: decimal strings of at most 19 digits, which fit OTLP's fixed64.
    if (
        type(start) is str
        and type(end) is str
        and len(start) < 20
        and len(end) < 20
        and start.isascii()
        and start.isdigit()
        and end.isascii()
        and end.isdigit()
    ):
        return int(start), int(end)
    return _nanos(start, "startTimeUnixNano"), _nanos(end, "endTimeUnixNano")


def _integer(value: Any, field: str) -> int:
    """An OTLP/JSON integer: a JSON number or a decimal string (as 64-bit ones are)."""
    if type(value) is int:
        return value
    if type(value) is str:
        try:
            return int(value)
        except ValueError:  # not digits, or more than Python converts
            raise _Malformed(f"{field} is not an integer") from None
    if type(value) is float and value.is_integer():
        return int(value)
    raise _Malformed(f"{field} is not an integer: {_json_type(value)}")


def _nanos(value: Any, field: str) -> int:
    """A time in ns since the epoch: OTLP's fixed64, so 0 up to the year 2554."""
    if value is None:
        return 0
    nanos = _integer(value, field)
    if not 0 <= nanos <= _MAX_UINT64:
        raise _Malformed(f"{field} out of range")
    return nanos


def _status_code(value: Any) -> int:
    if value is None:
        return 0
    if type(value) is str and value in _STATUS_CODES:
        return _STATUS_CODES[value]
    code = _integer(value, "status code")
    if not 0 <= code <= 2:
        raise _Malformed(f"status code {code} is not 0, 1 or 2")
    return code


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def _string_attribute(items: Iterable[Any], key: str) -> str:
    for item in items:
        if type(item) is dict and item.get("key") == key:
            value = any_value(item.get("value"))
            return value if isinstance(value, str) else ""
    return ""


def any_value(value: Any, depth: int = 0) -> Any:
    """An OTLP/JSON ``AnyValue`` as the Python value it holds (None when empty).

    Strings come escaped for the terminal; integers must fit in 64 bits; arrays
    and lists nest at most :data:`_MAX_VALUE_DEPTH` deep (attributes are flat,
    so only a crafted file goes deeper), so what formats them cannot overflow
    the stack. Raises ValueError (or TypeError) for a value of the wrong type.
    """
    if type(value) is not dict:
        return None
    if depth > _MAX_VALUE_DEPTH:
        raise _Malformed(f"a value nested more than {_MAX_VALUE_DEPTH} levels deep")
    if "stringValue" in value:
        return _text(value["stringValue"])
    if "intValue" in value:
        number = _integer(value["intValue"], "intValue")
        if not _MIN_INT64 <= number <= _MAX_INT64:
            raise _Malformed("intValue out of range")
        return number
    if "doubleValue" in value:
        double = value["doubleValue"]
        if type(double) is bool or type(double) not in (int, float, str):
            raise _Malformed(f"doubleValue is not a number: {_json_type(double)}")
        return float(double)  # also "NaN" and "Infinity", as OTLP/JSON writes them
    if "boolValue" in value:
        flag = value["boolValue"]
        if type(flag) is not bool:
            raise _Malformed(f"boolValue is not true or false: {_json_type(flag)}")
        return flag
    if "arrayValue" in value:
        array = value["arrayValue"] or {}
        items = _list(_object(array, "arrayValue"), "values")
        return [any_value(item, depth + 1) for item in items]
    if "kvlistValue" in value:
        kvlist = _object(value["kvlistValue"] or {}, "kvlistValue")
        return {
            _text(_key(item)): any_value(item.get("value"), depth + 1)
            for item in _list(kvlist, "values")
        }
    if "bytesValue" in value:
        return _text(value["bytesValue"])
    return None


def _object(value: Any, field: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Malformed(f"{field} is not a JSON object")
    return value
