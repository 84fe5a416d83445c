"""Decorators: input/output capture for functions, coroutines and generators of every shape."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from ragtel import traced
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel.testing import SpanRecorder


def inputs(span) -> object:  # type: ignore[no-untyped-def]
    return json.loads(span.attributes["ragtel.input"])


def test_function_records_bound_arguments_and_result(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function()
    def retrieve(query: str, top_k: int = 3, *, filters: dict | None = None) -> list[str]:
        return [query] * top_k

    assert retrieve("q", filters={"lang": "en"}) == ["q", "q", "q"]
    span = ragtel_spans.by_name(retrieve.__qualname__)
    assert inputs(span) == {"query": "q", "top_k": 3, "filters": {"lang": "en"}}
    assert json.loads(span.attributes["ragtel.output"]) == ["q", "q", "q"]


def test_string_output_is_recorded_as_text_and_none_is_not_recorded(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("answer")
    def answer() -> str:
        return "Paris"

    @tracer.trace_function("procedure")
    def procedure() -> None:
        return None

    answer()
    procedure()
    assert ragtel_spans.by_name("answer").attributes["ragtel.output"] == "Paris"
    assert "ragtel.output" not in ragtel_spans.by_name("procedure").attributes


def test_var_args_and_kwargs_are_bound_by_name(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("variadic")
    def variadic(first, /, *rest, **options):  # type: ignore[no-untyped-def]
        return len(rest)

    variadic(1, 2, 3, mode="fast")
    assert inputs(ragtel_spans.by_name("variadic")) == {
        "first": 1,
        "rest": [2, 3],
        "options": {"mode": "fast"},
    }


def test_secrets_in_arguments_are_redacted(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("call_llm")
    def call_llm(prompt: str, api_key: str, config: dict) -> str:
        return "ok"

    call_llm("hi", "sk-live-123", {"headers": {"Authorization": "Bearer xyz"}, "max_tokens": 5})
    recorded = ragtel_spans.by_name("call_llm").attributes["ragtel.input"]
    assert "sk-live-123" not in recorded and "xyz" not in recorded
    assert inputs(ragtel_spans.by_name("call_llm")) == {
        "prompt": "hi",
        "api_key": "[REDACTED]",
        "config": {"headers": {"Authorization": "[REDACTED]"}, "max_tokens": 5},
    }


def test_mask_hook_sees_every_value_and_a_failing_mask_records_nothing(
    ragtel_spans: SpanRecorder,
) -> None:
    seen: list[object] = []

    def mask(value: object) -> object:
        seen.append(value)
        if value == "boom":
            raise RuntimeError("mask bug")
        return "masked"

    tracer = ragtel_spans.tracer("masked", mask=mask)

    @tracer.trace_function("f")
    def f(text: str) -> str:
        return text

    f("secret text")
    f("boom")
    first, second = ragtel_spans.spans
    assert first.attributes["ragtel.input"] == '"masked"'
    assert first.attributes["ragtel.output"] == "masked"
    assert second.attributes["ragtel.output"] == "[MASK FAILED]"
    assert {"text": "secret text"} in seen and "boom" in seen


def test_capture_can_be_turned_off_by_environment(
    ragtel_spans: SpanRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGTEL_CAPTURE_CONTENT", "false")
    tracer = ragtel_spans.tracer("quiet")

    @tracer.trace_function("f")
    def f(text: str) -> str:
        return text

    assert f("private") == "private"
    span = ragtel_spans.by_name("f")
    assert "ragtel.input" not in span.attributes and "ragtel.output" not in span.attributes


def test_exception_is_recorded_and_reraised_unchanged(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    error = KeyError("missing")

    @tracer.trace_function("fails")
    def fails() -> None:
        raise error

    with pytest.raises(KeyError) as raised:
        fails()
    assert raised.value is error
    span = ragtel_spans.by_name("fails")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "KeyError: 'missing'"
    assert [event.name for event in span.events] == ["exception"]


def test_wrapper_preserves_metadata() -> None:
    from ragtel.testing import capture_spans

    with capture_spans() as recorder:
        tracer = recorder.tracer()

        def documented(a: int, b: str = "x") -> str:
            """Docstring survives."""
            return b * a

        wrapped = tracer.trace_function()(documented)
        assert wrapped.__wrapped__ is documented  # type: ignore[attr-defined]
        assert wrapped.__doc__ == "Docstring survives."
        assert wrapped.__name__ == "documented"
        assert inspect.signature(wrapped) == inspect.signature(documented)


class Retriever:
    def __init__(self, tracer):  # type: ignore[no-untyped-def]
        self.prefix = "doc"

    def search(self, query: str) -> str:
        return f"{self.prefix}:{query}"


def test_methods_classmethods_and_staticmethods(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    class Store:
        scale = 2

        @tracer.trace_function()
        def method(self, x: int) -> int:
            return x * self.scale

        @tracer.trace_function()
        @classmethod
        def outer_classmethod(cls, x: int) -> int:
            return x * cls.scale

        @classmethod
        @tracer.trace_function()
        def inner_classmethod(cls, x: int) -> int:
            return x + cls.scale

        @tracer.trace_function()
        @staticmethod
        def static(x: int) -> int:
            return -x

    store = Store()
    assert store.method(3) == 6
    assert Store.outer_classmethod(4) == 8
    assert Store.inner_classmethod(1) == 3
    assert Store.static(5) == -5
    assert store.static(5) == -5
    names = ragtel_spans.names()
    assert len(names) == 5
    for span in ragtel_spans.spans:
        assert set(inputs(span)) == {"x"}, span.name  # self/cls are never recorded


async def test_coroutine(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.atrace_function("embed")
    async def embed(text: str) -> list[float]:
        await asyncio.sleep(0)
        assert trace.get_current_span().is_recording()
        return [0.5, 0.25]

    assert await embed("hello") == [0.5, 0.25]
    span = ragtel_spans.by_name("embed")
    assert inputs(span) == {"text": "hello"}
    assert json.loads(span.attributes["ragtel.output"]) == [0.5, 0.25]


def test_generator_span_covers_the_whole_iteration(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    observed_parents: list[int] = []

    @tracer.trace_function("stream")
    def stream(n: int) -> Iterator[int]:
        for i in range(n):
            observed_parents.append(trace.get_current_span().get_span_context().span_id)
            yield i

    with tracer.start_as_current_span("caller") as caller:
        items = []
        for item in stream(3):
            # Between items the caller's context is current again, not the generator's.
            assert trace.get_current_span() is caller
            items.append(item)
    assert items == [0, 1, 2]
    span = ragtel_spans.by_name("stream")
    assert set(observed_parents) == {span.context.span_id}
    assert json.loads(span.attributes["ragtel.output"]) == [0, 1, 2]
    assert span.parent.span_id == caller.get_span_context().span_id
    assert span.end_time >= span.start_time


def test_generator_never_iterated_opens_no_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("lazy")
    def lazy() -> Iterator[int]:
        yield 1

    lazy()
    assert ragtel_spans.spans == []


def test_generator_closed_early_ends_its_span_once(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    cleaned = []

    @tracer.trace_function("numbers")
    def numbers() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            cleaned.append(True)

    gen = numbers()
    assert next(gen) == 0 and next(gen) == 1
    gen.close()
    gen.close()
    assert cleaned == [True]
    span = ragtel_spans.by_name("numbers")
    assert span.status.status_code is StatusCode.UNSET
    assert json.loads(span.attributes["ragtel.output"]) == [0, 1]


def test_generator_send_throw_and_return_value(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("echo")
    def echo() -> Iterator[object]:
        received = yield "ready"
        try:
            yield f"got {received}"
        except ValueError as error:
            yield f"handled {error}"
        return "done"

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("x") == "got x"
    assert gen.throw(ValueError("bad")) == "handled bad"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    span = ragtel_spans.by_name("echo")
    assert json.loads(span.attributes["ragtel.output"]) == ["ready", "got x", "handled bad"]
    assert span.status.status_code is StatusCode.UNSET


def test_generator_error_marks_span_failed(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("broken")
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("stream died")

    with pytest.raises(RuntimeError, match="stream died"):
        list(broken())
    span = ragtel_spans.by_name("broken")
    assert span.status.status_code is StatusCode.ERROR
    assert json.loads(span.attributes["ragtel.output"]) == [1]


def test_generator_output_is_capped(
    ragtel_spans: SpanRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("many")
    def many() -> Iterator[int]:
        yield from range(5000)

    assert sum(1 for _ in many()) == 5000
    output = json.loads(ragtel_spans.by_name("many").attributes["ragtel.output"])
    assert output[0] == 0
    assert output[-1].startswith("…[") and output[-1].endswith("more items]")
    assert len(output) <= 1001


async def test_async_generator_paths(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.atrace_function("tokens")
    async def tokens(n: int) -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(0)
            yield f"t{i}"

    assert [t async for t in tokens(3)] == ["t0", "t1", "t2"]

    gen = tokens(10)
    assert await gen.__anext__() == "t0"
    await gen.aclose()

    spans = [span for span in ragtel_spans.spans if span.name == "tokens"]
    assert [json.loads(span.attributes["ragtel.output"]) for span in spans] == [
        ["t0", "t1", "t2"],
        ["t0"],
    ]


async def test_async_generator_cancelled_ends_span_without_error(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    started = asyncio.Event()

    @tracer.atrace_function("slow")
    async def slow() -> AsyncIterator[int]:
        yield 1
        started.set()
        await asyncio.sleep(3600)
        yield 2

    async def consume() -> None:
        async for _ in slow():
            pass

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = ragtel_spans.by_name("slow")
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.UNSET
    assert json.loads(span.attributes["ragtel.output"]) == [1]


async def test_coroutine_cancelled_ends_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.atrace_function("wait")
    async def wait() -> None:
        await asyncio.sleep(3600)

    task = asyncio.create_task(wait())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ragtel_spans.by_name("wait").end_time is not None


def test_module_level_traced_works_with_plain_otel_tracers(ragtel_spans: SpanRecorder) -> None:
    plain = ragtel_spans.provider.get_tracer("plain")

    @traced(plain)
    def add(a: int, b: int) -> int:
        return a + b

    @traced(ragtel_spans.tracer("proxy"), name="mul")
    def mul(a: int, b: int) -> int:
        return a * b

    assert add(1, 2) == 3 and mul(2, 3) == 6
    assert inputs(ragtel_spans.by_name(add.__qualname__)) == {"a": 1, "b": 2}
    assert ragtel_spans.by_name("mul").attributes["ragtel.output"] == "6"


def test_traced_rejects_things_that_are_not_tracers() -> None:
    with pytest.raises(TypeError, match="tracer must be an OpenTelemetry Tracer"):
        traced("not a tracer")  # type: ignore[arg-type]


def test_span_names_are_never_rewritten(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    odd = "  Weird name / with spaces & ünïcode  "

    @tracer.trace_function(odd)
    def f() -> None:
        pass

    f()
    assert ragtel_spans.names() == [odd]


def test_value_cap_follows_the_otel_length_limit(
    ragtel_spans: SpanRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100")
    tracer = ragtel_spans.tracer("capped")

    @tracer.trace_function("long")
    def long(text: str) -> str:
        return text * 2

    long("z" * 500)
    span = ragtel_spans.by_name("long")
    output = span.attributes["ragtel.output"]
    assert len(output) == 100 and output.startswith("zzz")
    assert output.endswith("chars]") and "…[truncated " in output
    assert len(span.attributes["ragtel.input"]) == 100


def test_generator_span_is_ended_exactly_once(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("gen")
    def gen() -> Iterator[int]:
        yield 1
        yield 2

    @tracer.atrace_function("agen")
    async def agen() -> AsyncIterator[int]:
        yield 1

    g = gen()
    next(g)
    g.close()
    list(gen())
    with pytest.raises(ValueError):
        broken = gen()
        next(broken)
        broken.throw(ValueError("x"))

    async def drive() -> None:
        a = agen()
        await a.__anext__()
        await a.aclose()

    asyncio.run(drive())
    assert ragtel_spans.names().count("gen") == 3
    assert ragtel_spans.names().count("agen") == 1
    assert "Calling end() on an ended span" not in caplog.text


class UnprintableError(Exception):
    """An exception whose str() raises (a message built from bad format arguments)."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


