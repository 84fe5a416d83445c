"""Finished spans made safe to encode, one at a time, and their encoded size estimated.

The OpenTelemetry API accepts values its OTLP encoder then refuses: an
``end_time`` given as a ``datetime`` or a float, a timestamp out of range, a
name that is not text, text with lone surrogates (left by a broken decoding
upstream), an integer wider than 64 bits, a span kind that is not a
``SpanKind``. The encoder raises for the whole request, so one such span
would lose every span exported with it (up to a thousand). Here each span is
checked on its own, on the export thread, before it joins a request:

* what can be repaired is: timestamps given as ``datetime`` or float become
  integer nanoseconds (a number under 10**12 is read as seconds: no real
  nanosecond time is that small), an end before the start is set to the
  start, text is escaped (``\\udcff``), a too-wide integer
  becomes its decimal text, a value of a type OTLP has no form for is left
  out (as the SDK itself does with such attribute values);
* an event at a time OTLP cannot hold (before 1970 or after 2554) is left
  out alone, and counted in the span's dropped events;
* a span that cannot be repaired (a start or end time before 1970 or after
  2554, an id wider than OTLP's) is dropped alone, and counted.

The same walk adds up an estimate of the span's encoded size, which bounds
each request by bytes. A span with nothing to repair is passed on as it is,
so the common case costs a walk over its attributes and nothing more.

One walk does both jobs, repair and size, so this module stays whole at a
little over 400 lines rather than walking each span twice.
"""

from __future__ import annotations

import datetime
import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any, Final, TypeGuard

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes

from ragtel._encoding.redaction import redact_text
from ragtel._state import STATE

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_UINT64_MAX: Final = 2**64 - 1
_TRACE_ID_MAX: Final = 2**128 - 1
# A time under 10**12 is read as seconds (``time.time()`` given where the API
# takes nanoseconds): as nanoseconds it would be the first 16 minutes of 1970,
# which no real span records. Under 1,000 both readings are 1970's first
# minutes, and the value is kept as nanoseconds, so a repaired time is never
# read as seconds again.
_SECONDS_MIN: Final = 1_000
_NANOS_MIN: Final = 10**12

# Bytes of protobuf framing (field tags, lengths, fixed-size fields) per item,
# rounded up: the estimate should err on the large side.
_REQUEST_OVERHEAD: Final = 256  # resource and scope framing, a scope's name
_SPAN_OVERHEAD: Final = 96  # ids, times, kind, flags, status
_ATTRIBUTE_OVERHEAD: Final = 8
_SCALAR_SIZE: Final = 10  # an int, a float or a bool with its tag
_EVENT_OVERHEAD: Final = 16
_LINK_OVERHEAD: Final = 40
_MAX_NESTING: Final = 32
"""Levels of lists and mappings an attribute value keeps; deeper ones are left out."""

# What the SDK itself records of an exception (``record_exception`` and the
# status set on leaving ``start_as_current_span``), never through ragtel's
# encoder: masked here as ragtel masks the texts it records.
_EXCEPTION_EVENT: Final = "exception"
_EXCEPTION_TEXTS: Final = (EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE)

_NEEDS_REPAIR: Final = -1
_LEFT_OUT: Final = object()


