"""The state of one local root: its ParamSet, within its caps, and the one-per rules of its events.

A *local root* is a trace's first span in this process (no parent, or a
parent from another process). :class:`TraceState` is what ragtel keeps for
it while it lives; the span processor (:mod:`ragtel._sdk.processor`) creates
one per local root and maps every live span below it to it.

A ParamSet is capped in params and in bytes of recorded (encoded) keys and
values: a param past either cap is dropped and counted, never recorded
half. Every change is written to the root at once, under the trace's lock,
so the root always ends with the values ``get_params`` returns.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import Span
from opentelemetry.trace import INVALID_SPAN
from opentelemetry.util.types import AttributeValue

from ragtel.semconv.attributes import RAGTEL_PARAM_PREFIX, RAGTEL_PARAM_SET_REMOVED

DEFAULT_MAX_PARAMS: Final = 256
DEFAULT_MAX_PARAM_BYTES: Final = 65_536
"""Characters of recorded (encoded) param keys and values one trace may hold."""


class TraceState:
    """The state of one local root: its ParamSet and the one-per rules of its events.

    It holds its spans weakly: a root the app drops without ending it must be
    freed as it would be without ragtel (see ``RagtelSpanProcessor``).
    """

    __slots__ = (
        "_root",
        "applied",
        "encoded",
        "encoded_bytes",
        "lock",
        "params",
        "removed",
        "root_id",
        "sensitive",
        "span_events",
        "spans",
        "trace_event",
    )

    def __init__(
        self, root: Span, on_collected: Callable[[weakref.ref[Span]], None] | None = None
    ) -> None:
        self.root_id: int = root.get_span_context().span_id
        self._root = weakref.ref(root, on_collected)
        self.lock = threading.Lock()
        self.applied: set[str] = set()
        """Scope names of the tracers whose profile joined this trace."""
        self.params: dict[str, Any] = {}
        self.encoded: dict[str, AttributeValue] = {}
        """The params as recorded on the root (redacted, masked): what may travel."""
        self.encoded_bytes = 0
        """The size of ``encoded``, as counted against ``max_param_bytes``."""
        self.removed: set[str] = set()
        self.sensitive: set[str] = set()
        """Keys never propagated to other services."""
        self.trace_event = False
        self.span_events: set[int] = set()
        """Ids of live spans that carry their one span event."""
        self.spans: dict[int, weakref.ref[Span]] = {self.root_id: self._root}
        """The live spans of this root, by id: for cleanup, and feedback given by span id."""

    @property
    def root(self) -> trace_api.Span:
        """The local root, or a span that records nothing once the root is gone."""
        root = self._root()
        return root if root is not None else INVALID_SPAN

    def merge(
        self,
        params: Mapping[str, Any],
        attributes: dict[str, AttributeValue],
        overwrite: bool,
        sensitive: bool | frozenset[str],
        max_params: int,
        max_bytes: int,
    ) -> int:
        """Upsert ``params`` (recorded as ``attributes``) and write them to the root.

        ``overwrite`` replaces the ParamSet. A param past ``max_params`` or
        ``max_bytes`` is left out, of the ParamSet and of ``attributes``.
        ``sensitive`` (all, or the keys given) marks params never to be
        propagated. Returns how many were left out. This runs per
        registration: the loop is inline, and the arguments positional.
        """
        dropped = 0
        with self.lock:
            removed_changed = overwrite and self._clear(params, max_params)
            current, encoded, size = self.params, self.encoded, self.encoded_bytes
            for key, value in params.items():
                name = RAGTEL_PARAM_PREFIX + key
                recorded = attributes.get(name)
                previous = encoded.get(key)
                # Inline for the common values (text, or no value yet).
                growth = (len(recorded) if type(recorded) is str else _size(recorded)) - (
                    len(previous) if type(previous) is str else _size(previous)
                )
                new = key not in current
                if new:
                    growth += len(key)  # a key is recorded too
                if (growth > 0 and size + growth > max_bytes) or (
                    new and len(current) >= max_params
                ):
                    dropped += 1
                    attributes.pop(name, None)
                    continue
                current[key] = value
                size += growth
                if recorded is None:  # None params are kept but never recorded
                    encoded.pop(key, None)
                else:
                    encoded[key] = recorded
                if sensitive is True or (sensitive and key in sensitive):
                    self.sensitive.add(key)
                elif self.sensitive:
                    self.sensitive.discard(key)
                if self.removed and key in self.removed:
                    self.removed.discard(key)
                    removed_changed = True
            self.encoded_bytes = size
            self._write_root(attributes, removed_changed)
        return dropped

    def _write_root(self, attributes: dict[str, AttributeValue], removed_changed: bool) -> None:
        root = self._root()
        if root is None or not root.is_recording():
            return
        if removed_changed:
            # OpenTelemetry cannot delete an attribute: a removed key keeps its
            # last value on the root, and this list says it no longer applies.
            root.set_attributes({**attributes, RAGTEL_PARAM_SET_REMOVED: sorted(self.removed)})
        elif attributes:
            root.set_attributes(attributes)

    def _clear(self, params: Mapping[str, Any], max_params: int) -> bool:
        """Empty the ParamSet before an overwrite; True when the removed keys changed."""
        gone = set(self.params) - set(params)
        changed = bool(gone - self.removed)
        if changed:
            room = max(max_params - len(self.removed), 0)
            self.removed |= set(sorted(gone - self.removed)[:room])
        self.params = {}
        self.encoded = {}
        self.sensitive.clear()
        self.encoded_bytes = 0
        return changed


def _size(value: AttributeValue | None) -> int:
    """The size of a recorded value as the byte caps count it: characters, or 8 a number."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_size(item) for item in value)
    return 8
