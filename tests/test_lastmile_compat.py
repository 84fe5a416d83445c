"""LastMile's tracing SDK reference, run on ragtel with only the import changed.

Part one runs every code example of LastMile's "Tracing SDK" reference page
as printed there; part two calls every documented signature of that page the
way it is documented (positional forms included) where the page gives no
example. Each runs in a process of its own, its import line changed from
``lastmile_eval.rag.debugger.tracing`` to ``ragtel`` and nothing else; the test
reads back the OTLP JSON Lines file it wrote and checks that the data is where
LastMile's docs put it: the param on the trace's root, the event's content on
its span, the feedback on the right trace and span.

The reference page lost its indentation; it is restored. Where an example is
incomplete as printed (``...``, names it never defines, a function it never
calls), the lines added are marked ``# completed:`` with what they add; the
documented calls themselves are never changed. The calls LastMile documents
outside that page (0.0.81: set_rag_flow_type, store_trace_id/read_trace_id,
add_rag_event_for_span/trace and three more events) are checked the same way.

The module is longer than most because it follows one reference page call by
call and most of its lines are the examples' own text; split, the page could
no longer be checked against it top to bottom.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lastmile_compat_run import Recorded, run_example

pytestmark = pytest.mark.integration

# The first example's set-up, as printed, for the examples that continue it.
TRACER_SETUP = """
from opentelemetry import trace as trace_api
from ragtel import get_lastmile_tracer
# completed: the annotation's class, which the example never imports
from ragtel import LastMileTracer

tracer: LastMileTracer = get_lastmile_tracer(
    tracer_name="<my-tracer-name>",
    lastmile_api_token="<my-api-token>"
)
"""


def _params_on_root(recorded: Recorded, root_name: str) -> dict[str, object]:
    root = recorded.span(root_name)
    trace = recorded.trace_of(root)
    assert trace.root is not None and trace.root.span_id == root.span_id
    return trace.params


# Part one: the page's examples --------------------------------------------------------------


def test_start_as_current_span_as_context_manager_and_decorator(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        TRACER_SETUP
        + """
# Context Manager
with tracer.start_as_current_span("my-span") as span:
    span.set_attribute("<my-key>", "<my-value>")

# Decorator
@tracer.start_as_current_span("my-span")
def my_function():
    span = trace_api.get_current_span()
    span.set_attribute("<my-key>", "<my-value>")

my_function()  # completed: the example defines the decorated function but never calls it
""",
    )
    spans = [span for span in recorded.spans if span.name == "my-span"]
    assert len(spans) == 2
    assert len({span.trace_id for span in spans}) == 2
    for span in spans:
        assert span.scope == "<my-tracer-name>"
        assert span.parent_id is None
        assert span.attributes["<my-key>"] == "<my-value>"


def test_traced_records_the_argument_and_the_output(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        TRACER_SETUP
        + """
from ragtel import traced
output_value = "<my-output>"  # completed: the value the example returns but never defines

# Recommended way of decorating a function
@traced(tracer)
def my_function(my_arg: str):
    # my_arg is automatically added to the span attributes

    span = trace_api.get_current_span()
    span.set_attribute("<my-key>", "<my-value>")
    ...

    # output_value is automatically added to the span attributes too
    return output_value

my_function("<my-arg>")  # completed: a call, so that a span is recorded
""",
    )
    span = recorded.span("my_function")
    assert json.loads(span.attributes["ragtel.input"]) == {"my_arg": "<my-arg>"}
    assert span.attributes["ragtel.output"] == "<my-output>"
    assert span.attributes["<my-key>"] == "<my-value>"


def test_start_span_is_ended_by_hand(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        TRACER_SETUP
        + """
manual_span_example = tracer.start_span("new-child-span")
# Some logic
manual_span_example.end()
""",
    )
    span = recorded.span("new-child-span")
    assert span.scope == "<my-tracer-name>"
    assert span.end >= span.start


def test_register_query_helpers_land_in_the_trace_param_set(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        TRACER_SETUP
        + """
with tracer.start_as_current_span("query-flow"):  # completed: the current trace the doctests assume
    tracer.register_query_model("gpt-4")
    tracer.register_query_temperature(0.7)
    tracer.register_query_top_p(0.9)
    tracer.register_ingestion_chunk_size(100)
    tracer.register_retrieval_top_k(10)
