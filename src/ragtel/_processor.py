"""The span processor that holds ragtel's per-trace state.

One instance is added to each SDK ``TracerProvider`` ragtel uses, however
many tracers are created on it. It remembers the *local root* of every trace
running in this process — the trace's first span here: it has no parent, or
its parent came from another process — and the trace's ParamSet, until that
root ends.

Each ragtel tracer registers a :class:`TracerProfile`: fixed trace-level
attributes (project, RAG flow type) and its default parameters. They land on
the local root when the tracer's first span of the trace starts — the root
itself, or a span inside a trace whose root came from someone else (a web
framework's server span, say).

Context attributes (session, user, tags, metadata) are copied from the
context onto every span as it starts.

Memory is bounded: at most ``max_traces`` traces and ``max_params`` params per
trace are tracked. Past that, the oldest trace is forgotten (its spans keep
working; only late registrations can no longer reach its root) or the new
param is dropped, and a warning says so.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._context_attributes import current_context_attributes
from ragtel._fork import reinit_in_child
from ragtel._params import param_attributes
from ragtel.semconv.attributes import RAGTEL_PARAM_SET_REMOVED

_logger = logging.getLogger("ragtel")

DEFAULT_MAX_TRACES: Final = 10_000
DEFAULT_MAX_PARAMS: Final = 256
_WARN_INTERVAL_SECONDS: Final = 60.0

REMOTE_PARAMS_KEY: Final = context_api.create_key("ragtel-remote-params")
"""Context key of params that arrived from an upstream service (see _propagation)."""


_processors: weakref.WeakSet[RagtelSpanProcessor] = weakref.WeakSet()


def state_for_trace(trace_id: int) -> tuple[RagtelSpanProcessor, _TraceState] | None:
    """The processor and state tracking ``trace_id`` in this process, if any."""
    for processor in list(_processors):
        state = processor.state_of(trace_id)
        if state is not None:
            return processor, state
    return None


def is_local_root(span: ReadableSpan) -> bool:
    parent = span.parent
    return parent is None or parent.is_remote


class TracerProfile:
    """What one ragtel tracer brings to the traces it takes part in."""

    def __init__(
        self,
        scope_name: str,
        *,
        root_attributes: Mapping[str, AttributeValue],
        defaults: Mapping[str, Any],
        capture: CaptureConfig,
    ) -> None:
        self.scope_name = scope_name
        self.root_attributes = MappingProxyType(dict(root_attributes))
        self.capture = capture
        self._defaults: dict[str, Any] = dict(defaults)
        self._sensitive: set[str] = set()
        self._lock = threading.Lock()
        reinit_in_child(self._reinit_lock)

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()

    def copy_defaults(self) -> dict[str, Any]:
        """The ParamSet a new trace starts from."""
        with self._lock:
            return dict(self._defaults)

    def sensitive_defaults(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._sensitive)

    def update_defaults(
        self, params: Mapping[str, Any], *, overwrite: bool, sensitive: bool = False
    ) -> None:
        with self._lock:
            if overwrite:
                self._defaults.clear()
                self._sensitive.clear()
            self._defaults.update(params)
            if sensitive:
                self._sensitive.update(params)
            else:
                self._sensitive.difference_update(params)


class _TraceState:
    __slots__ = ("applied", "params", "removed", "root", "sensitive", "span_events", "trace_event")

    def __init__(self, root: Span) -> None:
        self.root = root
        self.applied: set[str] = set()
        self.params: dict[str, Any] = {}
        self.removed: set[str] = set()
        self.sensitive: set[str] = set()
        """Keys never propagated to other services."""
        self.trace_event = False
        self.span_events: set[int] = set()
        """Ids of this trace's spans that carry their one span event."""


