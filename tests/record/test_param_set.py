"""ParamSet: per-trace params on the local root, defaults, helpers, isolation, bounds."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from ragtel import get_lastmile_tracer
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._tracer import tracer_core
from ragtel.testing import SpanRecorder


def params_of(span) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        key.removeprefix("ragtel.param."): value
        for key, value in span.attributes.items()
        if key.startswith("ragtel.param.")
    }


def test_params_land_on_the_root_and_the_current_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("embed"):
            tracer.register_param("embedding_model", "small")
            tracer.register_param("quiet", 1, should_also_save_in_span=False)
        with tracer.start_as_current_span("retrieve") as retrieve:
            pass
        tracer.register_param("top_k", 5, span=retrieve)
        assert tracer.get_params() == {"embedding_model": "small", "quiet": 1, "top_k": 5}
    assert params_of(ragtel_spans.by_name("root")) == {
        "embedding_model": "small",
        "quiet": 1,
        "top_k": 5,
    }
    assert params_of(ragtel_spans.by_name("embed")) == {"embedding_model": "small"}
    # retrieve had ended when top_k was registered for it: only the root records it.
    assert params_of(ragtel_spans.by_name("retrieve")) == {}


def test_values_of_every_type(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    values = {
        "s": "text",
        "i": 512,
        "f": 0.7,
        "b": False,
        "strs": ["a", "b"],
        "ints": [1, 2],
        "mixed": [1, "a"],
        "nested": {"splitter": "sentence", "overlap": 32},
        "none": None,
    }
    with tracer.start_as_current_span("root"):
        tracer.register_params(values)
        assert tracer.get_params() == values
    recorded = params_of(ragtel_spans.by_name("root"))
    assert recorded == {
        "s": "text",
        "i": 512,
        "f": 0.7,
        "b": False,
        "strs": ("a", "b"),
        "ints": (1, 2),
        "mixed": '[1, "a"]',
        "nested": '{"splitter": "sentence", "overlap": 32}',
    }


@pytest.mark.parametrize("key", ["", "lone \ud800 surrogate"])
def test_bad_keys_raise_value_error_quoting_the_key(ragtel_spans: SpanRecorder, key: str) -> None:
    tracer = ragtel_spans.tracer()
    with pytest.raises(ValueError, match=re.escape(f"got {key!r}")):
        tracer.register_param(key, 1)
    with (
        pytest.raises(ValueError, match=re.escape(f"got {key!r}")),
        tracer.start_as_current_span("root"),
    ):
        tracer.register_params({"fine": 1, key: 2})
    assert params_of(ragtel_spans.by_name("root")) == {}  # nothing of a bad batch is registered


def test_non_string_keys_and_non_mappings_raise_type_error(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with pytest.raises(TypeError, match="key must be a str"):
        tracer.register_param(5, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="params must be a mapping"):
        tracer.register_params([("a", 1)])  # type: ignore[arg-type]


def test_upsert_overwrite_and_clear(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        tracer.register_params({"chunk_size": 256, "overlap": 16})
        tracer.register_params({"chunk_size": 512})
        assert tracer.get_params() == {"chunk_size": 512, "overlap": 16}
        tracer.register_params({"top_k": 3}, overwrite=True)
        assert tracer.get_params() == {"top_k": 3}
    root = ragtel_spans.by_name("root")
    assert params_of(root) == {"chunk_size": 512, "overlap": 16, "top_k": 3}
    assert root.attributes["ragtel.param_set.removed"] == ("chunk_size", "overlap")

    with tracer.start_as_current_span("second"):
        tracer.register_param("a", 1)
        tracer.clear_params()
        assert tracer.get_params() == {}
        tracer.register_param("a", 2)  # registered again: no longer removed
    second = ragtel_spans.by_name("second")
    assert params_of(second) == {"a": 2}
    assert second.attributes["ragtel.param_set.removed"] == ()


def test_registration_without_a_trace_sets_defaults_for_later_traces(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer("defaults", initial_params={"model": "small"})
    tracer.register_param("top_k", 4)
    assert tracer.get_params() == {"model": "small", "top_k": 4}
    with tracer.start_as_current_span("first"):
        tracer.register_param("model", "large")  # this trace only
    with tracer.start_as_current_span("second"):
        assert tracer.get_params() == {"model": "small", "top_k": 4}
    tracer.clear_params()
    with tracer.start_as_current_span("third"):
        pass
    assert params_of(ragtel_spans.by_name("first")) == {"model": "large", "top_k": 4}
    assert params_of(ragtel_spans.by_name("second")) == {"model": "small", "top_k": 4}
    assert params_of(ragtel_spans.by_name("third")) == {}


def test_registration_after_the_root_ended_warns_and_writes_nowhere(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    root = tracer.start_span("root")
    child = tracer.start_span(
        "child", context=__import__("opentelemetry").trace.set_span_in_context(root)
    )
    root.end()
    tracer.register_param("late", 1, span=child)
    child.end()
    with tracer.start_as_current_span("next"):
        pass
    assert "params ['late'] not registered: the local root of trace" in caplog.text
    assert all(params_of(span) == {} for span in ragtel_spans.spans)


def test_sampled_out_traces_register_nothing(caplog: pytest.LogCaptureFixture) -> None:
    tracer = get_lastmile_tracer("off", tracer_provider=TracerProvider(sampler=ALWAYS_OFF))
    with tracer.start_as_current_span("root"):
        tracer.register_param("k", 1)
        assert tracer.get_params() == {}
    assert caplog.text == ""
    assert tracer.get_params() == {}  # nor did it become a default


def test_a_root_from_another_instrumentation_gets_the_params(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("rag", initial_params={"chunk_size": 128, "top_k": 5})
    with ragtel_spans.provider.get_tracer("flask").start_as_current_span("POST /ask"):
        tracer.register_param("top_k", 2)  # before any ragtel span: defaults must not win
        assert tracer.get_params() == {"chunk_size": 128, "top_k": 2}
        with tracer.start_as_current_span("retrieve"):
            pass
    assert params_of(ragtel_spans.by_name("POST /ask")) == {"chunk_size": 128, "top_k": 2}


def test_local_root_under_a_remote_parent(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(
        "svc", project_name="retrieval-svc", initial_params={"index": "v2"}
    )
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracer.start_as_current_span("handle", context=traceparent):
        tracer.register_param("top_k", 8)
        with tracer.start_as_current_span("inner"):
            pass
    handle = ragtel_spans.by_name("handle")
    assert handle.parent.is_remote
    assert params_of(handle) == {"index": "v2", "top_k": 8}
    assert handle.attributes["ragtel.project.name"] == "retrieval-svc"
    assert params_of(ragtel_spans.by_name("inner")) == {}


def _assert_each_root_has_its_own(recorder: SpanRecorder, count: int) -> None:
    roots = [span for span in recorder.spans if span.name.startswith("root-")]
    assert len(roots) == count
    for root in roots:
        index = int(root.name.removeprefix("root-"))
        assert params_of(root) == {"worker": index, "tag": f"w{index}", "shared": "same"}


def test_one_hundred_threads_never_see_each_others_params(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("threads", initial_params={"shared": "same"})
    barrier = threading.Barrier(100)
    seen: dict[int, dict[str, object]] = {}

    def run(index: int) -> None:
        with tracer.start_as_current_span(f"root-{index}"):
            tracer.register_param("worker", index)
            barrier.wait()  # every trace is open at once
            tracer.register_param("tag", f"w{index}")
            seen[index] = tracer.get_params()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_each_root_has_its_own(ragtel_spans, 100)
    assert all(seen[i] == {"shared": "same", "worker": i, "tag": f"w{i}"} for i in range(100))


async def test_one_hundred_tasks_never_see_each_others_params(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("tasks", initial_params={"shared": "same"})

    async def run(index: int) -> None:
        with tracer.start_as_current_span(f"root-{index}"):
            tracer.register_param("worker", index)
            await asyncio.sleep(0.001 * (index % 7))
            tracer.register_param("tag", f"w{index}")
            assert tracer.get_params()["worker"] == index

    await asyncio.gather(*(run(i) for i in range(100)))
    _assert_each_root_has_its_own(ragtel_spans, 100)


def test_params_per_trace_are_capped(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    processor = tracer_core(tracer).processor
    assert processor is not None
    with tracer.start_as_current_span("root"):
        tracer.register_params({f"k{i}": i for i in range(processor.max_params + 10)})
        tracer.register_param("k0", "updated")  # an existing key can still change
        assert len(tracer.get_params()) == processor.max_params
    assert len(params_of(ragtel_spans.by_name("root"))) == processor.max_params
    assert params_of(ragtel_spans.by_name("root"))["k0"] == "updated"
    assert "ParamSet is limited to 256 params and 65536 bytes" in caplog.text
    assert "10 params dropped so far" in caplog.text


def test_params_per_trace_are_capped_in_recorded_bytes_too(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    from ragtel._sdk.trace_state import DEFAULT_MAX_PARAM_BYTES

    tracer = ragtel_spans.tracer()
    value = "x" * 16_000  # just under the per-value cap: recorded whole
    fitting = DEFAULT_MAX_PARAM_BYTES // len(value)
    with tracer.start_as_current_span("root"):
        for index in range(fitting + 3):
            tracer.register_param(f"prompt{index}", value)
        tracer.register_param("prompt0", "short")  # a smaller value always fits
        tracer.register_param(f"prompt{fitting}", "short")  # and frees room for a new one
        params = tracer.get_params()
    assert sorted(params) == sorted([f"prompt{i}" for i in range(fitting + 1)])
    recorded = params_of(ragtel_spans.by_name("root"))
    assert sorted(recorded) == sorted(params)
    assert sum(len(str(v)) for v in recorded.values()) <= DEFAULT_MAX_PARAM_BYTES
    processor = tracer_core(tracer).processor
    assert processor is not None and processor.dropped_params == 3
    assert caplog.text.count("65536 bytes of recorded values") == 1  # warned once


def test_defaults_are_capped_counted_and_warned_about_once(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    for index in range(300):
        tracer.register_param(f"default{index}", index)  # no span: tracer defaults
    assert len(tracer.get_params()) == 256
    assert tracer_core(tracer).profile.dropped_defaults == 44
    assert caplog.text.count("default params, the most it keeps") == 1
    tracer.register_param("default0", "changed")  # an existing default can still change
    assert tracer.get_params()["default0"] == "changed"


def test_evicted_traces_report_registration_misses(caplog: pytest.LogCaptureFixture) -> None:
    provider = TracerProvider()
    tracer = get_lastmile_tracer("bounded", tracer_provider=provider)
    processor = tracer_core(tracer).processor
    assert isinstance(processor, RagtelSpanProcessor)
    processor._max_traces = 5  # type: ignore[attr-defined]
    open_roots = [tracer.start_span(f"r{i}") for i in range(8)]
    assert processor.tracked_traces == 5 and processor.evicted_traces == 3
    tracer.register_param("k", 1, span=open_roots[0])
    assert "not registered" in caplog.text and "more than 5 traces are open" in caplog.text
    for span in open_roots:
        span.end()
    assert processor.tracked_traces == 0


def test_secrets_in_param_values_and_keys_are_redacted(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        tracer.register_params({"openai_api_key": "sk-1", "llm": {"model": "m", "token": "t"}})
    recorded = params_of(ragtel_spans.by_name("root"))
    assert recorded["openai_api_key"] == "[REDACTED]"
    assert json.loads(recorded["llm"]) == {"model": "m", "token": "[REDACTED]"}


# RAG helpers ------------------------------------------------------------------


def helper_attributes(recorder: SpanRecorder, call) -> tuple[dict, dict]:  # type: ignore[no-untyped-def, type-arg]
    tracer = recorder.tracer("helpers")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("step"):
        call(tracer)
    root, step = recorder.by_name("root"), recorder.by_name("step")
    return dict(root.attributes), dict(step.attributes)


def test_document_preprocess_params(ragtel_spans: SpanRecorder) -> None:
    root, step = helper_attributes(
        ragtel_spans,
        lambda t: t.register_document_preprocess_params(512, "sentence", {"chunk_overlap": 64}),
    )
    expected = {
        "ragtel.param.ingestion.chunk_size": 512,
        "ragtel.param.ingestion.chunk_strategy": "sentence",
        "ragtel.param.chunk_overlap": 64,
    }
    assert root == expected and step == expected


def test_embedding_and_query_processing_params(ragtel_spans: SpanRecorder) -> None:
    root, _ = helper_attributes(
        ragtel_spans,
        lambda t: (
            t.register_embedding_params("text-embedding-3-small", 1536, None),
            t.register_query_processing_params("small", 512, "sub_questions", None),
        ),
    )
    assert root == {
        "ragtel.param.embedding.model": "text-embedding-3-small",
        "ragtel.param.embedding.dimensions": 1536,
        "ragtel.param.query.embedding_model": "small",
        "ragtel.param.query.embedding_dimensions": 512,
        "ragtel.param.query.decomposition_strategy": "sub_questions",
    }


def test_retrieval_params_skip_missing_values(ragtel_spans: SpanRecorder) -> None:
    root, _ = helper_attributes(ragtel_spans, lambda t: t.register_retrieval_params(5, None, None))
    assert root == {"ragtel.param.retrieval.top_k": 5}


def test_generation_params_leave_content_out_and_mirror_gen_ai(ragtel_spans: SpanRecorder) -> None:
    model_params = {
        "model": "gpt-4o",
        "temperature": 1,
        "top_p": 0.9,
        "max_tokens": 256,
        "frequency_penalty": 0.5,
        "presence_penalty": 0,
        "seed": 7,
        "stop": "\n\n",
        "messages": [{"role": "user", "content": "secret question"}],
        "prompt": "also content",
        "response_format": {"type": "json_object"},
    }
    root, step = helper_attributes(
        ragtel_spans, lambda t: t.register_generation_params(model_params, {"router": "v2"})
    )
    params = {
        "ragtel.param.generation.model": "gpt-4o",
        "ragtel.param.generation.temperature": 1,
        "ragtel.param.generation.top_p": 0.9,
        "ragtel.param.generation.max_tokens": 256,
        "ragtel.param.generation.frequency_penalty": 0.5,
        "ragtel.param.generation.presence_penalty": 0,
        "ragtel.param.generation.seed": 7,
        "ragtel.param.generation.stop": "\n\n",
        "ragtel.param.generation.response_format": '{"type": "json_object"}',
        "ragtel.param.router": "v2",
    }
    gen_ai = {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 1.0,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": 0.0,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("\n\n",),
    }
    assert root == params  # GenAI request attributes belong on the LLM step, not the root
    assert step == {**params, **gen_ai}
    assert "secret question" not in json.dumps([root, step], default=str)


def test_single_setting_helpers(ragtel_spans: SpanRecorder) -> None:
    root, step = helper_attributes(
        ragtel_spans,
        lambda t: (
            t.register_query_model("gpt-4o-mini"),
            t.register_query_temperature(0.2),
            t.register_query_top_p(0.95, should_also_save_in_span=False),
            t.register_ingestion_chunk_size(256),
            t.register_retrieval_top_k(3),
        ),
    )
    assert root == {
        "ragtel.param.generation.model": "gpt-4o-mini",
        "ragtel.param.generation.temperature": 0.2,
        "ragtel.param.generation.top_p": 0.95,
        "ragtel.param.ingestion.chunk_size": 256,
        "ragtel.param.retrieval.top_k": 3,
    }
    assert step == {
        "ragtel.param.generation.model": "gpt-4o-mini",
        "gen_ai.request.model": "gpt-4o-mini",
        "ragtel.param.generation.temperature": 0.2,
        "gen_ai.request.temperature": 0.2,
        "ragtel.param.ingestion.chunk_size": 256,
        "ragtel.param.retrieval.top_k": 3,
    }


# Context attributes --------------------------------------------------------------


def test_context_attributes_apply_to_every_span_in_scope(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    other = ragtel_spans.provider.get_tracer("http-client")
    labels = tracer.using_attributes(
        session_id="conv-1", user_id="u-1", tags=["beta"], metadata={"region": "eu"}
    )
    inner = tracer.using_tags(["mobile"])
    with (
        labels,
        tracer.start_as_current_span("root"),
        inner,
        other.start_as_current_span("GET /search"),
    ):
        pass
    with tracer.start_as_current_span("outside"):
        pass
    expected_outer = {
        "session.id": "conv-1",
        "gen_ai.conversation.id": "conv-1",
        "user.id": "u-1",
        "ragtel.tags": ("beta",),
        "ragtel.metadata.region": "eu",
    }
    root = ragtel_spans.by_name("root")
    assert {k: v for k, v in root.attributes.items() if k in expected_outer} == expected_outer
    nested = ragtel_spans.by_name("GET /search").attributes
    assert nested["ragtel.tags"] == ("beta", "mobile") and nested["session.id"] == "conv-1"
    assert dict(ragtel_spans.by_name("outside").attributes) == {}


async def test_context_attribute_scopes_decorate_coroutines(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.using_session("conv-async")
    async def handle() -> None:
        await asyncio.sleep(0)
        with tracer.start_as_current_span("in-handler"):
            pass

    await handle()
    with tracer.start_as_current_span("after"):
        pass
    assert ragtel_spans.by_name("in-handler").attributes["session.id"] == "conv-async"
    assert "session.id" not in ragtel_spans.by_name("after").attributes


def test_context_attribute_arguments_are_checked() -> None:
    from ragtel.testing import capture_spans

    with capture_spans() as recorder:
        tracer = recorder.tracer()
        with pytest.raises(TypeError, match="session_id must be a non-empty str"):
            tracer.using_session("")
        with pytest.raises(TypeError, match="tags must be a sequence of str"):
            tracer.using_tags("beta")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="metadata key"):
            tracer.using_metadata({"": 1})


def test_no_warning_for_normal_use(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ragtel")
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        tracer.register_param("k", 1)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_labels_given_at_span_creation(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.using_session("outer-session"):
        request_scope = tracer.start_as_current_span("request", user_id="u-1", tags=["api"])
        with request_scope, tracer.start_as_current_span("inside"):
            pass
        manual = tracer.start_span("manual", session_id="own-session", metadata={"k": "v"})
        manual.end()
    request, inside = ragtel_spans.by_name("request"), ragtel_spans.by_name("inside")
    for span in (request, inside):
        assert span.attributes["user.id"] == "u-1"
        assert span.attributes["ragtel.tags"] == ("api",)
        assert span.attributes["session.id"] == "outer-session"
    manual_span = ragtel_spans.by_name("manual")
    assert manual_span.attributes["session.id"] == "own-session"  # explicit wins
    assert manual_span.attributes["ragtel.metadata.k"] == "v"


def test_concurrent_requests_of_one_trace_keep_separate_param_sets(
    ragtel_spans: SpanRecorder,
) -> None:
    # An upstream fans out: two requests of the same trace run here at once.
    tracer = ragtel_spans.tracer("fanout")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    first = tracer.start_span("request-1", context=traceparent)
    second = tracer.start_span("request-2", context=traceparent)
    tracer.register_param("chunk_size", 256, span=first)
    tracer.register_param("chunk_size", 1024, span=second)
    second.end()
    tracer.register_param("top_k", 3, span=first)  # the other request's end changes nothing
    first.end()
    assert params_of(ragtel_spans.by_name("request-1")) == {"chunk_size": 256, "top_k": 3}
    assert params_of(ragtel_spans.by_name("request-2")) == {"chunk_size": 1024}


def test_a_second_tracer_joining_a_trace_never_undoes_registrations(
    ragtel_spans: SpanRecorder,
) -> None:
    app = ragtel_spans.tracer("app", project_name="app", initial_params={"top_k": 2})
    library = ragtel_spans.tracer(
        "library", project_name="lib", initial_params={"top_k": 10, "lib_mode": "fast"}
    )
    with app.start_as_current_span("root"):
        app.register_param("chunk_size", 128)
        with library.start_as_current_span("library-step"):
            assert library.get_params() == {"top_k": 2, "chunk_size": 128, "lib_mode": "fast"}
    root = ragtel_spans.by_name("root")
    assert params_of(root) == {"top_k": 2, "chunk_size": 128, "lib_mode": "fast"}
    assert root.attributes["ragtel.project.name"] == "app"


def test_a_remote_parent_alone_does_not_change_defaults(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry import context as context_api

    from ragtel._context.handover import to_context

    tracer = ragtel_spans.tracer("remote-only")
    token = context_api.attach(
        to_context("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    )
    try:
        tracer.register_param("customer", "acme")
    finally:
        context_api.detach(token)
    assert "no local span is active" in caplog.text
    with tracer.start_as_current_span("unrelated"):
        assert tracer.get_params() == {}


def test_the_removed_list_is_bounded(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    processor = tracer_core(tracer).processor
    assert processor is not None
    with tracer.start_as_current_span("root"):
        for round_ in range(20):
            tracer.register_params({f"k{round_}_{i}": i for i in range(50)}, overwrite=True)
    removed = ragtel_spans.by_name("root").attributes["ragtel.param_set.removed"]
    assert len(removed) == processor.max_params


def test_labelled_span_as_decorator_and_with_an_explicit_context(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.start_as_current_span("decorated", session_id="s-1")
    def handle() -> None:
        with tracer.start_as_current_span("child"):
            pass

    handle()
    handle()  # a fresh span each call
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracer.start_as_current_span("remote-child", context=traceparent, user_id="u-9"):
        pass
    assert [s.attributes["session.id"] for s in ragtel_spans.spans if s.name == "decorated"] == [
        "s-1",
        "s-1",
    ]
    assert all(s.attributes["session.id"] == "s-1" for s in ragtel_spans.spans if s.name == "child")
    remote_child = ragtel_spans.by_name("remote-child")
    assert remote_child.attributes["user.id"] == "u-9"  # on the span itself, too
    assert remote_child.parent.span_id == 0xB7AD6B7169203331


async def test_one_scope_object_shared_by_concurrent_tasks(ragtel_spans: SpanRecorder) -> None:
    from ragtel._attributes.context import current_context_attributes

    tracer = ragtel_spans.tracer()
    scope = tracer.using_tags(["shared"])

    async def task() -> None:
        with scope:
            await asyncio.sleep(0.001)
            assert current_context_attributes()["ragtel.tags"] == ["shared"]
        assert current_context_attributes() == {}

    await asyncio.gather(*(task() for _ in range(10)))
    assert current_context_attributes() == {}


def test_scopes_refuse_generator_functions(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with pytest.raises(TypeError, match="cannot decorate a generator function"):

        @tracer.using_session("s")
        def stream():  # type: ignore[no-untyped-def]
            yield 1


def test_a_scope_entered_inside_a_trace_also_labels_its_root(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    root, late = tracer.start_as_current_span("root"), tracer.using_session("late-session")
    with root, late, tracer.start_as_current_span("inside"):
        pass
    assert ragtel_spans.by_name("root").attributes["session.id"] == "late-session"
    assert ragtel_spans.by_name("inside").attributes["session.id"] == "late-session"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


def test_settings_otlp_cannot_carry_stay_params_without_a_gen_ai_mirror(
    ragtel_spans: SpanRecorder,
) -> None:
    # float() of the temperature overflowed; a max_tokens past 64 bits made the
    # span unexportable.
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("llm"):
        tracer.register_query_temperature(10**400)  # type: ignore[arg-type]
        tracer.register_generation_params({"max_tokens": 2**64, "top_p": 0.5})
        assert tracer.get_params()["generation.max_tokens"] == 2**64
    llm = ragtel_spans.by_name("llm").attributes
    assert llm["gen_ai.request.top_p"] == 0.5
    assert "gen_ai.request.temperature" not in llm and "gen_ai.request.max_tokens" not in llm


def test_hostile_keys_and_spans_raise_naming_the_argument(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with pytest.raises(TypeError, match="key must be a str"):
        tracer.register_param(BrokenRepr(), 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="span"):
        tracer.register_param("k", 1, span="root")  # type: ignore[arg-type]
