"""Trace and span ids given by hand, and trace ids derived from request ids.

Ids are accepted the way backends and logs show them, as lowercase or
uppercase hex (32 digits for a trace, 16 for a span, with or without a
``0x`` prefix), as the integers the OpenTelemetry API uses, or as the decimal
strings of those integers that LastMile's SDK hands around. Anything else,
all zeros included (the W3C "invalid" id), raises ValueError quoting the
value.

A string of digits 0-9 only is decimal. Exactly 32 such digits (16 for a
span id) could also be hex: it is read as decimal, so an id LastMile printed
can never be misread, and a warning is logged once per process. To mean hex,
write ``0x`` before it or pass the int.

A request id (an HTTP ``X-Request-Id``, a chat message id) can also name a
trace: :func:`trace_id_from_request_id` hashes it to a trace id, the same in
every process and every run, so a service that only knows the request id can
still send feedback into the trace. :func:`context_from_request_id` starts
that trace.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Final

_TRACE_ID_DIGITS: Final = 32
_SPAN_ID_DIGITS: Final = 16
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_DECIMAL_DIGITS: Final = frozenset("0123456789")
_HEX_PREFIXES: Final = ("0x", "0X")

_logger = logging.getLogger(__name__)


def parse_trace_id(value: object, *, argument: str = "trace_id") -> int:
    """``value`` as a trace id (int); ValueError quoting it if it is not one."""
    return _parse_id(value, _TRACE_ID_DIGITS, argument)


def parse_span_id(value: object, *, argument: str = "span_id", trace_id: object = None) -> int:
    """``value`` as a span id (int); ValueError quoting it if it is not one.

    ``trace_id`` is the trace id given with it, as it was given. A span id of
    exactly 16 digits 0-9 reads both as hex and as decimal; it takes the form
    its trace id was written in (a LastMile pair is decimal, an OpenTelemetry
    pair is hex), so a hex span id that happens to hold no letter (1 in
    about 1,800) is not misread. With no written trace id to go by, it is
    read as decimal, with a warning.
    """
    return _parse_id(value, _SPAN_ID_DIGITS, argument, _written_in_decimal(trace_id))


def _written_in_decimal(trace_id: object) -> bool | None:
    """True for a trace id written in decimal, False in hex, None when it says neither."""
    if not isinstance(trace_id, str):
        return None
    text = str.__str__(trace_id)
    # Only digits 0-9 (no 0x, no letter) is LastMile's decimal form; anything else is hex.
    return text[:2] not in _HEX_PREFIXES and _DECIMAL_DIGITS.issuperset(text)


def trace_id_from_request_id(request_id: str | int | uuid.UUID) -> str:
    """The trace id (32 lowercase hex digits) that ``request_id`` names, in any process.

    Start the request's trace with :func:`context_from_request_id`, then give
    feedback with ``trace_id=trace_id_from_request_id(request_id)``.
    """
    return f"{_request_trace_id(request_id):032x}"


def context_from_request_id(request_id: str | int | uuid.UUID) -> str:
    """A W3C ``traceparent`` that starts the trace ``request_id`` names.

    Pass it as ``context=`` to ``start_as_current_span`` (or any span-creating
    call) when handling the request: its spans then belong to the trace of
    :func:`trace_id_from_request_id`. Its parent span id is derived from the
    trace id and names no real span, so backends show the request's root as
    the child of a missing parent. The trace is marked sampled.
    """
    trace_id = _request_trace_id(request_id)
    return f"00-{trace_id:032x}-{anchor_span_id(trace_id):016x}-01"


def anchor_span_id(trace_id: int) -> int:
    """The made-up parent span id of a trace started from a request id.

    Feedback given a trace id alone, in a process that never saw the trace,
    hangs under this id: for a request-id trace, next to the request's root.
    """
    digest = hashlib.blake2b(
        trace_id.to_bytes(16, "big"), digest_size=8, person=b"ragtel-anchor"
    ).digest()
    return int.from_bytes(digest, "big") or 1


def _request_trace_id(request_id: object) -> int:
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int, uuid.UUID)):
        raise TypeError(
            f"request_id must be a str, an int or a UUID; got {type(request_id).__name__}"
        )
    try:
        # str.__str__: a str subclass's own __str__ may raise.
        text = str.__str__(request_id) if isinstance(request_id, str) else str(request_id)
    except ValueError:  # an int past Python's digit limit for str()
        raise ValueError("request_id is too large an int; pass it as text") from None
    if not text.strip():
        raise ValueError(f"request_id must not be empty; got {_quote(text)}")
    digest = hashlib.blake2b(
        text.encode("utf-8", "surrogatepass"), digest_size=16, person=b"ragtel-trace-id"
    ).digest()
    # A hex form of digits only would be read back as decimal (see parse_trace_id):
    # hash again, so the ids this module hands out are never ambiguous (about 3 in
    # 10 million request ids; every other one keeps its trace id).
    while _DECIMAL_DIGITS.issuperset(digest.hex()):
        digest = hashlib.blake2b(digest, digest_size=16, person=b"ragtel-trace-id").digest()
    return int.from_bytes(digest, "big")


def _parse_id(value: object, digits: int, argument: str, decimal: bool | None = None) -> int:
    bits = digits * 4
    expected = f"{digits} hex digits or a positive int below 2**{bits}"
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value < 1 << bits:
            return value
        raise ValueError(f"{argument} must be {expected}; got {_repr(value)}")
    if isinstance(value, str):
        text = str.__str__(value)  # a str subclass's own methods never run
        parsed = _parse_id_text(text, digits, argument, decimal)
        if parsed is not None and 0 < parsed < 1 << bits:
            return parsed
        raise ValueError(f"{argument} must be {expected}; got {_quote(text)}")
    # ValueError for any type: a hand-given id that is not one is a bad value.
    raise ValueError(
        f"{argument} must be {expected}; got {type(value).__name__} {_quote(_repr(value))}"
    )


def _parse_id_text(text: str, digits: int, argument: str, decimal: bool | None) -> int | None:
    """The number ``text`` writes (range unchecked), or None if it writes none.

    Digits 0-9 only are decimal, LastMile's form; ``0x`` and up to ``digits``
    hex digits, or exactly ``digits`` hex digits, are hex. Exactly ``digits``
    digits 0-9 read both ways: ``decimal`` (the form of the id given beside
    it) decides, else decimal with a warning. Checked against explicit digit
    sets first: ``int()`` would also take signs, underscores, spaces and
    non-ASCII digits.
    """
    if text[:2] in _HEX_PREFIXES:
        hex_digits = text[2:]
        if 0 < len(hex_digits) <= digits and _HEX_DIGITS.issuperset(hex_digits):
            return int(hex_digits, 16)
        return None
    # 2**128 has 39 decimal digits, 2**64 has 20: far longer strings go unparsed.
    if text and len(text) <= 2 * digits and _DECIMAL_DIGITS.issuperset(text):
        if len(text) == digits and text.strip("0"):
            if decimal is False:
                return int(text, 16)  # its trace id was written in hex: so is it
            if decimal is None:
                _warn_ambiguous(text, digits, argument)
        return int(text, 10)
    if len(text) == digits and _HEX_DIGITS.issuperset(text):
        return int(text, 16)
    return None


def _warn_ambiguous(text: str, digits: int, argument: str) -> None:
    """Once per argument name: ``text`` could be hex too, and was read as decimal."""
    from ragtel._state import STATE  # first ambiguous id only: this module stays standalone

    if STATE.first_time(("ambiguous id", argument)):
        _logger.warning(
            "ragtel: %s %s is %d decimal digits, which could also be read as hex; it is "
            "read as decimal, LastMile's form. Write 0x before a hex id, or pass an int, "
            "to mean hex. Further ambiguous %ss are not logged.",
            argument,
            _quote(text),
            digits,
            argument,
        )


def _quote(text: str) -> str:
    from ragtel._encoding.redaction import (
        redact_text,  # error path only: this module stays standalone
    )

    # The repr of a str subclass may raise; a quoted credential would reach logs.
    text = redact_text(str.__getitem__(text, slice(0, 160)))
    return repr(text if len(text) <= 80 else text[:80] + "…")


def _repr(value: object) -> str:
    """``repr(value)``: redacted, bounded, never raising (a broken ``__repr__``, a huge int)."""
    from ragtel._encoding.safe_repr import (
        safe_repr,  # error path only: this module stays standalone
    )

    return safe_repr(value, 160, max_items=20)
