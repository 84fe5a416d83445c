"""What the labelling methods of :class:`~ragtel.LastMileTracer` do: session, user, tags, metadata.

:meth:`~ragtel.LastMileTracer.using_attributes` labels every span started in a
block; ``start_span`` and ``start_as_current_span`` label one span (and, for
the latter, the spans started inside it). The labels are built by
``ragtel._attributes.context`` and kept in force by
``ragtel._record.label_scope``; this module decides where they apply.

Each function takes the tracer's :class:`~ragtel._record.core.TracerCore` first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util import types
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.context import (
    CONTEXT_ATTRIBUTES_KEY,
    context_attributes,
    current_context_attributes,
    merged,
)
from ragtel._record.core import TracerCore
from ragtel._record.label_scope import UNUSED_LABELS, AttributeScope, labels_unused


def using_attributes(
    core: TracerCore,
    session_id: str | None,
    user_id: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> AttributeScope:
    """A scope labelling every span started in it, the trace's running root included."""
    if labels_unused(core.reach, core.sdk_disabled):
        return UNUSED_LABELS  # before the arguments are read: tracing off costs nothing
    return AttributeScope(
        span_labels(core, session_id, user_id, tags, metadata),
        on_enter=partial(_label_root, core),
    )


def span_labels(
    core: TracerCore,
    session_id: str | None,
    user_id: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> dict[str, AttributeValue]:
    """The attributes of these labels, encoded with the tracer's capture settings."""
    return context_attributes(
        session_id=session_id,
        user_id=user_id,
        tags=tags,
        metadata=metadata,
        capture=core.capture,
    )


def start_as_current_span(
    core: TracerCore,
    name: str,
    context: Context | None,
    kind: SpanKind,
    attributes: types.Attributes,
    links: Sequence[Link] | None,
    start_time: int | None,
    record_exception: bool,
    set_status_on_exception: bool,
    end_on_exit: bool,
    session_id: str | None,
    user_id: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> contextlib.AbstractContextManager[Span]:
    """``LastMileTracer.start_as_current_span`` past its fast path: a context or labels given.

    The labels label this span and every span started in the block; labels
    that came with ``context`` stay in force in the block too.
    """
    labels: Mapping[str, Any] = {}
    if context is not None:
        # Labels that came with the context (from upstream) stay in force in the
        # block, for the spans started inside it, not only for this one.
        labels = current_context_attributes(context)
        if labels is current_context_attributes():
            labels = {}
    if (
        session_id is not None or user_id is not None or tags is not None or metadata is not None
    ) and not labels_unused(core.reach, core.sdk_disabled):
        labels = merged(labels, span_labels(core, session_id, user_id, tags, metadata))
        # The span itself takes them from its parent context.
        base = context if context is not None else context_api.get_current()
        context = context_api.set_value(
            CONTEXT_ATTRIBUTES_KEY, merged(current_context_attributes(base), labels), base
        )
    delegate, span_context = core.delegate, context

    def start() -> contextlib.AbstractContextManager[Span]:
        started: contextlib.AbstractContextManager[Span] = delegate.start_as_current_span(
            name,
            span_context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        )
        return started

    return _Labelled(start, labels) if labels else start()


def _label_root(core: TracerCore, labels: Mapping[str, AttributeValue]) -> None:
    """Labels apply to every span of a trace: also to its root, started before the scope."""
    processor = core.processor
    current = trace.get_current_span()
    if processor is None or not current.is_recording():
        return
    state = processor.trace_state_of(current)
    root = state.root if state is not None else None
    if root is None or not root.is_recording():
        return
    present = getattr(root, "attributes", None) or {}
    missing = {key: value for key, value in labels.items() if key not in present}
    if missing:
        root.set_attributes(missing)


class _Labelled(contextlib.ContextDecorator):
    """A span context manager that also keeps context attributes in force inside it.

    As a decorator it starts a fresh span on every call, as OTel's own does.
    """

    def __init__(
        self,
        start: Callable[[], contextlib.AbstractContextManager[Span]],
        labels: Mapping[str, Any],
    ) -> None:
        self._start = start
        self._labels = labels
        self._scope = AttributeScope(labels)
        self._manager: contextlib.AbstractContextManager[Span] | None = None

    def _recreate_cm(self) -> _Labelled:
        return _Labelled(self._start, self._labels)

    def __enter__(self) -> Span:
        self._scope.__enter__()
        try:
            self._manager = self._start()
            return self._manager.__enter__()
        except BaseException:
            self._scope.__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info: Any) -> bool | None:
        try:
            assert self._manager is not None
            return self._manager.__exit__(*exc_info)
        finally:
            self._scope.__exit__(None, None, None)
