"""Fuzzing the tracer's spans (``start_span``, ``start_as_current_span``), and a check that
every public API has a fuzz test (see ``fuzz_contract`` for the rules they follow).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.trace import SpanKind

import fuzz_strategies as fs
import ragtel
from fuzz_arguments import maybe_in_span, otel_attributes, otel_names, valid_contexts
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported
from ragtel import LastMileTracer


@fuzz_settings()
@given(data=st.data())
def test_start_span(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        options = {
            "context": arguments.draw("context", st.one_of(st.none(), valid_contexts())),
            "kind": arguments.aside(st.sampled_from(SpanKind), "kind"),
            "attributes": arguments.aside(st.one_of(st.none(), otel_attributes), "attributes"),
            "session_id": arguments.draw("session_id", st.one_of(st.none(), fs.text.filter(bool))),
            "user_id": arguments.draw("user_id", st.one_of(st.none(), fs.text.filter(bool))),
            "tags": arguments.draw("tags", st.one_of(st.none(), fs.str_lists)),
            "metadata": arguments.draw(
                "metadata",
                st.one_of(st.none(), st.dictionaries(fs.param_keys, fs.anything, max_size=3)),
            ),
        }
        name = arguments.aside(otel_names, "name")
        if arguments.aside(st.booleans(), "as current"):

            def start() -> None:
                with tracer.start_as_current_span(name, **options):
                    tracer.start_span("app child").end()

        else:

            def start() -> None:
                tracer.start_span(name, **options).end()

        call("start_span", arguments, start)


# Coverage of the public surface ---------------------------------------------------------------

COVERED_METHODS = frozenset(
    {
        "start_span",
        "start_as_current_span",
        "trace_function",
        "atrace_function",
        "get_traceparent",
        "serialize_span_context",
        "get_distributed_trace_headers",
        "export_span",
        "get_trace_id",
        "get_span_id",
        "store_trace_id",
        "read_trace_id",
        "log",
        "register_param",
        "register_params",
        "get_params",
        "clear_params",
        "register_document_preprocess_params",
        "register_embedding_params",
        "register_query_processing_params",
        "register_retrieval_params",
        "register_generation_params",
        "register_query_model",
        "register_query_temperature",
        "register_query_top_p",
        "register_ingestion_chunk_size",
        "register_retrieval_top_k",
        "using_attributes",
        "using_session",
        "using_user",
        "using_tags",
        "using_metadata",
        "log_trace_event",
        "log_span_event",
        "log_chunking_event",
        "log_embedding_event",
        "log_query_rewrite_event",
        "log_retrieval_event",
        "log_rerank_event",
        "log_tool_call_event",
        "log_query_event",
        "log_prompt_composition_event",
        "log_template_event",
        "log_synthesize_event",
        "add_rag_event_for_span",
        "add_rag_event_for_trace",
        "set_rag_flow_type",
        "log_llm_call",
        "log_image_generation",
        "log_image_output",
        "log_feedback",
        "log_binary_feedback",
        "log_numeric_feedback",
        "log_categorical_feedback",
        "log_text_feedback",
        "record_input",
        "record_output",
        "set_token_usage",
        "add_tags",
        "mark_failed",
        "update_span",
        "record_span",
    }
)
# Lifecycle and read-only members: they take no user data (flush timeouts are
# exercised by every test above).
NOT_FUZZED = frozenset(
    {
        "name",
        "tracer_provider",
        "output_filepaths",
        "force_flush",
        "flush",
        "shutdown",
        "dropped_span_count",
    }
)
COVERED_EXPORTS = frozenset(
    {
        "get_lastmile_tracer",
        "traced",
        "get_traceparent",
        "serialize_span_context",
        "get_distributed_trace_headers",
        "export_span",
        "get_trace_id",
        "get_span_id",
        "store_trace_id",
        "read_trace_id",
        "trace_id_from_request_id",
        "context_from_request_id",
        # Types, used as arguments throughout.
        "LastMileTracer",
        "Chunk",
        "Document",
        "RetrievedChunk",
        "RAGEventType",
        "RagFlowType",
        "__version__",
    }
)


def test_every_public_api_is_fuzzed() -> None:
    public = {name for name in dir(LastMileTracer) if not name.startswith("_")}
    assert public - COVERED_METHODS - NOT_FUZZED == set(), "new tracer methods need fuzzing"
    assert set(ragtel.__all__) - COVERED_EXPORTS == set(), "new exports need fuzzing"
