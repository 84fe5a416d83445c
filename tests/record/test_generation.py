"""LLM call and image generation logging, late image output."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from otlp_receiver import OTLPReceiver
from ragtel import get_lastmile_tracer
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel.testing import SpanRecorder


def test_llm_call_on_the_current_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    messages = [{"role": "user", "content": "How long do refunds take?"}]
    with tracer.start_as_current_span("answer"), tracer.start_as_current_span("llm"):
        tracer.log_llm_call(
            model="gpt-4o-mini",
            provider="openai",
            messages=messages,
            output="Five days.",
            params={"temperature": 0.2, "max_tokens": 64, "messages": "left out"},
            finish_reason="stop",
            response_model="gpt-4o-mini-2024-07-18",
            input_tokens=812,
            output_tokens=12,
            cached_input_tokens=512,
            cost=0.00031,
            latency=0.84,
        )
    llm = dict(ragtel_spans.by_name("llm").attributes)
    assert llm == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 812,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.usage.cache_read.input_tokens": 512,
        "ragtel.llm.cost": 0.00031,
        "ragtel.llm.latency": 0.84,
        "ragtel.input": json.dumps(messages),
        "ragtel.output": "Five days.",
    }
    # The settings join the trace's ParamSet on its root.
    root = ragtel_spans.by_name("answer").attributes
    assert root["ragtel.param.generation.model"] == "gpt-4o-mini"
    assert root["ragtel.param.generation.temperature"] == 0.2
    assert "ragtel.param.generation.messages" not in root


def test_streamed_llm_call_keeps_chunks_and_the_whole_text(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    tracer.log_llm_call(model="m", prompt="Say hi", stream_chunks=["Hel", "lo", "!"])
    span = ragtel_spans.by_name("chat m")  # no span was active: a GenAI client span of its own
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["ragtel.output"] == "Hello!"
    assert span.attributes["ragtel.llm.stream.chunks"] == ("Hel", "lo", "!")
    assert span.attributes["ragtel.llm.stream.chunk_count"] == 3
    assert span.attributes["ragtel.input"] == "Say hi"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"model": ""}, TypeError, "model must be a non-empty str"),
        ({"model": "m", "input_tokens": -1}, ValueError, "input_tokens must be >= 0"),
        ({"model": "m", "output_tokens": 1.5}, TypeError, "output_tokens must be an int"),
        ({"model": "m", "cost": float("nan")}, ValueError, "cost must be a number >= 0"),
        ({"model": "m", "finish_reason": 3}, TypeError, "finish_reason must be a str"),
        ({"model": "m", "stream_chunks": "abc"}, TypeError, "stream_chunks must be a list of str"),
    ],
)
def test_llm_call_arguments_are_checked(
    ragtel_spans: SpanRecorder,
    arguments: dict,
    error: type,
    message: str,  # type: ignore[type-arg]
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("llm"), pytest.raises(error, match=message):
        tracer.log_llm_call(**arguments)


def test_image_generation_by_url(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("draw"):
        handle = tracer.log_image_generation(
            prompt="a red fox",
            params={"size": "1024x1024"},
            model="image-model",
            image_url="https://cdn.example.com/fox.png",
            image_url_type="permalink",
        )
    assert handle is not None
    assert dict(ragtel_spans.by_name("draw").attributes) == {
        "ragtel.image.url": "https://cdn.example.com/fox.png",
        "ragtel.image.url_type": "permalink",
        "gen_ai.request.model": "image-model",
        "ragtel.input": "a red fox",
        "ragtel.image.params": '{"size": "1024x1024"}',
    }


def test_inline_image_data_is_capped_and_warned(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    data = bytes(range(256)) * 400  # 100 KB
    with tracer.start_as_current_span("draw"):
        tracer.log_image_generation(prompt="p", image_data=data, image_format="png")
    recorded = ragtel_spans.by_name("draw").attributes["ragtel.image.data"]
    assert len(recorded) <= 16_384 and recorded.endswith("bytes in all]")
    kept = recorded[: recorded.index("…")]
    assert base64.b64decode(kept) == data[: len(base64.b64decode(kept))]
    assert "inline image data" in caplog.text and "prefer image_url" in caplog.text
    with pytest.raises(ValueError, match="image_format must name the format"):
        tracer.log_image_generation(prompt="p", image_data=data)


def test_late_image_output_lands_in_the_same_trace_over_otlp(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    tracer = get_lastmile_tracer(
        "images", exporter="otlp", otlp_endpoint=receiver.http_endpoint, set_global=False
    )
    with tracer.start_as_current_span("generate") as generate:
        handle = tracer.log_image_generation(prompt="a lighthouse at dusk")
    # Later — here, or in another process that got the handle.
    tracer.log_image_output(handle, image_url="https://cdn.example.com/lh.png")
    tracer.force_flush(10_000)
    spans = {span["name"]: span for span in receiver.wait_for_spans(2)}
    original, carrier = spans["generate"], spans["ragtel.image_output"]
    assert carrier["trace_id"] == original["trace_id"]
    assert carrier["parent_span_id"] == original["span_id"]
    assert carrier["links"][0]["span_id"] == original["span_id"]
    assert carrier["attributes"]["ragtel.image.url"] == "https://cdn.example.com/lh.png"
    assert format(generate.get_span_context().span_id, "016x") == original["span_id"]
    with pytest.raises(ValueError, match="needs image_url or image_data"):
        tracer.log_image_output(handle)
    with pytest.raises(ValueError, match=r"not a serialized span context|neither a W3C"):
        tracer.log_image_output("garbage", image_url="u")


def test_stream_chunks_may_be_any_iterable(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.log_llm_call(model="m", stream_chunks=iter(["Five ", "days."]))
    attributes = ragtel_spans.by_name("step").attributes
    assert attributes["ragtel.llm.stream.chunk_count"] == 2
    assert attributes["ragtel.output"] == "Five days."


def test_llm_params_must_be_a_mapping(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"), pytest.raises(TypeError, match="params must be"):
        tracer.log_llm_call(model="m", params=[("temperature", 0.2)])  # type: ignore[arg-type]


def test_sampled_out_image_generation_and_late_output_record_nothing() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = get_lastmile_tracer("sampled-out-images", tracer_provider=provider)
    with tracer.start_as_current_span("generate"):
        handle = tracer.log_image_generation(prompt="a cat", model="img-1")
    assert handle is None
    tracer.log_image_output(handle, image_url="https://example.com/cat.png")
    provider.force_flush()
    assert exporter.get_finished_spans() == ()


def test_streamed_chunks_go_through_the_mask(ragtel_spans: SpanRecorder) -> None:
    def mask(value: object) -> object:
        return json.loads(json.dumps(value).replace("secret", "***"))

    tracer = ragtel_spans.tracer("masked-stream", mask=mask)
    with tracer.start_as_current_span("step"):
        tracer.log_llm_call(model="m", stream_chunks=["a secret ", "b"])
    attributes = ragtel_spans.by_name("step").attributes
    assert attributes["ragtel.llm.stream.chunks"] == ("a *** ", "b")
    assert attributes["ragtel.output"] == "a *** b"
    with pytest.raises(TypeError, match="stream_chunks must be a list of str; got 5"):
        tracer.log_llm_call(model="m", stream_chunks=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "error", "argument"),
    [
        ({"input_tokens": 2**63}, ValueError, "input_tokens"),  # OTLP ints are 64-bit
        ({"cost": 10**400}, ValueError, "cost"),  # no double holds it
        ({"latency": 10**400}, ValueError, "latency"),
        ({"params": {"": 1}}, ValueError, "^params key"),  # not "model_params"
        ({"span": object()}, TypeError, "span"),
    ],
)
def test_llm_call_refuses_what_otlp_cannot_carry(
    ragtel_spans: SpanRecorder, arguments: dict[str, object], error: type, argument: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("llm"), pytest.raises(error, match=argument):
        tracer.log_llm_call(model="m", **arguments)  # type: ignore[arg-type]


def test_llm_and_image_names_are_recorded_exportable(ragtel_spans: SpanRecorder) -> None:
    # Recorded as they were, lone surrogates failed the export of the whole batch.
    tracer = ragtel_spans.tracer()
    odd = "gpt\ud800"
    tracer.log_llm_call(
        model=odd,
        operation=odd,
        provider=odd,
        response_model=odd,
        finish_reason=[odd],
        # Settings OTLP cannot carry stay params, but are not mirrored as gen_ai.request.*.
        params={"stop": odd, "max_tokens": 2**64, "temperature": 10**400},
    )
    with tracer.start_as_current_span("image"):
        tracer.log_image_generation(prompt="p", model=odd, image_data=b"\x89PNG", image_format=odd)
    encode_spans_line(ragtel_spans.spans)  # raises if any text cannot be exported
    llm = ragtel_spans.by_name("gpt\\ud800 gpt\\ud800").attributes
    assert llm["gen_ai.request.model"] == "gpt\\ud800"
    assert llm["gen_ai.request.stop_sequences"] == ("gpt\\ud800",)
    assert "gen_ai.request.max_tokens" not in llm and "gen_ai.request.temperature" not in llm
    assert ragtel_spans.by_name("image").attributes["ragtel.image.format"] == "gpt\\ud800"
    with pytest.raises(TypeError, match="model"):
        tracer.log_image_generation(prompt="p", model=42)  # type: ignore[arg-type]