def prepare(span: ReadableSpan) -> tuple[ReadableSpan | None, int]:
    """``span`` ready to encode, and its estimated encoded size in bytes.

    The span comes back unchanged when nothing needed repair, as a repaired
    copy otherwise, or as None when it cannot be encoded at all.
    """
    name, start, end = span.name, span.start_time, span.end_time
    name_size = _text_size(name) if type(name) is str else _NEEDS_REPAIR
    times_fit = (  # the common case first: no call
        type(start) is int and type(end) is int and _NANOS_MIN <= start <= end <= _UINT64_MAX
    ) or (_is_nanos(start) and _is_nanos(end) and start <= end)
    repair = not (
        name_size >= 0
        and times_fit
        and type(span.kind) is SpanKind
        and _ids_fit(span.context)
        and _ids_fit(span.parent)
    )
    size = _SPAN_OVERHEAD + name_size
    description = span.status.description
    if description is not None:
        description_size = _text_size(description) if type(description) is str else _NEEDS_REPAIR
        repair = repair or description_size < 0 or _reveals(description)
        size += description_size
    scope = span.instrumentation_scope
    if scope is not None and scope is not STATE.checked_scope:
        if _encodes(scope.name) and _encodes(scope.version or ""):
            STATE.checked_scope = scope  # a tracer's spans share one: checked once in a row
        else:
            repair = True
    # The span's own BoundedAttributes when the SDK keeps one: not the read-only view.
    attributes_size = _attributes_size(getattr(span, "_attributes", None) or span.attributes)
    repair = repair or attributes_size < 0
    size += attributes_size
    for event in span.events:
        event_size = _event_size(event)
        repair = (
            repair
            or event_size < 0
            or (event.name == _EXCEPTION_EVENT and _exception_reveals(event))
        )
        size += event_size
    for link in span.links:
        link_size = _link_size(link)
        repair = repair or link_size < 0
        size += link_size
    if not repair:
        return span, size
    return _repaired(span)


def resource_size(resource: Resource) -> int:
    """Estimated encoded bytes of ``resource`` (sent once per request, not per span)."""
    return _REQUEST_OVERHEAD + max(_attributes_size(resource.attributes), 0)


def _text_size(text: str) -> int:
    """UTF-8 bytes of ``text``, or -1 when it holds a lone surrogate."""
    if text.isascii():  # O(1) in CPython: the common case costs no scan
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return _NEEDS_REPAIR


def _encodes(text: Any) -> bool:
    return type(text) is str and _text_size(text) >= 0


def _is_nanos(value: Any) -> TypeGuard[int]:
    return type(value) is int and (_NANOS_MIN <= value <= _UINT64_MAX or 0 <= value < _SECONDS_MIN)


def _attributes_size(attributes: Attributes) -> int:
    """Estimated encoded bytes of ``attributes``, or -1 when one needs repair."""
    if not attributes:
        return 0
    total = 0
    # The SDK's BoundedAttributes keeps a plain dict: iterating it directly
    # saves a Python-level call per item (a third of the walk).
    inner = getattr(attributes, "_dict", None)
    items = inner.items() if type(inner) is dict else attributes.items()
    for key, value in items:
        # Plain text under a plain key, most of what ragtel records, costs no call.
        if type(value) is str and value.isascii() and type(key) is str and key.isascii():
            total += len(key) + len(value) + _ATTRIBUTE_OVERHEAD
            continue
        key_size = _text_size(key) if type(key) is str else _NEEDS_REPAIR
        value_size = _value_size(value, 0)
        if key_size < 0 or value_size < 0:
            return _NEEDS_REPAIR
        total += key_size + value_size + _ATTRIBUTE_OVERHEAD
    return total


def _value_size(value: Any, depth: int) -> int:
    """Estimated encoded bytes of an attribute value (OTLP's AnyValue), or -1."""
    kind = type(value)
    if kind is str:
        return _text_size(value)
    if kind is bool or kind is float:
        return _SCALAR_SIZE
    if value is None:  # a null in an array: see encoder_carries_null
        return _SCALAR_SIZE if encoder_carries_null() else _NEEDS_REPAIR
    if kind is int:
        return _SCALAR_SIZE if _INT64_MIN <= value <= _INT64_MAX else _NEEDS_REPAIR
    if kind is bytes:
        return len(value) + 2
    if depth >= _MAX_NESTING:
        return _NEEDS_REPAIR
    total = 4
    if kind is tuple or kind is list:  # the SDK keeps sequences as tuples
        for item in value:
            item_kind = type(item)
            # Arrays of plain text or floats (chunk contents, scores) cost no call.
            if item_kind is str and item.isascii():
                total += len(item) + 2
            elif item_kind is float:
                total += _SCALAR_SIZE
            else:
                item_size = _value_size(item, depth + 1)
                if item_size < 0:
                    return _NEEDS_REPAIR
                total += item_size + 2
        return total
    if kind is dict:  # the SDK keeps mappings as dicts
        for key, item in value.items():
            key_size = _text_size(key) if type(key) is str else _NEEDS_REPAIR
            item_size = _value_size(item, depth + 1)
            if key_size < 0 or item_size < 0:
                return _NEEDS_REPAIR
            total += key_size + item_size + _ATTRIBUTE_OVERHEAD
        return total
    return _NEEDS_REPAIR


