"""The one place where Python values become OpenTelemetry attribute values.

Every API that records user data goes through :func:`encode_attribute` (a
value for one attribute) or :func:`encode_json` (JSON text). Both never raise:
whatever the input, the caller gets something it can put on a span.

Rules:

* ``str``, ``bool``, ``int`` and ``float`` stay as they are; lists and tuples
  whose items all share one of those types become attribute arrays.
* Everything else becomes JSON: mappings, sequences, sets (sorted),
  dataclasses, attrs classes, pydantic models, numpy arrays and scalars,
  enums, bytes (UTF-8 text, or ``base64:`` when not text), datetimes (ISO
  8601), UUIDs, decimals and paths. NaN and infinities become the strings
  ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` so that the JSON stays valid.
  Structured objects are recognised by their type and read field by field:
  no method of theirs is called (see :mod:`ragtel._encoding.object_forms`).
* Cycles become ``"<cycle: TypeName>"``; objects with no JSON form become
  their ``repr`` with memory addresses removed, so equal objects encode the
  same way run after run.
* Redaction comes first, on every path: values under a sensitive name (see
  :mod:`ragtel._encoding.redaction`) become ``"[REDACTED]"`` before they are
  converted, sensitive ``name=value`` fields and URL passwords inside text
  are masked, and a part that cannot be converted is recorded alone, as its
  redacted ``repr`` (or ``<unrepresentable T>``), beside its converted
  neighbours.
* Text longer than the limit is cut and ends with a visible marker such as
  ``…[truncated 1234 chars]``; the result never exceeds the limit. The cost
  is bounded by what is kept: a huge string, list or array is cut before it
  is cleaned or converted.
"""

from __future__ import annotations

import datetime
import enum
import itertools
import json
import logging
import math
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig, Mask, ValueLimits
from ragtel._encoding.object_forms import (
    NO_FORM,
    is_named_tuple,
    named_tuple_fields,
    numpy_form,
    structured_fields,
)
from ragtel._encoding.redaction import (
    REDACTED,
    is_secret_pair,
    is_sensitive_key,
    is_sensitive_name,
    mask_open_url_credentials,
    mask_url_credentials,
    may_hold_secrets,
    redact_text,
)
from ragtel._encoding.safe_repr import MARGIN, ReprCalls, own_repr, safe_repr, unrepresentable

_logger = logging.getLogger("ragtel")

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
# Past Python's default limit for int -> text (4,300 digits), str() raises.
_HUGE_INT: Final = 10**4000
_MAX_DEPTH: Final = 32
_PRIMITIVE_TYPES: Final = (str, bool, int, float)
# Values whose str() is their natural JSON form (UUID, Decimal, paths, IP
# addresses), matched by module so those modules need not be imported here.
_TEXT_FORM_MODULES: Final = frozenset(
    {"uuid", "decimal", "_decimal", "_pydecimal", "pathlib", "ipaddress"}
)
_STABLE_REPR_LENGTH: Final = 65_536


def truncate(text: str, max_length: int, omitted: int = 0) -> str:
    """Cut ``text`` to at most ``max_length`` characters, ending with a visible marker.

    ``omitted``: characters already cut from the text before it got here; the
    marker counts them too, and is added even if the rest fits.
    """
    if len(text) <= max_length and not omitted:
        return text
    # The marker's length depends on the count it prints, and the count on the
    # marker's length: iterate to the fixed point (two or three passes).
    marker_length = 0
    while True:
        kept = min(max(max_length - marker_length, 0), len(text))
        marker = f"…[truncated {len(text) - kept + omitted} chars]"
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
    """``value`` through the mask hook, then its ``repr``: redacted, bounded and capped."""
    limits = capture.limits
    text = safe_repr(apply_mask(value, capture.mask), limits.max_length, limits.max_items)
    return clean_text(text, limits.max_length)


