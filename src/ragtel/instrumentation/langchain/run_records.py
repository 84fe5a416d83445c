"""What each kind of LangChain run records at its end, through the tracer's public APIs.

A chat model or LLM run: ``log_llm_call`` (its settings join the ParamSet);
a retriever run: a retrieval event, and ``top_k`` in the ParamSet; a tool
run: a tool call event; the outermost chain: a query event when its input
and output are each one text. The span is ragtel's own, or a peer
instrumentation's span of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage
from opentelemetry.trace import Span

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation.langchain.documents import retrieved_chunks, retriever_top_k
from ragtel.instrumentation.langchain.llm import LlmRequest, chat_messages, llm_response
from ragtel.instrumentation.langchain.runs import Run
from ragtel.instrumentation.langchain.scope import Scope


def record_run_end(
    tracer: LastMileTracer, run: Run, span: Span, result: Any, error: BaseException | None
) -> None:
    """Record on ``span`` what ``run`` ended with: ``result``, or ``error`` when it failed."""
    if run.kind == "llm":
        _record_llm(tracer, run, span, result)
    elif run.kind == "retriever":
        query, scope = run.request
        if run.span is None and scope is not None:
            register_top_k(tracer, span, scope)  # beside a peer: now that its span is known
        if error is None:
            score_of = scope.score_of if scope is not None else None
            chunks = retrieved_chunks(result or [], score_of)
            tracer.log_retrieval_event(query, chunks, span=span)
    elif error is not None:
        return  # the other kinds have nothing to record without a result
    elif run.kind == "tool":
        name, arguments = run.request
        tracer.log_tool_call_event(name, arguments, _tool_result(result), span=span)
    elif run.kind == "chain" and run.is_root:
        query, response = _plain_text(run.request), _plain_text(result)
        if query is not None and response is not None:
            tracer.log_query_event(query, response, span=span)


def register_top_k(tracer: LastMileTracer, span: Span, scope: Scope) -> None:
    """Register the retriever's ``top_k``, read from its settings, in the trace's ParamSet."""
    top_k = retriever_top_k(scope.instance, scope.call_kwargs)
    if top_k is not None and span.is_recording():
        # In the trace's ParamSet (its root) only, as log_llm_call does.
        tracer.register_retrieval_params(top_k=top_k, span=span, should_also_save_in_span=False)


def _record_llm(tracer: LastMileTracer, run: Run, span: Span, result: Any) -> None:
    request: LlmRequest = run.request
    response = llm_response(result)
    tracer.log_llm_call(
        model=request.model,
        provider=request.provider,
        operation=request.operation,
        messages=chat_messages(request.messages) if request.messages is not None else None,
        prompt=request.prompt,
        output=response.output,
        params=request.settings,
        finish_reason=response.finish_reason,
        response_model=response.response_model,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cached_input_tokens=response.cached_input_tokens,
        span=span,
    )


def _plain_text(value: Any) -> str | None:
    """A chain's input or output when it is one text: a string, a message, or a one-entry dict."""
    if isinstance(value, Mapping) and len(value) == 1:
        value = next(iter(value.values()))
    if isinstance(value, BaseMessage):
        value = value.content
    return str(value) if isinstance(value, str) else None


def _tool_result(output: Any) -> Any:
    """A tool's result: a ``ToolMessage``'s content (tools called with a tool call return one)."""
    if isinstance(output, BaseMessage):
        return output.content
    return output
