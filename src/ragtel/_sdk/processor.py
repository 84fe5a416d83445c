"""The span processor that holds ragtel's per-trace state.

One instance is added to each SDK ``TracerProvider`` ragtel uses, however
many tracers are created on it. It tracks every *local root* — a trace's
first span in this process: it has no parent, or its parent came from another
process — with the root's ParamSet, until that root ends. Every live span
below a root maps to the root's state, so a process that serves several
requests of one trace at once (an upstream fanning out to it) keeps one
ParamSet per request, never mixed.

Each ragtel tracer registers a :class:`~ragtel._sdk.tracer_profile.TracerProfile`: fixed trace-level
attributes (project, RAG flow type) and its default parameters. A profile
joins a trace when the tracer's first span in it starts: on a root it
started, its defaults override params that came from upstream; joining a
trace already running, it only adds what is missing, so it never undoes what
the application registered.

What ragtel keeps of one local root is a
:class:`~ragtel._sdk.trace_state.TraceState`. Every live processor is listed
in ``ragtel._state.STATE.processors``, so a span id alone (feedback by span
id, baggage, instrumentation) finds its trace's state: :func:`find_trace_state`.

Context attributes (session, user, tags, metadata) are copied from the
context onto every span as it starts.

Spans are referred to weakly, never kept alive: a root the app drops
without ending it is forgotten with everything ragtel kept for its trace, as
soon as the garbage collector takes it (plain OpenTelemetry frees such a span
at once; ragtel must not change that).

Memory is bounded: at most ``max_traces`` local roots, ``max_params`` params
and ``max_param_bytes`` of recorded param values per root (and per tracer's
defaults), and ``max_traces * 64`` live spans are tracked, and the first root
of the last ``max_traces`` traces is remembered (so feedback given a trace id
alone finds it). Past that, the oldest root is forgotten (its spans keep
working; late registrations for it are refused with a warning), new params
are dropped, or new spans are not mapped — each with a warning and a count.

The module is a little over 400 lines because it is one class whose parts
(the root table, the span map, the purge of collected spans, eviction) share
one lock and one set of invariants; the per-trace state and the tracer
profiles live in modules of their own.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final, cast

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.context import current_context_attributes
from ragtel._attributes.params import param_attributes
from ragtel._config import CaptureConfig
from ragtel._sdk.trace_state import DEFAULT_MAX_PARAM_BYTES, DEFAULT_MAX_PARAMS, TraceState
from ragtel._sdk.tracer_profile import TracerProfile
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")

DEFAULT_MAX_TRACES: Final = 10_000
_MAX_KEPT_TRACE_STATE: Final = 512
"""Characters of a remembered root's W3C tracestate kept (longer ones are left out)."""
_SPANS_PER_TRACE: Final = 64
_WARN_INTERVAL_SECONDS: Final = 60.0

REMOTE_PARAMS_KEY: Final = context_api.create_key("ragtel-remote-params")
"""Context key of params that arrived from an upstream service (see _context.propagation)."""

CARRIER_KEY: Final = context_api.create_key("ragtel-carrier")
"""Context key set while a carrier span starts: it joins a trace but is not a request of it."""


def _live_processors() -> Iterator[RagtelSpanProcessor]:
    for reference in STATE.processors:
        processor = reference()
        if processor is not None:
            # Only _register (below) adds to STATE.processors, and only processors.
            yield cast(RagtelSpanProcessor, processor)


def _register(processor: RagtelSpanProcessor) -> None:
    with STATE.processors_lock:
        alive = tuple(ref for ref in STATE.processors if ref() is not None)
        STATE.processors = (*alive, weakref.ref(processor))


def find_trace_state(span_id: int) -> tuple[RagtelSpanProcessor, TraceState] | None:
    """The processor and local-root state a live span of this process belongs to.

    Searches every ragtel processor of the process; a recorder that has its
    tracer's processor at hand asks it directly (:meth:`RagtelSpanProcessor.trace_state_of`).
    """
    for processor in _live_processors():
        state = processor.trace_state_by_span_id(span_id)
        if state is not None:
            return processor, state
    return None


