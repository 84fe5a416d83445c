"""OpenInference compatibility: the same data, also under OpenInference's keys.

Opt-in (``openinference=True`` or ``RAGTEL_OPENINFERENCE=true``). Arize Phoenix
and other OpenInference backends then show their retrieval, rerank, LLM and
embedding views for ragtel's spans. Every function is a pure builder of
extra span attributes; the flattened keys (``retrieval.documents.0.document.id``)
are why providers ragtel creates allow 1,024 attributes per span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from opentelemetry.util.types import AttributeValue

from ragtel._attributes.chunks import ChunkData
from ragtel._encoding.encoder import clean_text
from ragtel._types import RAGEventType
from ragtel.semconv import openinference as oi

Attributes = dict[str, AttributeValue]

SPAN_KINDS: Final = {
    RAGEventType.EMBEDDING: "EMBEDDING",
    RAGEventType.MULTI_EMBEDDING: "EMBEDDING",
    RAGEventType.RETRIEVAL: "RETRIEVER",
    RAGEventType.RERANKING: "RERANKER",
    RAGEventType.TOOL_CALL: "TOOL",
    RAGEventType.GUARDRAIL: "GUARDRAIL",
}
"""OpenInference span kind of each RAG step; any other step is a CHAIN."""

_TEXT: Final = "text/plain"
_JSON: Final = "application/json"


def span_kind(kind: RAGEventType) -> Attributes:
    return {oi.OPENINFERENCE_SPAN_KIND: SPAN_KINDS.get(kind, "CHAIN")}


def io(
    *,
    input: str | None = None,
    output: str | None = None,
    input_json: bool = False,
    output_json: bool = False,
) -> Attributes:
    """``input.value`` / ``output.value``, each with its own mime type."""
    attributes: Attributes = {}
    if input is not None:
        attributes[oi.INPUT_VALUE] = input
        attributes[oi.INPUT_MIME_TYPE] = _JSON if input_json else _TEXT
    if output is not None:
        attributes[oi.OUTPUT_VALUE] = output
        attributes[oi.OUTPUT_MIME_TYPE] = _JSON if output_json else _TEXT
    return attributes


def documents(
    keys: tuple[str, str, str, str],
    chunks: Sequence[ChunkData],
    contents: Sequence[str | None] | None,
    metadata: Sequence[str] | None,
) -> Attributes:
    """Flattened documents: ``<prefix>.{i}.document.id`` / content / score / metadata.

    ``chunks`` are checked chunks (``.id``, ``.score``); ``contents`` and
    ``metadata`` their recorded texts in the same order (``"null"`` metadata
    for a chunk without extras), or None when not recorded.
    """
    id_key, content_key, score_key, metadata_key = keys
    attributes: Attributes = {}
    for index, chunk in enumerate(chunks):
        attributes[id_key.format(i=index)] = chunk.id
        if contents is not None and contents[index] is not None:  # None: given without content
            attributes[content_key.format(i=index)] = contents[index]
        # Input documents given without a score (a rerank's "before" list) carry none.
        if chunk.score is not None:
            attributes[score_key.format(i=index)] = chunk.score
        if metadata is not None and metadata[index] != "null":
            attributes[metadata_key.format(i=index)] = metadata[index]
    return attributes


RETRIEVAL_DOCUMENTS: Final = (
    oi.RETRIEVAL_DOCUMENTS_DOCUMENT_ID,
    oi.RETRIEVAL_DOCUMENTS_DOCUMENT_CONTENT,
    oi.RETRIEVAL_DOCUMENTS_DOCUMENT_SCORE,
    oi.RETRIEVAL_DOCUMENTS_DOCUMENT_METADATA,
)
RERANKER_INPUT: Final = (
    oi.RERANKER_INPUT_DOCUMENTS_DOCUMENT_ID,
    oi.RERANKER_INPUT_DOCUMENTS_DOCUMENT_CONTENT,
    oi.RERANKER_INPUT_DOCUMENTS_DOCUMENT_SCORE,
    oi.RERANKER_INPUT_DOCUMENTS_DOCUMENT_METADATA,
)
RERANKER_OUTPUT: Final = (
    oi.RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_ID,
    oi.RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_CONTENT,
    oi.RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_SCORE,
    oi.RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_METADATA,
)


def reranker(metadata: object, top_k: int, max_length: int) -> Attributes:
    """Reranker attributes; ``metadata`` is the event's, already masked (None if not captured)."""
    attributes: Attributes = {oi.RERANKER_TOP_K: top_k}
    if isinstance(metadata, Mapping):
        for key, target in (("model", oi.RERANKER_MODEL_NAME), ("query", oi.RERANKER_QUERY)):
            if isinstance(metadata.get(key), str):
                attributes[target] = clean_text(metadata[key], max_length)
    return attributes


