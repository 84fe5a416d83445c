"""Pure readers of LlamaIndex objects: what ragtel records of nodes, messages, responses, settings.

Each function takes LlamaIndex values and returns plain data for ragtel's
event and ParamSet APIs. None of them touches a span, and none of them
consumes anything: a streamed response is never read here, since reading it
would take the answer away from the application.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    PydanticResponse,
    StreamingResponse,
)
from llama_index.core.schema import BaseNode, MetadataMode, NodeWithScore, QueryBundle

from ragtel._documents import Chunk, Document, RetrievedChunk

_UNNAMED_MODEL: Final = "unknown"
"""The model name LlamaIndex reports when an LLM or embedding model has none."""

LLM_SETTINGS: Final = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "max_new_tokens",
    "max_completion_tokens",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "stop",
    "reasoning_effort",
)
"""LLM settings recorded as generation params; an allowlist, since LLM objects also hold keys."""

# Integration packages (llama-index-llms-*) and the GenAI provider name of each.
_PROVIDERS: Final = (
    ("llama_index.llms.azure_openai", "azure.ai.openai"),
    ("llama_index.llms.openai", "openai"),
    ("llama_index.llms.anthropic", "anthropic"),
    ("llama_index.llms.bedrock", "aws.bedrock"),
    ("llama_index.llms.gemini", "gcp.gemini"),
    ("llama_index.llms.google_genai", "gcp.gen_ai"),
    ("llama_index.llms.vertex", "gcp.vertex_ai"),
    ("llama_index.llms.mistralai", "mistral_ai"),
    ("llama_index.llms.groq", "groq"),
    ("llama_index.llms.cohere", "cohere"),
    ("llama_index.llms.deepseek", "deepseek"),
    ("llama_index.llms.perplexity", "perplexity"),
    ("llama_index.llms.ibm", "ibm.watsonx.ai"),
    ("llama_index.llms.xai", "x_ai"),
)


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None


def span_identity(id_: str) -> tuple[str, str]:
    """``("Class.method", "method")`` of a LlamaIndex span id (``"Class.method-<uuid4>"``)."""
    qualified = id_.partition("-")[0] or id_
    return qualified, qualified.rpartition(".")[2]


def model_name(instance: Any) -> str:
    """The model an LLM or embedding object names, else its class name.

    LlamaIndex reports ``"unknown"`` for objects without one (its mocks, most
    custom LLMs): the class says more than that.
    """
    metadata = getattr(instance, "metadata", None)
    name = getattr(metadata, "model_name", None) or getattr(instance, "model_name", None)
    return known_model(name) or type(instance).__name__


def known_model(name: Any) -> str | None:
    """``name`` if it names a model: LlamaIndex says ``"unknown"`` for none."""
    return name if isinstance(name, str) and name and name != _UNNAMED_MODEL else None


def provider_name(instance: Any) -> str | None:
    """The GenAI provider of an LLM object, from its integration package."""
    module = type(instance).__module__
    for package, provider in _PROVIDERS:
        if module == package or module.startswith(package + "."):
            return provider
    return None


def llm_settings(instance: Any, call_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The generation settings of an LLM call: the object's, then its extra kwargs, then the call's.

    Only the settings in :data:`LLM_SETTINGS` are read, and only plain values
    (numbers, text, lists of text): an LLM object also holds API keys and clients.
    """
    settings: dict[str, Any] = {}
    sources: list[Mapping[str, Any]] = []
    sources.append({key: getattr(instance, key, None) for key in LLM_SETTINGS})
    extra = getattr(instance, "additional_kwargs", None)
    if isinstance(extra, Mapping):
        sources.append(extra)
    if call_kwargs:
        sources.append(call_kwargs)
    for source in sources:
        for key in LLM_SETTINGS:
            value = source.get(key)
            if _is_setting_value(value):
                settings[key] = list(value) if isinstance(value, (list, tuple)) else value
    return settings