def clean_text(text: str, max_length: int) -> str:
    """Redact secrets in ``text``, make it encodable as UTF-8, and cap its length.

    Sensitive ``name=value`` fields and URL passwords are masked (see
    :func:`ragtel._encoding.redaction.redact_text`). Lone surrogates (from broken
    decoding upstream) cannot be encoded by protobuf and would fail a whole
    export batch, so they are escaped. A text far over the limit is cut first
    (the kept part plus a margin is cleaned, and a URL password cut off by the
    margin's end is masked), so the cost does not grow with the text.
    """
    if type(text) is str:
        length = len(text)
        if length <= max_length:  # the common case, inlined
            if ("=" in text or ":" in text) and may_hold_secrets(text):
                text = redact_text(text)
            return text if text.isascii() else truncate(_encodable(text), max_length)
    else:  # a subclass's own methods may do anything
        length = str.__len__(text)
        text = str.__getitem__(text, slice(0, max_length + MARGIN))
    room = max_length + MARGIN
    if length > room:
        text = mask_open_url_credentials(redact_text(text[:room]))
        omitted = length - room
    else:
        text = redact_text(text)
        omitted = 0
    return truncate(_encodable(text), max_length, omitted)


def finish_json(text: str, max_length: int) -> str:
    """JSON text built by the encoder (every string in it already cleaned): exportable, capped."""
    if "@" in text:  # inlined: this runs on every encoded value
        text = mask_url_credentials(text)
    if not text.isascii():
        text = _encodable(text)
    return text if len(text) <= max_length else truncate(text, max_length)


def _encodable(text: str) -> str:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def plain_text(value: Any, max_length: int) -> str:
    """``str(value)`` as recorded text (see :func:`clean_text`); never raises.

    For values recorded as text rather than JSON: ids, names, labels. A
    ``str()`` that raises (a broken ``__str__``, an int past Python's digit
    limit) falls back to the value's redacted ``repr``.
    """
    if isinstance(value, str):
        return clean_text(value, max_length)  # a subclass's own __str__ is not called
    try:
        text = str(value)
        if type(text) is not str:
            text = str.__str__(text)
    except Exception:  # noqa: BLE001 - a broken __str__ is the object's problem, not ours
        text = safe_repr(value, max_length)
    return clean_text(text, max_length)


QUOTE_LENGTH: Final = 200
"""Characters of a value quoted in an error message."""


def quoted(value: Any, max_length: int = QUOTE_LENGTH) -> str:
    """``value``'s ``repr`` for an error message: never raises, redacted, cleaned and capped.

    A message quoting a bad argument must not itself fail (a broken
    ``__repr__`` would replace the documented TypeError or ValueError), flood
    a log line, carry a secret or text that cannot be exported.
    """
    return clean_text(safe_repr(value, max_length, max_items=50), max_length)


