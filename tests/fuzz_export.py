"""The export check of the fuzz tests: every span that ended was exported whole and valid.

:class:`Exported` (the ``exported`` fixture of ``conftest``) holds one tracer per
configuration flavor, all writing to one OTLP JSON Lines file, and checks after each
example what was written: strict OTLP parsing, nothing dropped, values capped, the
semantic conventions kept.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import pathlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from google.protobuf import json_format
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

import fuzz_strategies as fs
from ragtel import LastMileTracer, get_lastmile_tracer
from ragtel._config import DEFAULT_MAX_VALUE_LENGTH
from ragtel._sdk.exporters import logs_path_for
from semconv_check import SESSION_CHECK, check_otlp_json_log_record, check_otlp_json_span

# Export validation --------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"bare {name} is not JSON")


def _hex_to_base64(value: Any, length: int, where: str) -> str:
    assert isinstance(value, str), f"{where}: id {value!r} is not a string"
    assert len(value) == length * 2, f"{where}: id {value!r} is not {length} bytes of hex"
    raw = bytes.fromhex(value)
    assert value == raw.hex(), f"{where}: id {value!r} is not lowercase hex"
    return base64.b64encode(raw).decode("ascii")


def _ids_to_base64(item: dict[str, Any], fields: Mapping[str, int], where: str) -> None:
    # OTLP/JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64.
    for field, length in fields.items():
        if item.get(field):
            item[field] = _hex_to_base64(item[field], length, where)


_SPAN_IDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
_LINK_IDS = {"traceId": 16, "spanId": 8}


def _spans_of(data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_spans in data.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            yield from scope_spans.get("spans", ())


def _records_of(data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_logs in data.get("resourceLogs", ()):
        for scope_logs in resource_logs.get("scopeLogs", ()):
            yield from scope_logs.get("logRecords", ())


def parse_traces_line(line: str) -> list[dict[str, Any]]:
    """Parse one line as OTLP (strictly) and return its spans, as OTLP JSON."""
    data = json.loads(line, parse_constant=_reject_constant)
    spans = list(_spans_of(data))
    converted = json.loads(line, parse_constant=_reject_constant)
    for span in _spans_of(converted):
        _ids_to_base64(span, _SPAN_IDS, "span")
        for link in span.get("links", ()):
            _ids_to_base64(link, _LINK_IDS, "link")
    request = json_format.Parse(
        json.dumps(converted), ExportTraceServiceRequest(), ignore_unknown_fields=False
    )
    parsed = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert len(parsed) == len(spans)
    return spans


def parse_logs_line(line: str) -> list[dict[str, Any]]:
    """Parse one line as OTLP logs (strictly) and return its records, as OTLP JSON."""
    data = json.loads(line, parse_constant=_reject_constant)
    records = list(_records_of(data))
    converted = json.loads(line, parse_constant=_reject_constant)
    for record in _records_of(converted):
        _ids_to_base64(record, _LINK_IDS, "log record")
    request = json_format.Parse(
        json.dumps(converted), ExportLogsServiceRequest(), ignore_unknown_fields=False
    )
    parsed = [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert len(parsed) == len(records)
    return records


_CAPPED_PREFIXES = ("ragtel.", "gen_ai.", "session.id", "user.id")
# Lists of param keys: names, which have no length limit, not captured values.
_KEY_LISTS = frozenset({"ragtel.param_set.removed"})


def assert_values_capped(where: str, attributes: list[dict[str, Any]]) -> None:
    """ragtel's own text attributes hold at most one captured value's worth of characters."""
    for attribute in attributes:
        if not attribute["key"].startswith(_CAPPED_PREFIXES) or attribute["key"] in _KEY_LISTS:
            continue
        value = attribute.get("value", {})
        texts = [value.get("stringValue", "")] + [
            item.get("stringValue", "") for item in value.get("arrayValue", {}).get("values", ())
        ]
        longest = max(len(text) for text in texts)
        assert longest <= DEFAULT_MAX_VALUE_LENGTH, (
            f"{where}: {attribute['key']} holds {longest} characters"
        )


def validate_spans(spans: list[dict[str, Any]]) -> None:
    for span in spans:
        check_otlp_json_span(span)
        assert_values_capped(f"span {span.get('name')!r}", span.get("attributes", []))
        for event in span.get("events", ()):
            assert_values_capped(f"event {event.get('name')!r}", event.get("attributes", []))


class ExportedFile:
    """An OTLP JSON Lines file, read incrementally: the lines added since the last read."""

    def __init__(self, path: str | pathlib.Path) -> None:
        self.path = pathlib.Path(path)
        self._offset = 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self._offset)
            data = file.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        # Strict UTF-8: a line that is not valid UTF-8 is not OTLP JSON.
        return [line.decode("utf-8") for line in data[:end].split(b"\n") if line]


class EncoderErrors(logging.Handler):
    """Attributes the OTLP encoder could not encode.

    It drops such an attribute and logs an error, so a line that parses may
    still have lost data: every one is a failure here.
    """

    LOGGER = "opentelemetry.exporter.otlp.proto.common"

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def take(self) -> list[str]:
        messages, self.messages = self.messages, []
        return messages

    @contextlib.contextmanager
    def attached(self) -> Iterator[EncoderErrors]:
        logger = logging.getLogger(self.LOGGER)
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)


class SpanCounter(SpanProcessor):
    """Counts the spans that end, to compare with the spans exported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ended = 0

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self._ended += 1

    def take(self) -> int:
        with self._lock:
            ended, self._ended = self._ended, 0
        return ended


