"""``LastMileTracer``: a real OpenTelemetry ``Tracer`` with ragtel's additions.

Span creation is delegated to the wrapped SDK tracer untouched (a context
given as a string or ``SpanContext`` is converted first), so a LastMileTracer
can go anywhere an OTel ``Tracer`` goes and costs the same per span.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util import types
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.context import (
    CONTEXT_ATTRIBUTES_KEY,
    AttributeScope,
    context_attributes,
    current_context_attributes,
    labels_unused,
    merged,
)
from ragtel._config import CaptureConfig
from ragtel._context.handover import (
    ContextLike,
    get_distributed_trace_headers,
    get_traceparent,
    serialize_span_context,
    to_context,
)
from ragtel._record.core import TracerCore
from ragtel._record.feedback import FeedbackAPI
from ragtel._record.generation import GenerationAPI
from ragtel._record.params import ParamSetAPI
from ragtel._record.rag_events import RagEventsAPI
from ragtel._record.span_helpers import SpanHelpersAPI
from ragtel._sdk.processor import TracerProfile
from ragtel._sdk.provider import Installation
from ragtel._sdk.recording import DROPS_ALL, sampling_reach, sdk_disabled

F = TypeVar("F", bound=Callable[..., Any])


class LastMileTracer(
    ParamSetAPI, RagEventsAPI, GenerationAPI, FeedbackAPI, SpanHelpersAPI, trace.Tracer
):
    """An OpenTelemetry ``Tracer`` for RAG and LLM pipelines.

    Get one with :func:`ragtel.get_lastmile_tracer`. Every OTel tracer method
    works as usual; ``context`` may also be a ``SpanContext``, a W3C
    ``traceparent`` string, a string from :meth:`serialize_span_context` or a
    mapping of incoming HTTP headers.

    Example::

        tracer = get_lastmile_tracer("my-rag-app")
        with tracer.start_as_current_span("answer") as span:
            span.set_attribute("question.length", 42)
    """

    def __init__(
        self,
        name: str,
        delegate: trace.Tracer,
        *,
        provider: trace.TracerProvider,
        capture: CaptureConfig,
        installation: Installation | None,
        profile: TracerProfile,
    ) -> None:
        self._name = name
        self._delegate = delegate
        self._provider = provider
        self._capture = capture
        self._installation = installation
        self._profile = profile
        self._processor = installation.processor if installation is not None else None
        # Known once: whether spans this tracer starts can record at all (see _recording).
        self._reach = sampling_reach(delegate)
        self._sdk_disabled = installation is None and sdk_disabled()
        self._core = TracerCore(
            name=name,
            delegate=delegate,
            provider=provider,
            capture=capture,
            profile=profile,
            installation=installation,
            processor=self._processor,
            reach=self._reach,
            sdk_disabled=self._sdk_disabled,
        )

    @property
    def name(self) -> str:
        """The tracer's name (its OTel instrumentation scope)."""
        return self._name

    @property
    def tracer_provider(self) -> trace.TracerProvider:
        """The provider this tracer's spans go through."""
        return self._provider

    @property
    def output_filepaths(self) -> list[str]:
        """Absolute paths of the OTLP JSON Lines files ragtel writes this tracer's spans to."""
        return self._installation.file_paths() if self._installation else []

    # OpenTelemetry Tracer ----------------------------------------------

    def start_span(
        self,
        name: str,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Span:
        """Start a span without making it current; end it with ``span.end()``.

        ``session_id``, ``user_id``, ``tags`` and ``metadata`` label this span
        (:meth:`using_attributes` labels every span of a block).

        Example::

            span = tracer.start_span("embed", context=traceparent_from_upstream)
            try:
                ...
            finally:
                span.end()
        """
        if context is not None and type(context) is not Context:
            context = to_context(context)
        if (
            session_id is not None
            or user_id is not None
            or tags is not None
            or metadata is not None
        ) and not (self._sdk_disabled or self._reach == DROPS_ALL):
            # Labels only this span carries: not encoded for a span that cannot record.
            labels = self._labels(session_id, user_id, tags, metadata)
            attributes = {**labels, **(attributes or {})}
        return self._delegate.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )

    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[Span]:
        """Start a span and make it current: a context manager that is also a decorator.

        ``session_id``, ``user_id``, ``tags`` and ``metadata`` label this span and
        every span started inside it.

        Example::

            with tracer.start_as_current_span("retrieve") as span:
                ...

            @tracer.start_as_current_span("answer")
            def answer(question): ...
        """
        if context is not None and type(context) is not Context:
            context = to_context(context)
        plain = session_id is None and user_id is None and tags is None and metadata is None
        if context is None and plain:  # the common case: exactly the SDK's call
            manager: AbstractContextManager[Span] = self._delegate.start_as_current_span(
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
                end_on_exit,
            )
            return manager
        labels: Mapping[str, Any] = {}
        if context is not None:
            # Labels that came with the context (from upstream) stay in force in the
            # block, for the spans started inside it, not only for this one.
            labels = current_context_attributes(context)
            if labels is current_context_attributes():
                labels = {}
        if (
            session_id is not None
            or user_id is not None
            or tags is not None
            or metadata is not None
        ) and not labels_unused(self._reach, self._sdk_disabled):
            labels = merged(labels, self._labels(session_id, user_id, tags, metadata))
            # The span itself takes them from its parent context.
            base = context if context is not None else context_api.get_current()
            context = context_api.set_value(
                CONTEXT_ATTRIBUTES_KEY, merged(current_context_attributes(base), labels), base
            )
        delegate, span_context = self._delegate, context

        def start() -> AbstractContextManager[Span]:
            started: AbstractContextManager[Span] = delegate.start_as_current_span(
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

    def _labels(
        self,
        session_id: str | None,
        user_id: str | None,
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
    ) -> dict[str, AttributeValue]:
        return context_attributes(
            session_id=session_id,
            user_id=user_id,
            tags=tags,
            metadata=metadata,
            capture=self._capture,
        )

    # Decorators ---------------------------------------------------------

    def trace_function(
        self,
        name: str | None = None,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Callable[[F], F]:
        """Decorate a function so each call is a span recording its arguments and result.

        Works on functions, coroutines, generators, async generators, methods,
        classmethods and staticmethods. The span is named ``name`` or the
        function's qualified name.

        Example::

            @tracer.trace_function()
            def retrieve(query: str, top_k: int = 5) -> list[str]: ...
        """
        from ragtel._record.decorators import SpanOptions, trace_callable  # loaded on first use

        options = SpanOptions(
            context=to_context(context),
            kind=kind,
            attributes=attributes,
            links=links,
            start_time=start_time,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
            end_on_exit=end_on_exit,
        )

        def decorator(func: F) -> F:
            # The context was converted above, so calls can go straight to the SDK tracer.
            return trace_callable(
                func, tracer=self._delegate, name=name, options=options, capture=self._capture
            )

        return decorator

    def atrace_function(
        self,
        name: str | None = None,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Callable[[F], F]:
        """The same as :meth:`trace_function`, for coroutine and async generator functions.

        Example::

            @tracer.atrace_function("generate")
            async def generate(prompt: str) -> str: ...
        """
        return self.trace_function(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        )

    # Context hand-over ----------------------------------------------------

    def get_traceparent(self, span: Span | None = None) -> str | None:
        """W3C ``traceparent`` of ``span`` (default: the current span), or None."""
        return get_traceparent(span)

    def serialize_span_context(self, span: Span | None = None) -> str | None:
        """A string that carries ``span``'s context to another process (or None).

        Example::

            handle = tracer.serialize_span_context()      # process A
            tracer.start_span("late", context=handle)     # process B, same trace
        """
        return serialize_span_context(span)

    def get_distributed_trace_headers(self, span: Span | None = None) -> dict[str, str]:
        """HTTP headers (``traceparent``…) carrying the current or given span's context."""
        return get_distributed_trace_headers(span)

    # log() ------------------------------------------------------------------

    def log(self, data: Any, logger: logging.Logger | str | os.PathLike[str] | None = None) -> None:
        """Log ``data`` (its ``repr``) for later reading next to the trace.

        ``logger`` chooses where it goes:

        * ``None``: an OpenTelemetry log record correlated with the current
          span, exported with the traces (the logs endpoint of the same
          collector, or the logs file beside the traces file), or through the
          app's own ``LoggerProvider``;
        * a path: the record is appended to that file at once, as an OTLP
          JSON line;
        * a ``logging.Logger``: logged there at INFO, like any log line.

        The ``repr`` is masked, redacted and capped like captured values.
        Raises TypeError for any other ``logger``.
        """
        from ragtel._record.log import log  # the Logs SDK loads on first use

        log(self, data, logger)

    # Lifecycle ----------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export every finished span and log record now; False if ``timeout_millis`` passed."""
        flush = getattr(self._provider, "force_flush", None)
        flushed = bool(flush(timeout_millis)) if flush is not None else True
        pipeline = self._installation.log_pipeline if self._installation else None
        if pipeline is not None:
            flushed = pipeline.force_flush(timeout_millis) and flushed
        return flushed

    def flush(self, timeout_millis: int = 30_000) -> bool:
        """Alias of :meth:`force_flush`."""
        return self.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop export.

        A provider ragtel created is shut down. On the app's own provider only
        the exporters ragtel added are stopped; the app's own keep running.
        """
        installation = self._installation
        if installation is None:
            return
        provider = installation.provider
        if installation.owned and provider is not None:
            provider.shutdown()
        installation.shutdown_exporters()

    def dropped_span_count(self) -> int:
        """Spans ragtel's exporters could not deliver so far (queue full, export failed...)."""
        return self._installation.drop_counts().total if self._installation else 0

    def __repr__(self) -> str:
        return f"LastMileTracer(name={self._name!r})"


def tracer_core(tracer: LastMileTracer) -> TracerCore:
    """The parts ``tracer`` is made of, for ragtel's own factory, log pipeline and instrumentation.

    Package-internal: code outside ragtel uses the tracer's public methods.
    """
    return tracer._core


class _Labelled(contextlib.ContextDecorator):
    """A span context manager that also keeps context attributes in force inside it.

    As a decorator it starts a fresh span on every call, as OTel's own does.
    """

    def __init__(
        self, start: Callable[[], AbstractContextManager[Span]], labels: Mapping[str, Any]
    ) -> None:
        self._start = start
        self._labels = labels
        self._scope = AttributeScope(labels)
        self._manager: AbstractContextManager[Span] | None = None

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