""",
    )
    params = _params_on_root(recorded, "query-flow")
    assert params == {
        "generation.model": "gpt-4",
        "generation.temperature": 0.7,
        "generation.top_p": 0.9,
        "ingestion.chunk_size": 100,
        "retrieval.top_k": 10,
    }


def test_the_deprecated_pages_tracer_and_register_param(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

# Instantiate a tracer object
tracer = get_lastmile_tracer("my_rag_tracer")

with tracer.start_as_current_span("flow"):  # completed: the current trace the example assumes
    # Register chunk_size as a parameter in this trace's parameter set
    chunk_size = 512
    tracer.register_param("chunk_size", chunk_size)
""",
    )
    assert recorded.span("flow").scope == "my_rag_tracer"
    assert _params_on_root(recorded, "flow") == {"chunk_size": 512}


def test_ingestion_root_span_decorator_registers_the_file_paths(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

# Instantiate a tracer object
tracer = get_lastmile_tracer("my_rag_tracer")

# completed: a stand-in for LlamaIndex's SimpleDirectoryReader, which the example uses
# without importing; its documents carry the file path in their metadata as LlamaIndex's do.
class _Document:
    def __init__(self, file_path):
        self.metadata = {"file_path": file_path}

class SimpleDirectoryReader:
    def __init__(self, directory):
        self.directory = directory

    def load_data(self):
        return [_Document(self.directory + "a.txt"), _Document(None)]

# You can use the tracer either as a decorator around a function (like below)
# or with the "with ... as span_variable_name:" syntax
@tracer.start_as_current_span("ingestion-root-span")
def run_ingestion_flow():
    documents = SimpleDirectoryReader("./data/paul_graham/").load_data()

    # Register the doc file paths as a parameter
    doc_file_paths = [
        doc.metadata.get("file_path")
        for doc in documents
        if doc.metadata.get("file_path") is not None
    ]
    ...
    tracer.register_param("doc_file_paths", doc_file_paths)  # completed: what the comment says

run_ingestion_flow()  # completed: a call, so that a span is recorded
""",
    )
    params = _params_on_root(recorded, "ingestion-root-span")
    assert params == {"doc_file_paths": ["./data/paul_graham/a.txt"]}


# Part two: the documented signatures ---------------------------------------------------------


def test_get_lastmile_tracer_in_both_documented_positional_orders(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, RagFlowType

# the older order: tracer_name, pipeline_type, output_filepath
older = get_lastmile_tracer("older", RagFlowType.INGESTION, "traces.jsonl")
# the current order: tracer_name, lastmile_api_token, project_name, initial_params,
# output_filepath, rag_flow_type
current = get_lastmile_tracer(
    "current", "<my-api-token>", "my-project", {"model": "gpt-4"}, "traces.jsonl", RagFlowType.QUERY
)
with older.start_as_current_span("ingest"):
    pass
with current.start_as_current_span("query"):
    pass
""",
    )
    ingest, query = recorded.span("ingest"), recorded.span("query")
    assert ingest.attributes["ragtel.rag_flow.type"] == "ingestion"
    assert query.attributes["ragtel.rag_flow.type"] == "query"
    assert _params_on_root(recorded, "query") == {"model": "gpt-4"}


def test_get_lastmile_tracer_current_signature_by_keyword(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, RagFlowType

tracer = get_lastmile_tracer(
    tracer_name="my-tracer",
    lastmile_api_token="<my-api-token>",
    project_name="my-project",
    initial_params={"chunk_size": 512},
    output_filepath="traces.jsonl",
    rag_flow_type=RagFlowType.QUERY,
)
with tracer.start_as_current_span("first"):
    tracer.register_param("top_k", 5)
with tracer.start_as_current_span("second"):
    pass
""",
    )
    assert _params_on_root(recorded, "first") == {"chunk_size": 512, "top_k": 5}
    assert _params_on_root(recorded, "second") == {"chunk_size": 512}


def test_trace_function_and_atrace_function_record_inputs_and_outputs(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
import asyncio
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")

@tracer.trace_function("add", attributes={"team": "search"})
def add(x, y=2):
    return x + y

@tracer.trace_function  # without parentheses, as LastMile users also write it
def double(x):
    return x * 2

@tracer.atrace_function()
async def shout(query):
    return query.upper()

with tracer.start_as_current_span("flow"):
    add(1)
    double(3)
    asyncio.run(shout("hi"))
""",
    )
    flow = recorded.span("flow")
    expected = {
        "add": ({"x": 1, "y": 2}, "3"),
        "double": ({"x": 3}, "6"),
        "shout": ({"query": "hi"}, "HI"),
    }
    for name, (arguments, output) in expected.items():
        span = recorded.span(name)
        assert span.parent_id == flow.span_id
        assert json.loads(span.attributes["ragtel.input"]) == arguments
        assert span.attributes["ragtel.output"] == output
    assert recorded.span("add").attributes["team"] == "search"