def hostile_mask(value: Any) -> Any:
    """A mask hook that raises, passes through or returns hostile values, by the value's type."""
    choice = len(type(value).__name__) % 5
    if choice == 0:
        raise RuntimeError("the mask failed")
    if choice == 1:
        return value
    if choice == 2:
        return fs.RaisingRepr()
    if choice == 3:
        return "\ud800masked" * 3_000
    return fs._self_list([value])


FLAVORS: dict[str, dict[str, Any]] = {
    "default": {},
    "openinference": {"openinference": True, "record_embeddings": True},
    "no-content": {"capture_content": False},
    "hostile-mask": {"mask": hostile_mask},
}
"""Tracer configurations each test runs against (one tracer of each, drawn per example)."""


class Exported:
    """One tracer per flavor, and what they export, checked after each example.

    Tracers created with ``set_global=False`` share ragtel's private provider:
    one file holds every flavor's spans (and its sibling, their log records).
    """

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory
        path = directory / "traces.jsonl"
        self.tracers = {
            name: get_lastmile_tracer(
                f"fuzz-{name}",
                project_name="fuzz",
                output_filepath=path,
                set_global=False,
                **options,
            )
            for name, options in FLAVORS.items()
        }
        first = next(iter(self.tracers.values()))
        assert all(
            tracer.tracer_provider is first.tracer_provider for tracer in self.tracers.values()
        )
        self.any_tracer = first
        self.counter = SpanCounter()
        first.tracer_provider.add_span_processor(self.counter)  # type: ignore[attr-defined]
        self.traces = ExportedFile(path)
        self.logs = ExportedFile(logs_path_for(path))
        self.logged = 0
        self.dropped = 0
        self.path_logs: dict[pathlib.Path, tuple[ExportedFile, list[int]]] = {}
        self.encoder_errors = EncoderErrors()

    def draw(self, data: st.DataObject) -> LastMileTracer:
        name = data.draw(st.sampled_from(sorted(self.tracers)), label="tracer flavor")
        return self.tracers[name]

    def expect_path_log(self, path: pathlib.Path) -> None:
        self.path_logs.setdefault(path, (ExportedFile(path), [0]))[1][0] += 1

    @contextlib.contextmanager
    def example(self) -> Iterator[None]:
        """Run one example, then check what it exported."""
        violations = len(SESSION_CHECK.violations)
        yield
        self.check()
        new = SESSION_CHECK.violations[violations:]
        assert not new, f"semantic-convention violations: {new[:5]}"

    def check(self) -> None:
        tracer = self.any_tracer
        assert tracer.force_flush(10_000), "flush timed out"
        spans = [span for line in self.traces.new_lines() for span in parse_traces_line(line)]
        ended = self.counter.take()
        assert len(spans) == ended, f"{ended} spans ended, {len(spans)} exported"
        # Per example, so that a failure does not fail every later example too.
        total = tracer.dropped_span_count()
        dropped, self.dropped = total - self.dropped, total
        assert dropped == 0, f"{dropped} spans were dropped"
        validate_spans(spans)
        assert not (errors := self.encoder_errors.take()), f"attributes dropped: {errors[:3]}"
        # No attribute of a user object is looked up (a proxy's lookups are remote calls).
        lookups, fs.ATTRIBUTE_LOOKUPS[:] = list(fs.ATTRIBUTE_LOOKUPS), []
        assert not lookups, f"attributes looked up on a user object: {lookups[:5]}"
        records = [r for line in self.logs.new_lines() for r in parse_logs_line(line)]
        assert len(records) == self.logged, f"{self.logged} logged, {len(records)} exported"
        self.logged = 0
        for record in records:
            check_otlp_json_log_record(record)
        for file, expected in self.path_logs.values():
            records = [r for line in file.new_lines() for r in parse_logs_line(line)]
            assert len(records) == expected[0], f"{file.path}: {expected[0]} logged"
            expected[0] = 0
            for record in records:
                check_otlp_json_log_record(record)
