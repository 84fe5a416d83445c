"""The OpenAI SDK instrumentor, with the real ``openai`` client against a local fake API.

Every test drives ``openai.OpenAI`` / ``openai.AsyncOpenAI`` over HTTP to the
server of ``fake_openai_server`` on 127.0.0.1, and reads the spans from an SDK
provider in memory.
"""

from __future__ import annotations

import gc
import json
import logging
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.embeddings import AsyncEmbeddings, Embeddings
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from fake_openai_server import ANSWER_MODEL, STREAM_PIECES, FakeOpenAI, bag_of_words
from ragtel.instrumentation.openai import OpenAIInstrumentor
from ragtel.testing import SpanRecorder
from semconv_check import Checker, LiveCheck

QUESTION = "How long do refunds take?"
ANSWER = "Refunds take 5 days."
STREAMED = "".join(STREAM_PIECES)
MESSAGES = [
    {"role": "system", "content": "Answer from the context."},
    {"role": "user", "content": QUESTION},
]
ORIGINALS = {
    (owner, "create"): owner.__dict__["create"]
    for owner in (Completions, AsyncCompletions, Embeddings, AsyncEmbeddings)
}


# Fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.requests.clear()
    return server


@pytest.fixture
def client(fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0) as sdk_client:
        yield sdk_client


@pytest.fixture
async def async_client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake.base_url, api_key="test", max_retries=0
    ) as sdk_client:
        yield sdk_client


# The instrumentor under test (conftest's instrumentor fixture instruments it per test).
INSTRUMENTOR = OpenAIInstrumentor


# Helpers ------------------------------------------------------------------------------


def llm_spans(recorder: SpanRecorder) -> list[ReadableSpan]:
    """Spans of model calls: ragtel's, or a peer instrumentor's."""
    return [
        span
        for span in recorder.spans
        if (span.attributes or {}).get("gen_ai.operation.name") in ("chat", "embeddings")
        or "openinference.span.kind" in (span.attributes or {})
    ]


def params_of(span: ReadableSpan) -> dict[str, Any]:
    return {
        key.removeprefix("ragtel.param."): value
        for key, value in (span.attributes or {}).items()
        if key.startswith("ragtel.param.")
    }


def event(span: ReadableSpan, name: str) -> dict[str, Any]:
    matches = [dict(e.attributes or {}) for e in span.events if e.name == name]
    assert len(matches) == 1, f"expected one {name!r} event, got {[e.name for e in span.events]}"
    return matches[0]


def is_child(span: ReadableSpan, parent: ReadableSpan) -> bool:
    assert span.parent is not None, f"{span.name} has no parent"
    return (
        span.parent.span_id == parent.context.span_id
        and span.context.trace_id == parent.context.trace_id
    )


def chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        **{"model": "gpt-4o-mini", "messages": MESSAGES, **kwargs}
    )


# Chat completions -------------------------------------------------------------------


