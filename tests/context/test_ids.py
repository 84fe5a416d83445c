"""Ids given by hand, and the trace ids that request ids name (``ragtel._context.ids``)."""

from __future__ import annotations

import uuid

import pytest

from ragtel import context_from_request_id, trace_id_from_request_id
from ragtel._context.ids import anchor_span_id, parse_span_id, parse_trace_id
from ragtel.testing import SpanRecorder

# Pinned: a request id must name the same trace in every process, run and release,
# or feedback given later by request id would land in another trace.
REQUEST_42_TRACE_ID = "e6381e144963423fb09758ca5cf9d529"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("__repr__ exploded")


def test_a_request_id_names_the_same_trace_in_every_release() -> None:
    assert trace_id_from_request_id("req-42") == REQUEST_42_TRACE_ID


def test_a_request_id_names_one_trace_whatever_its_form() -> None:
    request = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert trace_id_from_request_id(request) == trace_id_from_request_id(str(request))
    assert trace_id_from_request_id(42) == trace_id_from_request_id("42")
    assert trace_id_from_request_id("req-42") != trace_id_from_request_id("req-43")


def test_a_str_subclass_is_read_as_its_text_even_if_its_str_raises() -> None:
    class Unprintable(str):
        def __str__(self) -> str:
            raise RuntimeError("__str__ exploded")

    assert trace_id_from_request_id(Unprintable("req-42")) == REQUEST_42_TRACE_ID


def test_context_from_a_request_id_starts_that_trace_under_its_anchor() -> None:
    traceparent = context_from_request_id("req-42")
    version, trace_id, parent_id, flags = traceparent.split("-")
    assert (version, trace_id, flags) == ("00", REQUEST_42_TRACE_ID, "01")
    assert int(parent_id, 16) == anchor_span_id(int(REQUEST_42_TRACE_ID, 16)) != 0


def test_spans_started_from_a_request_id_belong_to_its_trace(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("handle", context=context_from_request_id("req-42")):
        pass
    handle = ragtel_spans.by_name("handle")
    assert f"{handle.context.trace_id:032x}" == REQUEST_42_TRACE_ID
    assert handle.parent is not None
    assert handle.parent.span_id == anchor_span_id(handle.context.trace_id)


@pytest.mark.parametrize(
    ("request_id", "error", "message"),
    [
        (None, TypeError, "request_id must be a str, an int or a UUID; got NoneType"),
        (True, TypeError, "request_id must be a str, an int or a UUID; got bool"),
        (1.5, TypeError, "got float"),
        (b"req", TypeError, "got bytes"),
        ("", ValueError, "request_id must not be empty"),
        ("   ", ValueError, "request_id must not be empty"),
        (10**5000, ValueError, "request_id is too large an int; pass it as text"),
    ],
    ids=["none", "bool", "float", "bytes", "empty", "blank", "huge-int"],
)
def test_what_names_no_request_is_refused(
    request_id: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        trace_id_from_request_id(request_id)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        context_from_request_id(request_id)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ab" * 16, int("ab" * 16, 16)),
        ("AB" * 16, int("ab" * 16, 16)),
        (1, 1),
        (2**128 - 1, 2**128 - 1),
    ],
    ids=["lowercase", "uppercase", "smallest-int", "largest-int"],
)
def test_a_trace_id_is_32_hex_digits_or_an_int(value: object, expected: int) -> None:
    assert parse_trace_id(value) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "got 0"),
        (2**128, f"got {2**128}"),
        (-1, "got -1"),
        (True, "got bool 'True'"),
        (1.0, "got float '1.0'"),
        (None, "got NoneType 'None'"),
        ("0" * 32, "got '" + "0" * 32 + "'"),
        ("ab" * 15, "got '" + "ab" * 15 + "'"),
        ("zz" * 16, "got '" + "zz" * 16 + "'"),
        ("ab" * 8, "got '" + "ab" * 8 + "'"),
    ],
    ids=[
        "zero",
        "too-big",
        "negative",
        "bool",
        "float",
        "none",
        "all-zeros",
        "short",
        "not-hex",
        "a-span-id",
    ],
)
def test_what_is_no_trace_id_is_a_value_error_quoting_it(value: object, shown: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_trace_id(value)
    message = str(raised.value)
    assert message.startswith("trace_id must be 32 hex digits or a positive int below 2**128;")
    assert message.endswith(shown)


def test_a_span_id_is_16_hex_digits_and_errors_name_the_argument_given() -> None:
    assert parse_span_id("ab" * 8) == int("ab" * 8, 16)
    assert parse_span_id(2**64 - 1) == 2**64 - 1
    for wrong in (2**64, "ab" * 16, 0):
        with pytest.raises(ValueError, match=r"^parent must be 16 hex digits or a positive int"):
            parse_span_id(wrong, argument="parent")


def test_a_rejected_id_is_quoted_redacted_and_bounded() -> None:
    with pytest.raises(ValueError) as secret:
        parse_trace_id("password=hunter2hunter2hunter2ab")
    assert "hunter2" not in str(secret.value)
    with pytest.raises(ValueError) as long:
        parse_trace_id("x" * 500)
    assert len(str(long.value)) < 200
    with pytest.raises(ValueError, match="got BrokenRepr '<unrepresentable BrokenRepr>'"):
        parse_trace_id(BrokenRepr())