def test_register_param_and_params_with_a_span_by_position(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
other = tracer.start_span("other-trace")  # a root of its own, never current
with tracer.start_as_current_span("current-trace"):
    tracer.register_param("model", "gpt-4", other)                      # (key, value, span)
    tracer.register_param("top_k", 5, True, other)                      # (key, value, flag, span)
    tracer.register_params({"chunk_size": 512}, False, other)           # (params, overwrite, span)
    tracer.register_param("here", 1)
other.end()
""",
    )
    assert _params_on_root(recorded, "other-trace") == {
        "model": "gpt-4",
        "top_k": 5,
        "chunk_size": 512,
    }
    assert _params_on_root(recorded, "current-trace") == {"here": 1}


def test_register_params_upserts_and_overwrites(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
import json
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("upsert"):
    tracer.register_params({"model": "gpt-4", "top_k": 5})
    tracer.register_params({"top_k": 8})
    print(json.dumps(tracer.get_params()))
with tracer.start_as_current_span("overwrite"):
    tracer.register_params({"model": "gpt-4", "top_k": 5})
    tracer.register_params({"top_k": 8}, overwrite=True)
""",
    )
    assert _params_on_root(recorded, "upsert") == {"model": "gpt-4", "top_k": 8}
    assert json.loads(recorded.stdout) == {"model": "gpt-4", "top_k": 8}
    assert _params_on_root(recorded, "overwrite") == {"top_k": 8}


def test_rag_specific_param_apis(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("ingest"):
    tracer.register_document_preprocess_params(512, "sliding window", {"loader": "pdf"})
    tracer.register_embedding_params("text-embedding-3-small", 1536, None)
with tracer.start_as_current_span("query"):
    tracer.register_query_processing_params("text-embedding-3-small", 1536, "subquestions", None)
    tracer.register_retrieval_params(5, "rerank-v1", None)
    tracer.register_generation_params(
        {"model": "gpt-4", "temperature": 0.2, "messages": [{"role": "user", "content": "hi"}]},
        {"stream": False},
    )
""",
    )
    assert _params_on_root(recorded, "ingest") == {
        "ingestion.chunk_size": 512,
        "ingestion.chunk_strategy": "sliding window",
        "loader": "pdf",
        "embedding.model": "text-embedding-3-small",
        "embedding.dimensions": 1536,
    }
    # "The params will automatically exclude messages from the ParamSet."
    assert _params_on_root(recorded, "query") == {
        "query.embedding_model": "text-embedding-3-small",
        "query.embedding_dimensions": 1536,
        "query.decomposition_strategy": "subquestions",
        "retrieval.top_k": 5,
        "retrieval.reranking_model": "rerank-v1",
        "generation.model": "gpt-4",
        "generation.temperature": 0.2,
        "stream": False,
    }


def test_trace_and_span_events_keep_the_first_and_do_not_crash(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, RAGEventType

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("flow"):
    tracer.log_trace_event(input="question", output="answer", metadata={"user": "u1"})
    tracer.log_trace_event(input="again", output="again")  # "only one": LastMile logs and goes on
    with tracer.start_as_current_span("rerank"):
        tracer.log_span_event(
            input=["a", "b"],
            output=["b", "a"],
            event_data={"model": "rerank-v1"},
            event_kind=RAGEventType.RERANKING,
            name="my-rerank",
        )
        tracer.log_span_event(input="again")
    with tracer.start_as_current_span("custom"):
        # every argument by position, in the documented order
        tracer.log_span_event("in", "out", {"k": 1}, RAGEventType.CUSTOM, "positional")
""",
    )
    trace_event = recorded.span("flow").event("ragtel.trace")
    assert trace_event["ragtel.input"] == "question"
    assert trace_event["ragtel.output"] == "answer"
    assert json.loads(trace_event["ragtel.event.metadata"]) == {"user": "u1"}
    span_event = recorded.span("rerank").event("ragtel.span")
    assert json.loads(span_event["ragtel.input"]) == ["a", "b"]
    assert json.loads(span_event["ragtel.output"]) == ["b", "a"]
    assert json.loads(span_event["ragtel.event.data"]) == {"model": "rerank-v1"}
    assert span_event["ragtel.span.kind"] == "reranking"
    assert span_event["ragtel.event.name"] == "my-rerank"
    custom = recorded.span("custom").event("ragtel.span")
    assert (custom["ragtel.input"], custom["ragtel.output"]) == ("in", "out")
    assert json.loads(custom["ragtel.event.data"]) == {"k": 1}
    assert (custom["ragtel.span.kind"], custom["ragtel.event.name"]) == ("custom", "positional")
    # the warnings name the trace and the span whose second event was dropped
    assert recorded.span("flow").trace_id in recorded.stderr
    assert recorded.span("rerank").span_id in recorded.stderr


