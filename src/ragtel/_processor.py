"""The span processor that holds ragtel's per-trace state.

One instance is added to each SDK ``TracerProvider`` ragtel uses, however
many tracers are created on it. It remembers the *local root* of every trace
running in this process — the trace's first span here: it has no parent, or
its parent came from another process — until that root ends.

Each ragtel tracer registers trace-level attributes (project, RAG flow type,
initial parameters). They land on the local root: directly when a ragtel
tracer starts the root, or when the first span of that tracer starts inside a
trace whose root came from someone else (a web framework's server span, say).

Memory is bounded: at most ``max_traces`` roots are tracked. Past that the
oldest is forgotten (its trace keeps working; only late trace-level
attributes can no longer reach its root) and a warning says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.util.types import AttributeValue

from ragtel._fork import reinit_in_child

_logger = logging.getLogger("ragtel")

RootAttributes = Mapping[str, AttributeValue]

DEFAULT_MAX_TRACES: Final = 10_000
_WARN_INTERVAL_SECONDS: Final = 60.0


def is_local_root(span: ReadableSpan) -> bool:
    parent = span.parent
    return parent is None or parent.is_remote


class _TraceState:
    __slots__ = ("applied", "root")

    def __init__(self, root: Span) -> None:
        self.root = root
        self.applied: set[str] = set()


class RagtelSpanProcessor(SpanProcessor):
    """Tracks local roots and puts each ragtel tracer's trace-level attributes on them."""

    def __init__(self, max_traces: int = DEFAULT_MAX_TRACES) -> None:
        self._lock = threading.Lock()
        reinit_in_child(self._reinit_lock)
        self._max_traces = max_traces
        # Replaced, never mutated, so on_start reads it without a lock.
        self._root_attributes: Mapping[str, RootAttributes] = MappingProxyType({})
        self._traces: OrderedDict[int, _TraceState] = OrderedDict()
        self._evicted = 0
        self._last_warning = 0.0

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()

    @property
    def tracked_traces(self) -> int:
        return len(self._traces)

    @property
    def evicted_traces(self) -> int:
        return self._evicted

    def register_tracer(self, scope_name: str, root_attributes: RootAttributes) -> None:
        """Put ``root_attributes`` on the local root of every trace ``scope_name`` takes part in."""
        with self._lock:
            updated = dict(self._root_attributes)
            if root_attributes:
                updated[scope_name] = MappingProxyType(dict(root_attributes))
            else:
                updated.pop(scope_name, None)
            self._root_attributes = MappingProxyType(updated)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not self._root_attributes:
            return  # no tracer has anything to add: track nothing
        scope = span.instrumentation_scope
        name = scope.name if scope is not None else ""
        attributes = self._root_attributes.get(name)
        trace_id = span.context.trace_id
        if is_local_root(span):
            root_state = _TraceState(span)
            if attributes:
                span.set_attributes(attributes)
                root_state.applied.add(name)
            self._track(trace_id, root_state)
            return
        if not attributes:
            return
        state = self._traces.get(trace_id)
        if state is None or name in state.applied:
            return
        with self._lock:
            if name in state.applied:
                return
            state.applied.add(name)
        if state.root.is_recording():
            state.root.set_attributes(attributes)

    def on_end(self, span: ReadableSpan) -> None:
        if self._traces and is_local_root(span):
            state = self._traces.get(span.context.trace_id)
            # on_end gets a fresh ReadableSpan snapshot, so compare ids, not objects.
            if state is not None and state.root.context.span_id == span.context.span_id:
                with self._lock:
                    self._traces.pop(span.context.trace_id, None)

    def shutdown(self) -> None:
        with self._lock:
            self._traces.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def _track(self, trace_id: int, state: _TraceState) -> None:
        with self._lock:
            # A second local root of the same trace (a second remote parent) replaces the first.
            self._traces[trace_id] = state
            if len(self._traces) <= self._max_traces:
                return
            self._traces.popitem(last=False)
            self._evicted += 1
            now = time.monotonic()
            if now - self._last_warning < _WARN_INTERVAL_SECONDS:
                return
            self._last_warning = now
        _logger.warning(
            "ragtel: more than %d traces are open at once; %d of the oldest are no longer "
            "tracked (spans that never end?)",
            self._max_traces,
            self._evicted,
        )
