# Generated from semconv/model by semconv/tools/generate.py: do not edit.
"""Attribute keys of the ragtel semantic convention (``ragtel.*``).

Reference: semconv/docs/attributes.md in the source tree. The values of
enumerated attributes are in :mod:`ragtel.semconv.attribute_values`.
"""

from typing import Final

RAGTEL_CHUNK_CONTENTS: Final = "ragtel.chunk.contents"
"""The chunks' text, in the same order as ragtel.chunk.ids, each capped."""

RAGTEL_CHUNK_COUNT: Final = "ragtel.chunk.count"
"""How many chunks the step produced or returned."""

RAGTEL_CHUNK_EXTRAS: Final = "ragtel.chunk.extras"
"""Each chunk's extras as JSON, in the same order as ragtel.chunk.ids; \"null\" for a chunk without extras."""

RAGTEL_CHUNK_IDS: Final = "ragtel.chunk.ids"
"""The ids of the chunks, in order."""

RAGTEL_CHUNK_SCORES: Final = "ragtel.chunk.scores"
"""The chunks' scores, in the same order as ragtel.chunk.ids."""

RAGTEL_DOCUMENT_CONTENT: Final = "ragtel.document.content"
"""The text of the document being chunked, capped."""

RAGTEL_DOCUMENT_EXTRAS: Final = "ragtel.document.extras"
"""The extras of the document being chunked, as JSON."""

RAGTEL_DOCUMENT_ID: Final = "ragtel.document.id"
"""The id of the document being chunked."""

RAGTEL_DOCUMENT_NAME: Final = "ragtel.document.name"
"""The name of the document being chunked."""

RAGTEL_EMBEDDING_COUNT: Final = "ragtel.embedding.count"
"""How many embeddings were computed."""

RAGTEL_EMBEDDING_DIMENSIONS: Final = "ragtel.embedding.dimensions"
"""The dimension of the embeddings."""

RAGTEL_EMBEDDING_VECTORS: Final = "ragtel.embedding.vectors"
"""The embedding vectors as JSON, rounded and capped; recorded only when enabled."""

RAGTEL_EVENT_DATA: Final = "ragtel.event.data"
"""Free event data of a generic span event, as JSON."""

RAGTEL_EVENT_METADATA: Final = "ragtel.event.metadata"
"""Metadata given with the event, as JSON."""

RAGTEL_EVENT_NAME: Final = "ragtel.event.name"
"""A name given to the event, to tell apart several events of one kind."""

RAGTEL_FEEDBACK_ANNOTATOR: Final = "ragtel.feedback.annotator"
"""Who gave the feedback."""

RAGTEL_FEEDBACK_CATEGORIES: Final = "ragtel.feedback.categories"
"""The categories a categorical value was chosen from."""

RAGTEL_FEEDBACK_KIND: Final = "ragtel.feedback.kind"
"""The kind of feedback."""

RAGTEL_FEEDBACK_METADATA: Final = "ragtel.feedback.metadata"
"""Metadata given with the feedback, as JSON."""

RAGTEL_FEEDBACK_SCALE_MAX: Final = "ragtel.feedback.scale.max"
"""The highest value of a numeric feedback's scale."""

RAGTEL_FEEDBACK_SCALE_MIN: Final = "ragtel.feedback.scale.min"
"""The lowest value of a numeric feedback's scale."""

RAGTEL_FEEDBACK_SCOPE: Final = "ragtel.feedback.scope"
"""What the feedback judges."""

RAGTEL_FEEDBACK_TARGET_SPAN_ID: Final = "ragtel.feedback.target.span_id"
"""The span id of the judged span (the root, for feedback about a trace), as 16 lowercase hex digits. The carrier's parent and link point at the same span, and the judged trace is the carrier's own."""

RAGTEL_FEEDBACK_VALUE_BINARY: Final = "ragtel.feedback.value.binary"
"""A binary feedback value; true is positive."""

RAGTEL_FEEDBACK_VALUE_NUMERIC: Final = "ragtel.feedback.value.numeric"
"""A numeric feedback value, as given, on any finite scale."""

RAGTEL_FEEDBACK_VALUE_TEXT: Final = "ragtel.feedback.value.text"
"""The chosen category, the text, or the JSON of a feedback value."""

RAGTEL_IMAGE_DATA: Final = "ragtel.image.data"
"""The generated image inline, base64-encoded and capped; heavy, prefer ragtel.image.url."""

