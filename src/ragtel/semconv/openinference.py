# Generated from semconv/dependencies.lock.yaml by semconv/tools/generate.py: do not edit.
"""OpenInference keys, written only in OpenInference compatibility mode.

A key with ``{i}`` takes a list index: ``RETRIEVAL_DOCUMENTS_DOCUMENT_ID.format(i=0)``.
"""

from typing import Final

EMBEDDING_EMBEDDINGS_EMBEDDING_TEXT: Final = "embedding.embeddings.{i}.embedding.text"

EMBEDDING_EMBEDDINGS_EMBEDDING_VECTOR: Final = "embedding.embeddings.{i}.embedding.vector"

EMBEDDING_MODEL_NAME: Final = "embedding.model_name"

INPUT_MIME_TYPE: Final = "input.mime_type"

INPUT_VALUE: Final = "input.value"

LLM_INPUT_MESSAGES_MESSAGE_CONTENT: Final = "llm.input_messages.{i}.message.content"

LLM_INPUT_MESSAGES_MESSAGE_ROLE: Final = "llm.input_messages.{i}.message.role"

LLM_INVOCATION_PARAMETERS: Final = "llm.invocation_parameters"

LLM_MODEL_NAME: Final = "llm.model_name"

LLM_OUTPUT_MESSAGES_MESSAGE_CONTENT: Final = "llm.output_messages.{i}.message.content"

LLM_OUTPUT_MESSAGES_MESSAGE_ROLE: Final = "llm.output_messages.{i}.message.role"

LLM_PROVIDER: Final = "llm.provider"

LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"

LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"

LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"

OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"

OUTPUT_MIME_TYPE: Final = "output.mime_type"

OUTPUT_VALUE: Final = "output.value"

RERANKER_INPUT_DOCUMENTS_DOCUMENT_CONTENT: Final = "reranker.input_documents.{i}.document.content"

RERANKER_INPUT_DOCUMENTS_DOCUMENT_ID: Final = "reranker.input_documents.{i}.document.id"

RERANKER_INPUT_DOCUMENTS_DOCUMENT_METADATA: Final = "reranker.input_documents.{i}.document.metadata"

RERANKER_INPUT_DOCUMENTS_DOCUMENT_SCORE: Final = "reranker.input_documents.{i}.document.score"

RERANKER_MODEL_NAME: Final = "reranker.model_name"

RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_CONTENT: Final = "reranker.output_documents.{i}.document.content"

RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_ID: Final = "reranker.output_documents.{i}.document.id"

RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_METADATA: Final = "reranker.output_documents.{i}.document.metadata"

RERANKER_OUTPUT_DOCUMENTS_DOCUMENT_SCORE: Final = "reranker.output_documents.{i}.document.score"

RERANKER_QUERY: Final = "reranker.query"

RERANKER_TOP_K: Final = "reranker.top_k"

RETRIEVAL_DOCUMENTS_DOCUMENT_CONTENT: Final = "retrieval.documents.{i}.document.content"

RETRIEVAL_DOCUMENTS_DOCUMENT_ID: Final = "retrieval.documents.{i}.document.id"

RETRIEVAL_DOCUMENTS_DOCUMENT_METADATA: Final = "retrieval.documents.{i}.document.metadata"

RETRIEVAL_DOCUMENTS_DOCUMENT_SCORE: Final = "retrieval.documents.{i}.document.score"

TOOL_NAME: Final = "tool.name"

TOOL_PARAMETERS: Final = "tool.parameters"