def _event_size(event: Event) -> int:
    if not _encodes(event.name) or not _is_nanos(event.timestamp):
        return _NEEDS_REPAIR
    attributes_size = _attributes_size(event.attributes)
    if attributes_size < 0:
        return _NEEDS_REPAIR
    return _EVENT_OVERHEAD + _text_size(event.name) + attributes_size


def _reveals(text: Any) -> bool:
    """Whether ``text`` holds a sensitive field or URL password (a cheap test first)."""
    return type(text) is str and ("=" in text or ":" in text) and redact_text(text) != text


def _exception_reveals(event: Event) -> bool:
    if event.name != _EXCEPTION_EVENT or not event.attributes:
        return False
    return any(_reveals(event.attributes.get(key)) for key in _EXCEPTION_TEXTS)


def _link_size(link: Link) -> int:
    if not _ids_fit(link.context):
        return _NEEDS_REPAIR
    attributes_size = _attributes_size(link.attributes)
    if attributes_size < 0:
        return _NEEDS_REPAIR
    return _LINK_OVERHEAD + attributes_size


def _ids_fit(context: SpanContext | None) -> bool:
    if context is None:
        return True
    trace_id, span_id = context.trace_id, context.span_id
    return (
        type(trace_id) is int
        and type(span_id) is int
        and 0 <= trace_id <= _TRACE_ID_MAX
        and 0 <= span_id <= _UINT64_MAX
    )


# Repair: only for the rare span that needs it -------------------------------


def _repaired(span: ReadableSpan) -> tuple[ReadableSpan | None, int]:
    start, end = _nanos(span.start_time), _nanos(span.end_time)
    # One time OTLP cannot hold, or an end before the start, is set to the
    # other: the span's data is kept, its duration becomes zero.
    if start is None:
        start = end
    if end is None or (start is not None and end < start):
        end = start
    if start is None or end is None or not _ids_fit(span.context) or not _ids_fit(span.parent):
        return None, 0
    events = []
    for event in span.events:
        timestamp = _nanos(event.timestamp)
        if timestamp is not None:  # one event at no time OTLP holds is left out, and counted
            attributes = _attributes(event.attributes)
            if event.name == _EXCEPTION_EVENT:
                for key in _EXCEPTION_TEXTS:
                    if type(attributes.get(key)) is str:
                        attributes[key] = redact_text(attributes[key])
            events.append(Event(_text(event.name), attributes, timestamp))
    links = [
        Link(link.context, _attributes(link.attributes))
        for link in span.links
        if _ids_fit(link.context)
    ]
    status = span.status
    if status.description is not None:
        # A description is kept on an error only (Status warns about any other);
        # Status lets a falsy non-text one through.
        code = status.status_code
        text = redact_text(_text(status.description)) if type(status.description) is str else None
        status = Status(code, text if code is StatusCode.ERROR else None)
    scope = span.instrumentation_scope
    if scope is not None:
        scope = InstrumentationScope(
            _text(scope.name),
            _text(scope.version) if scope.version is not None else None,
            scope.schema_url,
            scope.attributes,
        )
    repaired = ReadableSpan(
        name=_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_attributes(span.attributes),
        events=_keep_dropped(events, span.dropped_events + len(span.events) - len(events)),
        links=_keep_dropped(links, span.dropped_links + len(span.links) - len(links)),
        kind=span.kind if isinstance(span.kind, SpanKind) else SpanKind.INTERNAL,
        status=status,
        start_time=start,
        end_time=end,
        instrumentation_scope=scope,
    )
    checked, size = prepare(repaired)
    # A repaired span must pass as it is; anything else is a gap in the repair.
    return (repaired, size) if checked is repaired else (None, 0)