def test_ingestion_events(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, Chunk, Document

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("ingest"):
    with tracer.start_as_current_span("chunk"):
        tracer.log_chunking_event(
            Document(id="d1", name="essay.txt", content="full text"),
            [Chunk(id="c1", content="full"), Chunk(id="c2")],
            {"chunk_size": 4},
            "chunking",
        )
    with tracer.start_as_current_span("embed"):
        tracer.log_embedding_event(
            [[0.1, 0.2], [0.3, 0.4]], ["full", "text"], {"model": "m"}, "emb"
        )
""",
    )
    chunking = recorded.span("chunk").event("ragtel.chunking")
    assert chunking["ragtel.document.id"] == "d1"
    assert chunking["ragtel.document.name"] == "essay.txt"
    assert chunking["ragtel.document.content"] == "full text"
    assert chunking["ragtel.chunk.ids"] == ["c1", "c2"]
    # No content is a null where the installed OTLP encoder carries nulls in arrays;
    # older encoders refuse them, and ragtel then sends empty text in its place.
    assert chunking["ragtel.chunk.contents"] in (["full", None], ["full", ""])
    assert chunking["ragtel.event.name"] == "chunking"
    assert json.loads(chunking["ragtel.event.metadata"]) == {"chunk_size": 4}
    embedding = recorded.span("embed").event("ragtel.embedding")
    assert embedding["ragtel.embedding.count"] == 2
    assert embedding["ragtel.embedding.dimensions"] == 2
    assert embedding["ragtel.event.name"] == "emb"


def test_retrieval_events(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, RetrievedChunk

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("query"):
    with tracer.start_as_current_span("rewrite"):
        tracer.log_query_rewrite_event("big question", ["q1", "q2"], {"model": "m"}, "split")
    with tracer.start_as_current_span("retrieve"):
        tracer.log_retrieval_event(
            "q1",
            [RetrievedChunk(id="c1", content="full", retrieval_score=0.9)],
            {"store": "faiss"},
            "lookup",
        )
    with tracer.start_as_current_span("rerank"):
        tracer.log_rerank_event(
            [
                RetrievedChunk(id="c1", retrieval_score=0.9),
                RetrievedChunk(id="c2", retrieval_score=0.8),
            ],
            [
                RetrievedChunk(id="c2", retrieval_score=0.95),
                RetrievedChunk(id="c1", retrieval_score=0.5),
            ],
            {"model": "rerank-v1"},
            "rerank",
        )
""",
    )
    rewrite = recorded.span("rewrite").event("ragtel.query_rewrite")
    assert rewrite["ragtel.query"] == "big question"
    assert rewrite["ragtel.rewritten_queries"] == ["q1", "q2"]
    assert json.loads(rewrite["ragtel.event.metadata"]) == {"model": "m"}
    assert rewrite["ragtel.event.name"] == "split"
    retrieval = recorded.span("retrieve").event("ragtel.retrieval")
    assert retrieval["ragtel.query"] == "q1"
    assert retrieval["ragtel.chunk.ids"] == ["c1"]
    assert retrieval["ragtel.chunk.scores"] == [0.9]
    assert json.loads(retrieval["ragtel.event.metadata"]) == {"store": "faiss"}
    assert retrieval["ragtel.event.name"] == "lookup"
    rerank = recorded.span("rerank").event("ragtel.rerank")
    assert rerank["ragtel.rerank.input_ids"] == ["c1", "c2"]
    assert rerank["ragtel.chunk.ids"] == ["c2", "c1"]
    assert rerank["ragtel.chunk.scores"] == [0.95, 0.5]
    assert json.loads(rerank["ragtel.event.metadata"]) == {"model": "rerank-v1"}
    assert rerank["ragtel.event.name"] == "rerank"


