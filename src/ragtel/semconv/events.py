# Generated from semconv/model by semconv/tools/generate.py: do not edit.
"""Event names of the ragtel semantic convention.

Reference: semconv/docs/events.md in the source tree.
"""

from typing import Final

RAGTEL_TRACE_EVENT: Final = "ragtel.trace"
"""The input and output of a whole RAG flow; at most one per trace, on its local root."""

RAGTEL_SPAN_EVENT: Final = "ragtel.span"
"""The input and output of one step; at most one per span."""

RAGTEL_CHUNKING_EVENT: Final = "ragtel.chunking"
"""A document was split into chunks."""

RAGTEL_EMBEDDING_EVENT: Final = "ragtel.embedding"
"""Embeddings were computed."""

RAGTEL_QUERY_REWRITE_EVENT: Final = "ragtel.query_rewrite"
"""A query was rewritten or decomposed into sub-queries."""

RAGTEL_RETRIEVAL_EVENT: Final = "ragtel.retrieval"
"""Chunks were retrieved for a query."""

RAGTEL_RERANK_EVENT: Final = "ragtel.rerank"
"""Retrieved chunks were reordered."""

RAGTEL_TOOL_CALL_EVENT: Final = "ragtel.tool_call"
"""A tool was called."""

RAGTEL_QUERY_EVENT: Final = "ragtel.query"
"""A query was answered."""

RAGTEL_PROMPT_COMPOSITION_EVENT: Final = "ragtel.prompt_composition"
"""A prompt was composed from its parts (the query, retrieved context, examples)."""

RAGTEL_TEMPLATE_EVENT: Final = "ragtel.template"
"""A prompt template was filled in."""

RAGTEL_SYNTHESIZE_EVENT: Final = "ragtel.synthesize"
"""An answer was synthesized from retrieved data."""

RAGTEL_LOG_EVENT: Final = "ragtel.log"
"""A log record written by the tracer's log() API: its body is the repr of the logged data."""

GEN_AI_EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
"""Feedback on a span that is still running, recorded on it as the GenAI evaluation result."""
