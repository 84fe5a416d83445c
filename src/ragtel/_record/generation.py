"""LLM call and image generation logging on :class:`~ragtel.LastMileTracer`.

An LLM call is recorded with the GenAI attributes (``gen_ai.request.*``,
``gen_ai.response.*``, ``gen_ai.usage.*``) plus ragtel's input, output, cost,
latency and, for a streamed response, its chunks. Its settings also join the
trace's ParamSet (as ``generation.<setting>``).

An image generation records its prompt, parameters and the image — by URL
(preferred) or as inline data. When the image is only ready later, log the
output against the context the generation returned: it lands in the same
trace, on a carrier span linked to the generation's span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._context.handover import ContextLike, serialize_span_context
from ragtel._encoding.arguments import read_mapping
from ragtel._encoding.encoder import clean_text, masked_json, masked_text
from ragtel._sdk.recording import DROPS_ALL, recording_target
from ragtel.semconv import attributes as attrs
from ragtel.semconv.references import GEN_AI_OPERATION_NAME, GEN_AI_REQUEST_MODEL
from ragtel.semconv.spans import RAGTEL_IMAGE_OUTPUT_SPAN


def _builders() -> Any:
    """The attribute builders, imported on first use: import ragtel stays cheap."""
    from ragtel._attributes import generation as _generation_attributes

    return _generation_attributes


class GenerationAPI:
    """LLM and image generation logging; mixed into LastMileTracer."""

    _capture: CaptureConfig
    _reach: int

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> Span:  # provided by the tracer
        raise NotImplementedError

    def register_generation_params(self, *args: Any, **kwargs: Any) -> None:  # ParamSetAPI
        raise NotImplementedError

    def log_llm_call(
        self,
        *,
        model: str,
        output: Any = None,
        messages: Any = None,
        prompt: Any = None,
        provider: str | None = None,
        params: Mapping[str, Any] | None = None,
        finish_reason: str | Sequence[str] | None = None,
        response_model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        cost: float | None = None,
        latency: float | None = None,
        stream_chunks: Sequence[str] | None = None,
        operation: str = "chat",
        span: Span | None = None,
    ) -> None:
        """Record an LLM call on ``span`` (default: the current span; with none, a new one).

        ``latency`` is in seconds, ``cost`` in US dollars. With ``stream_chunks``
        the chunks are kept (capped) and their concatenation is the output
        unless ``output`` is given. ``model`` and ``params`` also join the
        trace's ParamSet as ``generation.<setting>``.

        Example::

            tracer.log_llm_call(model="gpt-4o-mini", messages=messages, output=text,
                                input_tokens=812, output_tokens=96, cost=0.0004)
        """
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        if params is not None and type(params) is not dict:
            params = read_mapping(params, "params")  # read once: its own methods may raise
        attributes = _builders().llm_call_attributes(
            model=model,
            provider=provider,
            operation=operation,
            messages=messages,
            prompt=prompt,
            output=output,
            params=params,
            finish_reason=finish_reason,
            response_model=response_model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens,
            cost=cost,
            latency=latency,
            stream_chunks=stream_chunks,
            capture=self._capture,
        )
        if not target.is_recording():
            # GenAI span naming: "{operation} {model}", from the recorded (cleaned) texts.
            name = f"{attributes[GEN_AI_OPERATION_NAME]} {attributes[GEN_AI_REQUEST_MODEL]}"
            target = self.start_span(name, kind=SpanKind.CLIENT)
            try:
                self._record_llm(target, attributes, model, params)
            finally:
                target.end()
            return
        self._record_llm(target, attributes, model, params)

    def _record_llm(
        self, span: Span, attributes: Mapping[str, AttributeValue], model: str, params: Any
    ) -> None:
        span.set_attributes(attributes)
        settings = {"model": model, **(params or {})}
        self.register_generation_params(settings, should_also_save_in_span=False, span=span)

    def log_image_generation(
        self,
        *,
        prompt: Any,
        params: Mapping[str, Any] | None = None,
        model: str | None = None,
        image_url: str | None = None,
        image_url_type: str | None = None,
        image_data: bytes | str | None = None,
        image_format: str | None = None,
        span: Span | None = None,
    ) -> str | None:
        """Record an image generation; returns a context string for an output that comes later.

        Give the image by ``image_url`` (preferred) or ``image_data`` (bytes or base64,
        with ``image_format``; capped, and heavy). If the image is not ready yet,
        keep the returned string and pass it to :meth:`log_image_output`.

        Example::

            handle = tracer.log_image_generation(prompt="a red fox", params={"size": "1024x1024"})
            ...
            tracer.log_image_output(handle, image_url=url)
        """
        target = recording_target(span, self._reach)
        if target is None:
            return None  # nothing would record: as for a trace sampled out
        attributes: dict[str, AttributeValue] = _builders().image_attributes(
            image_url=image_url,
            image_url_type=image_url_type,
            image_data=image_data,
            image_format=image_format,
            capture=self._capture,
        )
        if model is not None:
            if not isinstance(model, str):
                raise TypeError(f"model must be a str; got {type(model).__name__}")
            attributes[GEN_AI_REQUEST_MODEL] = clean_text(model, self._capture.limits.max_length)
        if self._capture.capture_content:
            attributes[attrs.RAGTEL_INPUT] = masked_text(prompt, self._capture)
        if params is not None:
            attributes[attrs.RAGTEL_IMAGE_PARAMS] = masked_json(params, self._capture)
        if target.is_recording():
            target.set_attributes(attributes)
            return serialize_span_context(target)
        own = self.start_span("generate_image", attributes=attributes)
        own.end()
        return serialize_span_context(own)

    def log_image_output(
        self,
        context: ContextLike | None,
        *,
        image_url: str | None = None,
        image_url_type: str | None = None,
        image_data: bytes | str | None = None,
        image_format: str | None = None,
    ) -> None:
        """Record an image that arrived after its generation was logged, in the same trace.

        ``context`` is what :meth:`log_image_generation` returned (or any
        traceparent of the generation's span), from this process or another.
        ``None``, which :meth:`log_image_generation` returns when its trace was
        sampled out, records nothing: the trace stays out.
        """
        if context is None or self._reach == DROPS_ALL:
            return  # the trace stays out, or nothing this tracer starts records
        from ragtel._context.carrier import emit_carrier_span, target_span_context

        target = target_span_context(context)
        if image_url is None and image_data is None:
            raise ValueError("log_image_output needs image_url or image_data")
        attributes = _builders().image_attributes(
            image_url=image_url,
            image_url_type=image_url_type,
            image_data=image_data,
            image_format=image_format,
            capture=self._capture,
        )
        emit_carrier_span(self, RAGTEL_IMAGE_OUTPUT_SPAN, target, attributes)  # type: ignore[arg-type]
