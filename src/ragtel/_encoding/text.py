"""Text as ragtel records it: secrets redacted, exportable as UTF-8, capped with a marker.

Also the two ``repr`` forms that never raise: :func:`quoted` for error
messages (redacted) and :func:`stable_repr` for text that stays in the
process. The rest of ragtel imports these through
:mod:`ragtel._encoding.encoder`.
"""

from __future__ import annotations

from typing import Any, Final

from ragtel._encoding.redaction import (
    mask_open_url_credentials,
    mask_url_credentials,
    may_hold_secrets,
    redact_text,
)
from ragtel._encoding.safe_repr import MARGIN, own_repr, safe_repr

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
