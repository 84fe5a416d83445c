"""One OpenAI call recorded on its own CLIENT span, from request to answer or error.

A call's span is current while the SDK runs (so HTTP client spans nest under
it) and is ended exactly once: when the answer arrives, when the call raises,
or — for a stream — when the stream ends however it ends (see
:mod:`ragtel.instrumentation.openai.stream`).

Everything here records through the tracer's public API (``log_llm_call``,
``log_query_event``, ``log_embedding_event``, the param helpers), so names
stay in ragtel's convention. An error in ragtel's own recording is logged on
the ``ragtel`` logger and never reaches the app: the SDK's result or
exception passes through unchanged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import Token
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from ragtel._attributes.generation import LLMCall, llm_call_attributes
from ragtel._encoding.encoder import clean_text
from ragtel._tracer import LastMileTracer, tracer_core
from ragtel.instrumentation.openai.request import ChatRequest, EmbeddingsRequest, field_of
from ragtel.instrumentation.openai.response import (
    ChatResult,
    StreamAccumulator,
    chat_result,
    embedding_vectors,
    response_model,
    usage_of,
)
from ragtel.instrumentation.openai.stream import AsyncChatStreamProxy, ChatStreamProxy
from ragtel.semconv.references import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
)

_logger = logging.getLogger("ragtel")

T = TypeVar("T")

_NAME_LENGTH = 256
"""Characters of a model name kept in span names and attributes (model names are short)."""


def guarded(what: str, action: Callable[[], T], fallback: T) -> T:
    """Run one step of ragtel's recording; an error in it is logged, never raised into the app."""
    try:
        return action()
    except Exception:
        _logger.exception("ragtel: %s failed; the OpenAI call itself is not affected", what)
        return fallback


@dataclass(frozen=True)
class SdkTypes:
    """The SDK classes results are told apart by (imported by the instrumentor, not here)."""

    stream: type[Any]
    async_stream: type[Any]
    raw_response: type[Any] | None
    """``LegacyAPIResponse``, returned by ``with_raw_response``; None if the SDK has none."""


class ClientCall:
    """The CLIENT span of one call to the API, ended exactly once."""

    operation: ClassVar[str]

    def __init__(self, tracer: LastMileTracer, model: str, provider: str, sdk: SdkTypes) -> None:
        model_name = clean_text(model, _NAME_LENGTH)
        self._tracer = tracer
        self._sdk = sdk
        self._started = time.perf_counter()
        self._lock = threading.Lock()
        self._ended = False
        # Given at start, so samplers see them and a failed call still carries them.
        self.span = tracer.start_span(
            f"{self.operation} {model_name}",
            kind=SpanKind.CLIENT,
            attributes={
                GEN_AI_OPERATION_NAME: self.operation,
                GEN_AI_REQUEST_MODEL: model_name,
                GEN_AI_PROVIDER_NAME: provider,
            },
        )

    def register_params(self) -> None:
        """Put the call's settings in its trace's ParamSet now, while the trace's root is open.

        A stream may outlive the root (a web handler returns before the answer
        has streamed out), and a failed call's settings are still the trace's.
        """
        guarded("registering the params of an OpenAI call", self._register_params, None)

    def _register_params(self) -> None:
        raise NotImplementedError

    def attach(self) -> Token[Context]:
        return context_api.attach(trace.set_span_in_context(self.span))

    def detach(self, token: Token[Context]) -> None:
        context_api.detach(token)

    def failed(self, error: BaseException) -> None:
        """The SDK raised: record the request and, for an error, the exception; end the span."""
        guarded(
            f"recording a failed OpenAI {self.operation} call", lambda: self._end(None, error), None
        )

    def succeeded(self, result: Any) -> Any:
        """The SDK returned ``result``: record it and end the span; return what the app gets."""
        guarded(f"recording an OpenAI {self.operation} call", lambda: self._end(result, None), None)
        return result

    def _end(self, response: Any, error: BaseException | None) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        try:
            if self.span.is_recording():  # sampled out: nothing to read or record
                try:
                    self._record(response, error)
                finally:
                    self._mark_failed(error)
        finally:
            self.span.end()

    def _mark_failed(self, error: BaseException | None) -> None:
        # Cancellation and exits are not failures of the call (as in the SDK's use_span).
        if isinstance(error, Exception):
            self.span.record_exception(error)
            self._tracer.mark_failed(
                f"{type(error).__name__}: {error}",
                span=self.span,
                error_type=type(error).__qualname__,
            )

    def _record(self, response: Any, error: BaseException | None) -> None:
        raise NotImplementedError

    def _latency(self) -> float:
        return time.perf_counter() - self._started

    def _parsed(self, result: Any) -> Any:
        """The response object: ``with_raw_response`` calls return it wrapped, already read."""
        raw = self._sdk.raw_response
        if raw is not None and isinstance(result, raw):
            # parse() caches its result: the app's own parse() returns the same object.
            return result.parse()
        return result


