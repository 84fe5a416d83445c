"""Forged ``context=`` arguments: the documented errors, never a RecursionError or a stall.

A context string is strict (ValueError quoting it), a mapping of headers is
lenient (no context: a new trace), whatever was forged: nesting deeper than
any JSON parser walks, strings of megabytes, str subclasses with hostile
methods, mappings that cannot be read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from ragtel import get_traceparent, serialize_span_context, traced
from ragtel._context.handover import (
    MAX_CONTEXT_STRING_LENGTH,
    span_context_from,
    to_context,
)
from ragtel.testing import SpanRecorder

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

FORGED = {
    # Nested deep enough that json.loads raises RecursionError, within the length limit.
    "deep list": "[" * 8_000 + "]" * 8_000,
    "deep object": '{"a":' * 2_700 + "1" + "}" * 2_700,
    "deep traceparent value": '{"traceparent": ' + "[" * 8_000 + "]" * 8_000 + "}",
    "deep tracestate after a valid traceparent": (
        '{"traceparent": "' + TRACEPARENT + '", "tracestate": ' + "[" * 8_000 + "]" * 8_000 + "}"
    ),
    # Over the length limit.
    "deep and long": '{"traceparent":' * 50_000 + '""' + "}" * 50_000,
    "huge": "x" * 50_000_000,
    "huge serialized form": '{"traceparent": "'
    + TRACEPARENT
    + '", "tracestate": "'
    + "a=b," * 1_000_000
    + '"}',
    "huge traceparent lookalike": TRACEPARENT + " " * 20_000_000 + "x",
}


def test_the_nesting_cases_reach_the_parser() -> None:
    for name in ("deep list", "deep object", "deep traceparent value"):
        assert len(FORGED[name]) <= MAX_CONTEXT_STRING_LENGTH, name
    assert len(FORGED["deep tracestate after a valid traceparent"]) <= MAX_CONTEXT_STRING_LENGTH


def _callers(recorder: SpanRecorder) -> Iterator[tuple[str, Callable[[Any], object]]]:
    """Every public way to hand a context to ragtel."""
    tracer = recorder.tracer("forged")

    def start_span(context: Any) -> object:
        tracer.start_span("s", context=context).end()
        return None

    def start_as_current_span(context: Any) -> object:
        with tracer.start_as_current_span("s", context=context):
            return None

    def trace_function(context: Any) -> object:
        return tracer.trace_function("f", context=context)(lambda: None)()

    def traced_function(context: Any) -> object:
        return traced(tracer, "f", context=context)(lambda: None)()

    def traced_with_a_plain_tracer(context: Any) -> object:
        return traced(recorder.provider.get_tracer("plain"), "f", context=context)(lambda: None)()

    yield "start_span", start_span
    yield "traced", traced_function
    yield "traced, any OpenTelemetry tracer", traced_with_a_plain_tracer
    yield "start_as_current_span", start_as_current_span
    yield "trace_function", trace_function
    yield "log_binary_feedback", lambda c: tracer.log_binary_feedback(True, context=c)
    yield "log_numeric_feedback", lambda c: tracer.log_numeric_feedback(0.5, context=c)
    yield (
        "log_categorical_feedback",
        lambda c: tracer.log_categorical_feedback("a", ["a", "b"], context=c),
    )
    yield "log_text_feedback", lambda c: tracer.log_text_feedback("fine", context=c)
    yield "log_feedback", lambda c: tracer.log_feedback({"ok": True}, context=c)
    yield "to_context", to_context
    yield "span_context_from", span_context_from


@pytest.mark.parametrize("forged", FORGED, ids=list(FORGED))
def test_a_forged_context_string_raises_the_documented_value_error(
    ragtel_spans: SpanRecorder, forged: str
) -> None:
    text = FORGED[forged]
    for name, call in _callers(ragtel_spans):
        started = time.perf_counter()
        with pytest.raises(ValueError, match="context") as raised:
            call(text)
        elapsed = time.perf_counter() - started
        assert not isinstance(raised.value, RecursionError), name
        # The message quotes the string, cut short: never megabytes of it.
        assert len(str(raised.value)) < 400, name
        assert elapsed < 1.0, f"{name} took {elapsed:.2f} s"
    # Nothing was recorded under a forged parent.
    assert all(span.parent is None for span in ragtel_spans.spans)


def test_the_longest_valid_serialized_context_still_parses(ragtel_spans: SpanRecorder) -> None:
    # A trace state of 32 members of the largest size: W3C's and OTel's maximum.
    members = ",".join(f"k{index:03d}={'v' * 200}" for index in range(32))
    text = '{"traceparent": "' + TRACEPARENT + '", "tracestate": "' + members + '"}'
    assert len(text) < MAX_CONTEXT_STRING_LENGTH
    span_context = span_context_from(text)
    assert f"{span_context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert len(span_context.trace_state) == 32


class HostileStr(str):
    """A str subclass whose methods raise: ragtel must read it as plain text."""

    def strip(self, *args: Any) -> str:
        raise RuntimeError("strip exploded")

    def lower(self) -> str:
        raise RuntimeError("lower exploded")

    def __len__(self) -> int:
        raise RuntimeError("len exploded")

    def startswith(self, *args: Any) -> bool:
        raise RuntimeError("startswith exploded")


def test_a_str_subclass_is_read_as_its_text(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("subclass")
    with tracer.start_as_current_span("child", context=HostileStr(TRACEPARENT)):
        pass
    assert f"{ragtel_spans.by_name('child').context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    with pytest.raises(ValueError, match="context"):
        tracer.start_span("s", context=HostileStr("not a context"))
    # As header names and values too.
    headers = {HostileStr("TraceParent"): HostileStr(TRACEPARENT)}
    with tracer.start_as_current_span("from-headers", context=headers):
        pass
    assert (
        f"{ragtel_spans.by_name('from-headers').context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    )


class UnreadableHeaders(Mapping[str, str]):
    """A mapping whose reading raises, as a lazy framework object might."""

    def __getitem__(self, key: str) -> str:
        raise RuntimeError("getitem exploded")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iter exploded")

    def __len__(self) -> int:
        return 1

    def items(self) -> Any:
        raise RuntimeError("items exploded")


def test_an_unreadable_mapping_raises_type_error_naming_the_argument(
    ragtel_spans: SpanRecorder,
) -> None:
    for name, call in _callers(ragtel_spans):
        with pytest.raises(TypeError, match="context") as raised:
            call(UnreadableHeaders())
        assert "exploded" not in str(raised.value), name


def test_hostile_header_mappings_are_lenient_and_cheap(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("lenient")
    hostile: list[dict[Any, Any]] = [
        {"traceparent": "x" * 50_000_000},
        {"traceparent": TRACEPARENT, "tracestate": "a=b," * 5_000_000},
        {"traceparent": TRACEPARENT, "baggage": "k=v," * 5_000_000},
        {"baggage": "ragtel.param.deep=" + "%5B" * 1_300},
        {b"traceparent": TRACEPARENT.encode()},
        {1: TRACEPARENT, None: "x", ("a",): "b"},
        {"traceparent": b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        {"traceparent": [TRACEPARENT, 5]},
        {"traceparent": {"nested": TRACEPARENT}},
    ]
    for index, headers in enumerate(hostile):
        started = time.perf_counter()
        with tracer.start_as_current_span(f"span-{index}", context=headers):
            pass
        assert time.perf_counter() - started < 2.0, headers.keys()
    # The valid traceparent next to an oversized tracestate or baggage still counts.
    trace_id = TRACEPARENT.split("-")[1]
    assert f"{ragtel_spans.by_name('span-1').context.trace_id:032x}" == trace_id
    assert f"{ragtel_spans.by_name('span-2').context.trace_id:032x}" == trace_id
    # Headers with no usable context start a trace of their own.
    for index in (0, 4, 5, 6, 7, 8):
        span = ragtel_spans.by_name(f"span-{index}")
        assert span.parent is None, index


def test_context_strings_made_by_ragtel_round_trip(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("round-trip")
    with tracer.start_as_current_span("upstream"):
        serialized = serialize_span_context()
        traceparent = get_traceparent()
    assert serialized is not None and traceparent is not None
    for context in (serialized, traceparent):
        with tracer.start_as_current_span("downstream", context=context):
            pass
        tracer.log_binary_feedback(True, context=context)
    upstream = ragtel_spans.by_name("upstream")
    for span in ragtel_spans.spans:
        assert span.context.trace_id == upstream.context.trace_id
