"""The one place where Python values become OpenTelemetry attribute values.

Every API that records user data goes through :func:`encode_attribute` (a
value for one attribute) or :func:`encode_json` (JSON text). Both never raise:
whatever the input, the caller gets something it can put on a span.

Rules:

* ``str``, ``bool``, ``int`` and ``float`` stay as they are; lists and tuples
  whose items all share one of those types become attribute arrays.
* Everything else becomes JSON: mappings, sequences, sets (sorted),
  dataclasses, pydantic models, numpy arrays and scalars, enums, bytes
  (UTF-8 text, or ``base64:`` when not text), datetimes (ISO 8601), UUIDs,
  decimals and paths. NaN and infinities become the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"`` so that the JSON stays valid.
* Cycles become ``"<cycle: TypeName>"``; objects with no JSON form become
  their ``repr`` with memory addresses removed, so equal objects encode the
  same way run after run.
* Values under a sensitive name (see :mod:`ragtel._redaction`) become
  ``"[REDACTED]"``, and passwords inside URLs are masked.
* Text longer than the limit is cut and ends with a visible marker such as
  ``…[truncated 1234 chars]``; the result never exceeds the limit.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
import json
import logging
import math
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig, Mask, ValueLimits
from ragtel._redaction import (
    NAME_DECISIONS as _NAME_DECISIONS,
)
from ragtel._redaction import (
    REDACTED,
    is_sensitive_name,
    mask_url_credentials,
    redact_repr,
)

_logger = logging.getLogger("ragtel")

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_MAX_DEPTH: Final = 32
# Patterns are compiled on first use (re caches them): import ragtel stays cheap.
_ADDRESS: Final = r" at 0x[0-9a-fA-F]+"
_PRIMITIVE_TYPES: Final = (str, bool, int, float)
# Values whose str() is their natural JSON form (UUID, Decimal, paths, IP
# addresses), matched by module so those modules need not be imported here.
_TEXT_FORM_MODULES: Final = frozenset(
    {"uuid", "decimal", "_decimal", "_pydecimal", "pathlib", "ipaddress"}
)


def truncate(text: str, max_length: int) -> str:
    """Cut ``text`` to at most ``max_length`` characters, ending with a visible marker."""
    if len(text) <= max_length:
        return text
    # The marker's length depends on the count it prints, and the count on the
    # marker's length: iterate to the fixed point (two or three passes).
    marker_length = 0
    while True:
        kept = max(max_length - marker_length, 0)
        marker = f"…[truncated {len(text) - kept} chars]"
        if len(marker) == marker_length:
            break
        marker_length = len(marker)
    if len(marker) >= max_length:
        return marker[:max_length]
    return text[:kept] + marker


MASK_FAILED: Final = "[MASK FAILED]"


def apply_mask(value: Any, mask: Mask | None) -> Any:
    """``mask(value)``, or :data:`MASK_FAILED` if the hook raised (never the unmasked value)."""
    if mask is None:
        return value
    try:
        return mask(value)
    except Exception:  # a failing mask must not leak or crash
        _logger.exception("ragtel: the mask hook raised; the value is not recorded")
        return MASK_FAILED


def recorded_text(value: Any, limits: ValueLimits) -> str:
    """Text as it is recorded: a string cleaned and capped, anything else as capped JSON."""
    if isinstance(value, str):
        return clean_text(value, limits.max_length)
    return encode_json(value, limits)


def masked_text(value: Any, capture: CaptureConfig) -> str:
    """``value`` through the mask hook, then as :func:`recorded_text`."""
    return recorded_text(apply_mask(value, capture.mask), capture.limits)


def masked_json(value: Any, capture: CaptureConfig) -> str:
    """``value`` through the mask hook, then as capped JSON: how structured data is recorded."""
    return encode_json(apply_mask(value, capture.mask), capture.limits)


def masked_repr(value: Any, capture: CaptureConfig) -> str:
    """``value`` through the mask hook, then its ``repr``, redacted and capped."""
    text = redact_repr(stable_repr(apply_mask(value, capture.mask)))
    return clean_text(text, capture.limits.max_length)


def clean_text(text: str, max_length: int) -> str:
    """Mask URL passwords, make ``text`` encodable as UTF-8, and cap its length.

    Lone surrogates (from broken decoding upstream) cannot be encoded by
    protobuf and would fail a whole export batch, so they are escaped.
    """
    text = mask_url_credentials(text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return truncate(text, max_length)


def plain_text(value: Any, max_length: int) -> str:
    """``str(value)`` as recorded text (see :func:`clean_text`); never raises.

    For values recorded as text rather than JSON: ids, names, labels. A
    ``str()`` that raises (a broken ``__str__``, an int past Python's digit
    limit) falls back to the value's ``repr``.
    """
    if isinstance(value, str):
        text = str.__str__(value)  # a subclass's own __str__ may raise
    else:
        try:
            text = str(value)
        except Exception:  # noqa: BLE001 - a broken __str__ is the object's problem, not ours
            text = stable_repr(value)
    return clean_text(text, max_length)


QUOTE_LENGTH: Final = 200
"""Characters of a value quoted in an error message."""


def quoted(value: Any, max_length: int = QUOTE_LENGTH) -> str:
    """``value``'s ``repr`` for an error message: never raises, cleaned and capped.

    A message quoting a bad argument must not itself fail (a broken
    ``__repr__`` would replace the documented TypeError or ValueError), flood
    a log line, carry a URL password or text that cannot be exported.
    """
    return clean_text(stable_repr(value), max_length)


def encode_attribute(value: Any, limits: ValueLimits) -> AttributeValue | None:
    """Turn ``value`` into an attribute value; ``None`` stays ``None`` (nothing to record)."""
    try:
        return _encode_attribute(value, limits)
    except Exception:  # noqa: BLE001 - an encoder that raises would break the host app
        return _fallback(value, limits)


def encode_json(value: Any, limits: ValueLimits) -> str:
    """Turn ``value`` into JSON text of at most ``limits.max_length`` characters."""
    try:
        text = _plain_json(value, limits)
        if text is None:
            text = _walked_json(value, limits)
        return clean_text(text, limits.max_length)
    except Exception:  # noqa: BLE001 - an encoder that raises would break the host app
        return _fallback(value, limits)


# One encoder, built once: json.dumps with options builds a new one per call.
_JSON: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
# The C encoder itself, made once: JSONEncoder.encode builds one per call.
# Without cycle markers: only values the scan accepted (no cycles) reach it.
_C_ENCODE: Final = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, None, json.encoder.encode_basestring, None, ": ", ", ", False, False, False
    )
    if getattr(json.encoder, "c_make_encoder", None) is not None
    else None
)
_PLAIN_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def encode_known_plain(value: Any) -> str | None:
    """JSON of a value built by ragtel itself from plain types, or None if it holds NaN.

    For data whose shape ragtel controls (no scan needed): straight to the C encoder.
    """
    try:
        return "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else _JSON.encode(value)
    except ValueError:
        return None


def _plain_json(value: Any, limits: ValueLimits) -> str | None:
    """Fast path: the C encoder's text for small, plain JSON data, else None.

    It gives the same text the walk below would, in the cases it accepts (see
    :func:`_is_small_plain`), text short enough that the walk's character
    budget (which overcounts at most 4x) cannot run out, and no NaN or
    infinity (the encoder raises on those).
    """
    if not _is_small_plain(value, limits.max_items):
        return None
    try:
        text: str = "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else _JSON.encode(value)
    except (ValueError, RecursionError):
        return None
    return text if len(text) <= limits.max_length // 4 else None


def _is_small_plain(value: Any, limit: int) -> bool:
    """True if the walk would have nothing to convert, redact or cut in ``value``.

    That is: only ``dict`` (``str`` keys), ``list``, ``tuple`` and JSON scalars,
    exact types (a NamedTuple or a ``str`` subclass takes the walk); at most
    ``limit`` values in all, so no collection cap applies; no sensitive key,
    and no ``(name, value)`` pair with a sensitive name.
    """
    if type(value) in _PLAIN_SCALARS:
        return True
    # Hot path: one pass, inlined checks (the redaction cache is read directly).
    decisions = _NAME_DECISIONS
    scalars = _PLAIN_SCALARS
    pending = [value]
    count = 0
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
                sensitive = decisions.get(key)
                if sensitive is None:
                    sensitive = is_sensitive_name(key)
                if sensitive:
                    return False
            children: Any = item.values()
        elif kind is list or kind is tuple:
            if len(item) == 2 and type(item[0]) is str and is_sensitive_name(item[0]):
                return False
            children = item
        else:
            return False
        count += len(children)
        if count > limit:
            return False  # also ends the scan of a cycle
        for child in children:
            if type(child) not in scalars:
                pending.append(child)
    return True


def _walked_json(value: Any, limits: ValueLimits) -> str:
    """The general path: convert, redact and cap in Python, then encode."""
    budget = _Budget(limits.max_length, limits.max_items)
    return str(_JSON.encode(_to_jsonable(value, budget, 0, set())))  # NaN was made a string


def stable_repr(value: Any) -> str:
    """``repr(value)`` without memory addresses; never raises."""
    try:
        return re.sub(_ADDRESS, "", repr(value))
    except Exception:  # noqa: BLE001 - a broken __repr__ is the object's problem, not ours
        return f"<unrepresentable {type(value).__qualname__}>"


def _encode_attribute(value: Any, limits: ValueLimits) -> AttributeValue | None:
    kind = type(value)
    if kind is str:
        return clean_text(value, limits.max_length)
    if kind is bool or kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    if value is None:
        return None
    if kind is list or kind is tuple:
        array = _primitive_array(value, limits)
        if array is not None:
            return array
    return encode_json(value, limits)


def _primitive_array(items: Sequence[Any], limits: ValueLimits) -> AttributeValue | None:
    """Return ``items`` as a homogeneous attribute array, or None if it is not one."""
    if not items or len(items) > limits.max_items:
        return None
    first = type(items[0])
    if first not in _PRIMITIVE_TYPES or any(type(item) is not first for item in items):
        return None
    if first is int and any(not _INT64_MIN <= item <= _INT64_MAX for item in items):
        return None
    if first is str:
        return [clean_text(item, limits.max_length) for item in items]
    return list(items)


class _Budget:
    """Approximate characters and items still allowed while walking a value.

    Walking stops early on huge inputs, so a million-item list costs as much as
    the part of it that fits in the limit, not a million conversions.
    """

    __slots__ = ("chars", "max_items")

    def __init__(self, chars: int, max_items: int) -> None:
        self.chars = chars
        self.max_items = max_items


def _to_jsonable(value: Any, budget: _Budget, depth: int, path: set[int]) -> Any:
    kind = type(value)
    if kind is str:
        budget.chars -= len(value) + 3
        return value
    if kind is int or kind is bool or value is None:
        budget.chars -= 6
        return value
    if kind is float:
        budget.chars -= 12
        return value if math.isfinite(value) else _non_finite(value)
    if depth >= _MAX_DEPTH:
        return f"<max depth: {kind.__qualname__}>"

    # Containers: guard against cycles along the current path only, so the
    # same object shared twice (not a cycle) is encoded both times.
    if isinstance(value, (Mapping, list, tuple, set, frozenset)) or dataclasses.is_dataclass(value):
        marker = id(value)
        if marker in path:
            return f"<cycle: {kind.__qualname__}>"
        path.add(marker)
        try:
            return _container_to_jsonable(value, budget, depth, path)
        finally:
            path.discard(marker)
    return _scalar_to_jsonable(value, budget, depth, path)


def _container_to_jsonable(value: Any, budget: _Budget, depth: int, path: set[int]) -> Any:
    if isinstance(value, Mapping):
        return _mapping_to_jsonable(value.items(), len(value), budget, depth, path)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((field.name, getattr(value, field.name)) for field in dataclasses.fields(value))
        return _mapping_to_jsonable(fields, len(dataclasses.fields(value)), budget, depth, path)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        # A NamedTuple: its field names matter (for reading, and for redaction).
        return _mapping_to_jsonable(
            zip(value._fields, value, strict=True), len(value), budget, depth, path
        )
    if isinstance(value, (set, frozenset)):
        return _sequence_to_jsonable(
            _sorted_set(value, budget.max_items), budget, depth, path, total=len(value)
        )
    if len(value) == 2 and type(value[0]) is str and is_sensitive_name(value[0]):
        # A (name, value) pair, as HTTP and gRPC headers often travel.
        return [value[0], REDACTED]
    return _sequence_to_jsonable(value, budget, depth, path)


def _mapping_to_jsonable(
    items: Any, size: int, budget: _Budget, depth: int, path: set[int]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for index, (key, item) in enumerate(items):
        if budget.chars <= 0 or index >= budget.max_items:
            result["…"] = f"[{size - index} more entries]"
            break
        name = key if type(key) is str else _key_text(key)
        budget.chars -= len(name) + 4
        if is_sensitive_name(name):
            result[name] = REDACTED
        else:
            result[name] = _to_jsonable(item, budget, depth + 1, path)
    return result


def _sequence_to_jsonable(
    items: Sequence[Any], budget: _Budget, depth: int, path: set[int], *, total: int | None = None
) -> list[Any]:
    size = len(items) if total is None else total
    result: list[Any] = []
    for index, item in enumerate(items):
        if budget.chars <= 0 or index >= budget.max_items:
            result.append(f"…[{size - index} more items]")
            break
        budget.chars -= 2
        result.append(_to_jsonable(item, budget, depth + 1, path))
    else:
        if size > len(items):
            result.append(f"…[{size - len(items)} more items]")
    return result


def _scalar_to_jsonable(value: Any, budget: _Budget, depth: int, path: set[int]) -> Any:
    if isinstance(value, enum.Enum):
        return _to_jsonable(value.value, budget, depth + 1, path)
    # Subclasses of the primitives encode as their base value, as json.dumps does.
    if isinstance(value, str):
        return _to_jsonable(str.__str__(value), budget, depth, path)
    if isinstance(value, float):
        return _to_jsonable(float(value), budget, depth, path)
    if isinstance(value, int):
        return _to_jsonable(int(value), budget, depth, path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _to_jsonable(_bytes_text(value, budget.chars), budget, depth, path)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if type(value).__module__ in _TEXT_FORM_MODULES:
        return str(value)
    converted = _library_value(value, budget)
    if converted is not _NO_CONVERSION:
        return _to_jsonable(converted, budget, depth + 1, path)
    if isinstance(value, types.SimpleNamespace):
        return _to_jsonable(vars(value), budget, depth + 1, path)
    text = redact_repr(stable_repr(value))
    budget.chars -= len(text)
    return text


_NO_CONVERSION: Final = object()


def _library_value(value: Any, limits: _Budget) -> Any:
    """Plain-Python form of pydantic models and numpy values, found by duck typing.

    Neither library is imported here: a value of theirs can only exist if the
    app already imported them.
    """
    kind = type(value)
    module = kind.__module__
    if module.startswith("numpy"):
        size = getattr(value, "size", 1)
        if size > limits.max_items and hasattr(value, "flat"):
            # Only the values that can be shown are converted (flat[:n] copies n).
            return {
                "shape": list(value.shape),
                "dtype": str(value.dtype),
                "values": value.flat[: limits.max_items].tolist(),
                "…": f"[{size - limits.max_items} more values]",
            }
        if hasattr(value, "tolist"):
            return value.tolist()  # ndarray and numpy scalars alike
        return _NO_CONVERSION
    dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(dump) and not isinstance(value, type):
        return dump()
    legacy = getattr(value, "dict", None)  # pydantic v1
    if callable(legacy) and hasattr(kind, "__fields__") and not isinstance(value, type):
        return legacy()
    return _NO_CONVERSION


def _bytes_text(data: bytes | bytearray | memoryview, budget_chars: int) -> str:
    # Only the part that can still be shown is copied and decoded.
    head = bytes(data[: max(budget_chars, 0) + 4])
    # A head cut from longer data may end inside a multi-byte character.
    for cut in range(4 if len(head) < len(data) else 1):
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    import base64

    # base64 takes 4 characters per 3 bytes.
    return "base64:" + base64.b64encode(head[: max(budget_chars, 0) * 3 // 4 + 3]).decode("ascii")


def _sorted_set(items: set[Any] | frozenset[Any], max_items: int) -> list[Any]:
    if len(items) > max_items:
        # Sorting a huge set to keep a few items would cost more than the rest of
        # the encoding: keep the first ones in iteration order, unsorted.
        return list(itertools.islice(items, max_items))
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=stable_repr)


def _key_text(key: Any) -> str:
    # The same text json.dumps gives keys it accepts (True -> "true", 1.5 -> "1.5").
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, float) and not math.isfinite(key):
        return _non_finite(key)
    if key is None or isinstance(key, (bool, int, float)):
        return str(_JSON.encode(key))
    return stable_repr(key)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _fallback(value: Any, limits: ValueLimits) -> str:
    try:
        return truncate(stable_repr(value), limits.max_length)
    except Exception:  # noqa: BLE001 - last resort, must not raise
        return "<unencodable>"