def _is_setting_value(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, str)):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def chat_messages(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """LlamaIndex ``ChatMessage`` objects as ``{"role", "content"}`` dicts."""
    converted = []
    for message in messages:
        role = getattr(message, "role", None)
        converted.append(
            {
                "role": getattr(role, "value", role),
                "content": _message_text(message),
            }
        )
    return converted


def _message_text(message: Any) -> str | None:
    content = getattr(message, "content", None)  # the text blocks of a message, joined
    return content if isinstance(content, str) else None


def chat_output(response: Any) -> str | None:
    """The text of a ``ChatResponse``."""
    message = getattr(response, "message", None)
    return _message_text(message) if message is not None else None


def completion_output(response: Any) -> str | None:
    """The text of a ``CompletionResponse``."""
    text = getattr(response, "text", None)
    return text if isinstance(text, str) else None


def stream_delta(response: Any) -> str | None:
    """The new text of one streamed chat or completion response."""
    delta = getattr(response, "delta", None)
    return delta if isinstance(delta, str) else None


def token_usage(response: Any) -> TokenUsage:
    """Token counts of a chat or completion response, when the integration reports them.

    Read from ``response.additional_kwargs`` (``prompt_tokens``,
    ``completion_tokens``), else from the provider's raw response ``usage``
    (OpenAI and Anthropic shapes, dict or object).
    """
    extra = getattr(response, "additional_kwargs", None)
    extra = extra if isinstance(extra, Mapping) else {}
    raw = getattr(response, "raw", None)
    usage = raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None)
    input_tokens = _count(extra.get("prompt_tokens"))
    output_tokens = _count(extra.get("completion_tokens"))
    cached = None
    if usage is not None:
        if input_tokens is None:
            input_tokens = _count(_field(usage, "prompt_tokens", "input_tokens"))
        if output_tokens is None:
            output_tokens = _count(_field(usage, "completion_tokens", "output_tokens"))
        details = _field(usage, "prompt_tokens_details")
        cached = _count(
            _field(details, "cached_tokens")
            if details is not None
            else _field(usage, "cache_read_input_tokens")
        )
    return TokenUsage(input_tokens, output_tokens, cached)


def _field(value: Any, *names: str) -> Any:
    for name in names:
        found = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
        if found is not None:
            return found
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def query_text(query: Any) -> str | None:
    """The text of a LlamaIndex query (a string or a ``QueryBundle``)."""
    if isinstance(query, str):
        return query
    if isinstance(query, QueryBundle):
        return query.query_str
    return None


def response_text(response: Any) -> str | None:
    """The answer of a query engine or synthesizer response, without consuming a stream.

    A streamed response has text only once the application read it all;
    before that this returns None.
    """
    if isinstance(response, str):
        return response
    if isinstance(response, (StreamingResponse, AsyncStreamingResponse)):
        return response.response_txt  # str() would drain the stream
    if isinstance(response, PydanticResponse):
        model = response.response
        return model.model_dump_json() if model is not None else None
    text = getattr(response, "response", None)
    return text if isinstance(text, str) else None


def retrieved_chunks(nodes: Iterable[Any]) -> list[RetrievedChunk]:
    """Scored nodes as ragtel chunks; a node without a score gets NaN, so ids and scores align."""
    chunks = []
    for item in nodes:
        node = item.node if isinstance(item, NodeWithScore) else item
        score = item.score if isinstance(item, NodeWithScore) else None
        chunks.append(
            RetrievedChunk(
                node.node_id,
                _node_text(node),
                extras=dict(node.metadata) or None,
                retrieval_score=float(score) if score is not None else math.nan,
            )
        )
    return chunks


def chunk_ids(nodes: Iterable[Any]) -> list[str]:
    return [(item.node if isinstance(item, NodeWithScore) else item).node_id for item in nodes]


def _node_text(node: BaseNode) -> str:
    return node.get_content(metadata_mode=MetadataMode.NONE)


def chunked_documents(
    documents: Sequence[Any], nodes: Sequence[Any]
) -> list[tuple[Document, list[Chunk]]]:
    """Each parsed document with the chunks a node parser made of it, in document order.

    A chunk belongs to the document its source relationship names (LlamaIndex's
    ``ref_doc_id``); chunks of a source that is not among the inputs are
    grouped under that source's id.
    """
    by_source: dict[str, list[Chunk]] = {}
    for node in nodes:
        if not isinstance(node, BaseNode):
            continue
        source = node.ref_doc_id or node.node_id
        by_source.setdefault(source, []).append(Chunk(node.node_id, _node_text(node)))
    groups = []
    for document in documents:
        if not isinstance(document, BaseNode):
            continue
        groups.append((_document(document), by_source.pop(document.node_id, [])))
    groups.extend((Document(source), chunks) for source, chunks in by_source.items())
    return groups


def _document(node: BaseNode) -> Document:
    metadata = dict(node.metadata)
    name = metadata.get("file_name")
    return Document(
        node.node_id, name=name if isinstance(name, str) else None, extras=metadata or None
    )


def int_setting(instance: Any, name: str) -> int | None:
    """An int setting of a LlamaIndex object (chunk_size, top_n...), or None."""
    value = getattr(instance, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def float_setting(instance: Any, name: str) -> float | None:
    """A number setting of a LlamaIndex object (a similarity cutoff...), or None."""
    value = getattr(instance, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def str_setting(instance: Any, name: str) -> str | None:
    value = getattr(instance, name, None)
    return value if isinstance(value, str) and value else None


def is_live_stream(result: Any) -> bool:
    """Whether a call returned a generator that has not run to its end yet."""
    if inspect.isgenerator(result):
        return result.gi_frame is not None
    if inspect.isasyncgen(result):
        return result.ag_frame is not None
    return False
