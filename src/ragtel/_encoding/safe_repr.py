"""``repr`` for recording: bounded, without memory addresses, secrets redacted, never raising.

Where ragtel records a value's ``repr`` (``log()``, a value with no JSON form,
an error message quoting a bad argument), the builtin containers are written
here, the way ``repr`` writes them, so that

* a value under a sensitive key, or the second item of a ``("name", value)``
  pair with a sensitive name, is redacted before it is ever turned into text
  (then the whole text is searched for ``name=value`` fields as well, for the
  reprs of other objects inside);
* the cost is bounded by the text kept, not by the value: a million-item
  list, a 100 MB string or a 10,000-deep nesting cost what the kept part
  costs, as :mod:`reprlib` does;
* one item whose ``__repr__`` raises becomes ``<unrepresentable T>`` alone.

Other objects get their own ``repr``, the one user method ragtel calls on an
arbitrary object; its text is cut before any further work. At most
:data:`MAX_REPR_CALLS` such calls are made for one recorded value (a
``__repr__`` may be slow, and a list may hold thousands of objects); past
that, an object is written ``<TypeName>``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from ragtel._encoding.redaction import REDACTED, is_secret_pair, is_sensitive_key, redact_repr
from ragtel._state import STATE

_ADDRESS: Final = r" at 0x[0-9a-fA-F]+"
_MAX_DEPTH: Final = 32
# Characters looked at past the kept length: a field or URL that the final cut
# goes through is still seen whole by the redaction.
MARGIN: Final = 1024
_DEFAULT_ITEMS: Final = 1_000
_SCALARS: Final = (int, float, bool, complex, type(None))
MAX_REPR_CALLS: Final = 32
"""User ``__repr__`` calls allowed while recording one value."""

_logger = logging.getLogger("ragtel")


class ReprCalls:
    """The user ``__repr__`` calls still allowed for one recorded value (shared by its parts)."""

    __slots__ = ("left",)

    def __init__(self, left: int = MAX_REPR_CALLS) -> None:
        self.left = left

    def take(self) -> bool:
        """Count one call; False (warned once per process) when none is left."""
        if self.left > 0:
            self.left -= 1
            return True
        if STATE.first_time("repr calls"):
            _logger.warning(
                "ragtel: a recorded value holds more than %d objects with no JSON form;"
                " those past the limit are written <TypeName>, without calling __repr__",
                MAX_REPR_CALLS,
            )
        return False


def type_marker(value: Any) -> str:
    """``<TypeName>``: an object written without calling any method of its own."""
    try:
        name = type(value).__qualname__
    except Exception:  # noqa: BLE001 - a class may define anything
        name = "object"
    return f"<{name}>"


def unrepresentable(value: Any) -> str:
    """The marker for a value whose ``repr`` cannot be had."""
    try:
        name = type(value).__qualname__
    except Exception:  # noqa: BLE001 - a class may define anything
        name = "object"
    return f"<unrepresentable {name}>"


def own_repr(value: Any, max_length: int) -> str:
    """``repr(value)`` cut to ``max_length`` (plus a margin), addresses removed; never raises.

    Not redacted: for text that stays in the process (comparisons, sort keys).
    """
    try:
        text = repr(value)
        if type(text) is not str:
            text = str.__str__(text)
    except Exception:  # noqa: BLE001 - a broken __repr__ is the object's problem, not ours
        return unrepresentable(value)
    if len(text) > max_length + MARGIN:
        text = text[: max_length + MARGIN]
    return re.sub(_ADDRESS, "", text) if " at 0x" in text else text


def safe_repr(
    value: Any, max_length: int, max_items: int = _DEFAULT_ITEMS, reprs: ReprCalls | None = None
) -> str:
    """``repr(value)``: redacted, at most about ``max_length`` characters; never raises.

    The text may exceed ``max_length`` by a margin (callers cut it with a
    visible marker); an item left out is written ``...``, as reprlib does.
    ``reprs``: the ``__repr__`` calls left for the whole value this is part of.
    """
    writer = _Writer(max_length + MARGIN, max_items, ReprCalls() if reprs is None else reprs)
    try:
        writer.write(value, 0)
    except Exception:  # noqa: BLE001 - belt and braces: the writer guards each item itself
        return unrepresentable(value)
    return redact_repr("".join(writer.pieces))


class _Writer:
    __slots__ = ("max_items", "path", "pieces", "reprs", "room")

    def __init__(self, room: int, max_items: int, reprs: ReprCalls) -> None:
        self.reprs = reprs
        self.pieces: list[str] = []
        self.room = room
        self.max_items = max_items
        self.path: set[int] = set()

    def add(self, text: str) -> None:
        self.pieces.append(text)
        self.room -= len(text)

    def write(self, value: Any, depth: int) -> None:
        kind = type(value)
        if kind is str or kind is bytes:
            self.add(_cut_repr(value, self.room))
        elif kind in _SCALARS:
            self.add(_scalar_repr(value))
        elif kind is dict or kind is list or kind is tuple or kind is set or kind is frozenset:
            self._container(value, kind, depth)
        elif self.reprs.take():
            self.add(own_repr(value, max(self.room, 0)))
        else:
            self.add(type_marker(value))

    def _container(self, value: Any, kind: type, depth: int) -> None:
        marker = id(value)
        if marker in self.path or depth >= _MAX_DEPTH:
            self.add(_ELIDED[kind])  # as repr writes a cycle: [...]
            return
        self.path.add(marker)
        try:
            if kind is dict:
                self._dict(value, depth)
            else:
                self._sequence(value, kind, depth)
        finally:
            self.path.discard(marker)

    def _dict(self, value: dict[Any, Any], depth: int) -> None:
        self.add("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                self.add(", ")
            if index >= self.max_items or self.room <= 0:
                self.add("...")
                break
            self._item(key, depth)
            self.add(": ")
            if is_sensitive_key(key):
                self.add(repr(REDACTED))
            else:
                self._item(item, depth)
        self.add("}")

    def _sequence(self, value: Any, kind: type, depth: int) -> None:
        if kind is set or kind is frozenset:
            if not value:
                self.add(f"{kind.__name__}()")
                return
            opening, closing = ("{", "}") if kind is set else ("frozenset({", "})")
        else:
            opening, closing = ("[", "]") if kind is list else ("(", ")")
        self.add(opening)
        secret = kind is not set and kind is not frozenset and is_secret_pair(value)
        for index, item in enumerate(value):
            if index:
                self.add(", ")
            if index >= self.max_items or self.room <= 0:
                self.add("...")
                break
            if secret and index == 1:
                self.add(repr(REDACTED))
            else:
                self._item(item, depth)
        if kind is tuple and len(value) == 1:
            self.add(",")
        self.add(closing)

    def _item(self, item: Any, depth: int) -> None:
        mark = len(self.pieces)
        room = self.room
        try:
            self.write(item, depth + 1)
        except Exception:  # noqa: BLE001 - one broken item, not the whole value
            del self.pieces[mark:]
            self.room = room
            self.add(unrepresentable(item))


_ELIDED: Final[dict[type, str]] = {
    dict: "{...}",
    list: "[...]",
    tuple: "(...)",
    set: "{...}",
    frozenset: "frozenset({...})",
}


def _cut_repr(value: str | bytes, room: int) -> str:
    """``repr`` of text or bytes, of at most ``room`` characters of it, then ``...``."""
    keep = max(room, 0)
    if len(value) <= keep:
        return repr(value)
    return repr(value[:keep]) + "..."


def _scalar_repr(value: Any) -> str:
    try:
        return repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        return unrepresentable(value)
