"""Decorators without parentheses: ``@tracer.trace_function``, ``@tracer.atrace_function``,
``@traced``, for every kind of callable, record what the forms with parentheses record."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from opentelemetry import trace

from ragtel import traced
from ragtel.testing import SpanRecorder


def recorded(recorder: SpanRecorder, name: str) -> tuple[object, object, str]:
    """The input (decoded), output (as recorded) and scope of the one span called ``name``."""
    span = recorder.by_name(name)
    assert span.instrumentation_scope is not None
    return (
        json.loads(span.attributes["ragtel.input"]),
        span.attributes["ragtel.output"],
        span.instrumentation_scope.name,
    )


def _decorator_forms(recorder: SpanRecorder) -> dict[str, Callable[[Any], Any]]:
    tracer = recorder.tracer()
    return {
        "trace_function": tracer.trace_function,
        "atrace_function": tracer.atrace_function,
        "trace_function()": tracer.trace_function(),
        "atrace_function()": tracer.atrace_function(),
    }


@pytest.mark.parametrize(
    "form", ["trace_function", "atrace_function", "trace_function()", "atrace_function()"]
)
async def test_every_kind_of_callable(ragtel_spans: SpanRecorder, form: str) -> None:
    decorate = _decorator_forms(ragtel_spans)[form]

    @decorate
    def function(x: int) -> int:
        return x + 1

    @decorate
    async def coroutine(x: int) -> int:
        assert trace.get_current_span().is_recording()
        return x * 2

    @decorate
    def generator(n: int) -> Iterator[int]:
        yield from range(n)

    @decorate
    async def async_generator(n: int) -> AsyncIterator[str]:
        for index in range(n):
            yield f"t{index}"

    class Store:
        @decorate
        def method(self, x: int) -> int:
            return -x

        @decorate
        @classmethod
        def outer_classmethod(cls, x: int) -> int:
            return x * 10

        @decorate
        @staticmethod
        def static(x: int) -> str:
            return f"s{x}"

    assert function(1) == 2
    assert await coroutine(3) == 6
    assert list(generator(2)) == [0, 1]
    assert [item async for item in async_generator(2)] == ["t0", "t1"]
    assert Store().method(4) == -4
    assert Store.outer_classmethod(5) == 50
    assert Store.static(6) == "s6"

    def name(func: str) -> str:
        return f"test_every_kind_of_callable.<locals>.{func}"

    assert recorded(ragtel_spans, name("function")) == ({"x": 1}, "2", "test")
    assert recorded(ragtel_spans, name("coroutine")) == ({"x": 3}, "6", "test")
    assert recorded(ragtel_spans, name("generator")) == ({"n": 2}, "[0, 1]", "test")
    assert recorded(ragtel_spans, name("async_generator")) == ({"n": 2}, '["t0", "t1"]', "test")
    assert recorded(ragtel_spans, name("Store.method")) == ({"x": 4}, "-4", "test")
    assert recorded(ragtel_spans, name("Store.outer_classmethod")) == ({"x": 5}, "50", "test")
    assert recorded(ragtel_spans, name("Store.static")) == ({"x": 6}, "s6", "test")
    assert len(ragtel_spans.spans) == 7


def test_a_name_given_first_is_still_the_span_name(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function("retrieve")
    def fetch(query: str) -> list[str]:
        return [query]

    @tracer.atrace_function("generate")
    def write(prompt: str) -> str:
        return prompt.upper()

    assert fetch("q") == ["q"]
    assert write("p") == "P"
    assert recorded(ragtel_spans, "retrieve") == ({"query": "q"}, '["q"]', "test")
    assert recorded(ragtel_spans, "generate") == ({"prompt": "p"}, "P", "test")


def test_bare_decoration_keeps_the_function_itself(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @tracer.trace_function
    def documented(x: int) -> int:
        """Adds one."""
        return x + 1

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Adds one."


async def test_traced_without_a_tracer_uses_the_global_provider(
    ragtel_spans: SpanRecorder,
) -> None:
    # Decorated before any provider is installed, as at a module's import.
    @traced
    def function(x: int) -> int:
        return x + 1

    @traced
    async def coroutine(x: int) -> int:
        return x * 2

    @traced
    def generator(n: int) -> Iterator[int]:
        yield from range(n)

    @traced
    async def async_generator(n: int) -> AsyncIterator[int]:
        for index in range(n):
            yield index

    class Store:
        @traced
        def method(self, x: int) -> int:
            return -x

        @traced
        @classmethod
        def outer_classmethod(cls, x: int) -> int:
            return x * 10

        @traced
        @staticmethod
        def static(x: int) -> int:
            return x - 1

    trace.set_tracer_provider(ragtel_spans.provider)
    assert function(1) == 2
    assert await coroutine(3) == 6
    assert list(generator(2)) == [0, 1]
    assert [item async for item in async_generator(3)] == [0, 1, 2]
    assert Store().method(4) == -4
    assert Store.outer_classmethod(5) == 50
    assert Store.static(6) == 5

    def name(func: str) -> str:
        return f"test_traced_without_a_tracer_uses_the_global_provider.<locals>.{func}"

    assert recorded(ragtel_spans, name("function")) == ({"x": 1}, "2", "ragtel")
    assert recorded(ragtel_spans, name("coroutine")) == ({"x": 3}, "6", "ragtel")
    assert recorded(ragtel_spans, name("generator")) == ({"n": 2}, "[0, 1]", "ragtel")
    assert recorded(ragtel_spans, name("async_generator")) == ({"n": 3}, "[0, 1, 2]", "ragtel")
    assert recorded(ragtel_spans, name("Store.method")) == ({"x": 4}, "-4", "ragtel")
    assert recorded(ragtel_spans, name("Store.outer_classmethod")) == ({"x": 5}, "50", "ragtel")
    assert recorded(ragtel_spans, name("Store.static")) == ({"x": 6}, "5", "ragtel")


def test_traced_with_a_tracer_is_unchanged(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    @traced(tracer)
    def rerank(query: str) -> list[str]:
        return [query]

    @traced(tracer, "named")
    def named(x: int) -> int:
        return x

    assert rerank("q") == ["q"]
    assert named(1) == 1
    assert recorded(ragtel_spans, rerank.__qualname__) == ({"query": "q"}, '["q"]', "test")
    assert recorded(ragtel_spans, "named") == ({"x": 1}, "1", "test")


def test_traced_refuses_what_is_neither_a_tracer_nor_a_function() -> None:
    with pytest.raises(TypeError, match="tracer must be an OpenTelemetry Tracer; got int"):
        traced(3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="tracer must be an OpenTelemetry Tracer; got type"):
        traced(dict)  # type: ignore[call-overload]  # a class is not decorated
    # A function with other arguments is not the bare form: the tracer is missing.
    with pytest.raises(TypeError, match="tracer must be an OpenTelemetry Tracer; got function"):
        traced(lambda: None, "name")  # type: ignore[call-overload]
