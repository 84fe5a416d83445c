"""Reading the collections a caller hands over: once, safely, and within the limits.

A mapping argument (``metadata=``, ``params``, ``fields``...) is read here
into a plain dict, a list argument (``retrieved_data``, ``embeddings``,
``stream_chunks``...) into a plain list, before anything else looks at it. A ``Mapping`` whose
``items()``, ``__iter__``, ``__getitem__`` or ``__len__`` raises (a list
subclass whose ``__iter__`` does) then gives the documented TypeError naming
the argument, not the object's own error
from deep inside ragtel, and the rest of ragtel works on a dict that cannot
change or fail under it.

Collections that become one attribute each per entry (metadata) or one
string array (tags, categories) are capped at the capture limits' ``max_items``
entries, and string arrays at ``max_length`` characters in all: what is left
out is said in the recorded value itself (a last ``…`` entry or item that
counts it) and in one warning per kind of collection.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ragtel._config import ValueLimits
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")

MORE: Final = "…"
"""The key, or the start of the last item, that says how much was left out."""


def read_mapping(value: Any, argument: str, *, expected: str = "a mapping") -> dict[Any, Any]:
    """``value``'s entries as a new dict; TypeError naming ``argument`` if it cannot be read."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be {expected}; got {type(value).__name__}")
    try:
        return dict(value.items())
    except Exception as error:  # noqa: BLE001 - the mapping's own methods broke
        raise _unreadable(argument, expected, error) from None


def read_mapping_head(
    value: Any, argument: str, limit: int, *, expected: str = "a mapping"
) -> tuple[dict[Any, Any], int]:
    """The first ``limit`` entries of ``value`` as a new dict, and how many it has in all.

    Only what is kept is read: a mapping of a million entries costs ``limit``.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be {expected}; got {type(value).__name__}")
    try:
        total = len(value)
        head = dict(itertools.islice(value.items(), limit))
    except Exception as error:  # noqa: BLE001 - the mapping's own methods broke
        raise _unreadable(argument, expected, error) from None
    return head, max(total, len(head))


def read_sequence(value: Any, argument: str, *, expected: str = "a list") -> list[Any]:
    """The items of a list argument (any iterable but text and mappings) as a list.

    TypeError naming ``argument`` for text, a mapping or no iterable at all,
    and for an iterable whose own ``__iter__``, ``__len__`` or items raise (or
    that is too big to list). A plain ``list`` is returned as it is.
    """
    if type(value) is list:
        return value
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{argument} must be {expected}; got {type(value).__name__}")
    try:
        return list(value)
    except Exception as error:  # noqa: BLE001 - the iterable's own methods broke
        raise _unreadable(argument, expected, error) from None


def _unreadable(argument: str, expected: str, error: Exception) -> TypeError:
    return TypeError(
        f"{argument} must be {expected} that can be read; reading it raised {type(error).__name__}"
    )


def more_entries(left_out: int) -> str:
    """The value of the ``…`` entry of a capped mapping."""
    return f"[{left_out} more entries]"


def capped_texts(
    texts: Iterable[str], total: int, limits: ValueLimits, what: str, *, left_out: int = 0
) -> list[str]:
    """Recorded texts (already cleaned) for a string array: capped in count and characters.

    At most ``limits.max_items`` items and ``limits.max_length`` characters in
    all are kept; a last item ``…[N more <what>]`` counts the others (and
    ``left_out``, texts an earlier cap left out).
    """
    kept: list[str] = []
    chars = 0
    for text in itertools.islice(texts, limits.max_items):
        chars += len(text)
        if chars > limits.max_length and kept:
            break
        kept.append(text)
    more = total - len(kept) + left_out
    if more > 0:
        report_cap(what, limits)
        kept.append(f"{MORE}[{more} more {what}]")
    return kept


def report_cap(what: str, limits: ValueLimits) -> None:
    """Warn, once per kind of collection, that one was capped."""
    if not STATE.first_time(("capped", what)):
        return
    _logger.warning(
        "ragtel: %s capped at %d entries (%d characters for text lists); the rest are "
        "left out and counted in a last '…' entry. Further cuts are not logged.",
        what,
        limits.max_items,
        limits.max_length,
    )