def stable_repr(value: Any) -> str:
    """``repr(value)`` without memory addresses, cut to 64 KiB; never raises.

    Not redacted: for text that stays in the process. Recorded reprs go
    through :func:`ragtel._encoding.safe_repr.safe_repr`.
    """
    return own_repr(value, _STABLE_REPR_LENGTH)


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
        if text is not None:
            return finish_json(text, limits.max_length)
        return finish_json(_walked_json(value, limits), limits.max_length)
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
_NON_TEXT_SCALARS: Final = frozenset({int, float, bool, type(None)})


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
    :func:`_small_plain_keys`), text short enough that the walk's character
    budget (which overcounts at most 4x) cannot run out, no NaN or infinity
    (the encoder raises on those), and no text that may hold a secret.
    """
    max_chars = limits.max_length // 4
    keys = _small_plain_keys(value, limits.max_items, max_chars)
    if keys < 0:
        return None
    try:
        text: str = "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else _JSON.encode(value)
    except (ValueError, RecursionError):
        return None
    if len(text) > max_chars:
        return None
    # A secret field in a string needs a "=" or a ":" there. The encoder writes
    # no "=" and one ":" per key, so one search of the whole text tells whether
    # any string may hold one; only then are the strings looked at one by one.
    if ("=" in text or text.count(":") > keys) and _holds_secret_text(value):
        return None
    return text


# Keys seen plain (not sensitive, no secret inside): keys repeat on every call.
_PLAIN_KEYS: dict[str, bool] = {}
_PLAIN_KEYS_LIMIT: Final = 4096
# Longer keys take the walk: plain keys then add at most 64 characters per
# item to the text, so the fast path's cost stays bounded without counting them.
_PLAIN_KEY_LENGTH: Final = 64


def _is_plain_key(key: str) -> bool:
    plain = (
        len(key) <= _PLAIN_KEY_LENGTH and not is_sensitive_name(key) and not may_hold_secrets(key)
    )
    if len(_PLAIN_KEYS) < _PLAIN_KEYS_LIMIT and len(key) <= _PLAIN_KEY_LENGTH:
        _PLAIN_KEYS[key] = plain
    return plain


def _small_plain_keys(value: Any, limit: int, max_chars: int) -> int:
    """How many dict keys ``value`` holds if the walk would have nothing to convert,
    redact or cut in it but text; -1 if it would.

    That is: only ``dict`` (``str`` keys), ``list``, ``tuple`` and JSON scalars,
    exact types (a NamedTuple or a ``str`` subclass takes the walk); at most
    ``limit`` values in all, so no collection cap applies; at most
    ``max_chars`` characters of text, so no text is cut (and the check costs
    no more than the text is long); no sensitive key and no ``(name, value)``
    pair with a sensitive name. Secrets inside strings are the caller's check.
    """
    kind = type(value)
    if kind is str:
        return 0 if len(value) <= max_chars else -1
    if kind in _NON_TEXT_SCALARS:
        return 0
    # Hot path: one pass, inlined checks (the key cache is read directly).
    plain_keys = _PLAIN_KEYS
    non_text = _NON_TEXT_SCALARS
    pending = [value]
    count = 0
    keys = 0
    chars = 0
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            # The count before the keys: a huge dict must not have all of its
            # keys checked to learn it is too big for this path.
            count += len(item)
            if count > limit:
                return -1
            for key in item:
                if type(key) is not str:
                    return -1
                plain = plain_keys.get(key)
                if plain is None:
                    plain = _is_plain_key(key)
                if not plain:
                    return -1
            keys += len(item)
            children: Any = item.values()
        elif kind is list or kind is tuple:
            count += len(item)
            if count > limit:
                return -1  # also ends the scan of a cycle
            # The call only for a pair that starts with a name: this path is hot.
            if len(item) == 2 and type(item[0]) is str and is_secret_pair(item):
                return -1
            children = item
        else:
            return -1
        for child in children:
            child_kind = type(child)
            if child_kind is str:
                chars += len(child)
                if chars > max_chars:
                    return -1  # before the encoder copies it: a huge text costs nothing here
            elif child_kind not in non_text:
                pending.append(child)
    return keys


def _holds_secret_text(value: Any) -> bool:
    """True if a string in ``value`` (plain data: see :func:`_small_plain_keys`) may hold one."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            if may_hold_secrets(item):
                return True
        elif kind is dict:
            pending.extend(item.values())
        elif kind is list or kind is tuple:
            pending.extend(item)
    return False


def _walked_json(value: Any, limits: ValueLimits) -> str:
    """The general path: redact, convert and cap in Python, then encode."""
    budget = _Budget(limits.max_length, limits.max_items)
    return str(_JSON.encode(_to_jsonable(value, budget, 0, set())))  # NaN was made a string


