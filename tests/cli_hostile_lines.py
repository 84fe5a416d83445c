"""Hostile OTLP JSON lines, and text that tries to command a terminal.

Each hostile line is valid JSON, or nearly, crafted at one decode step:
nesting, ranges, types, ids, encodings. Good lines around them check that
nothing else is lost.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Text that, printed raw, would set the window title (OSC 0), write the clipboard
# (OSC 52), plant a hyperlink (OSC 8), clear the screen, move the cursor, use 8-bit
# C1 controls, reverse the text (bidi override) and forge a line of its own.
ATTACK = (
    "\x1b]0;PWNED-TITLE\x07"
    "\x1b]52;c;cHduZWQ=\x07"
    "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\"
    "\x1b[2J\x1b[H\x1b[5A"
    "\x9b2J\x9d0;c1-title\x9c"
    "\u202eevil\u2066x\u2069\u202c"
    "\x7f\x00\x08\r\t"
    "\nFORGED-LINE"
)
ATTACK_ESCAPED = "\\x1b]0;PWNED-TITLE\\x07"
"""How the first attack must show: escaped, visibly."""

_DANGEROUS_BYTES = re.compile(
    rb"[\x00-\x09\x0b-\x1f\x7f]"  # C0 but the newline that ends lines, and DEL
    rb"|\xc2[\x80-\x9f]"  # C1, UTF-8 encoded
    rb"|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]"  # bidi embeddings, overrides, isolates
    rb"|\xed[\xa0-\xbf]"  # surrogates, UTF-8 encoded
)
_OWN_COLOURS = re.compile(rb"\x1b\[[0-9;]*m")


def dangerous_bytes(output: bytes, *, colours: bool = False) -> list[bytes]:
    """Every byte sequence of ``output`` that could command a terminal.

    With ``colours``, ragtel's own SGR colour codes are allowed (and only those).
    """
    if colours:
        output = _OWN_COLOURS.sub(b"", output)
    return [match.group() for match in _DANGEROUS_BYTES.finditer(output)]


def forged_lines(output: bytes) -> list[bytes]:
    """Lines the attack's newline would have forged."""
    return [line for line in output.splitlines() if line.startswith(b"FORGED-LINE")]


def write_crafted(path: str) -> None:
    """A file the real tracer writes, with the attack in every field view or report shows.

    Run it in a process of its own: its spans break the conventions on purpose.
    """
    from opentelemetry.trace import Status, StatusCode

    from ragtel import Chunk, Document, RetrievedChunk, get_lastmile_tracer

    tracer = get_lastmile_tracer(
        "crafted", output_filepath=path, project_name=ATTACK, rag_flow_type="query"
    )
    attack_type = type(ATTACK.replace("\x00", ""), (Exception,), {})
    contexts = []
    for variant in (ATTACK, '=HYPERLINK("https://evil.example")', "plain"):
        with tracer.start_as_current_span(ATTACK) as root:
            tracer.register_params({"variant": variant, "note": ATTACK, "listed": [ATTACK]})
            root.set_attribute("ragtel.span.kind", ATTACK)
            with tracer.start_as_current_span("generate") as generate:
                generate.set_attribute("gen_ai.request.model", ATTACK)
                tracer.log_query_event(ATTACK, ATTACK)
                tracer.log_query_rewrite_event(ATTACK, [ATTACK, ATTACK])
                chunk = RetrievedChunk(ATTACK, ATTACK, retrieval_score=0.5)
                tracer.log_retrieval_event(ATTACK, [chunk])
                tracer.log_chunking_event(Document(ATTACK), [Chunk(ATTACK, ATTACK)])
                tracer.log_tool_call_event(ATTACK, {"q": ATTACK}, ATTACK)
                generate.add_event(ATTACK, {"exception.message": ATTACK})
                generate.record_exception(attack_type(ATTACK))
                generate.set_status(Status(StatusCode.ERROR, ATTACK))
            tracer.log_text_feedback(ATTACK, name=ATTACK)
            tracer.log_categorical_feedback(ATTACK, [ATTACK, "other"], name="verdict")
            contexts.append(tracer.serialize_span_context())
        tracer.force_flush()
    for context in contexts:
        tracer.log_text_feedback(ATTACK, context=context, name=ATTACK)
    tracer.shutdown()


# OTLP lines --------------------------------------------------------------------

BASE_NS = 1_790_000_000 * 1_000_000_000


def trace_id(number: int) -> str:
    return f"{number:032x}"


def span_id(number: int) -> str:
    return f"{number:016x}"


def good_span(number: int, *, parent: int | None = None, name: str = "answer") -> dict[str, Any]:
    """A span as ragtel writes it: params, a kind, a query event, a status."""
    start = BASE_NS + number * 60 * 1_000_000_000
    span: dict[str, Any] = {
        "traceId": trace_id(number),
        "spanId": span_id(number * 100 + (1 if parent is None else 2)),
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 5_000_000),
        "attributes": [
            {"key": "ragtel.param.k", "value": {"intValue": str(number)}},
            {"key": "ragtel.span.kind", "value": {"stringValue": "query"}},
        ],
        "events": [
            {
                "timeUnixNano": str(start + 1_000_000),
                "name": "ragtel.query",
                "attributes": [
                    {"key": "ragtel.query", "value": {"stringValue": "how long?"}},
                    {"key": "ragtel.response", "value": {"stringValue": "five days"}},
                ],
            }
        ],
        "status": {"code": 1},
    }
    if parent is not None:
        span["parentSpanId"] = span_id(number * 100 + 1)
        span["attributes"] = span["attributes"][1:]
    return span