def _raise(error: Exception) -> None:
    raise error


@pytest.mark.parametrize(
    "error",
    [
        UnprintableError("details"),
        # A message holding a file name decoded with surrogateescape (as os.listdir
        # gives non-UTF-8 names), written into it as it is.
        ValueError("cannot parse report-\udcff.txt"),
    ],
    ids=["str-raises", "lone-surrogate"],
)
async def test_errors_come_out_unchanged_and_their_record_is_exportable(
    ragtel_spans: SpanRecorder, error: Exception
) -> None:
    # Recording an error called str() on it (which could raise, replacing the
    # caller's error) and recorded its text as it was (a lone surrogate failed
    # the export of the whole batch).
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("function")
    def function() -> None:
        _raise(error)

    @tracer.trace_function("coroutine")
    async def coroutine() -> None:
        _raise(error)

    @tracer.trace_function("generator")
    def generator() -> Iterator[int]:
        yield 1
        _raise(error)

    with pytest.raises(type(error)) as raised:
        function()
    assert raised.value is error
    with pytest.raises(type(error)) as raised:
        await coroutine()
    assert raised.value is error
    with pytest.raises(type(error)) as raised:
        list(generator())
    assert raised.value is error
    encode_spans_line(ragtel_spans.spans)  # raises if any text cannot be exported
    for name in ("function", "coroutine", "generator"):
        span = ragtel_spans.by_name(name)
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description.startswith(type(error).__name__)
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes["exception.type"].endswith(type(error).__qualname__)
