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

This module is the package's front: the rest of ragtel imports from it. Its
parts: :mod:`ragtel._encoding.text` (text cleaned, capped and quoted),
:mod:`ragtel._encoding.jsonable` (the general path: any value walked into
JSON-able data), :mod:`ragtel._encoding.redaction`,
:mod:`ragtel._encoding.safe_repr` and :mod:`ragtel._encoding.object_forms`.
Here: the mask hook, the two entry points and the fast path for small plain
data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig, Mask, ValueLimits
from ragtel._encoding.jsonable import JSON_ENCODER, Budget, lacks_json_form, to_jsonable
from ragtel._encoding.redaction import is_secret_pair, is_sensitive_name, may_hold_secrets
from ragtel._encoding.safe_repr import safe_repr, unrepresentable
from ragtel._encoding.text import (
    QUOTE_LENGTH,
    clean_text,
    finish_json,
    plain_text,
    quoted,
    stable_repr,
    truncate,
)

__all__ = [
    "MASK_FAILED",
    "QUOTE_LENGTH",
    "REPR_MARKER",
    "apply_mask",
    "clean_text",
    "encode_attribute",
    "encode_json",
    "encode_known_plain",
    "finish_json",
    "marked_repr",
    "masked_json",
    "masked_repr",
    "masked_text",
    "plain_text",
    "quoted",
    "recorded_text",
    "stable_repr",
    "truncate",
]

_logger = logging.getLogger("ragtel")

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_PRIMITIVE_TYPES: Final = (str, bool, int, float)


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


_JSON_KINDS: Final = frozenset({str, bool, int, float, dict, list, tuple, type(None)})
REPR_MARKER: Final = "repr:"
"""Begins a value recorded as its ``repr`` because it has no JSON form (``repr:<Tokenizer>``)."""


def marked_repr(value: Any, limits: ValueLimits) -> str | None:
    """``repr:`` and ``value``'s redacted, bounded ``repr`` when it has no JSON form; else None.

    Without it such a value is recorded as a JSON string of its repr
    (``'"<Tokenizer object>"'``), which reads like text the application gave.
    """
    if type(value) in _JSON_KINDS or not lacks_json_form(value):
        return None  # the common kinds answered by one set lookup
    text = safe_repr(value, limits.max_length, limits.max_items)
    return clean_text(REPR_MARKER + text, limits.max_length)


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
        return "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else JSON_ENCODER.encode(value)
    except ValueError:
        return None


def _plain_json(value: Any, limits: ValueLimits) -> str | None:
    """Fast path: the C encoder's text for small, plain JSON data, else None.

    It gives the same text the walk (:mod:`ragtel._encoding.jsonable`) would,
    in the cases it accepts (see :func:`_small_plain_keys`), text short enough
    that the walk's character budget (which overcounts at most 4x) cannot run
    out, no NaN or infinity (the encoder raises on those), and no text that
    may hold a secret.
    """
    max_chars = limits.max_length // 4
    keys = _small_plain_keys(value, limits.max_items, max_chars)
    if keys < 0:
        return None
    try:
        text: str = (
            "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else JSON_ENCODER.encode(value)
        )
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
    budget = Budget(limits.max_length, limits.max_items)
    return str(JSON_ENCODER.encode(to_jsonable(value, budget, 0, set())))  # NaN was made a string


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


def _fallback(value: Any, limits: ValueLimits) -> str:
    """The last resort, for an encoder error: the value's redacted, bounded ``repr``."""
    try:
        return clean_text(safe_repr(value, limits.max_length, limits.max_items), limits.max_length)
    except Exception:  # noqa: BLE001 - last resort, must not raise
        return unrepresentable(value)