def test_tool_call_and_query_events(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("answer"):
    with tracer.start_as_current_span("tool"):
        tracer.log_tool_call_event(
            "calculator", {"expression": "2+2"}, {"result": 4}, {"m": 2}, "calc"
        )
    with tracer.start_as_current_span("llm"):
        tracer.log_query_event("q1", ["a", "b"], "be brief")
    with tracer.start_as_current_span("llm-named"):
        tracer.log_query_event("q2", "c", "be kind", "answer", {"m": 1})  # the documented order
    with tracer.start_as_current_span("llm-keywords"):
        tracer.log_query_event(
            query="q3", response="d", system_prompt="be kind", name="answer", metadata={"m": 1}
        )
""",
    )
    tool = recorded.span("tool").event("ragtel.tool_call")
    assert tool["gen_ai.tool.name"] == "calculator"
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"expression": "2+2"}
    assert json.loads(tool["gen_ai.tool.call.result"]) == {"result": 4}
    assert json.loads(tool["ragtel.event.metadata"]) == {"m": 2}
    assert tool["ragtel.event.name"] == "calc"
    query = recorded.span("llm").event("ragtel.query")
    assert query["ragtel.query"] == "q1"
    assert json.loads(query["ragtel.response"]) == ["a", "b"]
    assert query["ragtel.system_prompt"] == "be brief"
    for span_name, query_text, response in (("llm-named", "q2", "c"), ("llm-keywords", "q3", "d")):
        named = recorded.span(span_name).event("ragtel.query")
        assert (named["ragtel.query"], named["ragtel.response"]) == (query_text, response)
        assert named["ragtel.system_prompt"] == "be kind"
        assert named["ragtel.event.name"] == "answer"
        assert json.loads(named["ragtel.event.metadata"]) == {"m": 1}


def test_feedback_reaches_the_right_trace_and_span(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("rated") as rated:
    trace_id = str(tracer.get_trace_id())  # LastMile's decimal form
    with tracer.start_as_current_span("answer"):
        tracer.log_feedback({"comment": "on this span"})
with tracer.start_as_current_span("unrated"):
    pass
tracer.log_binary_feedback(True, trace_id)
tracer.log_numeric_feedback(0.75, trace_id)
tracer.log_categorical_feedback("helpful", ["helpful", "unhelpful"], trace_id)
tracer.log_text_feedback("clear answer", trace_id)
tracer.log_feedback("for the project")
""",
    )
    rated, answer = recorded.span("rated"), recorded.span("answer")
    feedback = {(f.kind, f.target_span_id): f.value for f in recorded.trace_of(rated).feedback}
    assert feedback == {
        ("json", answer.span_id): '{"comment": "on this span"}',
        ("binary", rated.span_id): True,
        ("numeric", rated.span_id): 0.75,
        ("categorical", rated.span_id): "helpful",
        ("text", rated.span_id): "clear answer",
    }
    assert recorded.trace_of(recorded.span("unrated")).feedback == []
    project = [f for t in recorded.traces if t.root is None for f in t.feedback]
    assert [(f.kind, f.value, f.target_span_id) for f in project] == [
        ("text", "for the project", None)
    ]


