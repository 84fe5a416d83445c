"""The handlers ragtel adds to LlamaIndex's root dispatcher, and the index-construction span.

LlamaIndex's instrumentation calls a span handler when a span is entered,
exited or dropped, and an event handler for each event; both pass straight
to a :class:`~ragtel.instrumentation.llama_index.lifecycle.LlamaIndexRecorder`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.span import BaseSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from pydantic import PrivateAttr

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation._base import Wrapper
from ragtel.instrumentation.llama_index.lifecycle import LlamaIndexRecorder, fail_span, guarded

if TYPE_CHECKING:
    from llama_index_instrumentation.dispatcher import Dispatcher

OTHER_TRACING_HANDLERS: Final = (
    "openinference.instrumentation.llama_index",
    "opentelemetry.instrumentation.llamaindex",
)
"""Modules of the span handlers of OpenInference's and OpenLLMetry's LlamaIndex instrumentors."""


class RagtelSpanHandler(BaseSpanHandler[BaseSpan]):
    """Passes LlamaIndex's span notices to ragtel's recorder.

    It keeps no spans in the base class's ``open_spans``: the recorder holds
    them, bounded, and :meth:`close` (called by ``Dispatcher.shutdown``) ends them.
    """

    _recorder: LlamaIndexRecorder = PrivateAttr()

    def __init__(self, recorder: LlamaIndexRecorder) -> None:
        super().__init__()
        self._recorder = recorder

    @classmethod
    def class_name(cls) -> str:
        return "RagtelSpanHandler"

    def span_enter(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._recorder.enter(id_, instance, bound_args.arguments, parent_id)

    def span_exit(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> None:
        self._recorder.exit(id_, bound_args.arguments, result)

    def span_drop(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        self._recorder.drop(id_, err)

    def close(self) -> None:
        self._recorder.close()

    # The base class's hooks, which its span_enter/exit/drop call; those are replaced above.

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        return None

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        return None

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        return None


class RagtelEventHandler(BaseEventHandler):
    """Passes LlamaIndex's events to ragtel's recorder."""

    _recorder: LlamaIndexRecorder = PrivateAttr()

    def __init__(self, recorder: LlamaIndexRecorder) -> None:
        super().__init__()
        self._recorder = recorder

    @classmethod
    def class_name(cls) -> str:
        return "RagtelEventHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self._recorder.event(event)


def other_tracing_handler(dispatcher: Dispatcher) -> bool:
    """Whether another OpenTelemetry instrumentation of LlamaIndex handles its spans."""
    return any(
        type(handler).__module__.startswith(OTHER_TRACING_HANDLERS)
        for handler in dispatcher.span_handlers
    )


def remove_handlers(dispatcher: Dispatcher, *handlers: object) -> None:
    """Take exactly these handler objects off ``dispatcher`` (by identity, not equality).

    The lists are replaced rather than changed in place: a thread dispatching at
    this moment goes on over the list it started with.
    """
    dispatcher.span_handlers = [
        handler for handler in dispatcher.span_handlers if not _among(handler, handlers)
    ]
    dispatcher.event_handlers = [
        handler for handler in dispatcher.event_handlers if not _among(handler, handlers)
    ]


def _index_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The settings an index is built with, which every query answered from it shares.

    An index built outside any trace (at start-up, say) passes them on to the
    traces of later queries, as the LangChain instrumentor does, so those
    traces can be compared by chunk size and embedding model.
    """
    return {k: v for k, v in params.items() if k.startswith(("ingestion.", "embedding."))}


def _among(handler: object, handlers: tuple[object, ...]) -> bool:
    return any(handler is candidate for candidate in handlers)


def index_construction(tracer: LastMileTracer, steps_aside: Callable[[], bool]) -> Wrapper:
    """A wrapper of ``BaseIndex.from_documents``: one span, ``"<Index>.from_documents"``, over
    the chunking and embedding LlamaIndex runs for it, so they form one trace.

    LlamaIndex has no span of its own there: without it, every step of an
    ingestion would start a trace of its own.
    """

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled() or steps_aside():
            return wrapped(*args, **kwargs)
        span = token = None
        detached = not trace.get_current_span().get_span_context().is_valid
        with guarded("an index construction start"):
            owner = instance if isinstance(instance, type) else type(instance)
            span = tracer.start_span(f"{owner.__name__}.from_documents")
            token = context_api.attach(trace.set_span_in_context(span))
        if span is None or token is None:
            if span is not None:
                with guarded("an index construction end"):
                    span.end()
            return wrapped(*args, **kwargs)
        index_settings: dict[str, Any] = {}
        try:
            return wrapped(*args, **kwargs)
        except BaseException as error:
            with guarded("an index construction failure"):
                fail_span(tracer, span, error)
            raise
        finally:
            with guarded("an index construction end"):
                if detached:
                    index_settings = _index_settings(tracer.get_params())
                context_api.detach(token)
                span.end()
            if index_settings:
                with guarded("an index's settings"):
                    # No trace is current now: they become the tracer's defaults.
                    tracer.register_params(index_settings, should_also_save_in_span=False)

    return wrapper
