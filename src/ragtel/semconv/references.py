# Generated from semconv/model by semconv/tools/generate.py: do not edit.
"""Keys of other OpenTelemetry conventions that ragtel records (referenced, not redefined).

``gen_ai.*`` keys follow the OpenTelemetry GenAI conventions at the version named
in semconv/manifest.yaml; the others, the general OpenTelemetry registry.
"""

from typing import Final

ERROR_TYPE: Final = "error.type"

GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"

GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"

GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"

GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"

GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"

GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"

GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"

GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"

GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"

GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"

GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"

GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"

GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"

GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"

GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"

GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"

GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"

GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"

GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"

GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"

GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"

GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"

GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"

GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"

GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"

SESSION_ID: Final = "session.id"

USER_ID: Final = "user.id"