class RagtelSpanProcessor(SpanProcessor):
    """Tracks local roots and their ParamSets; copies context attributes onto spans."""

    def __init__(
        self, max_traces: int = DEFAULT_MAX_TRACES, max_params: int = DEFAULT_MAX_PARAMS
    ) -> None:
        self._lock = threading.Lock()
        reinit_in_child(self._reinit_lock)
        self._max_traces = max_traces
        self._max_params = max_params
        # Replaced, never mutated, so on_start reads it without a lock.
        self._profiles: Mapping[str, TracerProfile] = MappingProxyType({})
        self._traces: OrderedDict[int, _TraceState] = OrderedDict()
        self._evicted = 0
        self._dropped_params = 0
        self._last_warning: dict[str, float] = {}
        _processors.add(self)

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()

    @property
    def tracked_traces(self) -> int:
        return len(self._traces)

    @property
    def evicted_traces(self) -> int:
        return self._evicted

    @property
    def max_params(self) -> int:
        return self._max_params

    def register_tracer(self, profile: TracerProfile) -> None:
        with self._lock:
            self._profiles = MappingProxyType({**self._profiles, profile.scope_name: profile})

    # SpanProcessor -------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        labels = current_context_attributes(parent_context)
        if labels:
            # Labels given when the span was created win over those of the scope.
            given = span.attributes or {}
            span.set_attributes({k: v for k, v in labels.items() if k not in given})
        if not self._profiles:
            return  # no ragtel tracer on this provider: nothing to track
        scope = span.instrumentation_scope
        profile = self._profiles.get(scope.name) if scope is not None else None
        if is_local_root(span):
            state = _TraceState(span)
            remote = context_api.get_value(REMOTE_PARAMS_KEY, parent_context)
            self._track(span.context.trace_id, state)
            if isinstance(remote, Mapping) and remote:
                # Upstream params first: this process's own defaults win on conflicts.
                self.update(state, remote, capture=profile.capture if profile else None)
        elif profile is None:
            return
        else:
            found = self._traces.get(span.context.trace_id)
            if found is None:
                return
            state = found
        if profile is not None and profile.scope_name not in state.applied:
            self._apply_profile(state, profile)

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

    # ParamSet ---------------------------------------------------------------

    def state_of(self, trace_id: int) -> _TraceState | None:
        return self._traces.get(trace_id)

    def update(
        self,
        state: _TraceState,
        params: Mapping[str, Any],
        *,
        capture: CaptureConfig | None,
        overwrite: bool = False,
        sensitive: bool | frozenset[str] = False,
    ) -> dict[str, AttributeValue]:
        """Upsert ``params`` into the trace's ParamSet (replace it with ``overwrite``).

        Writes the changed params to the local root and returns their attributes
        (a param past the per-trace cap is dropped, with a warning). ``sensitive``
        (all of them, or the keys given) marks params never to be propagated.
        """
        removed: list[str] | None = None  # the new removed list, when it changed
        with self._lock:
            current = state.params
            if overwrite:
                gone = set(current) - set(params)
                if gone - state.removed:
                    state.removed |= gone
                    removed = []
                current = state.params = {}
                state.sensitive.clear()
            kept: dict[str, Any] = {}
            for key, value in params.items():
                if key not in current and len(current) >= self._max_params:
                    self._dropped_params += 1
                    continue
                current[key] = value
                kept[key] = value
                if sensitive is True or (sensitive and key in sensitive):
                    state.sensitive.add(key)
                elif state.sensitive:
                    state.sensitive.discard(key)
                if state.removed and key in state.removed:
                    state.removed.discard(key)
                    removed = []
            if removed is not None:
                removed = sorted(state.removed)
            dropped = self._dropped_params
        if len(kept) < len(params):
            self._warn(
                "params",
                "ragtel: a trace's ParamSet is limited to %d params; %d params dropped so far",
                self._max_params,
                dropped,
            )
        attributes = param_attributes(kept, capture or CaptureConfig())
        if state.root.is_recording():
            if removed is not None:
                # OpenTelemetry cannot delete an attribute: a removed key keeps its
                # last value on the root, and this list says it no longer applies.
                state.root.set_attributes({**attributes, RAGTEL_PARAM_SET_REMOVED: removed})
            elif attributes:
                state.root.set_attributes(attributes)
        return attributes

    def params_of(self, state: _TraceState) -> dict[str, Any]:
        with self._lock:
            return dict(state.params)

    def claim_trace_event(self, state: _TraceState) -> bool:
        """True the first time only: a trace has one trace event."""
        with self._lock:
            first, state.trace_event = not state.trace_event, True
            return first

    def claim_span_event(self, state: _TraceState, span_id: int) -> bool:
        """True the first time only for ``span_id``: a span has one span event."""
        with self._lock:
            if span_id in state.span_events:
                return False
            if len(state.span_events) < self._max_params * 16:  # bounded like the rest
                state.span_events.add(span_id)
            return True

    def shareable_params_of(self, state: _TraceState) -> dict[str, Any]:
        """The params that may travel to other services (not marked sensitive)."""
        with self._lock:
            return {k: v for k, v in state.params.items() if k not in state.sensitive}

    # Internals --------------------------------------------------------------

    def adopt(self, state: _TraceState, profile: TracerProfile) -> None:
        """Bring ``profile``'s trace attributes and defaults into the trace, once."""
        if profile.scope_name not in state.applied:
            self._apply_profile(state, profile)

    def _apply_profile(self, state: _TraceState, profile: TracerProfile) -> None:
        with self._lock:
            if profile.scope_name in state.applied:
                return
            state.applied.add(profile.scope_name)
        defaults = profile.copy_defaults()
        if profile.root_attributes and state.root.is_recording():
            state.root.set_attributes(profile.root_attributes)
        if defaults:
            self.update(
                state, defaults, capture=profile.capture, sensitive=profile.sensitive_defaults()
            )

    def _track(self, trace_id: int, state: _TraceState) -> None:
        with self._lock:
            # A second local root of the same trace (a second remote parent) replaces the first.
            self._traces[trace_id] = state
            if len(self._traces) <= self._max_traces:
                return
            self._traces.popitem(last=False)
            self._evicted += 1
            evicted = self._evicted
        self._warn(
            "traces",
            "ragtel: more than %d traces are open at once; %d of the oldest are no longer "
            "tracked (spans that never end?)",
            self._max_traces,
            evicted,
        )

    def _warn(self, topic: str, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if (
                now - self._last_warning.get(topic, -_WARN_INTERVAL_SECONDS)
                < _WARN_INTERVAL_SECONDS
            ):
                return
            self._last_warning[topic] = now
        _logger.warning(message, *args)