class ChatCall(ClientCall):
    """A ``chat.completions.create`` call, streamed or not."""

    operation = "chat"

    def __init__(
        self, tracer: LastMileTracer, request: ChatRequest, provider: str, sdk: SdkTypes
    ) -> None:
        super().__init__(tracer, request.model, provider, sdk)
        self._request = request
        self._provider = provider

    def _register_params(self) -> None:
        register_generation_params(self._tracer, self._request, span=self.span)

    def succeeded(self, result: Any) -> Any:
        if self._request.stream:
            proxy = guarded("following an OpenAI stream", lambda: self._follow(result), None)
            if proxy is not None:
                return proxy
        return super().succeeded(result)

    def _follow(self, result: Any) -> Any:
        """The stream, wrapped so that the span ends with it; None for anything else."""
        if isinstance(result, self._sdk.stream):
            return ChatStreamProxy(result, self._stream_ended)
        if isinstance(result, self._sdk.async_stream):
            return AsyncChatStreamProxy(result, self._stream_ended)
        return None  # a raw or streaming-response wrapper: its body is the app's to read

    def _stream_ended(self, received: StreamAccumulator, error: BaseException | None) -> None:
        guarded("recording an OpenAI chat stream", lambda: self._end(received, error), None)

    def _record(self, response: Any, error: BaseException | None) -> None:
        result: ChatResult | None = None
        pieces: list[str] | None = None
        if isinstance(response, StreamAccumulator):
            result, pieces = response.result(), response.first_choice_pieces
        elif response is not None and not self._request.stream:
            completion = self._parsed(response)
            if field_of(completion, "choices") is not None:
                result = chat_result(completion)
        self._log_call(result, pieces)
        self._log_query(result)

    def _log_call(self, result: ChatResult | None, pieces: list[str] | None) -> None:
        call = self._llm_call(result, pieces)
        if trace_state_kept(self._tracer, self.span):
            self._tracer.log_llm_call(
                model=call.model,
                provider=call.provider,
                messages=call.messages,
                output=call.output,
                params=call.params,
                finish_reason=call.finish_reason,
                response_model=call.response_model,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cached_input_tokens=call.cached_input_tokens,
                latency=call.latency,
                stream_chunks=call.stream_chunks,
                span=self.span,
            )
            return
        # The trace's root ended while the answer streamed in. log_llm_call would
        # repeat the ParamSet update (made when the call started) and have it
        # refused with a warning: record the same attributes, from the same
        # builder, without it, with the tracer's own settings (mask, caps, content).
        capture = tracer_core(self._tracer).capture
        self.span.set_attributes(llm_call_attributes(call, capture=capture))

    def _llm_call(self, result: ChatResult | None, pieces: list[str] | None) -> LLMCall:
        """The call as ``log_llm_call`` records it: request, answer, usage and latency."""
        request = self._request
        output: object = None
        if result is not None and len(result.outputs) > 1:
            output = result.outputs  # n > 1: every choice
        elif result is not None and pieces is None and result.outputs:
            output = result.outputs[0]  # a stream's answer is the concatenation of its pieces
        usage = result.usage if result is not None else None
        return LLMCall(
            model=request.model,
            provider=self._provider,
            messages=request.messages,
            output=output,
            params=request.settings or None,
            finish_reason=(result.finish_reasons or None) if result is not None else None,
            response_model=result.response_model if result is not None else None,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            cached_input_tokens=usage.cached_input_tokens if usage else None,
            latency=self._latency(),
            stream_chunks=pieces,
        )

    def _log_query(self, result: ChatResult | None) -> None:
        """The query event: the last user message answered by the first choice's text."""
        query = self._request.query
        answer = result.texts[0] if result is not None and result.texts else None
        if query is None or answer is None:
            return
        self._tracer.log_query_event(
            query, answer, system_prompt=self._request.system_prompt, span=self.span
        )


class EmbeddingsCall(ClientCall):
    """An ``embeddings.create`` call."""

    operation = "embeddings"

    def __init__(
        self, tracer: LastMileTracer, request: EmbeddingsRequest, provider: str, sdk: SdkTypes
    ) -> None:
        super().__init__(tracer, request.model, provider, sdk)
        self._request = request

    def _register_params(self) -> None:
        register_embedding_params(self._tracer, self._request, span=self.span)

    def _record(self, response: Any, error: BaseException | None) -> None:
        request = self._request
        if response is None:
            return
        response = self._parsed(response)
        model = response_model(response)
        if model is not None:
            self.span.set_attribute(GEN_AI_RESPONSE_MODEL, clean_text(model, _NAME_LENGTH))
        usage = usage_of(field_of(response, "usage"))
        self._tracer.set_token_usage(input_tokens=usage.input_tokens, span=self.span)
        vectors = embedding_vectors(response)
        if vectors:
            self._tracer.log_embedding_event(vectors, data=request.texts, span=self.span)


def register_generation_params(
    tracer: LastMileTracer, request: ChatRequest, span: trace.Span | None = None
) -> None:
    """``generation.model`` and ``generation.<setting>`` in the trace's ParamSet.

    The same keys as ``log_llm_call`` registers; not repeated on the call's
    span, which records them as ``gen_ai.request.*``.
    """
    tracer.register_generation_params(
        {"model": request.model, **request.settings}, should_also_save_in_span=False, span=span
    )


def register_embedding_params(
    tracer: LastMileTracer, request: EmbeddingsRequest, span: trace.Span | None = None
) -> None:
    """``embedding.model`` and (when asked for) ``embedding.dimensions`` in the trace's ParamSet.

    Not repeated on the call's span, which records the model as ``gen_ai.request.model``.
    """
    tracer.register_embedding_params(
        request.model, request.dimensions, should_also_save_in_span=False, span=span
    )


def trace_state_kept(tracer: LastMileTracer, span: trace.Span) -> bool:
    """Whether ragtel still keeps the trace state (the ParamSet) of ``span``'s trace.

    It does from the trace's local root's start to its end (and while it is
    among the traces tracked at once); after that, params registered for the
    trace are refused with a warning.
    """
    processor = tracer_core(tracer).processor
    return processor is not None and processor.trace_state_of(span) is not None
