"""The span processor that holds ragtel's per-trace state.

One instance is added to each SDK ``TracerProvider`` ragtel uses, however
many tracers are created on it. It is the home of everything ragtel knows
about a trace while the trace runs; today that is the attributes every local
root span of a ragtel tracer carries (project, RAG flow type, initial
parameters).

A *local root* is the first span of a trace in this process: it has no
parent, or its parent came from another process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.util.types import AttributeValue

RootAttributes = Mapping[str, AttributeValue]


def is_local_root(span: ReadableSpan) -> bool:
    parent = span.parent
    return parent is None or parent.is_remote


class RagtelSpanProcessor(SpanProcessor):
    """Adds each ragtel tracer's trace-level attributes to the local roots it starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Replaced, never mutated, so on_start reads it without a lock.
        self._root_attributes: Mapping[str, RootAttributes] = MappingProxyType({})

    def register_tracer(self, scope_name: str, root_attributes: RootAttributes) -> None:
        """Record ``root_attributes`` on local roots started by the tracer named ``scope_name``."""
        with self._lock:
            updated = dict(self._root_attributes)
            if root_attributes:
                updated[scope_name] = MappingProxyType(dict(root_attributes))
            else:
                updated.pop(scope_name, None)
            self._root_attributes = MappingProxyType(updated)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        parent = span.parent
        if parent is not None and not parent.is_remote:
            return
        scope = span.instrumentation_scope
        if scope is None:
            return
        attributes = self._root_attributes.get(scope.name)
        if attributes:
            span.set_attributes(attributes)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