def _encode_attribute(value: Any, limits: ValueLimits) -> AttributeValue | None:
    kind = type(value)
    if kind is str:
        return clean_text(value, limits.max_length)
    if kind is bool or kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else plain_text(value, limits.max_length)
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
        if len(items) == 2 and is_secret_pair(items):
            return None  # JSON, where the pair's value is masked
        if sum(map(len, items)) > limits.max_length:
            return None  # one value's worth of text in all: JSON cuts it with a marker
        return [clean_text(item, limits.max_length) for item in items]
    return list(items)


class _Budget:
    """Approximate characters and items still allowed while walking a value.

    Walking stops early on huge inputs, so a million-item list costs as much as
    the part of it that fits in the limit, not a million conversions.
    """

    __slots__ = ("chars", "max_items", "reprs")

    def __init__(self, chars: int, max_items: int) -> None:
        self.chars = chars
        self.max_items = max_items
        self.reprs = ReprCalls()


def _to_jsonable(value: Any, budget: _Budget, depth: int, path: set[int]) -> Any:
    kind = type(value)
    if kind is str:
        return _text_leaf(value, budget)
    if kind is bool or value is None:
        budget.chars -= 6
        return value
    if kind is int and -_HUGE_INT < value < _HUGE_INT:
        budget.chars -= 6
        return value
    if kind is float:
        budget.chars -= 12
        return value if math.isfinite(value) else _non_finite(value)
    if depth >= _MAX_DEPTH:
        return f"<max depth: {kind.__qualname__}>"
    try:
        return _object_to_jsonable(value, kind, budget, depth, path)
    except Exception:  # noqa: BLE001 - this part alone falls back, not the whole value
        return _unconvertible(value, budget)


_CONTAINERS: Final = (Mapping, list, tuple, set, frozenset)


def _object_to_jsonable(value: Any, kind: type, budget: _Budget, depth: int, path: set[int]) -> Any:
    if kind is dict or kind is list or kind is tuple or isinstance(value, _CONTAINERS):
        return _tracked(value, kind, None, budget, depth, path)
    converted = _scalar_to_jsonable(value, budget, depth, path)
    if converted is not NO_FORM:
        return converted
    fields = structured_fields(value)  # dataclasses, attrs classes, pydantic models
    if fields is not None:
        return _tracked(value, kind, fields, budget, depth, path)
    return _unconvertible(value, budget)


def _tracked(
    value: Any,
    kind: type,
    fields: tuple[int, Iterable[tuple[str, Any]]] | None,
    budget: _Budget,
    depth: int,
    path: set[int],
) -> Any:
    # Guard against cycles along the current path only, so the same object
    # shared twice (not a cycle) is encoded both times.
    marker = id(value)
    if marker in path:
        return f"<cycle: {kind.__qualname__}>"
    path.add(marker)
    try:
        if fields is not None:
            return _mapping_to_jsonable(fields[1], fields[0], budget, depth, path)
        return _container_to_jsonable(value, kind, budget, depth, path)
    finally:
        path.discard(marker)


def _container_to_jsonable(
    value: Any, kind: type, budget: _Budget, depth: int, path: set[int]
) -> Any:
    if kind is dict or isinstance(value, Mapping):
        return _mapping_to_jsonable(value.items(), _size(value), budget, depth, path)
    if isinstance(value, tuple) and is_named_tuple(kind):
        # A NamedTuple: its field names matter (for reading, and for redaction).
        return _mapping_to_jsonable(named_tuple_fields(value), len(value), budget, depth, path)
    if isinstance(value, (set, frozenset)):
        return _sequence_to_jsonable(
            _sorted_set(value, budget.max_items, budget.reprs),
            budget,
            depth,
            path,
            total=len(value),
        )
    if is_secret_pair(value):
        return [_text_leaf(value[0], budget), REDACTED]
    return _sequence_to_jsonable(value, budget, depth, path, total=_size(value))


def _size(value: Any) -> int | None:
    try:
        return len(value)
    except Exception:  # noqa: BLE001 - a broken __len__: the count is just not known
        return None