def live_span(span_id: int) -> Span | None:
    """The live span ``span_id`` of this process, if a ragtel processor tracks it."""
    return next(filter(None, (p.live_span(span_id) for p in _live_processors())), None)


def recent_root(trace_id: int) -> SpanContext | None:
    """The first local root this process recorded in trace ``trace_id``, if still remembered."""
    return next(filter(None, (p.recent_root(trace_id) for p in _live_processors())), None)


class RagtelSpanProcessor(SpanProcessor):
    """Tracks local roots and their ParamSets; copies context attributes onto spans."""

    def __init__(
        self,
        max_traces: int = DEFAULT_MAX_TRACES,
        max_params: int = DEFAULT_MAX_PARAMS,
        max_param_bytes: int = DEFAULT_MAX_PARAM_BYTES,
    ) -> None:
        self._lock = threading.Lock()
        STATE.reinit_in_child(self)
        self._max_traces = max_traces
        self._max_params = max_params
        self._max_param_bytes = max_param_bytes
        # Replaced, never mutated, so on_start reads it without a lock.
        self._profiles: Mapping[str, TracerProfile] = MappingProxyType({})
        self._roots: OrderedDict[int, TraceState] = OrderedDict()
        self._span_states: dict[int, TraceState] = {}
        # Trace id -> its first local root: lets feedback given a trace id alone
        # find the root, after the root has ended too. As bounded as the roots.
        self._recent_roots: OrderedDict[int, SpanContext] = OrderedDict()
        # Ids of spans the garbage collector took before they ended. Filled from
        # weakref callbacks, which may run on any thread at any moment (even
        # while this thread holds the lock): a deque append takes no lock.
        self._collected: deque[int] = deque()
        self._forget = self._collected.append
        self._evicted = 0
        self._unmapped_spans = 0
        self._dropped_params = 0
        self._last_warning: dict[str, float] = {}
        self.exporting_stopped = False
        """ragtel's exporters on this provider were shut down and none replaced them."""
        self._warned_stopped = False
        _register(self)

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()
        for state in list(self._roots.values()):
            state.lock = threading.Lock()

    @property
    def tracked_traces(self) -> int:
        """Local roots tracked now (those the garbage collector took are forgotten first)."""
        if self._collected:
            with self._lock:
                self._purge_collected()
        return len(self._roots)

    @property
    def evicted_traces(self) -> int:
        """Local roots forgotten so far because ``max_traces`` were open at once."""
        return self._evicted

    @property
    def max_params(self) -> int:
        return self._max_params

    @property
    def dropped_params(self) -> int:
        """Params refused so far: their trace had ``max_params`` or ``max_param_bytes``."""
        return self._dropped_params

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
        parent = span.parent
        if parent is None or parent.is_remote:
            if context_api.get_value(CARRIER_KEY, parent_context):
                return  # a carrier: part of the trace, not a request with a ParamSet
            state = TraceState(span, _forgetting(self._forget, span.context.span_id))
            self._track_root(state, span.context)
            remote = context_api.get_value(REMOTE_PARAMS_KEY, parent_context)
            if isinstance(remote, Mapping) and remote:
                capture = profile.capture if profile is not None else CaptureConfig()
                self.update(state, remote, capture=capture)
            if profile is not None:
                self._join(state, profile, started_root=True)
            return
        found = self._span_states.get(parent.span_id)
        if found is None:
            return
        self._track_span(span, found)
        if profile is not None and profile.scope_name not in found.applied:
            self._join(found, profile, started_root=False)

    def on_end(self, span: ReadableSpan) -> None:
        if self.exporting_stopped:
            self._warn_stopped(span)
        if not self._span_states:
            return
        span_id = span.context.span_id
        state = self._span_states.pop(span_id, None)
        if state is None:
            return
        state.spans.pop(span_id, None)
        if state.span_events:
            state.span_events.discard(span_id)  # an ended span records no more events
        if state.root_id == span_id:
            with self._lock:
                self._roots.pop(span_id, None)
                for orphan in state.spans.copy():  # children that never ended
                    self._span_states.pop(orphan, None)

    def shutdown(self) -> None:
        with self._lock:
            self._roots.clear()
            self._span_states.clear()
            self._recent_roots.clear()
            self._collected.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    # Trace state ---------------------------------------------------------------

    def trace_state_by_span_id(self, span_id: int) -> TraceState | None:
        """The state of the local root that live span ``span_id`` belongs to."""
        return self._span_states.get(span_id)

    def live_span(self, span_id: int) -> Span | None:
        state = self._span_states.get(span_id)
        reference = state.spans.get(span_id) if state is not None else None
        return reference() if reference is not None else None

    def recent_root(self, trace_id: int) -> SpanContext | None:
        return self._recent_roots.get(trace_id)

    def trace_state_of(self, span: Any, span_id: int | None = None) -> TraceState | None:
        """The local-root state of ``span``, or of its parent once ``span`` has ended."""
        if span_id is None:
            span_id = span.get_span_context().span_id
        state = self._span_states.get(span_id)
        if state is None:
            parent = getattr(span, "parent", None)
            if parent is not None and not parent.is_remote:
                state = self._span_states.get(parent.span_id)
        return state

    def adopt(self, state: TraceState, profile: TracerProfile) -> None:
        """Bring ``profile`` into a running trace (missing things only), once."""
        if profile.scope_name not in state.applied:
            self._join(state, profile, started_root=False)

    def update(
        self,
        state: TraceState,
        params: Mapping[str, Any],
        *,
        capture: CaptureConfig,
        overwrite: bool = False,
        sensitive: bool | frozenset[str] = False,
        encoded: Mapping[str, AttributeValue] | None = None,
    ) -> dict[str, AttributeValue]:
        """Upsert ``params`` into the trace's ParamSet (replace it with ``overwrite``).

        Writes the changed params to the local root and returns their attributes
        (a param past the per-trace caps, in count or in recorded bytes, is
        dropped, counted, with a warning). ``sensitive``
        (all of them, or the keys given) marks params never to be propagated.
        ``encoded``: the params' attributes when the caller has them already.
        """
        # Encoded first: the byte cap counts the values as recorded.
        attributes = dict(encoded) if encoded is not None else param_attributes(params, capture)
        dropped = state.merge(
            params, attributes, overwrite, sensitive, self._max_params, self._max_param_bytes
        )
        if dropped:
            with self._lock:
                self._dropped_params += dropped
                total = self._dropped_params
            self._warn(
                "params",
                "ragtel: a trace's ParamSet is limited to %d params and %d bytes of recorded "
                "values; %d params dropped so far",
                self._max_params,
                self._max_param_bytes,
                total,
            )
        return attributes

    def params_of(self, state: TraceState) -> dict[str, Any]:
        with state.lock:
            return dict(state.params)

    def shareable_params_of(self, state: TraceState) -> dict[str, AttributeValue]:
        """The params that may travel to other services: not marked sensitive, and in
        their recorded form (redacted and masked as on the root)."""
        with state.lock:
            return {k: v for k, v in state.encoded.items() if k not in state.sensitive}

    def claim_trace_event(self, state: TraceState) -> bool:
        """True the first time only: a trace has one trace event."""
        with state.lock:
            first, state.trace_event = not state.trace_event, True
            return first

    def claim_span_event(self, state: TraceState, span_id: int) -> bool:
        """True the first time only for ``span_id``: a span has one span event."""
        with state.lock:
            if span_id in state.span_events:
                return False
            if len(state.span_events) < self._max_traces:  # bounded like the rest
                state.span_events.add(span_id)
            return True

    # Internals --------------------------------------------------------------

    def _join(self, state: TraceState, profile: TracerProfile, *, started_root: bool) -> None:
        with state.lock:
            if profile.scope_name in state.applied:
                return
            state.applied.add(profile.scope_name)
            existing = set(state.params)
        defaults, sensitive, encoded = profile.snapshot()
        root = state.root
        if profile.root_attributes and root.is_recording():
            present = getattr(root, "attributes", None) or {}
            root.set_attributes(
                profile.root_attributes
                if started_root
                else {k: v for k, v in profile.root_attributes.items() if k not in present}
            )
        if not started_root:
            # Joining a running trace: add what is missing, never undo registrations.
            defaults = {k: v for k, v in defaults.items() if k not in existing}
            encoded = None  # type: ignore[assignment]
        if defaults:
            self.update(
                state, defaults, capture=profile.capture, sensitive=sensitive, encoded=encoded
            )

    def _track_root(self, state: TraceState, root_context: SpanContext) -> None:
        span_id = state.root_id
        with self._lock:
            if self._collected:
                self._purge_collected()
            recent = self._recent_roots
            if root_context.trace_id not in recent:
                recent[root_context.trace_id] = _compact(root_context)
                if len(recent) > self._max_traces:
                    recent.popitem(last=False)
            self._roots[span_id] = state
            self._span_states[span_id] = state
            if len(self._roots) <= self._max_traces:
                return
            _, oldest = self._roots.popitem(last=False)
            for stale in oldest.spans.copy():
                self._span_states.pop(stale, None)
            self._evicted += 1
            evicted = self._evicted
        self._warn(
            "traces",
            "ragtel: more than %d traces are open at once; %d of the oldest are no longer "
            "tracked (spans that never end?)",
            self._max_traces,
            evicted,
        )

    def _track_span(self, span: Span, state: TraceState) -> None:
        if len(self._span_states) >= self._max_traces * _SPANS_PER_TRACE:
            with self._lock:
                self._unmapped_spans += 1
                unmapped = self._unmapped_spans
            self._warn(
                "spans",
                "ragtel: too many open spans to track; %d spans not mapped to their trace "
                "(spans that never end?)",
                unmapped,
            )
            return
        span_id = span.context.span_id
        if self._collected:
            with self._lock:
                self._purge_collected()
        self._span_states[span_id] = state
        state.spans[span_id] = weakref.ref(span, _forgetting(self._forget, span_id))

    def _purge_collected(self) -> None:
        """Forget the spans the garbage collector took before they ended (the lock is held).

        A root takes its whole trace with it; a span below a root only its own entries.
        """
        collected = self._collected
        while collected:
            span_id = collected.popleft()
            state = self._roots.pop(span_id, None)
            if state is not None:
                # A snapshot: on_end and _join change state.spans in other threads
                # without this lock.
                for tracked in tuple(state.spans):
                    self._span_states.pop(tracked, None)
                continue
            state = self._span_states.pop(span_id, None)
            if state is not None:
                state.spans.pop(span_id, None)
                state.span_events.discard(span_id)

    def _warn_stopped(self, span: ReadableSpan) -> None:
        if self._warned_stopped or not span.context.trace_flags.sampled:
            return
        self._warned_stopped = True
        _logger.warning(
            "ragtel: spans are ending after ragtel's exporters were shut down (by shutdown() "
            "or at exit): they are dropped, and counted in dropped_span_count(); after "
            "shutdown(), get_lastmile_tracer() with the same name gives a tracer that exports"
        )

    def _warn(self, topic: str, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last_warning.get(topic, -_WARN_INTERVAL_SECONDS)
            if now - last < _WARN_INTERVAL_SECONDS:
                return
            self._last_warning[topic] = now
        _logger.warning(message, *args)


def _forgetting(forget: Callable[[int], None], span_id: int) -> Callable[[weakref.ref[Span]], None]:
    """A weakref callback that hands ``span_id`` to ``forget`` once the span is collected."""
    return lambda _: forget(span_id)


def _compact(root: SpanContext) -> SpanContext:
    """``root`` to remember, without a tracestate long enough to matter in bytes."""
    state = root.trace_state
    if not state or len(state.to_header()) <= _MAX_KEPT_TRACE_STATE:
        return root
    return SpanContext(root.trace_id, root.span_id, root.is_remote, root.trace_flags)
