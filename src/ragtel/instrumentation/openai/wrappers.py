"""The wrappers put on the SDK's methods: each call recorded, or passed straight through.

A call is recorded on a span of ragtel's own (see
:mod:`ragtel.instrumentation.openai.calls`) unless ragtel steps aside:

* instrumentation is suppressed (OpenTelemetry's suppression key): nothing is recorded;
* another instrumentation makes the call's LLM span — a peer OpenAI
  instrumentor, or ragtel's LangChain or LlamaIndex instrumentor whose
  model-call span is current (see :mod:`ragtel.instrumentation.openai.peers`):
  that span is the call's one LLM span. ragtel makes no span and records no
  event; it only registers the call's settings in the ParamSet of the trace
  that is current — and only when a local span is current, since with none
  the settings would become the defaults of every later trace.

The wrappers never let ragtel's own errors reach the app: the SDK's result or
exception passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from ragtel._context.handover import is_local_span
from ragtel._tracer import LastMileTracer
from ragtel.instrumentation.openai.calls import (
    ChatCall,
    ClientCall,
    EmbeddingsCall,
    SdkTypes,
    guarded,
    register_embedding_params,
    register_generation_params,
)
from ragtel.instrumentation.openai.peers import recorded_elsewhere
from ragtel.instrumentation.openai.request import (
    chat_request,
    embeddings_request,
    provider_name,
)


def start_chat(
    tracer: LastMileTracer, instance: Any, kwargs: dict[str, Any], sdk: SdkTypes
) -> ChatCall | None:
    """The span of a chat call, or None when ragtel makes none (see :func:`_stepping_aside`)."""
    request = chat_request(kwargs)
    if request is None or _stepping_aside(
        tracer, "chat", lambda: register_generation_params(tracer, request)
    ):
        return None
    call = ChatCall(tracer, request, provider_name(getattr(instance, "_client", None)), sdk)
    call.register_params()
    return call


def start_embeddings(
    tracer: LastMileTracer, instance: Any, kwargs: dict[str, Any], sdk: SdkTypes
) -> EmbeddingsCall | None:
    """The span of an embeddings call, or None when ragtel makes none."""
    request = embeddings_request(kwargs)
    if request is None or _stepping_aside(
        tracer, "embeddings", lambda: register_embedding_params(tracer, request)
    ):
        return None
    call = EmbeddingsCall(tracer, request, provider_name(getattr(instance, "_client", None)), sdk)
    call.register_params()
    return call


def _stepping_aside(
    tracer: LastMileTracer, operation: str, register_params: Callable[[], None]
) -> bool:
    """Whether ragtel makes no span of this call (see the module's docstring).

    When another instrumentation records the call, ``register_params`` runs
    if a local span is current.
    """
    if not is_instrumentation_enabled():
        return True
    if not recorded_elsewhere(operation, tracer.name):
        return False
    current = trace.get_current_span()
    if is_local_span(current) and current.is_recording():
        guarded("registering the params of an OpenAI call", register_params, None)
    return True


Starter = Callable[[Any, dict[str, Any]], ClientCall | None]
"""``(resource instance, call kwargs) -> the call's recording, or None to pass through``."""


def sync_wrapper(start: Starter) -> Callable[..., Any]:
    """A wrapt wrapper recording each call of a synchronous SDK method."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call = guarded("starting an OpenAI span", lambda: start(instance, kwargs), None)
        if call is None:
            return wrapped(*args, **kwargs)
        token = guarded("activating an OpenAI span", call.attach, None)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            call.failed(error)
            raise
        finally:
            if token is not None:
                call.detach(token)
        return call.succeeded(result)

    return wrapper


def async_wrapper(start: Starter) -> Callable[..., Any]:
    """A wrapt wrapper recording each call of an asynchronous SDK method."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call = guarded("starting an OpenAI span", lambda: start(instance, kwargs), None)
        if call is None:
            return await wrapped(*args, **kwargs)
        token = guarded("activating an OpenAI span", call.attach, None)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            call.failed(error)
            raise
        finally:
            if token is not None:
                call.detach(token)
        return call.succeeded(result)

    return wrapper