def _mapping_to_jsonable(
    items: Iterable[Any], size: int | None, budget: _Budget, depth: int, path: set[int]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    broken: list[str] = []
    for index, entry in enumerate(_readable(items, broken)):
        if budget.chars <= 0 or index >= budget.max_items:
            left = f"{size - index} more entries" if size is not None else "more entries"
            result["…"] = f"[{left}]"
            return result
        try:
            key, item = entry
            name = _key_text(key, budget)
        except Exception:  # noqa: BLE001 - an entry that is no pair, or a key with no text
            result[f"…[entry {index}]"] = _unconvertible(entry, budget)
            continue
        budget.chars -= 4
        if is_sensitive_name(name) or (type(key) is not str and is_sensitive_key(key)):
            result[name] = REDACTED  # redacted before it is converted
        else:
            result[name] = _to_jsonable(item, budget, depth + 1, path)
    if broken:
        result["…"] = broken[0]
    return result


def _sequence_to_jsonable(
    items: Iterable[Any],
    budget: _Budget,
    depth: int,
    path: set[int],
    *,
    total: int | None = None,
) -> list[Any]:
    result: list[Any] = []
    broken: list[str] = []
    for index, item in enumerate(_readable(items, broken)):
        if budget.chars <= 0 or index >= budget.max_items:
            left = f"{total - index} more items" if total is not None else "more items"
            result.append(f"…[{left}]")
            return result
        budget.chars -= 2
        result.append(_to_jsonable(item, budget, depth + 1, path))
    if broken:
        result.append(broken[0])
    elif total is not None and total > len(result):
        result.append(f"…[{total - len(result)} more items]")
    return result


def _readable(items: Iterable[Any], broken: list[str]) -> Iterator[Any]:
    """``items``, ending early with a note in ``broken`` where iterating them raises.

    A mapping whose ``items()`` or a sequence whose ``__iter__`` fails part of
    the way keeps what was read before.
    """
    try:
        iterator = iter(items)
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                return
            yield item
    except Exception as error:  # noqa: BLE001 - the object's iteration broke, not the encoder
        broken.append(f"…[unreadable: {type(error).__name__}]")


def _text_leaf(text: str, budget: _Budget) -> str:
    """A string as it goes into the JSON: cut to what can be shown, secrets redacted.

    A ``str`` subclass is read as plain text, without calling its own methods.
    """
    room = max(budget.chars, 0) + MARGIN
    if type(text) is str:
        length = len(text)
    else:
        length = str.__len__(text)
        text = str.__getitem__(text, slice(0, room))
    if length > room:
        # Cut before anything else looks at it, so the cost is what is kept;
        # cleaned with a margin, so a field or URL the cut goes through is
        # seen whole. The string says itself where it was cut: the JSON stays
        # valid when the rest fits.
        keep = room - MARGIN
        text = mask_open_url_credentials(redact_text(text[:room]))[:keep]
        text += f"…[truncated {length - keep} chars]"
    elif ("=" in text or ":" in text) and may_hold_secrets(text):
        text = redact_text(text)
    budget.chars -= len(text) + 3
    return text


def _scalar_to_jsonable(value: Any, budget: _Budget, depth: int, path: set[int]) -> Any:
    """The JSON form of a value that is no container, or ``NO_FORM`` if it has none here."""
    if isinstance(value, enum.Enum):
        return _to_jsonable(value.value, budget, depth + 1, path)
    # Subclasses of the primitives encode as their base value, as json.dumps
    # does, read without calling their own methods.
    if isinstance(value, str):
        return _text_leaf(value, budget)
    if isinstance(value, float):
        return _to_jsonable(float.__float__(value), budget, depth, path)
    if isinstance(value, int):
        number = int.__int__(value)
        if -_HUGE_INT < number < _HUGE_INT:
            return _to_jsonable(number, budget, depth, path)
        return _unconvertible(number, budget)
    if isinstance(value, (bytes, bytearray, memoryview)):
        text, cut = _bytes_text(value, budget.chars)
        text = _text_leaf(text, budget)
        if cut:
            marker = f"…[truncated {cut} bytes]"
            budget.chars -= len(marker)
            text += marker
        return text
    if isinstance(value, datetime.datetime):
        return datetime.datetime.isoformat(value)
    if isinstance(value, datetime.date):
        return datetime.date.isoformat(value)
    if isinstance(value, datetime.time):
        return datetime.time.isoformat(value)
    if isinstance(value, datetime.timedelta):
        return datetime.timedelta.total_seconds(value)
    if type(value).__module__ in _TEXT_FORM_MODULES:
        return _text_leaf(str(value), budget)
    converted = numpy_form(value, budget.max_items)
    if converted is not NO_FORM:
        return _to_jsonable(converted, budget, depth + 1, path)
    if isinstance(value, types.SimpleNamespace):
        return _to_jsonable(vars(value), budget, depth + 1, path)
    return NO_FORM


def _unconvertible(value: Any, budget: _Budget) -> str:
    """A part with no JSON form, alone: its redacted, bounded ``repr``."""
    text = safe_repr(value, max(budget.chars, 64), budget.max_items, budget.reprs)
    budget.chars -= len(text) + 3
    return text


def _bytes_text(data: bytes | bytearray | memoryview, budget_chars: int) -> tuple[str, int]:
    """The text of the head of ``data`` that can still be shown, and how many bytes were cut."""
    # Only the part that can still be shown is copied and decoded.
    head = bytes(data[: max(budget_chars, 0) + 4])
    size = len(data)
    # A head cut from longer data may end inside a multi-byte character.
    for cut in range(4 if len(head) < size else 1):
        try:
            return head[: len(head) - cut].decode("utf-8"), size - len(head) + cut
        except UnicodeDecodeError:
            continue
    import base64

    # base64 takes 4 characters per 3 bytes.
    shown = head[: max(budget_chars, 0) * 3 // 4 + 3]
    return "base64:" + base64.b64encode(shown).decode("ascii"), size - len(shown)


# Types whose values compare among themselves without running user code.
_SORTABLE: Final = frozenset({str, int, float, bool, bytes})


def _sorted_set(items: set[Any] | frozenset[Any], max_items: int, reprs: ReprCalls) -> list[Any]:
    if len(items) > max_items:
        # Sorting a huge set to keep a few items would cost more than the rest of
        # the encoding: keep the first ones in iteration order, unsorted.
        return list(itertools.islice(items, max_items))
    if all(type(item) in _SORTABLE for item in items):
        try:
            return sorted(items)
        except TypeError:  # mixed kinds: str and int
            pass
    # No user __lt__ is called: objects are ordered by their repr, when the
    # value's __repr__ calls allow it (and leave as many to show them); else
    # they keep their iteration order.
    if 2 * len(items) > reprs.left:
        return list(items)
    reprs.left -= len(items)
    return sorted(items, key=lambda item: (type(item).__qualname__, own_repr(item, 200)))


def _key_text(key: Any, budget: _Budget) -> str:
    # The same text json.dumps gives keys it accepts (True -> "true", 1.5 -> "1.5").
    if type(key) is str:
        return _text_leaf(key, budget)
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, str):
        return _text_leaf(key, budget)
    if isinstance(key, float) and not math.isfinite(key):
        return _non_finite(key)
    if key is None or isinstance(key, (bool, int, float)):
        return str(_JSON.encode(key))
    return _unconvertible(key, budget)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _fallback(value: Any, limits: ValueLimits) -> str:
    """The last resort, for an encoder error: the value's redacted, bounded ``repr``."""
    try:
        return clean_text(safe_repr(value, limits.max_length, limits.max_items), limits.max_length)
    except Exception:  # noqa: BLE001 - last resort, must not raise
        return unrepresentable(value)
