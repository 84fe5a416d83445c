"""The encoder's general path: any value walked into JSON-able data, redacted and capped.

Mappings, sequences, sets (sorted without calling user code), NamedTuples,
dataclasses, attrs classes, pydantic models, numpy values, enums, bytes,
datetimes and the types whose ``str`` is their JSON form become plain JSON
data; values under a sensitive name become ``"[REDACTED]"`` before they are
converted. A :class:`Budget` of characters and items stops the walk early on
huge inputs, cycles along the current path become ``"<cycle: T>"``, and a part
that cannot be converted is recorded alone, as its redacted ``repr``.
"""

from __future__ import annotations

import datetime
import enum
import itertools
import json
import math
import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

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
    may_hold_secrets,
    redact_text,
)
from ragtel._encoding.safe_repr import MARGIN, ReprCalls, own_repr, safe_repr

# Past Python's default limit for int -> text (4,300 digits), str() raises.
_HUGE_INT: Final = 10**4000
_MAX_DEPTH: Final = 32
# Values whose str() is their natural JSON form (UUID, Decimal, paths, IP
# addresses), matched by module so those modules need not be imported here.
_TEXT_FORM_MODULES: Final = frozenset(
    {"uuid", "decimal", "_decimal", "_pydecimal", "pathlib", "ipaddress"}
)

# One encoder, built once: json.dumps with options builds a new one per call.
JSON_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
"""Writes the walked data (and the encoder's fast path when the C encoder is missing)."""


class Budget:
    """Approximate characters and items still allowed while walking a value.

    Walking stops early on huge inputs, so a million-item list costs as much as
    the part of it that fits in the limit, not a million conversions.
    """

    __slots__ = ("chars", "max_items", "reprs")

    def __init__(self, chars: int, max_items: int) -> None:
        self.chars = chars
        self.max_items = max_items
        self.reprs = ReprCalls()


def to_jsonable(value: Any, budget: Budget, depth: int, path: set[int]) -> Any:
    """``value`` as JSON-able data, spending ``budget``; ``path`` holds the ids of its holders."""
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


def lacks_json_form(value: Any) -> bool:
    """True when ``value`` itself has no JSON form: :func:`to_jsonable` gives its ``repr``.

    Looks at ``value`` alone, not its parts (a container always has a form).
    """
    if value is None or isinstance(value, (str, int, float, *_CONTAINERS)):
        return False
    try:
        if _scalar_to_jsonable(value, Budget(64, 1), 0, set()) is not NO_FORM:
            return False
        return structured_fields(value) is None
    except Exception:  # noqa: BLE001 - to_jsonable falls back to the repr here too
        return True


def _object_to_jsonable(value: Any, kind: type, budget: Budget, depth: int, path: set[int]) -> Any:
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
    budget: Budget,
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
    value: Any, kind: type, budget: Budget, depth: int, path: set[int]
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
    items: Iterable[Any], size: int | None, budget: Budget, depth: int, path: set[int]
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
            result[name] = to_jsonable(item, budget, depth + 1, path)
    if broken:
        result["…"] = broken[0]
    return result


def _sequence_to_jsonable(
    items: Iterable[Any],
    budget: Budget,
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
        result.append(to_jsonable(item, budget, depth + 1, path))
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


def _text_leaf(text: str, budget: Budget) -> str:
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


def _scalar_to_jsonable(value: Any, budget: Budget, depth: int, path: set[int]) -> Any:
    """The JSON form of a value that is no container, or ``NO_FORM`` if it has none here."""
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, budget, depth + 1, path)
    # Subclasses of the primitives encode as their base value, as json.dumps
    # does, read without calling their own methods.
    if isinstance(value, str):
        return _text_leaf(value, budget)
    if isinstance(value, float):
        return to_jsonable(float.__float__(value), budget, depth, path)
    if isinstance(value, int):
        number = int.__int__(value)
        if -_HUGE_INT < number < _HUGE_INT:
            return to_jsonable(number, budget, depth, path)
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
        return to_jsonable(converted, budget, depth + 1, path)
    if isinstance(value, types.SimpleNamespace):
        return to_jsonable(vars(value), budget, depth + 1, path)
    return NO_FORM


def _unconvertible(value: Any, budget: Budget) -> str:
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


def _key_text(key: Any, budget: Budget) -> str:
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
        return str(JSON_ENCODER.encode(key))
    return _unconvertible(key, budget)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
