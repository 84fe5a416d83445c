"""``OpenAIInstrumentor``: the OpenAI Python SDK's chat and embeddings calls, recorded.

::

    from ragtel.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=provider)

Each ``chat.completions.create`` call (sync or async, streamed or not) is a
CLIENT span ``chat <model>`` recorded with ``log_llm_call`` — the GenAI
request, response and usage attributes, the messages and the answer — plus a
``ragtel.query`` event (the last user message and the first choice's answer).
Its model and settings (temperature, top_p, max_tokens...) join the trace's
ParamSet as ``generation.<setting>``. Each ``embeddings.create`` call is a
CLIENT span ``embeddings <model>`` with a ``ragtel.embedding`` event, and
registers ``embedding.model`` (and ``embedding.dimensions`` when asked for).

When another instrumentation makes the call's LLM span — an OpenAI
instrumentor of OpenInference, OpenLLMetry or OpenTelemetry (``openai_v2``)
is active, or the model-call span of ragtel's LangChain or LlamaIndex
instrumentor is current — ragtel makes no span and records no event: it only
registers the call's params in the ParamSet of the trace that is current.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation._base import Patches, RagtelInstrumentor
from ragtel.instrumentation.openai.calls import SdkTypes
from ragtel.instrumentation.openai.wrappers import (
    async_wrapper,
    start_chat,
    start_embeddings,
    sync_wrapper,
)

__all__ = ["OpenAIInstrumentor"]

_SUPPORTED = ("openai >= 1.40.0, < 4",)
"""Tested with 1.40.0, 1.109.1, 2.54.0 and 3.52.0."""


class OpenAIInstrumentor(RagtelInstrumentor):
    """Records the OpenAI SDK's chat completions and embeddings as GenAI spans with RAG events."""

    scope_name = __name__  # ragtel.instrumentation.openai

    def instrumentation_dependencies(self) -> Collection[str]:
        return _SUPPORTED

    def _patch(self, tracer: LastMileTracer, patches: Patches, **kwargs: Any) -> None:
        import openai
        from openai.resources.chat.completions import AsyncCompletions, Completions
        from openai.resources.embeddings import AsyncEmbeddings, Embeddings

        sdk = SdkTypes(
            stream=openai.Stream, async_stream=openai.AsyncStream, raw_response=_raw_response()
        )

        def chat(instance: Any, call_kwargs: dict[str, Any]) -> Any:
            return start_chat(tracer, instance, call_kwargs, sdk)

        def embeddings(instance: Any, call_kwargs: dict[str, Any]) -> Any:
            return start_embeddings(tracer, instance, call_kwargs, sdk)

        patches.wrap(Completions, "create", sync_wrapper(chat))
        patches.wrap(AsyncCompletions, "create", async_wrapper(chat))
        patches.wrap(Embeddings, "create", sync_wrapper(embeddings))
        patches.wrap(AsyncEmbeddings, "create", async_wrapper(embeddings))


def _raw_response() -> type[Any] | None:
    """The SDK's ``with_raw_response`` result class (a private module, so looked up with care)."""
    try:
        from openai._legacy_response import LegacyAPIResponse
    except ImportError:
        return None
    return LegacyAPIResponse