def test_chat_completion_is_a_client_span_with_genai_attributes_and_a_query_event(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    fake: FakeOpenAI,
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("answer"):
        completion = chat(client, temperature=0.2, top_p=0.9, max_tokens=64, seed=7, stop=["END"])
    assert completion.choices[0].message.content == ANSWER

    span = ragtel_spans.by_name("chat gpt-4o-mini")
    assert span.kind is SpanKind.CLIENT
    assert is_child(span, ragtel_spans.by_name("answer"))
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "ragtel.instrumentation.openai"
    attributes = dict(span.attributes or {})
    assert {key: attributes[key] for key in attributes if key.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.model": ANSWER_MODEL,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 21,
        "gen_ai.usage.output_tokens": 6,
        "gen_ai.usage.cache_read.input_tokens": 8,
    }
    assert json.loads(str(attributes["ragtel.input"])) == MESSAGES
    assert attributes["ragtel.output"] == ANSWER
    assert isinstance(attributes["ragtel.llm.latency"], float)
    assert attributes["ragtel.span.kind"] == "query"
    assert event(span, "ragtel.query") == {
        "ragtel.query": QUESTION,
        "ragtel.response": ANSWER,
        "ragtel.system_prompt": "Answer from the context.",
    }
    assert span.status.status_code is StatusCode.UNSET
    # The request reached the API unchanged.
    assert fake.requests[-1]["messages"] == MESSAGES
    assert fake.requests[-1]["temperature"] == 0.2


def test_generation_params_join_the_traces_paramset_on_its_root(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("answer"), app.start_as_current_span("generate"):
        chat(
            client,
            temperature=0.2,
            top_p=0.9,
            max_tokens=64,
            frequency_penalty=0.5,
            seed=7,
            stop="END",
            n=1,
            response_format={"type": "json_object"},
            user="u-7",
        )
    assert params_of(ragtel_spans.by_name("answer")) == {
        "generation.model": "gpt-4o-mini",
        "generation.temperature": 0.2,
        "generation.top_p": 0.9,
        "generation.max_tokens": 64,
        "generation.frequency_penalty": 0.5,
        "generation.seed": 7,
        "generation.stop": "END",
        "generation.n": 1,
        "generation.response_format": "json_object",
    }
    # Params live on the root; the LLM span carries them as gen_ai.request.*.
    assert params_of(ragtel_spans.by_name("chat gpt-4o-mini")) == {}
    assert params_of(ragtel_spans.by_name("generate")) == {}


def test_a_call_outside_any_trace_is_the_root_of_its_own(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    chat(client, temperature=0.0)
    chat(client, model="gpt-4o", temperature=1.0)
    first, second = llm_spans(ragtel_spans)
    assert first.parent is None and second.parent is None
    assert first.context.trace_id != second.context.trace_id
    # Each trace has the params of its own call only.
    assert params_of(first) == {"generation.model": "gpt-4o-mini", "generation.temperature": 0.0}
    assert params_of(second) == {"generation.model": "gpt-4o", "generation.temperature": 1.0}


def test_messages_given_as_a_generator_are_left_for_the_sdk(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    fake: FakeOpenAI,
) -> None:
    completion = chat(client, messages=(message for message in MESSAGES))
    assert completion.choices[0].message.content == ANSWER
    assert fake.requests[-1]["messages"] == MESSAGES  # the SDK still read them all
    span = ragtel_spans.by_name("chat gpt-4o-mini")
    assert "ragtel.input" not in (span.attributes or {})
    assert [e.name for e in span.events] == []  # no query without the messages
    assert (span.attributes or {})["ragtel.output"] == ANSWER


def test_several_choices_are_all_recorded(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    chat(client, n=2)
    attributes = ragtel_spans.by_name("chat gpt-4o-mini").attributes or {}
    assert json.loads(str(attributes["ragtel.output"])) == [ANSWER, ANSWER]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop", "stop")


def test_raw_response_calls_record_the_answer_the_app_parses(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.http_response.status_code == 200
    assert raw.parse().choices[0].message.content == ANSWER
    attributes = ragtel_spans.by_name("chat gpt-4o-mini").attributes or {}
    assert attributes["ragtel.output"] == ANSWER
    assert attributes["gen_ai.usage.input_tokens"] == 21


async def test_async_chat_completion(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("answer"):
        completion = await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, temperature=0.3
        )
    assert completion.choices[0].message.content == ANSWER
    span = ragtel_spans.by_name("chat gpt-4o-mini")
    assert span.kind is SpanKind.CLIENT
    assert is_child(span, ragtel_spans.by_name("answer"))
    attributes = span.attributes or {}
    assert attributes["ragtel.output"] == ANSWER
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    assert event(span, "ragtel.query")["ragtel.query"] == QUESTION
    assert params_of(ragtel_spans.by_name("answer")) == {
        "generation.model": "gpt-4o-mini",
        "generation.temperature": 0.3,
    }


# Streams ------------------------------------------------------------------------------


def stream(client: openai.OpenAI, scenario: str | None = None, **kwargs: Any) -> Any:
    headers = {"X-Fake-Scenario": scenario} if scenario else None
    return chat(client, stream=True, extra_headers=headers, **kwargs)


def assert_streamed_span(
    recorder: SpanRecorder, pieces: tuple[str, ...], *, finished: bool, usage: bool
) -> ReadableSpan:
    (span,) = llm_spans(recorder)  # ended exactly once: one finished span
    attributes = dict(span.attributes or {})
    assert span.name == "chat gpt-4o-mini"
    assert attributes["ragtel.llm.stream.chunk_count"] == len(pieces)
    assert attributes.get("ragtel.llm.stream.chunks", ()) == pieces
    if pieces:
        assert attributes["ragtel.output"] == "".join(pieces)
    assert attributes["gen_ai.response.model"] == ANSWER_MODEL
    assert ("gen_ai.response.finish_reasons" in attributes) is finished
    assert ("gen_ai.usage.input_tokens" in attributes) is usage
    return span


def test_a_stream_read_to_the_end_ends_its_span_with_the_answer_and_usage(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ragtel")
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("answer"):
        chunks = stream(client, stream_options={"include_usage": True}, temperature=0.5)
    # The call returned, the answer is still to come: the span is open.
    assert llm_spans(ragtel_spans) == []
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == STREAMED

    span = assert_streamed_span(ragtel_spans, STREAM_PIECES, finished=True, usage=True)
    attributes = span.attributes or {}
    assert attributes["gen_ai.usage.input_tokens"] == 21
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.status.status_code is StatusCode.UNSET
    # It keeps the context it was called in, though read outside it.
    assert is_child(span, ragtel_spans.by_name("answer"))
    assert event(span, "ragtel.query") == {
        "ragtel.query": QUESTION,
        "ragtel.response": STREAMED,
        "ragtel.system_prompt": "Answer from the context.",
    }
    # Its root ended before the answer streamed in: the params were registered when
    # the call started, and nothing complains at the end.
    assert params_of(ragtel_spans.by_name("answer")) == {
        "generation.model": "gpt-4o-mini",
        "generation.temperature": 0.5,
    }
    assert [r.getMessage() for r in caplog.records] == []


def test_a_stream_without_usage_asked_records_none(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    for _ in stream(client):
        pass
    assert_streamed_span(ragtel_spans, STREAM_PIECES, finished=True, usage=False)


def test_the_stream_behaves_like_the_sdks_stream(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    chunks = stream(client)
    assert isinstance(chunks, openai.Stream)
    assert chunks.response.status_code == 200
    assert chunks.response.headers["content-type"] == "text/event-stream"
    with chunks as entered:
        assert entered is chunks  # the with block reads through the recording proxy too
        first = next(entered)
        assert first.object == "chat.completion.chunk"
        rest = list(entered)
    assert len(rest) == 4  # three pieces, then the finish chunk
    assert_streamed_span(ragtel_spans, STREAM_PIECES, finished=True, usage=False)


def test_a_stream_closed_early_ends_its_span_once_with_what_was_read(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    chunks = stream(client)
    next(chunks), next(chunks)  # the role chunk, then the first piece
    chunks.close()
    chunks.close()
    assert [r.getMessage() for r in caplog.records] == []  # no "end() on an ended span"
    span = assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)
    assert span.status.status_code is StatusCode.UNSET


def test_leaving_the_with_block_ends_the_span(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    with stream(client) as chunks:
        next(chunks)
        assert llm_spans(ragtel_spans) == []
    assert_streamed_span(ragtel_spans, (), finished=False, usage=False)


def test_a_stream_dropped_after_break_ends_its_span_when_collected(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    chunks = stream(client)
    for chunk in chunks:
        if chunk.choices[0].delta.content:
            break
    assert llm_spans(ragtel_spans) == []
    del chunks, chunk
    gc.collect()
    assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)


def sdk_stream_error(client: openai.OpenAI, scenario: str) -> type[Exception]:
    """What the SDK itself raises reading a failing stream (it differs across SDK versions)."""
    with suppress_instrumentation(), pytest.raises(Exception) as raised:
        for _ in stream(client, scenario):
            pass
    return type(raised.value)


@pytest.mark.parametrize("scenario", ["broken-chunk", "cut-stream"])
def test_a_stream_raising_midway_marks_its_span_failed_and_reraises(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    scenario: str,
) -> None:
    # With this SDK: json.JSONDecodeError, and openai.APIConnectionError (older SDKs
    # let the HTTP client's RemoteProtocolError through).
    error_type = sdk_stream_error(client, scenario)
    chunks = stream(client, scenario)
    received = []
    with pytest.raises(error_type) as raised:
        for chunk in chunks:
            received.append(chunk)
    assert type(raised.value) is error_type  # unchanged
    assert len(received) == 2  # the role chunk and the first piece came through
    chunks.close()  # after the error: still one span

    span = assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is not None
    assert span.status.description.startswith(error_type.__name__)
    assert (span.attributes or {})["error.type"] == error_type.__qualname__
    exception = event(span, "exception")
    assert exception["exception.type"].endswith(error_type.__name__)


def test_the_stream_helper_is_recorded_too(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    if not hasattr(client.chat.completions, "stream"):
        pytest.skip("this SDK has no chat.completions.stream() helper")
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as events:
        final = events.get_final_completion()
    assert final.choices[0].message.content == STREAMED
    assert_streamed_span(ragtel_spans, STREAM_PIECES, finished=True, usage=False)


async def test_an_async_stream_read_to_the_end(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("answer"):
        chunks = await async_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    assert isinstance(chunks, openai.AsyncStream)
    assert chunks.response.status_code == 200
    assert llm_spans(ragtel_spans) == []
    pieces = [c.choices[0].delta.content async for c in chunks if c.choices]
    assert "".join(p or "" for p in pieces) == STREAMED
    span = assert_streamed_span(ragtel_spans, STREAM_PIECES, finished=True, usage=True)
    assert is_child(span, ragtel_spans.by_name("answer"))
    assert event(span, "ragtel.query")["ragtel.response"] == STREAMED


async def test_an_async_stream_closed_early_or_left_by_async_with(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    async def open_stream() -> Any:
        return await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )

    chunks = await open_stream()
    await chunks.__anext__()
    await chunks.__anext__()
    await chunks.close()
    await chunks.aclose()
    assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)

    ragtel_spans.clear()
    async with await open_stream() as entered:
        async for chunk in entered:
            if chunk.choices[0].delta.content:
                break
        assert llm_spans(ragtel_spans) == []
    assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)


async def test_an_async_stream_dropped_after_break_ends_its_span_when_collected(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    chunks = await async_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    async for chunk in chunks:
        if chunk.choices[0].delta.content:
            break
    assert llm_spans(ragtel_spans) == []
    del chunks, chunk
    gc.collect()
    assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)


async def test_an_async_stream_raising_midway(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    async def read_cut_stream() -> None:
        chunks = await async_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            extra_headers={"X-Fake-Scenario": "cut-stream"},
        )
        async for _ in chunks:
            pass

    with suppress_instrumentation(), pytest.raises(Exception) as plain:
        await read_cut_stream()
    error_type = type(plain.value)
    with pytest.raises(error_type) as raised:
        await read_cut_stream()
    assert type(raised.value) is error_type
    span = assert_streamed_span(ragtel_spans, STREAM_PIECES[:1], finished=False, usage=False)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == error_type.__qualname__


# Embeddings ---------------------------------------------------------------------------


def test_embeddings_span_event_and_params(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    texts = ["refund in 5 days", "reset your password"]
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("ingest"):
        response = client.embeddings.create(model="text-embedding-3-small", input=texts)
    assert [item.embedding for item in response.data] == [bag_of_words(t) for t in texts]

    span = ragtel_spans.by_name("embeddings text-embedding-3-small")
    assert span.kind is SpanKind.CLIENT
    assert is_child(span, ragtel_spans.by_name("ingest"))
    attributes = dict(span.attributes or {})
    assert {key: attributes[key] for key in attributes if key.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small",
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.embeddings.dimension.count": 8,
    }
    assert event(span, "ragtel.embedding") == {
        "ragtel.embedding.count": 2,
        "ragtel.embedding.dimensions": 8,
        "ragtel.chunk.contents": tuple(texts),
    }
    assert params_of(ragtel_spans.by_name("ingest")) == {
        "embedding.model": "text-embedding-3-small"
    }


def test_embeddings_as_floats_with_dimensions_and_token_input(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("ingest"):
        client.embeddings.create(
            model="text-embedding-3-small",
            input="refund days",
            encoding_format="float",
            dimensions=8,
        )
        client.embeddings.create(
            model="text-embedding-3-small", input=[[1, 2, 3]], encoding_format="base64"
        )
    assert params_of(ragtel_spans.by_name("ingest")) == {
        "embedding.model": "text-embedding-3-small",
        "embedding.dimensions": 8,
    }
    first, second = llm_spans(ragtel_spans)
    assert event(first, "ragtel.embedding")["ragtel.chunk.contents"] == ("refund days",)
    # Token ids are not text: counted, not recorded as contents.
    assert event(second, "ragtel.embedding") == {
        "ragtel.embedding.count": 1,
        "ragtel.embedding.dimensions": 8,
    }


async def test_async_embeddings(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("query"):
        await async_client.embeddings.create(model="text-embedding-3-large", input=QUESTION)
    span = ragtel_spans.by_name("embeddings text-embedding-3-large")
    assert is_child(span, ragtel_spans.by_name("query"))
    assert event(span, "ragtel.embedding")["ragtel.chunk.contents"] == (QUESTION,)
    assert params_of(ragtel_spans.by_name("query")) == {"embedding.model": "text-embedding-3-large"}


# Errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, openai.BadRequestError), (500, openai.InternalServerError)],
)
def test_an_api_error_marks_the_span_and_is_reraised_unchanged(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    status: int,
    error_type: type[openai.APIStatusError],
) -> None:
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("answer"), pytest.raises(error_type) as raised:
        chat(client, temperature=0.1, extra_headers={"X-Fake-Scenario": f"error-{status}"})
    assert type(raised.value) is error_type
    assert raised.value.status_code == status
    assert raised.value.body == {
        "message": f"fake error {status}",
        "type": raised.value.type,
        "param": None,
        "code": None,
    }

    span = ragtel_spans.by_name("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == f"{error_type.__name__}: {raised.value}"
    attributes = span.attributes or {}
    assert attributes["error.type"] == error_type.__name__
    assert json.loads(str(attributes["ragtel.input"])) == MESSAGES  # the request is still recorded
    assert "ragtel.output" not in attributes
    exception = event(span, "exception")
    assert exception["exception.type"].endswith(error_type.__name__)
    assert exception["exception.message"] == str(raised.value)
    # The failed call's settings are still the trace's configuration.
    assert params_of(ragtel_spans.by_name("answer")) == {
        "generation.model": "gpt-4o-mini",
        "generation.temperature": 0.1,
    }


async def test_async_errors_of_chat_and_embeddings(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    async_client: openai.AsyncOpenAI,
) -> None:
    failing = {"X-Fake-Scenario": "error-400"}
    with pytest.raises(openai.BadRequestError):
        await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=failing
        )
    with pytest.raises(openai.BadRequestError):
        await async_client.embeddings.create(
            model="text-embedding-3-small", input="x", extra_headers=failing
        )
    spans = llm_spans(ragtel_spans)
    assert [s.name for s in spans] == ["chat gpt-4o-mini", "embeddings text-embedding-3-small"]
    assert all(s.status.status_code is StatusCode.ERROR for s in spans)
    assert params_of(spans[1]) == {"embedding.model": "text-embedding-3-small"}


def test_a_failure_in_ragtels_recording_never_reaches_the_app(
    ragtel_spans: SpanRecorder,
    instrumentor: OpenAIInstrumentor,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="ragtel")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("recording bug")

    monkeypatch.setattr(instrumentor._tracer, "log_llm_call", broken)
    assert chat(client).choices[0].message.content == ANSWER
    assert "".join(c.choices[0].delta.content or "" for c in stream(client)) == STREAMED
    # Both spans still ended, and the bug was logged.
    assert [s.name for s in llm_spans(ragtel_spans)] == ["chat gpt-4o-mini"] * 2
    assert sum("recording bug" in r.exc_text for r in caplog.records if r.exc_text) == 2


def test_a_sampled_out_trace_records_nothing_and_the_calls_work(client: openai.OpenAI) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert chat(client).choices[0].message.content == ANSWER
        assert "".join(c.choices[0].delta.content or "" for c in stream(client)) == STREAMED
        assert len(client.embeddings.create(model="text-embedding-3-small", input="x").data) == 1
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert exporter.get_finished_spans() == ()


def test_suppressed_instrumentation_records_nothing(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    with suppress_instrumentation():
        assert chat(client).choices[0].message.content == ANSWER
    assert ragtel_spans.spans == []


# A small RAG pipeline -------------------------------------------------------------------

DOCUMENTS = {
    "refunds.md": "Refunds take 5 days. Refund requests need the order number.",
    "shipping.md": "Shipping is free over $50. Every order ships in 2 days.",
    "account.md": "Reset your password from the login page. Ask help for a locked account.",
}


def split(text: str) -> list[str]:
    return [sentence.strip() + "." for sentence in text.split(".") if sentence.strip()]


def cosine(a: list[float], b: list[float]) -> float:
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


def test_a_rag_pipeline_records_one_trace_with_its_configuration(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    app = ragtel_spans.tracer("support-bot")
    top_k = 2
    with app.start_as_current_span("rag"):
        with app.start_as_current_span("ingest"):
            chunks = [chunk for text in DOCUMENTS.values() for chunk in split(text)]
            vectors = client.embeddings.create(model="text-embedding-3-small", input=chunks)
            store = list(zip(chunks, (item.embedding for item in vectors.data), strict=True))
        with app.start_as_current_span("retrieve"):
            query = client.embeddings.create(model="text-embedding-3-small", input=QUESTION)
            scored = sorted(
                ((cosine(query.data[0].embedding, vector), chunk) for chunk, vector in store),
                reverse=True,
            )[:top_k]
            app.register_retrieval_params(top_k=top_k)
            app.log_retrieval_event(
                QUESTION,
                [{"id": f"c{i}", "content": c, "score": s} for i, (s, c) in enumerate(scored)],
            )
        with app.start_as_current_span("generate"):
            context = "\n".join(chunk for _, chunk in scored)
            completion = client.chat.completions.create(
                model="gpt-4o-mini",
                temperature=0.0,
                messages=[
                    {"role": "system", "content": f"Answer from the context:\n{context}"},
                    {"role": "user", "content": QUESTION},
                ],
            )
    assert scored[0][1] == "Refunds take 5 days."
    assert completion.choices[0].message.content == ANSWER

    root = ragtel_spans.by_name("rag")
    spans = llm_spans(ragtel_spans)
    assert [s.name for s in spans] == [
        "embeddings text-embedding-3-small",
        "embeddings text-embedding-3-small",
        "chat gpt-4o-mini",
    ]
    ingest_embeddings, query_embeddings, answer = spans
    assert is_child(ingest_embeddings, ragtel_spans.by_name("ingest"))
    assert is_child(query_embeddings, ragtel_spans.by_name("retrieve"))
    assert is_child(answer, ragtel_spans.by_name("generate"))
    assert event(ingest_embeddings, "ragtel.embedding")["ragtel.embedding.count"] == len(chunks)
    assert event(answer, "ragtel.query")["ragtel.response"] == ANSWER
    # The pipeline's configuration, gathered on the root with no tracing code for it.
    assert params_of(root) == {
        "embedding.model": "text-embedding-3-small",
        "retrieval.top_k": 2,
        "generation.model": "gpt-4o-mini",
        "generation.temperature": 0.0,
    }


# Coexistence with OpenInference ---------------------------------------------------------

PEER_SCOPE = "openinference.instrumentation.openai"


class _RagtelKeysOfPeerSpans:
    """The live semantic-convention check, holding a peer's spans to ragtel's keys only.

    A peer instrumentor's own attributes (``llm.system``...) are its convention,
    not ragtel's; any ``ragtel.*`` or ``gen_ai.*`` key on its spans must still
    be declared.
    """

    def __init__(self, checker: Checker) -> None:
        self.checker = checker

    def check_span(self, span: ReadableSpan) -> None:
        if span.instrumentation_scope is None or span.instrumentation_scope.name != PEER_SCOPE:
            self.checker.check_span(span)
            return
        where = f"peer span {span.name!r}"
        self.checker.check_attributes(where, _ragtel_keys(span.attributes or {}))
        for peer_event in span.events:
            self.checker.check_event(
                f"{where} event {peer_event.name!r}",
                peer_event.name,
                _ragtel_keys(peer_event.attributes or {}),
            )


def _ragtel_keys(attributes: Any) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k.startswith(("ragtel.", "gen_ai."))}


@pytest.fixture
def openinference(ragtel_spans: SpanRecorder) -> Iterator[Any]:
    from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

    # The provider's live check is the SDK's processor list; it has no public accessor.
    for processor in ragtel_spans.provider._active_span_processor._span_processors:
        if isinstance(processor, LiveCheck):
            processor.checker = _RagtelKeysOfPeerSpans(processor.checker)  # type: ignore[assignment]
    peer = OpenInference()
    try:
        yield peer
    finally:
        peer.uninstrument()


@pytest.mark.parametrize("ragtel_first", [True, False], ids=["ragtel-first", "openinference-first"])
def test_with_openinference_active_each_call_has_one_llm_span_and_the_params_are_kept(
    ragtel_spans: SpanRecorder,
    client: openai.OpenAI,
    openinference: Any,
    ragtel_first: bool,
) -> None:
    ragtel = OpenAIInstrumentor()
    order = [ragtel, openinference] if ragtel_first else [openinference, ragtel]
    try:
        for each in order:
            each.instrument(tracer_provider=ragtel_spans.provider)
        app = ragtel_spans.tracer("app")
        with app.start_as_current_span("rag"):
            client.embeddings.create(model="text-embedding-3-small", input=QUESTION, dimensions=8)
            assert chat(client, temperature=0.2).choices[0].message.content == ANSWER
            streamed = "".join(c.choices[0].delta.content or "" for c in stream(client, top_p=0.5))
            assert streamed == STREAMED

        # One LLM span per call, all OpenInference's; none of ragtel's.
        spans = llm_spans(ragtel_spans)
        assert [s.name for s in spans] == ["CreateEmbeddings", "ChatCompletion", "ChatCompletion"]
        assert {s.instrumentation_scope.name for s in spans if s.instrumentation_scope} == {
            PEER_SCOPE
        }
        root = ragtel_spans.by_name("rag")
        assert all(is_child(s, root) for s in spans)
        # ragtel still gathers the pipeline's configuration on the root...
        assert params_of(root) == {
            "embedding.model": "text-embedding-3-small",
            "embedding.dimensions": 8,
            "generation.model": "gpt-4o-mini",
            "generation.temperature": 0.2,
            "generation.top_p": 0.5,
        }
        # ...and records nothing else: no event, nothing on the peer's spans.
        assert [e.name for s in ragtel_spans.spans for e in s.events if "ragtel" in e.name] == []
        assert [k for s in spans for k in s.attributes or {} if k.startswith("ragtel.")] == []
        assert set(root.attributes or {}) == {f"ragtel.param.{key}" for key in params_of(root)}

        # The peer switched off, ragtel records the calls itself again.
        openinference.uninstrument()
        ragtel_spans.clear()
        chat(client)
        assert [s.name for s in llm_spans(ragtel_spans)] == ["chat gpt-4o-mini"]
    finally:
        ragtel.uninstrument()


def test_beside_a_peer_a_call_outside_any_trace_changes_no_later_trace(
    ragtel_spans: SpanRecorder, client: openai.OpenAI, openinference: Any
) -> None:
    ragtel = OpenAIInstrumentor()
    ragtel.instrument(tracer_provider=ragtel_spans.provider)
    openinference.instrument(tracer_provider=ragtel_spans.provider)
    try:
        client.embeddings.create(model="text-embedding-3-large", input=QUESTION)
        openinference.uninstrument()
        chat(client)
    finally:
        ragtel.uninstrument()
    assert [s.name for s in llm_spans(ragtel_spans)] == ["CreateEmbeddings", "chat gpt-4o-mini"]
    own = ragtel_spans.by_name("chat gpt-4o-mini")
    assert own.parent is None
    # embedding.model did not become a default of the instrumentor's later traces.
    assert params_of(own) == {"generation.model": "gpt-4o-mini"}


# Beside ragtel's framework instrumentors ------------------------------------------------


def test_inside_a_framework_model_span_the_call_gets_no_second_llm_span(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, client: openai.OpenAI
) -> None:
    # What ragtel's LangChain instrumentor makes while a ChatOpenAI-like model runs.
    framework = ragtel_spans.provider.get_tracer("ragtel.instrumentation.langchain")
    app = ragtel_spans.tracer("app")
    with app.start_as_current_span("rag"):
        with framework.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT):
            chat(client, temperature=0.3)
            # Not the same kind of call: recorded.
            client.embeddings.create(model="text-embedding-3-small", input=QUESTION)
        with framework.start_as_current_span("RunnableSequence"):
            chat(client)  # a chain span is not a model call: recorded
    calls = [s for s in ragtel_spans.spans if s.kind is SpanKind.CLIENT]
    assert [(s.name, s.instrumentation_scope.name) for s in calls if s.instrumentation_scope] == [
        ("embeddings text-embedding-3-small", "ragtel.instrumentation.openai"),
        ("chat gpt-4o-mini", "ragtel.instrumentation.langchain"),  # the framework's own
        ("chat gpt-4o-mini", "ragtel.instrumentation.openai"),
    ]
    assert params_of(ragtel_spans.by_name("rag")) == {
        "generation.model": "gpt-4o-mini",
        "generation.temperature": 0.3,
        "embedding.model": "text-embedding-3-small",
    }


def test_with_ragtels_langchain_instrumentor_a_chat_model_call_has_one_llm_span(
    ragtel_spans: SpanRecorder, instrumentor: OpenAIInstrumentor, fake: FakeOpenAI
) -> None:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    from ragtel.instrumentation.langchain import LangChainInstrumentor

    class SdkChatModel(BaseChatModel):
        """A LangChain chat model on the OpenAI SDK, as ChatOpenAI is."""

        base_url: str

        @property
        def _llm_type(self) -> str:
            return "sdk-chat"

        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
            with openai.OpenAI(base_url=self.base_url, api_key="test", max_retries=0) as sdk:
                completion = sdk.chat.completions.create(
                    model="gpt-4o-mini",
                    seed=3,
                    messages=[{"role": "user", "content": str(m.content)} for m in messages],
                )
            answer = AIMessage(content=completion.choices[0].message.content or "")
            return ChatResult(generations=[ChatGeneration(message=answer)])

    langchain = LangChainInstrumentor()
    langchain.instrument(tracer_provider=ragtel_spans.provider)
    try:
        app = ragtel_spans.tracer("app")
        with app.start_as_current_span("rag"):
            assert SdkChatModel(base_url=fake.base_url).invoke(QUESTION).content == ANSWER
    finally:
        langchain.uninstrument()
    (span,) = llm_spans(ragtel_spans)
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "ragtel.instrumentation.langchain"
    # The SDK-level settings the framework did not know still join the ParamSet.
    assert params_of(ragtel_spans.by_name("rag"))["generation.seed"] == 3


# Instrument and uninstrument -------------------------------------------------------------


def test_uninstrument_restores_the_sdk_and_records_nothing(
    ragtel_spans: SpanRecorder, client: openai.OpenAI
) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    assert Completions.__dict__["create"] is not ORIGINALS[(Completions, "create")]
    chat(client)
    assert len(llm_spans(ragtel_spans)) == 1

    instrumentor.uninstrument()
    for (owner, name), original in ORIGINALS.items():
        assert owner.__dict__[name] is original, f"{owner.__name__}.{name} not restored"
    ragtel_spans.clear()
    chat(client)
    for _ in stream(client):
        pass
    client.embeddings.create(model="text-embedding-3-small", input="x")
    assert ragtel_spans.spans == []


async def test_uninstrument_also_silences_the_async_client(
    ragtel_spans: SpanRecorder, async_client: openai.AsyncOpenAI
) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    instrumentor.uninstrument()
    await async_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    await async_client.embeddings.create(model="text-embedding-3-small", input="x")
    assert ragtel_spans.spans == []


def test_instrument_is_idempotent(ragtel_spans: SpanRecorder, client: openai.OpenAI) -> None:
    instrumentor = OpenAIInstrumentor()
    try:
        instrumentor.instrument(tracer_provider=ragtel_spans.provider)
        instrumentor.instrument(tracer_provider=ragtel_spans.provider)
        OpenAIInstrumentor().instrument(tracer_provider=ragtel_spans.provider)
        assert OpenAIInstrumentor() is instrumentor
        # One layer of wrapping around the SDK's own function.
        wrapper = Completions.__dict__["create"]
        assert wrapper.__wrapped__ is ORIGINALS[(Completions, "create")]
        chat(client)
        assert len(llm_spans(ragtel_spans)) == 1
    finally:
        instrumentor.uninstrument()
        instrumentor.uninstrument()
    assert Completions.__dict__["create"] is ORIGINALS[(Completions, "create")]


def test_the_declared_dependency_covers_the_installed_sdk() -> None:
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    (requirement,) = OpenAIInstrumentor().instrumentation_dependencies()
    assert requirement.startswith("openai")
    assert get_dependency_conflicts([requirement]) is None