def embeddings(
    texts: Sequence[str] | None,
    vectors: Sequence[Sequence[float]] | None,
    metadata: object,
    max_length: int,
) -> Attributes:
    """Embedding attributes; ``metadata`` is the event's, already masked (None if not captured)."""
    attributes: Attributes = {}
    if isinstance(metadata, Mapping) and isinstance(metadata.get("model"), str):
        attributes[oi.EMBEDDING_MODEL_NAME] = clean_text(metadata["model"], max_length)
    for index, text in enumerate(texts or ()):
        attributes[oi.EMBEDDING_EMBEDDINGS_EMBEDDING_TEXT.format(i=index)] = text
    for index, vector in enumerate(vectors or ()):
        attributes[oi.EMBEDDING_EMBEDDINGS_EMBEDDING_VECTOR.format(i=index)] = list(vector)
    return attributes


def tool(name: str, arguments: str | None, result: str | None) -> Attributes:
    attributes: Attributes = {
        oi.TOOL_NAME: name,
        **io(input=arguments, output=result, input_json=True, output_json=True),
    }
    if arguments is not None:
        attributes[oi.TOOL_PARAMETERS] = arguments
    return attributes


def llm(
    *,
    model: str,
    provider: str | None,
    invocation_parameters: str | None,
    messages: Sequence[tuple[str | None, str | None]] | None,
    input_text: str | None,
    input_is_json: bool,
    output_text: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
) -> Attributes:
    """LLM attributes; every text given here was already masked, redacted and capped."""
    attributes: Attributes = {oi.OPENINFERENCE_SPAN_KIND: "LLM", oi.LLM_MODEL_NAME: model}
    if provider is not None:
        attributes[oi.LLM_PROVIDER] = provider
    if invocation_parameters is not None:
        attributes[oi.LLM_INVOCATION_PARAMETERS] = invocation_parameters
    if input_tokens is not None:
        attributes[oi.LLM_TOKEN_COUNT_PROMPT] = input_tokens
    if output_tokens is not None:
        attributes[oi.LLM_TOKEN_COUNT_COMPLETION] = output_tokens
    if input_tokens is not None and output_tokens is not None:
        attributes[oi.LLM_TOKEN_COUNT_TOTAL] = input_tokens + output_tokens
    for index, (role, content) in enumerate(messages or ()):
        if role is not None:
            attributes[oi.LLM_INPUT_MESSAGES_MESSAGE_ROLE.format(i=index)] = role
        if content is not None:
            attributes[oi.LLM_INPUT_MESSAGES_MESSAGE_CONTENT.format(i=index)] = content
    if output_text is not None:
        attributes[oi.LLM_OUTPUT_MESSAGES_MESSAGE_ROLE.format(i=0)] = "assistant"
        attributes[oi.LLM_OUTPUT_MESSAGES_MESSAGE_CONTENT.format(i=0)] = output_text
    attributes.update(io(input=input_text, output=output_text, input_json=input_is_json))
    return attributes
