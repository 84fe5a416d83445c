"""Fuzzing the RAG event helpers (see ``fuzz_contract``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, span_argument
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported
from ragtel import LastMileTracer, RAGEventType


def event_kwargs(arguments: Arguments, tracer: LastMileTracer) -> dict[str, Any]:
    """``metadata``, ``name`` and ``span``, which every event helper takes."""
    return {
        "metadata": arguments.aside(st.one_of(st.none(), fs.anything), "metadata"),
        "name": arguments.draw("name", fs.optional_text),
        "span": span_argument(arguments, tracer),
    }


@fuzz_settings()
@given(data=st.data())
def test_chunking_and_embedding_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        if arguments.aside(st.booleans(), "chunking"):
            document = arguments.draw("input_document", st.one_of(st.none(), fs.documents))
            chunks = arguments.draw("output_chunks", st.lists(fs.chunks(scored=False), max_size=4))
            common = event_kwargs(arguments, tracer)
            call(
                "log_chunking_event",
                arguments,
                lambda: tracer.log_chunking_event(document, chunks, **common),
            )
        else:
            vectors = st.lists(st.floats(), max_size=4)
            embeddings = arguments.draw(
                "embeddings",
                st.one_of(st.lists(vectors, max_size=3), st.lists(vectors, max_size=3).map(tuple)),
            )
            texts = arguments.aside(st.one_of(st.none(), fs.anything), "data")
            common = event_kwargs(arguments, tracer)
            call(
                "log_embedding_event",
                arguments,
                lambda: tracer.log_embedding_event(embeddings, texts, **common),
            )


@fuzz_settings()
@given(data=st.data())
def test_retrieval_and_rerank_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        if arguments.aside(st.booleans(), "retrieval"):
            query = arguments.draw("query", fs.text)
            retrieved = arguments.draw(
                "retrieved_data", st.lists(fs.chunks(scored=True), max_size=5)
            )
            common = event_kwargs(arguments, tracer)
            call(
                "log_retrieval_event",
                arguments,
                lambda: tracer.log_retrieval_event(query, retrieved, **common),
            )
        else:
            before = arguments.draw("retrieved", st.lists(fs.chunks(scored=False), max_size=5))
            ids = [] if "retrieved" in arguments.wild else [_chunk_id(chunk) for chunk in before]
            # Valid reranked chunks carry ids out of the retrieved ones.
            reranked = arguments.draw(
                "reranked",
                st.lists(
                    st.builds(
                        lambda chunk_id, score: {"id": chunk_id, "score": score},
                        st.sampled_from(ids) if ids else st.nothing(),
                        fs.scores,
                    ),
                    max_size=len(ids),
                )
                if ids
                else st.just([]),
            )
            common = event_kwargs(arguments, tracer)
            call(
                "log_rerank_event",
                arguments,
                lambda: tracer.log_rerank_event(before, reranked, **common),
            )


def _chunk_id(chunk: Any) -> Any:
    return chunk["id"] if isinstance(chunk, dict) else chunk.id


@fuzz_settings()
@given(data=st.data())
def test_query_and_tool_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        which = arguments.aside(st.sampled_from(["rewrite", "query", "tool"]), "event")
        if which == "rewrite":
            query = arguments.draw("query", fs.text)
            rewritten = arguments.draw("rewritten_query", st.one_of(fs.text, fs.str_lists))
            common = event_kwargs(arguments, tracer)
            call(
                "log_query_rewrite_event",
                arguments,
                lambda: tracer.log_query_rewrite_event(query, rewritten, **common),
            )
        elif which == "query":
            query = arguments.draw("query", fs.text)
            response = arguments.draw("response", st.one_of(fs.text, fs.str_lists))
            system_prompt = arguments.draw("system_prompt", fs.optional_text)
            common = event_kwargs(arguments, tracer)
            call(
                "log_query_event",
                arguments,
                lambda: tracer.log_query_event(query, response, system_prompt, **common),
            )
        else:
            tool = arguments.draw("tool", fs.text)
            tool_args = arguments.aside(fs.anything, "tool_args")
            tool_result = arguments.aside(fs.anything, "tool_result")
            common = event_kwargs(arguments, tracer)
            call(
                "log_tool_call_event",
                arguments,
                lambda: tracer.log_tool_call_event(tool, tool_args, tool_result, **common),
            )


@fuzz_settings()
@given(data=st.data())
def test_trace_and_span_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        given_input = arguments.aside(fs.anything, "input")
        given_output = arguments.aside(fs.anything, "output")
        if arguments.aside(st.booleans(), "trace event"):
            metadata = arguments.aside(fs.anything, "metadata")
            # Once per trace: each example runs in a trace of its own (or none).
            call(
                "log_trace_event",
                arguments,
                lambda: tracer.log_trace_event(given_input, given_output, metadata),
            )
        else:
            event_data = arguments.aside(fs.anything, "event_data")
            kind = arguments.draw(
                "event_kind", st.one_of(st.sampled_from(RAGEventType), st.just("retrieval"))
            )
            name = arguments.draw("name", fs.optional_text)
            span = span_argument(arguments, tracer)
            call(
                "log_span_event",
                arguments,
                lambda: tracer.log_span_event(
                    given_input, given_output, event_data, kind, name, span
                ),
            )