RAGTEL_IMAGE_FORMAT: Final = "ragtel.image.format"
"""The format of the inline image data."""

RAGTEL_IMAGE_PARAMS: Final = "ragtel.image.params"
"""The image generation parameters, as JSON."""

RAGTEL_IMAGE_URL: Final = "ragtel.image.url"
"""Where the generated image is."""

RAGTEL_IMAGE_URL_TYPE: Final = "ragtel.image.url_type"
"""Whether the image URL lasts."""

RAGTEL_INPUT: Final = "ragtel.input"
"""The operation's input as JSON; for a decorated function, its bound arguments by name."""

RAGTEL_LLM_COST: Final = "ragtel.llm.cost"
"""The cost of the call, in US dollars, as reported or computed by the application."""

RAGTEL_LLM_LATENCY: Final = "ragtel.llm.latency"
"""The latency of the call in seconds, when it differs from the span's duration."""

RAGTEL_LLM_STREAM_CHUNK_COUNT: Final = "ragtel.llm.stream.chunk_count"
"""How many chunks a streamed response arrived in."""

RAGTEL_LLM_STREAM_CHUNKS: Final = "ragtel.llm.stream.chunks"
"""The text of a streamed response's chunks, in order (capped); ragtel.output holds the whole text."""

RAGTEL_LOG_DATA_TYPE: Final = "ragtel.log.data_type"
"""The Python type of the logged data (qualified by its module unless a builtin)."""

RAGTEL_METADATA_PREFIX: Final = "ragtel.metadata."
"""Template ``ragtel.metadata.<key>``: One entry of free metadata of the trace, ragtel.metadata.<key>."""

RAGTEL_OUTPUT: Final = "ragtel.output"
"""The operation's output; text as it is, any other value as JSON."""

RAGTEL_PARAM_PREFIX: Final = "ragtel.param."
"""Template ``ragtel.param.<key>``: One ParamSet entry, ragtel.param.<key>, on the trace's local root span."""

RAGTEL_PARAM_SET_REMOVED: Final = "ragtel.param_set.removed"
"""Keys removed from the ParamSet after they were recorded on the root span."""

RAGTEL_PROJECT_ID: Final = "ragtel.project.id"
"""The id of the project the trace belongs to."""

RAGTEL_PROJECT_NAME: Final = "ragtel.project.name"
"""The project the trace belongs to, as given to get_lastmile_tracer."""

RAGTEL_PROMPT_COMPONENTS: Final = "ragtel.prompt.components"
"""The parts a prompt was composed from (query, context, examples), as JSON."""

RAGTEL_PROMPT_RESOLVED: Final = "ragtel.prompt.resolved"
"""The prompt as sent to the model, its template filled in or its parts composed."""

RAGTEL_PROMPT_TEMPLATE: Final = "ragtel.prompt.template"
"""A prompt template before its variables were filled in."""

RAGTEL_QUERY: Final = "ragtel.query"
"""The query of a retrieval, rewrite or answer step."""

RAGTEL_RAG_FLOW_INGESTION_TRACE_ID: Final = "ragtel.rag_flow.ingestion_trace_id"
"""The trace id (32 lowercase hex digits) of the ingestion trace a query trace reads from."""

RAGTEL_RAG_FLOW_TYPE: Final = "ragtel.rag_flow.type"
"""Which RAG pipeline the trace belongs to."""

RAGTEL_RERANK_INPUT_IDS: Final = "ragtel.rerank.input_ids"
"""The ids of the chunks before reranking, in their retrieved order."""

RAGTEL_RESPONSE: Final = "ragtel.response"
"""The answer of a query step."""

RAGTEL_REWRITTEN_QUERIES: Final = "ragtel.rewritten_queries"
"""The rewritten query, or the sub-queries it was decomposed into."""

RAGTEL_SPAN_KIND: Final = "ragtel.span.kind"
"""The RAG step a span performs."""

RAGTEL_SPAN_TYPE: Final = "ragtel.span.type"
"""The span type the caller gave, as given, when it is not a ragtel.span.kind value."""

RAGTEL_SYSTEM_PROMPT: Final = "ragtel.system_prompt"
"""The system prompt of a query step."""

RAGTEL_TAGS: Final = "ragtel.tags"
"""Free-form tags of the trace."""

RAGTEL_UPDATE_IGNORED_KEYS: Final = "ragtel.update.ignored_keys"
"""Keys given to update_span that ragtel does not know and did not apply."""