def line_of(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]
                },
                "scopeSpans": [{"scope": {"name": "ragtel"}, "spans": list(spans)}],
            }
        ]
    }


def good_line(number: int) -> str:
    """A trace of two spans (answer and its child generate) as one line."""
    return json.dumps(line_of(good_span(number), good_span(number, parent=number, name="generate")))


def _with_span(number: int, **changes: Any) -> str:
    span = good_span(number)
    for key, value in changes.items():
        if value is _DELETE:
            span.pop(key, None)
        else:
            span[key] = value
    return json.dumps(line_of(span))


_DELETE = object()


def _number_start(number: int) -> str:
    # A JSON number, not a string: json.dumps cannot write 1e30 as such.
    return _with_span(number, startTimeUnixNano="START").replace('"START"', "1e30")


def _deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def _deep_value(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"stringValue": "bottom"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    return value


def hostile_lines() -> dict[str, bytes]:
    """Named hostile lines, each for a trace of its own (numbers 100 and up)."""
    deep_attribute = good_span(101)
    deep_attribute["attributes"].append({"key": "ragtel.param.deep", "value": _deep_value(300)})
    mixed = line_of(
        good_span(120, name="kept-in-a-mixed-line"),
        {**good_span(121), "traceId": "not-hex"},
        good_span(122, name="also-kept-in-a-mixed-line"),
    )
    lines = {
        "deeply nested JSON": '{"resourceSpans": ' + _deep_list(100_000) + "}",
        "deeply nested value": json.dumps(line_of(deep_attribute)),
        "start in the year 3170843": _with_span(102, startTimeUnixNano=str(10**23)),
        "negative start": _with_span(103, startTimeUnixNano="-1"),
        "start as a number beyond 64 bits": _number_start(104),
        "start NaN": _with_span(105, startTimeUnixNano=float("nan")),
        "start Infinity": _with_span(106, endTimeUnixNano=float("inf")),
        "start not a number": _with_span(107, startTimeUnixNano="soon"),
        "int value beyond 64 bits": _with_span(
            108, attributes=[{"key": "ragtel.param.k", "value": {"intValue": str(2**70)}}]
        ),
        "int value of 4,000 digits": _with_span(
            109, attributes=[{"key": "ragtel.param.k", "value": {"intValue": "9" * 4_000}}]
        ),
        "int value of 5,000 digits": _with_span(
            110, attributes=[{"key": "ragtel.param.k", "value": {"intValue": "9" * 5_000}}]
        ),
        "double value NaN": _with_span(
            111, attributes=[{"key": "ragtel.param.k", "value": {"doubleValue": "NaN"}}]
        ),
        "spans an object": json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}),
        "resourceSpans of numbers": json.dumps({"resourceSpans": [1, 2, 3]}),
        "attributes a string": _with_span(112, attributes="x"),
        "attribute key a number": _with_span(
            113, attributes=[{"key": 5, "value": {"stringValue": "x"}}]
        ),
        "events of lists": _with_span(114, events=[[]]),
        "status a list": _with_span(115, status=[]),
        "status code huge": _with_span(116, status={"code": 2**40}),
        "name a number": _with_span(117, name=5),
        "trace id not hex": _with_span(118, traceId="zz" * 16),
        "span id too short": _with_span(119, spanId="abcd"),
        "one bad span among good ones": json.dumps(mixed),
        "lone surrogate in the name": _with_span(123, name="\ud800"),
        "duplicate keys": '{"resourceSpans": [], "resourceSpans": [{"scopeSpans": [{"spans": ['
        + json.dumps(good_span(124, name="duplicate-keys"))
        + "]}]}]}",
        "kvlist of a string": _with_span(
            125, attributes=[{"key": "ragtel.param.k", "value": {"kvlistValue": "x"}}]
        ),
        "double value a bare NaN": _with_span(
            127, attributes=[{"key": "ragtel.param.k", "value": {"doubleValue": float("nan")}}]
        ),
        "bool value a string": _with_span(
            126, attributes=[{"key": "ragtel.param.k", "value": {"boolValue": "yes"}}]
        ),
    }
    encoded = {name: line.encode("ascii") for name, line in lines.items()}
    encoded["not UTF-8"] = b'{"resourceSpans": [], "x": "\xff"}'
    return encoded


def hostile_file(good: tuple[int, ...] = (1, 2)) -> bytes:
    """A good line, every hostile line, a good line: line numbers follow the names' order."""
    first, last = good
    lines = [good_line(first).encode(), *hostile_lines().values(), good_line(last).encode()]
    return b"\n".join(lines) + b"\n"
