"""ragtel's LangChain callback handler: one span per run, with the RAG events of its kind.

===========  ============================  ==========  =================================
Run          Span                          Kind        Recorded at its end
===========  ============================  ==========  =================================
chain        the run's name                INTERNAL    the outermost chain: a query event
chat model   ``chat <model>``              CLIENT      ``log_llm_call`` (params included)
LLM          ``text_completion <model>``   CLIENT      ``log_llm_call`` (params included)
retriever    ``retrieval <name>``          INTERNAL    a retrieval event; ``top_k`` param
tool         ``execute_tool <name>``       INTERNAL    a tool call event
===========  ============================  ==========  =================================

A run's parent span is its parent run's; a run without one is a child of the
span current when LangChain was called. A failed run's span gets status
ERROR and the exception. Every span ends exactly once, from whichever thread
or task LangChain calls back on. What each run records at its end is
:mod:`ragtel.instrumentation.langchain.run_records`.

Beside a peer instrumentation (see ``peers``) the handler makes no
spans: what each run's end records goes on the peer's span of the run, which
also records the run's failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.retrievers import BaseRetriever
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation.langchain import scope as scopes
from ragtel.instrumentation.langchain.llm import llm_request
from ragtel.instrumentation.langchain.peers import peer_span
from ragtel.instrumentation.langchain.run_records import record_run_end, register_top_k
from ragtel.instrumentation.langchain.runs import OpenRuns, Run
from ragtel.instrumentation.langchain.spans import log_failure, record_error


class RagtelCallbackHandler(BaseCallbackHandler):
    """Records LangChain runs through a ragtel tracer; added to every callback manager."""

    # Called in the caller's thread or task, never from an executor: a run's
    # span can then be made current for what the run calls (see ``scope``).
    run_inline = True
    raise_error = False

    def __init__(self, tracer: LastMileTracer) -> None:
        self._tracer = tracer
        self.runs = OpenRuns()
        self.enabled = True
        """False once uninstrumented: no new runs are recorded; those in progress still end."""
        self.peer: Any = None
        """A peer instrumentation's handler, found in the callback managers; None if none."""

    def _records_new_runs(self) -> bool:
        # Instrumented, and not inside suppress_instrumentation() (OTel's switch).
        return self.enabled and bool(is_instrumentation_enabled())

    # Chains -------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._records_new_runs():
            return
        try:
            name = _text(kwargs.get("name")) or _serialized_name(serialized) or "chain"
            # The outermost chain's input is kept for its query event.
            request = inputs if parent_run_id is None else None
            self._start(run_id, parent_run_id, name, SpanKind.INTERNAL, "chain", request)
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure("chain start")

    def on_chain_end(
        self,
        outputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, outputs, None)

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, None, error)

    # Models ---------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._records_new_runs():
            return
        try:
            request = llm_request(
                "chat",
                serialized,
                kwargs.get("invocation_params"),
                metadata,
                run_name=kwargs.get("name"),
                messages=messages[0] if messages else [],
            )
            name = f"chat {request.model}"
            self._start(run_id, parent_run_id, name, SpanKind.CLIENT, "llm", request)
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure("chat model start")

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._records_new_runs():
            return
        try:
            request = llm_request(
                "text_completion",
                serialized,
                kwargs.get("invocation_params"),
                metadata,
                run_name=kwargs.get("name"),
                prompt=prompts[0] if prompts else None,
            )
            name = f"text_completion {request.model}"
            self._start(run_id, parent_run_id, name, SpanKind.CLIENT, "llm", request)
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure("LLM start")

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, response, None)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, None, error)

    # Retrievers -------------------------------------------------------------

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._records_new_runs():
            return
        try:
            # The retriever's own call, when it came through a scope: callbacks
            # do not carry the retriever, whose settings give top_k.
            scope = scopes.claim(BaseRetriever)
            name = _text(kwargs.get("name")) or _serialized_name(serialized) or "retriever"
            run = self._start(
                run_id,
                parent_run_id,
                f"retrieval {name}",
                SpanKind.INTERNAL,
                "retriever",
                (query, scope),
            )
            if scope is not None and run.span is not None:
                register_top_k(self._tracer, run.span, scope)
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure("retriever start")

    def on_retriever_end(
        self,
        documents: Sequence[Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, documents, None)

    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, None, error)

    # Tools --------------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._records_new_runs():
            return
        try:
            name = _serialized_name(serialized) or _text(kwargs.get("name")) or "tool"
            arguments = inputs if inputs is not None else input_str
            self._start(
                run_id,
                parent_run_id,
                f"execute_tool {name}",
                SpanKind.INTERNAL,
                "tool",
                (name, arguments),
            )
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure("tool start")

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, output, None)

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._end(run_id, None, error)

    # Spans ----------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        kind: SpanKind,
        run_kind: str,
        request: Any,
    ) -> Run:
        is_root = parent_run_id is None
        if self.peer is not None:  # the peer makes the run's span
            run = Run(None, run_kind, is_root, request=request, peer=self.peer)
            self.runs.add(run_id, run)
            scopes.note_peer_run(run_id, self.peer)
            return run
        parent = self.runs.get(parent_run_id)
        context = (
            trace.set_span_in_context(parent.span, context_api.get_current())
            if parent is not None and parent.span is not None
            else None
        )
        span = self._tracer.start_span(name, context=context, kind=kind)
        run = Run(span, run_kind, is_root, request=request)
        run.restore = scopes.make_current(span)
        self.runs.add(run_id, run)
        return run

    def _end(self, run_id: UUID, result: Any, error: BaseException | None) -> None:
        run = self.runs.pop(run_id)
        if run is None:
            return  # not ours: started before instrumenting, or evicted
        span = run.span
        if span is None:
            # The peer's span, still open: the peer's handler comes after ragtel's.
            span = peer_span(run.peer, run_id)
            if span is not None and span.is_recording():
                try:
                    record_run_end(self._tracer, run, span, result, error)
                except Exception:  # noqa: BLE001 - recording must never break the app
                    log_failure(f"{run.kind} end")
            return
        try:
            if span.is_recording():
                record_run_end(self._tracer, run, span, result, error)
                if error is not None and not isinstance(error, GeneratorExit):
                    record_error(span, error)
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure(f"{run.kind} end")
        finally:
            try:
                scopes.restore(span, run.restore)
            finally:
                span.end()


def _serialized_name(serialized: Any) -> str | None:
    if isinstance(serialized, Mapping):
        return _text(serialized.get("name"))
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
