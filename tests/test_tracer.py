"""LastMileTracer is a real OTel Tracer: spans, contexts, nesting under concurrency."""

from __future__ import annotations

import asyncio
import threading

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from ragtel import LastMileTracer, get_lastmile_tracer
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel.testing import SpanRecorder


def test_is_an_opentelemetry_tracer(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    assert isinstance(tracer, trace.Tracer)
    assert isinstance(tracer, LastMileTracer)


def test_start_as_current_span_as_context_manager(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span(
        "parent", kind=SpanKind.SERVER, attributes={"a": 1}, start_time=1_000
    ) as parent:
        assert trace.get_current_span() is parent
        with tracer.start_as_current_span("child") as child:
            assert child.parent.span_id == parent.get_span_context().span_id  # type: ignore[attr-defined]
    span = ragtel_spans.by_name("parent")
    assert span.kind is SpanKind.SERVER
    assert span.attributes["a"] == 1
    assert span.start_time == 1_000
    assert span.instrumentation_scope.name == "test"


def test_start_as_current_span_as_decorator(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.start_as_current_span("decorated")
    def work() -> int:
        return trace.get_current_span().get_span_context().span_id

    span_id = work()
    assert ragtel_spans.by_name("decorated").context.span_id == span_id


def test_exception_options_pass_through(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with (
        pytest.raises(ValueError),
        tracer.start_as_current_span(
            "quiet", record_exception=False, set_status_on_exception=False
        ),
    ):
        raise ValueError("x")
    with pytest.raises(ValueError), tracer.start_as_current_span("loud"):
        raise ValueError("y")
    quiet, loud = ragtel_spans.by_name("quiet"), ragtel_spans.by_name("loud")
    assert quiet.events == () and quiet.status.status_code is StatusCode.UNSET
    assert loud.events[0].name == "exception" and loud.status.status_code is StatusCode.ERROR


def test_end_on_exit_false_leaves_span_open(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("open", end_on_exit=False) as span:
        pass
    assert ragtel_spans.spans == []
    span.end()
    assert ragtel_spans.names() == ["open"]


def test_start_span_with_links_is_not_current(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    other = tracer.start_span("other")
    other.end()
    span = tracer.start_span(
        "manual", links=[trace.Link(other.get_span_context(), {"why": "retry"})]
    )
    assert trace.get_current_span() is not span
    span.end()
    link = ragtel_spans.by_name("manual").links[0]
    assert link.context.span_id == other.get_span_context().span_id
    assert link.attributes["why"] == "retry"


def test_context_from_traceparent_string(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracer.start_as_current_span("from-header", context=traceparent):
        pass
    tracer.start_span("manual", context=traceparent).end()
    for name in ("from-header", "manual"):
        span = ragtel_spans.by_name(name)
        assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
        assert span.parent.span_id == 0xB7AD6B7169203331
        assert span.parent.is_remote


def test_context_from_serialized_form_and_span_context(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("origin") as origin:
        serialized = tracer.serialize_span_context()
    assert serialized is not None
    with tracer.start_as_current_span("from-serialized", context=serialized):
        pass
    with tracer.start_as_current_span("from-span-context", context=origin.get_span_context()):
        pass
    origin_context = origin.get_span_context()
    for name in ("from-serialized", "from-span-context"):
        span = ragtel_spans.by_name(name)
        assert span.context.trace_id == origin_context.trace_id
        assert span.parent.span_id == origin_context.span_id


@pytest.mark.parametrize(
    "bad", ["", "garbage", "00-zz-yy-01", "{not json", '{"traceparent": 5}', "{}"]
)
def test_malformed_context_strings_raise_value_error_quoting_them(
    ragtel_spans: SpanRecorder, bad: str
) -> None:
    tracer = ragtel_spans.tracer()
    with pytest.raises(ValueError, match="context") as raised:
        tracer.start_span("x", context=bad)
    assert repr(bad)[:20] in str(raised.value)


def test_context_of_wrong_type_raises_type_error(ragtel_spans: SpanRecorder) -> None:
    with pytest.raises(TypeError, match="context must be"):
        ragtel_spans.tracer().start_span("x", context=42)  # type: ignore[arg-type]


def test_same_name_returns_same_tracer_across_threads(ragtel_spans: SpanRecorder) -> None:
    results: list[LastMileTracer] = []
    barrier = threading.Barrier(20)

    def create() -> None:
        barrier.wait()
        results.append(get_lastmile_tracer("shared", tracer_provider=ragtel_spans.provider))

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20 and all(tracer is results[0] for tracer in results)
    assert get_lastmile_tracer("other", tracer_provider=ragtel_spans.provider) is not results[0]


def _assert_each_child_under_its_own_parent(recorder: SpanRecorder, count: int) -> None:
    spans = recorder.spans
    parents = {span.name: span for span in spans if span.name.startswith("parent-")}
    children = [span for span in spans if span.name.startswith("child-")]
    assert len(parents) == count and len(children) == count
    for child in children:
        parent = parents["parent-" + child.name.removeprefix("child-")]
        assert child.parent.span_id == parent.context.span_id
        assert child.context.trace_id == parent.context.trace_id
    assert len({span.context.trace_id for span in parents.values()}) == count


def test_fifty_threads_nest_under_the_right_parents(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    barrier = threading.Barrier(50)

    @tracer.trace_function()
    def step(i: int) -> int:
        return i

    def run(i: int) -> None:
        with tracer.start_as_current_span(f"parent-{i}"):
            barrier.wait()  # all parents open at once
            with tracer.start_as_current_span(f"child-{i}"):
                step(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_each_child_under_its_own_parent(ragtel_spans, 50)


async def test_fifty_asyncio_tasks_nest_under_the_right_parents(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.atrace_function()
    async def leaf(i: int) -> int:
        await asyncio.sleep(0)
        return i

    async def run(i: int) -> None:
        with tracer.start_as_current_span(f"parent-{i}"):
            await asyncio.sleep(0.001 * (i % 5))  # interleave the tasks
            with tracer.start_as_current_span(f"child-{i}"):
                await leaf(i)

    await asyncio.gather(*(run(i) for i in range(50)))
    _assert_each_child_under_its_own_parent(ragtel_spans, 50)
    leaves = [span for span in ragtel_spans.spans if span.name.endswith("leaf")]
    children = {
        span.context.span_id for span in ragtel_spans.spans if span.name.startswith("child-")
    }
    assert len(leaves) == 50 and all(span.parent.span_id in children for span in leaves)


def test_root_attributes_identify_project_and_flow(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(
        "rag",
        project_name="support-bot",
        project_id="p-1",
        pipeline_type="ingestion",
        initial_params={"chunk_size": 512, "splitter": "sentence"},
    )
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    root, child = ragtel_spans.by_name("root"), ragtel_spans.by_name("child")
    assert dict(root.attributes) == {
        "ragtel.project.name": "support-bot",
        "ragtel.project.id": "p-1",
        "ragtel.rag_flow.type": "ingestion",
        "ragtel.param.chunk_size": 512,
        "ragtel.param.splitter": "sentence",
    }
    assert dict(child.attributes) == {}


def test_bad_arguments_raise_naming_them(ragtel_spans: SpanRecorder) -> None:
    provider = ragtel_spans.provider
    with pytest.raises(ValueError, match="rag_flow_type must be one of 'ingestion', 'query'"):
        get_lastmile_tracer("a", rag_flow_type="both", tracer_provider=provider)
    with pytest.raises(ValueError, match="aliases"):
        get_lastmile_tracer(
            "b", rag_flow_type="query", pipeline_type="ingestion", tracer_provider=provider
        )
    # LastMile's older positional order is accepted; an argument given twice is not.
    with pytest.raises(TypeError, match="output_filepath both by position and by keyword"):
        get_lastmile_tracer(
            "c", RagFlowType.QUERY, "a.jsonl", output_filepath="b.jsonl", tracer_provider=provider
        )
    with pytest.raises(ValueError, match=r"initial_params key must be a non-empty str"):
        get_lastmile_tracer("d", initial_params={"": 1}, tracer_provider=provider)
    with pytest.raises(TypeError, match="tracer_name"):  # "" and None log an error instead
        get_lastmile_tracer(5, tracer_provider=provider)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exporter must be one of"):
        get_lastmile_tracer("e", exporter="jaeger", tracer_provider=provider)


from ragtel import RagFlowType  # noqa: E402


def test_non_recording_spans_cost_nothing_and_record_nothing(ragtel_spans: SpanRecorder) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer = get_lastmile_tracer("sampled-out", tracer_provider=provider)
    calls = []

    @tracer.trace_function(name="f")
    def f(x: object) -> object:
        calls.append(x)
        return x

    assert f(1) == 1 and calls == [1]
    with tracer.start_as_current_span("x") as span:
        assert not span.is_recording()


def test_sampled_out_calls_never_run_the_mask_or_encoder(ragtel_spans: SpanRecorder) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    masked: list[object] = []
    tracer = get_lastmile_tracer(
        "sampled-out-mask", tracer_provider=TracerProvider(sampler=ALWAYS_OFF), mask=masked.append
    )

    @tracer.trace_function(name="f")
    def f(x: object) -> object:
        return x

    @tracer.trace_function(name="g")
    def g(n: int):  # type: ignore[no-untyped-def]
        yield from range(n)

    assert f({"a": 1}) == {"a": 1}
    assert list(g(3)) == [0, 1, 2]
    assert masked == []


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


def test_a_headers_mapping_is_lenient_whatever_it_holds(ragtel_spans: SpanRecorder) -> None:
    # Names that are not text used to go through str() (which may raise), and
    # values that are not text reached the propagators, which raised TypeError.
    tracer = ragtel_spans.tracer()
    headers = {BrokenRepr(): "x", "traceparent": 5, "baggage": [b"k=v"], 7: None}
    with tracer.start_as_current_span("new trace", context=headers) as span:
        assert span.parent is None


def test_labels_and_project_attributes_are_recorded_exportable(
    ragtel_spans: SpanRecorder,
) -> None:
    # Recorded as they were, lone surrogates failed the export of the whole batch.
    odd = "conv-\ud800"
    tracer = ragtel_spans.tracer("odd\udfff", project_name=odd, project_id=odd)
    with tracer.using_attributes(session_id=odd, user_id=odd, tags=[odd]):
        tracer.start_span("labelled").end()
    encode_spans_line(ragtel_spans.spans)  # raises if any text cannot be exported
    attributes = ragtel_spans.by_name("labelled").attributes
    assert attributes["session.id"] == attributes["ragtel.project.name"] == "conv-\\ud800"
    assert attributes["ragtel.tags"] == ("conv-\\ud800",)


def test_hostile_tracer_arguments_raise_naming_them(ragtel_spans: SpanRecorder) -> None:
    provider = ragtel_spans.provider
    with pytest.raises(ValueError, match="rag_flow_type"):  # Enum's own message repr()s it
        get_lastmile_tracer("a", rag_flow_type=BrokenRepr(), tracer_provider=provider)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="output_filepath"):
        get_lastmile_tracer("b", output_filepath=5, tracer_provider=provider)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tracer_name"):
        get_lastmile_tracer(BrokenRepr(), tracer_provider=provider)  # type: ignore[arg-type]
    for exporter in (object(), [BrokenRepr()]):  # not iterable; an item's repr raises
        with pytest.raises(TypeError, match="exporter must be a str or a list of str"):
            get_lastmile_tracer("e", exporter=exporter, tracer_provider=provider)  # type: ignore[arg-type]
    # Values are compared by repr on later calls: a broken one is no error.
    get_lastmile_tracer("c", initial_params={"k": BrokenRepr()}, tracer_provider=provider)
    get_lastmile_tracer("c", initial_params={"k": BrokenRepr()}, tracer_provider=provider)
