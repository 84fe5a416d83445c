"""LastMile's ids and context strings: decimal ids, ``export_span`` JSON, ``get_trace_id``."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

import ragtel
from ragtel._context.handover import MAX_CONTEXT_STRING_LENGTH, span_context_from
from ragtel._context.ids import parse_span_id, parse_trace_id
from ragtel.semconv.spans import RAGTEL_FEEDBACK_SPAN
from ragtel.testing import SpanRecorder

# Ids whose decimal forms are exactly 32 and 16 digits: the ambiguous case.
AMBIGUOUS_TRACE_ID = 12345678901234567890123456789012
AMBIGUOUS_SPAN_ID = 1234567890123456


def feedback_spans(recorder: SpanRecorder) -> list[ReadableSpan]:
    return [span for span in recorder.spans if span.name == RAGTEL_FEEDBACK_SPAN]


def ambiguity_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "could also be read as hex" in r.getMessage()]


# Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (str(2**128 - 1), 2**128 - 1),
        ("0x1", 1),
        ("0X" + "AB" * 16, int("ab" * 16, 16)),
        ("ab" * 16, int("ab" * 16, 16)),
        ("000123", 123),
    ],
    ids=["smallest-decimal", "largest-decimal", "short-0x", "0x-32", "hex-32", "leading-zeros"],
)
def test_a_trace_id_may_be_decimal_or_0x_hex(text: str, expected: int) -> None:
    assert parse_trace_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [str(2**128), "0x", "0x" + "a" * 33, "+1", "-1", " 1", "1_000", "١٢٣", "1.0", "0x-1", "0" * 32],
    ids=[
        "too-big",
        "bare-0x",
        "long-0x",
        "plus",
        "minus",
        "space",
        "underscore",
        "arabic-digits",
        "float",
        "0x-minus",
        "zero",
    ],
)
def test_what_is_no_decimal_trace_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^trace_id must be 32 hex digits or a positive int"):
        parse_trace_id(text)


def test_a_span_id_may_be_decimal_up_to_2_to_the_64() -> None:
    assert parse_span_id(str(2**64 - 1)) == 2**64 - 1
    assert parse_span_id("0x" + "ab" * 8) == int("ab" * 8, 16)
    with pytest.raises(ValueError, match=r"^span_id must be 16 hex digits"):
        parse_span_id(str(2**64))


def test_32_decimal_digits_are_read_as_decimal_with_one_warning(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    text = str(AMBIGUOUS_TRACE_ID)
    assert len(text) == 32
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        assert parse_trace_id(text) == AMBIGUOUS_TRACE_ID
        assert parse_trace_id(text) == AMBIGUOUS_TRACE_ID
        assert parse_trace_id("0x" + text) == int(text, 16)  # 0x means hex: no ambiguity
    (warning,) = ambiguity_warnings(caplog)
    assert "trace_id '12345678901234567890123456789012' is 32 decimal digits" in warning
    assert "read as decimal" in warning


def test_16_decimal_digits_are_a_decimal_span_id_with_one_warning(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        assert parse_span_id(str(AMBIGUOUS_SPAN_ID)) == AMBIGUOUS_SPAN_ID
        assert parse_span_id(str(AMBIGUOUS_SPAN_ID)) == AMBIGUOUS_SPAN_ID
    assert len(ambiguity_warnings(caplog)) == 1


@pytest.mark.parametrize(
    ("trace_id", "expected"),
    [
        ("ab" * 16, int("1234567890123456", 16)),  # a hex pair: the span id is hex
        ("0x1", int("1234567890123456", 16)),
        (str(2**100), 1234567890123456),  # a LastMile pair: the span id is decimal
    ],
    ids=["hex-trace", "0x-trace", "decimal-trace"],
)
def test_a_span_id_that_reads_both_ways_takes_the_form_of_its_trace_id(
    trace_id: str, expected: int, caplog: pytest.LogCaptureFixture
) -> None:
    # A random hex span id holds no letter 1 time in about 1,800: beside a hex trace id
    # it must stay hex, or feedback would go to a span that does not exist.
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        assert parse_span_id("1234567890123456", trace_id=trace_id) == expected
    assert ambiguity_warnings(caplog) == []


def test_feedback_for_a_hex_pair_whose_span_id_holds_no_letter_reaches_that_span(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    span_id = int("1234567890123456", 16)
    trace_id = "ab" * 16
    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            int(trace_id, 16), span_id, is_remote=True, trace_flags=trace.TraceFlags(1)
        )
    )
    tracer.log_binary_feedback(True, trace_id, "1234567890123456")
    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == parent.get_span_context().trace_id
    assert carrier.parent is not None and carrier.parent.span_id == span_id


# Feedback by decimal ids ----------------------------------------------------------------------


def test_decimal_ids_route_feedback_to_the_right_trace_and_span(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with (
        tracer.start_as_current_span("answer"),
        tracer.start_as_current_span("retrieve") as retrieve,
    ):
        trace_id, span_id = str(ragtel.get_trace_id()), str(ragtel.get_span_id())
    tracer.log_binary_feedback(True, trace_id, span_id)

    (carrier,) = feedback_spans(ragtel_spans)
    judged = retrieve.get_span_context()
    assert carrier.context.trace_id == judged.trace_id
    assert carrier.parent is not None and carrier.parent.span_id == judged.span_id


def test_a_32_digit_decimal_trace_id_reaches_its_trace_not_the_hex_one(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    parent = f"00-{AMBIGUOUS_TRACE_ID:032x}-{AMBIGUOUS_SPAN_ID:016x}-01"
    with tracer.start_as_current_span("answer", context=parent) as answer:
        pass
    assert answer.get_span_context().trace_id == AMBIGUOUS_TRACE_ID
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        tracer.log_numeric_feedback(0.5, str(AMBIGUOUS_TRACE_ID))

    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == AMBIGUOUS_TRACE_ID
    assert len(ambiguity_warnings(caplog)) == 1


# export_span ------------------------------------------------------------------------------


def test_export_span_writes_lastmiles_json(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as answer:
        exported = json.loads(ragtel.export_span())
        assert json.loads(tracer.export_span(answer)) == exported
        assert tracer.get_trace_id() == ragtel.get_trace_id(answer)
        assert tracer.get_span_id(answer) == ragtel.get_span_id()
    context = answer.get_span_context()
    assert exported == {
        "trace_id": context.trace_id,
        "span_id": context.span_id,
        "trace_flags": int(context.trace_flags),
        "trace_state": "",
        "is_remote": False,
    }
    assert ragtel.get_trace_id() == 0  # no span is current any more


def test_with_no_span_the_ids_are_0_as_lastmile_gives_them() -> None:
    with trace.use_span(trace.INVALID_SPAN):
        assert ragtel.get_trace_id() == 0
        assert ragtel.get_span_id() == 0
        assert json.loads(ragtel.export_span())["trace_id"] == 0


def test_export_span_round_trips_into_start_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as answer:
        handle = ragtel.export_span()
    tracer.start_span("late", context=handle).end()
    late = ragtel_spans.by_name("late")
    assert late.context.trace_id == answer.get_span_context().trace_id
    assert late.parent is not None and late.parent.span_id == answer.get_span_context().span_id


def test_export_span_round_trips_into_log_feedback(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as answer:
        handle = tracer.export_span()
    tracer.log_binary_feedback(False, context=handle)
    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == answer.get_span_context().trace_id
    assert carrier.parent is not None
    assert carrier.parent.span_id == answer.get_span_context().span_id


def test_lastmiles_own_json_with_a_trace_state_is_taken() -> None:
    text = json.dumps(
        {
            "trace_id": AMBIGUOUS_TRACE_ID,
            "span_id": AMBIGUOUS_SPAN_ID,
            "trace_flags": 1,
            "trace_state": "vendor=value",
            "is_remote": False,
        }
    )
    context = span_context_from(text)
    assert (context.trace_id, context.span_id) == (AMBIGUOUS_TRACE_ID, AMBIGUOUS_SPAN_ID)
    assert context.is_remote and context.trace_flags.sampled
    assert context.trace_state.get("vendor") == "value"


def test_the_export_of_no_span_starts_a_new_trace(ragtel_spans: SpanRecorder) -> None:
    with trace.use_span(trace.INVALID_SPAN):
        nowhere = ragtel.export_span()
    tracer = ragtel_spans.tracer()
    tracer.start_span("fresh", context=nowhere).end()
    assert ragtel_spans.by_name("fresh").parent is None
    with pytest.raises(ValueError, match="does not identify a span"):
        tracer.log_binary_feedback(True, context=nowhere)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"trace_id": 1, "span_id": 1, "extra": 1}, "unknown keys"),
        ({"trace_id": 0, "span_id": 1}, "trace_id must be"),
        ({"trace_id": 1, "span_id": 2**64}, "span_id must be"),
        ({"trace_id": True, "span_id": 1}, "trace_id must be"),
        ({"trace_id": 1.5, "span_id": 1}, "trace_id must be"),
        ({"trace_id": 1, "span_id": 1, "trace_flags": 256}, "trace_flags must be"),
        ({"trace_id": 1, "span_id": 1, "trace_flags": "1"}, "trace_flags must be"),
        ({"trace_id": 1, "span_id": 1, "trace_state": 5}, "trace_state must be a str"),
        ({"trace_id": 1, "span_id": 1, "is_remote": "yes"}, "is_remote must be a bool"),
    ],
    ids=[
        "extra-key",
        "zero-trace",
        "big-span",
        "bool-id",
        "float-id",
        "big-flags",
        "str-flags",
        "int-state",
        "str-remote",
    ],
)
def test_a_malformed_lastmile_json_is_a_value_error(fields: dict[str, object], why: str) -> None:
    with pytest.raises(ValueError, match=r"^context is not a LastMile span export \(") as raised:
        span_context_from(json.dumps(fields))
    assert why in str(raised.value)


def test_the_length_cap_and_nesting_guard_still_hold_for_lastmile_json() -> None:
    padded = json.dumps(
        {"trace_id": 1, "span_id": 1, "trace_state": "a" * MAX_CONTEXT_STRING_LENGTH}
    )
    with pytest.raises(ValueError, match="longer than any span context"):
        span_context_from(padded)
    nested = '{"trace_id": 1, "span_id": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValueError):
        span_context_from(nested[:MAX_CONTEXT_STRING_LENGTH])


def test_a_request_id_never_names_a_trace_id_of_digits_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib
    import types

    from ragtel._context import ids

    digits_only = bytes.fromhex("12" * 16)  # its hex would be read back as decimal
    first = True

    def blake2b(data: bytes, **options: object) -> object:
        nonlocal first
        if first and options.get("person") == b"ragtel-trace-id":
            first = False
            return types.SimpleNamespace(digest=lambda: digits_only)
        return hashlib.blake2b(data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(ids, "hashlib", types.SimpleNamespace(blake2b=blake2b))
    trace_id = ragtel.trace_id_from_request_id("req-unlucky")
    assert trace_id != "12" * 16
    assert not trace_id.isdigit()
    assert parse_trace_id(trace_id) == int(trace_id, 16)