def test_a_span_context_or_its_string_continues_the_trace(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, export_span

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("caller") as caller:
    exported = export_span(caller)
with tracer.start_as_current_span("from-string", context=exported):
    pass
with tracer.start_as_current_span("from-span-context", context=caller.get_span_context()):
    pass
tracer.start_span("started-from-string", context=exported).end()
""",
    )
    caller = recorded.span("caller")
    for name in ("from-string", "from-span-context", "started-from-string"):
        span = recorded.span(name)
        assert (span.trace_id, span.parent_id) == (caller.trace_id, caller.span_id), name


def test_log_writes_the_repr_beside_the_traces(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("flow"):
    tracer.log({"warning": "slow retrieval"})
    tracer.log("to a file of my own", "debug-log.jsonl")
""",
    )
    flow = recorded.span("flow")
    default = _log_records(tmp_path / "logs.jsonl")  # the default logger's file
    assert [(r["body"]["stringValue"], r["traceId"], r["spanId"]) for r in default] == [
        ("{'warning': 'slow retrieval'}", flow.trace_id, flow.span_id)
    ]
    chosen = _log_records(tmp_path / "debug-log.jsonl")
    assert [r["body"]["stringValue"] for r in chosen] == ["'to a file of my own'"]


def _log_records(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        record
        for line in lines
        for resource_logs in json.loads(line)["resourceLogs"]
        for scope_logs in resource_logs["scopeLogs"]
        for record in scope_logs["logRecords"]
    ]


# Calls LastMile documents outside the page above (0.0.81) ----------------------------------


def test_set_rag_flow_type_links_the_query_to_its_ingestion(tmp_path: Path) -> None:
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer, RagFlowType

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("ingest"):
    ingestion_trace_id = str(tracer.get_trace_id())
with tracer.start_as_current_span("query"):
    tracer.set_rag_flow_type(RagFlowType.QUERY, ingestion_trace_id=ingestion_trace_id)
""",
    )
    ingest, query = recorded.span("ingest"), recorded.span("query")
    assert query.attributes["ragtel.rag_flow.type"] == "query"
    # linked by an OTel link or an attribute naming the ingestion trace
    assert ingest.trace_id in query.linked_trace_ids or ingest.trace_id in json.dumps(
        query.attributes
    )


def test_store_and_read_trace_id_across_processes(tmp_path: Path) -> None:
    run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("answer"):
    tracer.store_trace_id("conversation-42")
""",
    )
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
tracer.log_binary_feedback(True, tracer.read_trace_id("conversation-42"))
""",
    )
    answer = recorded.span("answer")
    assert [f.value for f in recorded.trace_of(answer).feedback] == [True]


def test_add_rag_event_for_span_and_trace(tmp_path: Path) -> None:
    # The page names these methods without a signature; the calls use LastMile's
    # event_name, span, input and output keywords.
    recorded = run_example(
        tmp_path,
        """
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("flow"):
    with tracer.start_as_current_span("retrieve") as span:
        tracer.add_rag_event_for_span(event_name="retrieve", span=span, input="q", output="docs")
    tracer.add_rag_event_for_trace(event_name="flow", input="q", output="answer")
""",
    )
    assert recorded.span("retrieve").events
    assert recorded.span("flow").event("ragtel.trace")["ragtel.output"] == "answer"


def test_log_prompt_composition_event(tmp_path: Path) -> None:
    recorded = _run_one_event(tmp_path, 'tracer.log_prompt_composition_event("Answer: hi")')
    assert "Answer: hi" in json.dumps(recorded.span("step").events)


def test_log_template_event(tmp_path: Path) -> None:
    recorded = _run_one_event(
        tmp_path, 'tracer.log_template_event("Answer: {q}", "Answer: hi", "be brief")'
    )
    assert "Answer: {q}" in json.dumps(recorded.span("step").events)


def test_log_synthesize_event(tmp_path: Path) -> None:
    recorded = _run_one_event(tmp_path, 'tracer.log_synthesize_event("q", "answer")')
    assert "answer" in json.dumps(recorded.span("step").events)


def _run_one_event(tmp_path: Path, call: str) -> Recorded:
    return run_example(
        tmp_path,
        f"""
from ragtel import get_lastmile_tracer

tracer = get_lastmile_tracer("my-tracer")
with tracer.start_as_current_span("step"):
    {call}
""",
    )