def _keep_dropped(items: list[Any], dropped: int) -> Sequence[Any]:
    # The OTLP dropped_*_count fields are read from a BoundedList's count.
    if not dropped:
        return items
    bounded = BoundedList.from_seq(None, items)
    bounded.dropped = dropped
    return bounded


def _nanos(value: Any) -> int | None:
    """``value`` as integer nanoseconds since the epoch, or None when it is no time OTLP holds."""
    if isinstance(value, datetime.datetime):
        try:
            if value.tzinfo is None:
                value = value.astimezone()  # naive means local time, as timestamp() takes it
            delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        # Years near 1 or 9999 overflow; a tzinfo's own utcoffset may raise anything.
        except Exception:  # noqa: BLE001 - no readable time: the other one stands in
            return None
        nanos = delta // datetime.timedelta(microseconds=1) * 1_000
        return nanos if 0 <= nanos <= _UINT64_MAX else None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        seconds = _SECONDS_MIN <= value < _NANOS_MIN  # kept to a float's microseconds
        value = round(value * 1_000_000) * 1_000 if seconds else int(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)  # numpy and pandas integers
        if _SECONDS_MIN <= value < _NANOS_MIN:
            value *= 1_000_000_000
    if type(value) is not int or not 0 <= value <= _UINT64_MAX:
        return None
    return value


def _text(value: Any) -> str:
    """``value`` as text the encoder takes: lone surrogates escaped, a non-text value named."""
    if type(value) is not str:
        # Never the value's own __str__: user code does not run on the export thread.
        if type(value) in (int, float):
            return repr(value)
        return f"<{type(value).__name__}>"
    if _text_size(value) >= 0:
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _wide_int_text(value: int) -> str:
    # str() refuses ints over 4,300 digits; hex has no such limit.
    return str(value) if value.bit_length() <= 10_000 else hex(value)


def _attributes(attributes: Attributes) -> dict[str, Any]:
    repaired: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if type(key) is not str:
            continue  # the SDK refuses such keys; one set around it is left out too
        clean = _value(value, 0, nulls=encoder_carries_null())
        if clean is not _LEFT_OUT:
            repaired[_text(key)] = clean
    return repaired


def _value(value: Any, depth: int, *, nulls: bool = True) -> Any:
    """``value`` in a form OTLP holds; ``_LEFT_OUT`` when it has none.

    ``nulls``: whether the encoder carries a null. Where it does not, a null
    in an array becomes ``""``, as the OpenTelemetry specification allows for
    exporters without nulls: the array keeps its length and its order.
    """
    kind = type(value)
    if kind is str:
        return _text(value)
    if value is None:
        return None if nulls else ""
    if kind is bool or kind is float or kind is bytes:
        return value
    if kind is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else _wide_int_text(value)
    if depth >= _MAX_NESTING:
        return _LEFT_OUT
    if kind is tuple or kind is list:
        items = (_value(item, depth + 1, nulls=nulls) for item in value)
        return tuple(item for item in items if item is not _LEFT_OUT)
    if kind is dict:  # only a plain dict: its items() runs no user code
        nested = {
            _text(key): _value(item, depth + 1, nulls=nulls)
            for key, item in value.items()
            if type(key) is str
        }
        return {key: item for key, item in nested.items() if item is not _LEFT_OUT}
    return _LEFT_OUT


@functools.cache
def encoder_carries_null() -> bool:
    """Whether the installed OTLP encoder takes a null inside an array.

    OpenTelemetry allows nulls in attribute arrays (a chunk without content
    is one), but the SDK's encoder carries them only since 2025: an older
    one refuses the whole attribute. Asked once, on the export thread.
    """
    try:
        from opentelemetry.exporter.otlp.proto.common._internal import _encode_value

        return _encode_value(None) is not None
    except Exception:  # noqa: BLE001 - an encoder that refuses a null, however it says so
        return False
