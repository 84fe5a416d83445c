"""Fuzzing every public API with Hypothesis.

Each test drives one family of entry points with arguments drawn either valid
or wild (see ``fuzz_strategies``: nested and self-referencing containers,
huge strings, lone surrogates, bytes, NaN and infinities, huge ints, objects
whose ``repr``/``str`` raise). Two rules are checked after every example:

* **The call contract.** A call either succeeds, or raises exactly an
  exception type documented for one of its wild arguments, with a message
  naming that argument (:data:`DOCUMENTED`). A call whose arguments were all
  drawn valid must succeed.
* **The export.** Every span that ended was written to the tracer's OTLP JSON
  Lines file, none was dropped, and every line parses with protobuf's
  ``json_format.Parse`` into ``ExportTraceServiceRequest`` (log records into
  ``ExportLogsServiceRequest``), unknown fields refused; the exported
  attributes pass the semantic-convention check.

Arguments ragtel hands to the OpenTelemetry SDK untouched, as the OTel API
does (span names, ``attributes=``, links), are drawn within that API's
contract: valid UTF-8 text, 64-bit ints. OTLP exporter arguments are drawn
only among values refused before anything is built: fuzzing opens no socket.

The ``ci`` profile (the default) keeps the file fast; ``RAGTEL_FUZZ_PROFILE=long``
runs 2,500 examples per test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import itertools
import json
import logging
import os
import pathlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
)

import fuzz_strategies as fs
import ragtel
from ragtel import (
    LastMileTracer,
    RAGEventType,
    RagFlowType,
    context_from_request_id,
    get_distributed_trace_headers,
    get_lastmile_tracer,
    get_traceparent,
    serialize_span_context,
    trace_id_from_request_id,
    traced,
)
from ragtel._config import DEFAULT_MAX_VALUE_LENGTH
from ragtel.testing import reset as reset_ragtel
from ragtel._sdk.exporters import logs_path_for
from semconv_check import SESSION_CHECK, check_otlp_json_log_record, check_otlp_json_span

T = TypeVar("T")

# Profiles ------------------------------------------------------------------------

# Function-scoped fixtures are shared by every example of a test on purpose:
# one set of tracers per test (creating providers per example would dominate
# the run), checked after each example. The example database is off, so a fresh
# machine and a developer's behave alike (no replay of examples saved by earlier
# runs). Not derandomized: each run explores new inputs, and a failure prints
# the draws that reproduce it.
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=2_500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Applied per test rather than loaded globally, so other test files keep their own settings.
PROFILE = settings.get_profile(os.environ.get("RAGTEL_FUZZ_PROFILE", "ci"))


def fuzz_settings(share: float = 1.0) -> settings:
    """The profile, with ``share`` of its examples (for tests that cost more per example)."""
    return settings(PROFILE, max_examples=max(10, int(PROFILE.max_examples * share)))


# The call contract ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Documented:
    """The exceptions one argument may raise, and what their message must mention."""

    errors: tuple[type[Exception], ...]
    mentions: tuple[str, ...]


def _doc(*errors: type[Exception], mentions: str | tuple[str, ...]) -> Documented:
    return Documented(errors, (mentions,) if isinstance(mentions, str) else mentions)


TYPE = (TypeError,)
VALUE = (ValueError,)
BOTH = (TypeError, ValueError)


def _arguments(**documented: tuple[type[Exception], ...]) -> dict[str, Documented]:
    """Arguments whose message names the argument itself."""
    return {name: _doc(*errors, mentions=name) for name, errors in documented.items()}


_SPAN = _arguments(span=TYPE)
_CONTEXT = _arguments(context=BOTH)
_LABELS = _arguments(session_id=TYPE, user_id=TYPE, tags=TYPE, metadata=BOTH)
_FEEDBACK_COMMON = _arguments(
    trace_id=VALUE,
    span_id=VALUE,
    context=BOTH,
    name=TYPE,
    annotator=VALUE,
    explanation=TYPE,
    metadata=TYPE,
)
_EVENT_COMMON = {**_arguments(name=TYPE), **_SPAN}

DOCUMENTED: dict[str, dict[str, Documented]] = {
    "get_lastmile_tracer": {
        **_arguments(
            tracer_name=TYPE,
            lastmile_api_token=TYPE,
            project_name=TYPE,
            project_id=TYPE,
            initial_params=BOTH,
            rag_flow_type=VALUE,
            exporter=BOTH,
            output_filepath=TYPE,
            otlp_protocol=VALUE,
            otlp_compression=VALUE,
            otlp_timeout=VALUE,
        ),
        # An alias: its messages name both spellings.
        "pipeline_type": _doc(ValueError, mentions="rag_flow_type"),
    },
    "start_span": {**_CONTEXT, **_LABELS},
    "trace_function": _CONTEXT,
    "traced": {**_CONTEXT, **_arguments(tracer=TYPE)},
    "register_param": {**_arguments(key=BOTH), **_SPAN},
    "register_params": {**_arguments(params=BOTH), **_SPAN},
    "register_helper": {
        **_arguments(extras=BOTH, model_params=BOTH),
        **_SPAN,
    },
    "using_attributes": _LABELS,
    "log_trace_event": {},
    "log_span_event": {**_arguments(event_kind=VALUE), **_EVENT_COMMON},
    "log_chunking_event": {
        **_arguments(input_document=BOTH, output_chunks=BOTH),
        **_EVENT_COMMON,
    },
    "log_embedding_event": {**_arguments(embeddings=TYPE), **_EVENT_COMMON},
    "log_query_rewrite_event": {
        **_arguments(query=TYPE, rewritten_query=TYPE),
        **_EVENT_COMMON,
    },
    "log_retrieval_event": {
        **_arguments(query=TYPE, retrieved_data=BOTH),
        **_EVENT_COMMON,
    },
    "log_rerank_event": {**_arguments(retrieved=BOTH, reranked=BOTH), **_EVENT_COMMON},
    "log_tool_call_event": {**_arguments(tool=TYPE), **_EVENT_COMMON},
    "log_query_event": {
        **_arguments(query=TYPE, response=TYPE, system_prompt=TYPE),
        **_EVENT_COMMON,
    },
    "log_llm_call": {
        **_arguments(
            model=TYPE,
            operation=TYPE,
            provider=TYPE,
            response_model=TYPE,
            params=BOTH,
            finish_reason=TYPE,
            input_tokens=BOTH,
            output_tokens=BOTH,
            cached_input_tokens=BOTH,
            cost=BOTH,
            latency=BOTH,
            stream_chunks=TYPE,
        ),
        **_SPAN,
    },
    "log_image_generation": {
        **_arguments(
            model=TYPE,
            image_url=TYPE,
            image_url_type=VALUE,
            # Given without image_format: "image_format must name the format of image_data".
            image_data=BOTH,
            image_format=VALUE,
        ),
        **_SPAN,
    },
    "log_image_output": {
        **_arguments(
            context=BOTH,
            # With neither: "log_image_output needs image_url or image_data".
            image_url=BOTH,
            image_url_type=VALUE,
            image_data=BOTH,
            image_format=VALUE,
        ),
    },
    "log_feedback": {**_FEEDBACK_COMMON, **_arguments(feedback=BOTH)},
    "log_binary_feedback": {**_FEEDBACK_COMMON, **_arguments(value=TYPE)},
    "log_numeric_feedback": {**_FEEDBACK_COMMON, **_arguments(value=BOTH)},
    "log_text_feedback": {**_FEEDBACK_COMMON, **_arguments(value=BOTH)},
    "log_categorical_feedback": {
        **_FEEDBACK_COMMON,
        **_arguments(value=BOTH),
        "categories": _doc(TypeError, ValueError, mentions="categor"),
    },
    "log": _arguments(logger=TYPE),
    "context_helpers": {**_SPAN, **_arguments(request_id=BOTH)},
    "record_io": _SPAN,
    "set_token_usage": {
        **_arguments(input_tokens=BOTH, output_tokens=BOTH, cached_input_tokens=BOTH),
        **_SPAN,
    },
    "add_tags": {**_arguments(tags=TYPE), **_SPAN},
    "mark_failed": {**_arguments(message=TYPE, error_type=TYPE), **_SPAN},
    "update_span": {
        **_arguments(
            fields=TYPE,
            status=VALUE,
            tags=TYPE,
            metadata=BOTH,
            model=TYPE,
            error=TYPE,
            input_tokens=BOTH,
            output_tokens=BOTH,
            cached_input_tokens=BOTH,
        ),
        **_SPAN,
    },
    "record_span": {
        **_arguments(kind=VALUE, latency=VALUE, status=VALUE, error=TYPE),
        **_CONTEXT,
    },
}
"""Per API, the exceptions each argument is documented to raise (README and docs/)."""


class Arguments:
    """Draws the arguments of one call, each valid or wild, and remembers the wild ones."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data
        # Half the examples draw every argument valid: those calls must succeed.
        self._may_be_wild = data.draw(st.booleans(), label="wild arguments allowed")
        self.wild: set[str] = set()

    def draw(
        self,
        name: str,
        valid: st.SearchStrategy[Any],
        wild: st.SearchStrategy[Any] = fs.anything,
    ) -> Any:
        # One argument in four is wild: most calls get past validation, and the
        # error of a refused one can be traced to the argument that caused it.
        if self._may_be_wild and self._data.draw(
            st.integers(0, 3).map(lambda n: n == 0), label=f"{name} is wild"
        ):
            self.wild.add(name)
            return self._data.draw(wild, label=name)
        return self._data.draw(valid, label=name)

    def aside(self, strategy: st.SearchStrategy[T], label: str) -> T:
        """A draw that is no argument (a choice of the test)."""
        return self._data.draw(strategy, label=label)


class Refused:
    """What :func:`call` returns when the call raised a documented error."""


REFUSED = Refused()


def call(api: str, arguments: Arguments, invoke: Callable[[], T]) -> T | Refused:
    """Run ``invoke``; an exception must be documented for one of the wild arguments."""
    try:
        return invoke()
    except Exception as error:  # noqa: BLE001 - every error is checked against the contract
        assert_documented(api, arguments.wild, error)
        return REFUSED


def assert_documented(api: str, wild: set[str], error: Exception) -> None:
    contract = DOCUMENTED[api]
    message = str(error)
    for name in sorted(wild):
        documented = contract.get(name)
        if (
            documented is not None
            and type(error) in documented.errors  # exactly: a subclass is another error
            and any(mention in message for mention in documented.mentions)
        ):
            return
    raise AssertionError(
        f"{api} raised {type(error).__name__}({message[:500]!r}), which is not documented "
        f"for its wild arguments {sorted(wild)}"
    ) from error


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


@pytest.fixture
def exported(tmp_path: pathlib.Path) -> Iterator[Exported]:
    harness = Exported(tmp_path)
    with harness.encoder_errors.attached():
        yield harness
        harness.any_tracer.shutdown()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    # One loop for all examples of a test: a new one per example costs more than the example.
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


# Shared argument strategies ------------------------------------------------------------

# What the OpenTelemetry API itself accepts, for arguments ragtel hands to the
# SDK untouched (span names, attributes): valid UTF-8 text, 64-bit ints.
otel_text = st.text(st.characters(codec="utf-8"), max_size=30)
otel_names = otel_text.map(lambda name: "app " + name)
_otel_scalars = st.one_of(otel_text, st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats())
otel_attributes = st.dictionaries(
    otel_text.map(lambda key: "app." + key),
    st.one_of(_otel_scalars, st.lists(otel_text, max_size=3), st.lists(st.floats(), max_size=3)),
    max_size=4,
)

SPAN_CHOICES = ("none", "current", "ended", "invalid", "remote")


def span_argument(arguments: Arguments, tracer: LastMileTracer) -> Any:
    """``span=``: None, the current span, an ended one, a non-recording one, or wild."""
    choice = arguments.draw("span", st.sampled_from(SPAN_CHOICES))
    if "span" in arguments.wild:
        return choice
    if choice == "current":
        return trace.get_current_span()
    if choice == "ended":
        ended = tracer.start_span("app ended")
        ended.end()
        return ended
    if choice == "invalid":
        return INVALID_SPAN
    if choice == "remote":
        return NonRecordingSpan(SpanContext(0x1234, 0x5678, is_remote=True))
    return None


@contextlib.contextmanager
def maybe_in_span(arguments: Arguments, tracer: LastMileTracer) -> Iterator[Span | None]:
    """The example runs inside a fresh root span, or with no span active."""
    if arguments.aside(st.booleans(), "inside a span"):
        with tracer.start_as_current_span("app root") as span:
            yield span
    else:
        yield None


def valid_contexts(*, lenient: bool = True) -> st.SearchStrategy[Any]:
    """Every accepted form of ``context``, pointing at a span of this process or anywhere.

    ``lenient``: also any mapping of headers, which starts a new trace when it
    holds no context (where a context is a parent); where it must name a span
    (feedback, a late image), a mapping without one is refused.
    """

    def build(form: str, trace_id: int, span_id: int, sampled: bool) -> Any:
        flags = TraceFlags(int(sampled))
        span_context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
        traceparent = f"00-{trace_id:032x}-{span_id:016x}-{int(sampled):02x}"
        if form == "traceparent":
            return traceparent
        if form == "serialized":
            return json.dumps({"traceparent": traceparent, "tracestate": "k=v"})
        if form == "span_context":
            return span_context
        if form == "otel_context":
            return trace.set_span_in_context(NonRecordingSpan(span_context))
        return {"TraceParent": traceparent, "baggage": "k=v"}

    pointing = st.builds(
        build,
        st.sampled_from(["traceparent", "serialized", "span_context", "otel_context", "headers"]),
        st.integers(1, 2**128 - 1),
        st.integers(1, 2**64 - 1),
        st.booleans(),
    )
    if not lenient:
        return pointing
    # A headers mapping is lenient like OTel's extract: any mapping is accepted.
    return st.one_of(pointing, st.dictionaries(fs.hashables, fs.anything, max_size=4))


def current_ids() -> tuple[str, str] | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


# get_lastmile_tracer ----------------------------------------------------------------------

_tracer_numbers = itertools.count()
# Exporter values that are refused before anything is built (never otlp or
# console: fuzzing must not open sockets or print).
_refused_exporters = st.one_of(
    st.sampled_from(["bogus", "file,bogus", "jaeger", "fil e"]),
    fs.anything_but(str, list, tuple),
)
_refused_protocols = st.sampled_from(["http/json", "", "GRPC ", b"grpc", 1, ["grpc"]])
_refused_compressions = st.sampled_from(["br", "", b"gzip", 0, ["gzip"]])
_refused_timeouts = st.sampled_from([0, -1.5, "10", b"1", [], -float("inf")])


@fuzz_settings(0.5)
@given(data=st.data())
def test_get_lastmile_tracer(tmp_path: pathlib.Path, data: st.DataObject) -> None:
    arguments = Arguments(data)
    number = next(_tracer_numbers)
    path = tmp_path / f"tracer-{number}.jsonl"
    name = arguments.draw(
        "tracer_name",
        fs.text.filter(bool).map(lambda text: f"{text}-{number}"),
        fs.anything_but(str),
    )
    flow = arguments.draw("rag_flow_type", st.sampled_from([None, *RagFlowType, "query"]))
    flow_alias = arguments.draw("pipeline_type", st.sampled_from([None, flow]))
    options: dict[str, Any] = {
        "lastmile_api_token": arguments.draw("lastmile_api_token", fs.optional_text),
        "project_name": arguments.draw("project_name", fs.optional_text),
        "project_id": arguments.draw("project_id", fs.optional_text),
        "initial_params": arguments.draw(
            "initial_params",
            st.one_of(st.none(), st.dictionaries(fs.param_keys, fs.anything, max_size=4)),
        ),
        "rag_flow_type": flow,
        "pipeline_type": flow_alias,
        "exporter": arguments.draw(
            "exporter", st.sampled_from([None, "file", ["file"], "file,none"]), _refused_exporters
        ),
        "output_filepath": arguments.draw(
            "output_filepath",
            st.sampled_from([str(path), path]),
            # Never a str, bytes or path: fuzzed paths could land anywhere on disk.
            fs.anything_but(str, bytes, os.PathLike).filter(lambda value: value is not None),
        ),
        "capture_content": arguments.draw("capture_content", st.sampled_from([None, True, False])),
        "mask": arguments.draw("mask", st.sampled_from([None, hostile_mask, repr])),
        "record_embeddings": arguments.draw("record_embeddings", st.sampled_from([None, True])),
        "openinference": arguments.draw("openinference", st.sampled_from([None, True, False])),
        "propagate_params": arguments.draw("propagate_params", st.sampled_from([None, True])),
    }
    # Only ever refused values: a valid one would build an OTLP exporter.
    for argument, refused in (
        ("otlp_protocol", _refused_protocols),
        ("otlp_compression", _refused_compressions),
        ("otlp_timeout", _refused_timeouts),
    ):
        if arguments.aside(st.integers(0, 5), f"{argument} given") == 0:
            arguments.wild.add(argument)
            options[argument] = arguments.aside(refused, argument)
    if any(argument.startswith("otlp_") for argument in options):
        options["exporter"] = None  # otlp_* arguments ask for OTLP only without exporter=

    try:
        tracer = call(
            "get_lastmile_tracer",
            arguments,
            lambda: get_lastmile_tracer(name, set_global=False, **options),
        )
        if not isinstance(tracer, Refused):
            assert not any(key.startswith("otlp_") for key in options), "OTLP was not refused"
            check_new_tracer(tracer, path, number)
    finally:
        # Every example starts afresh, as a new process would: no tracers, no provider.
        reset_ragtel()


def check_new_tracer(tracer: LastMileTracer, path: pathlib.Path, number: int) -> None:
    """A trace of the new tracer is exported whole and valid (its root carries the fuzzed
    project attributes and initial params)."""
    counter = SpanCounter()
    tracer.tracer_provider.add_span_processor(counter)  # type: ignore[attr-defined]
    violations = len(SESSION_CHECK.violations)
    try:
        with EncoderErrors().attached() as encoder_errors:
            with tracer.start_as_current_span("app root"):
                tracer.register_param("fuzz.number", number)
                tracer.log(number)  # its scope is the tracer's name too
            assert tracer.force_flush(10_000)
        assert tracer.dropped_span_count() == 0
        assert not encoder_errors.messages, f"attributes dropped: {encoder_errors.messages[:3]}"
        spans = [
            span for line in ExportedFile(path).new_lines() for span in parse_traces_line(line)
        ]
        logs = ExportedFile(logs_path_for(path))
        records = [record for line in logs.new_lines() for record in parse_logs_line(line)]
        if tracer.output_filepaths:
            assert len(spans) == counter.take()
            assert len(records) == 1
        validate_spans(spans)
        for record in records:
            check_otlp_json_log_record(record)
        assert not SESSION_CHECK.violations[violations:]
    finally:
        tracer.shutdown()


# Spans and context -----------------------------------------------------------------------


@fuzz_settings()
@given(data=st.data())
def test_start_span(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        options = {
            "context": arguments.draw("context", st.one_of(st.none(), valid_contexts())),
            "kind": arguments.aside(st.sampled_from(SpanKind), "kind"),
            "attributes": arguments.aside(st.one_of(st.none(), otel_attributes), "attributes"),
            "session_id": arguments.draw("session_id", st.one_of(st.none(), fs.text.filter(bool))),
            "user_id": arguments.draw("user_id", st.one_of(st.none(), fs.text.filter(bool))),
            "tags": arguments.draw("tags", st.one_of(st.none(), fs.str_lists)),
            "metadata": arguments.draw(
                "metadata",
                st.one_of(st.none(), st.dictionaries(fs.param_keys, fs.anything, max_size=3)),
            ),
        }
        name = arguments.aside(otel_names, "name")
        if arguments.aside(st.booleans(), "as current"):

            def start() -> None:
                with tracer.start_as_current_span(name, **options):
                    tracer.start_span("app child").end()

        else:

            def start() -> None:
                tracer.start_span(name, **options).end()

        call("start_span", arguments, start)


@fuzz_settings()
@given(data=st.data())
def test_context_helpers(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        helpers: list[Callable[[Any], Any]] = [
            get_traceparent,
            serialize_span_context,
            get_distributed_trace_headers,
            tracer.get_traceparent,
            tracer.serialize_span_context,
            tracer.get_distributed_trace_headers,
        ]
        for helper in helpers:
            result = call("context_helpers", arguments, lambda helper=helper: helper(span))
            if isinstance(result, str):
                # What a helper hands over must be taken back, by any ragtel tracer.
                tracer.start_span("app continued", context=result).end()
        request_id = arguments.draw("request_id", fs.request_ids)
        trace_id = call("context_helpers", arguments, lambda: trace_id_from_request_id(request_id))
        traceparent = call(
            "context_helpers", arguments, lambda: context_from_request_id(request_id)
        )
        if isinstance(traceparent, str):
            started = tracer.start_span("app request", context=traceparent)
            started.end()
            assert f"{started.get_span_context().trace_id:032x}" == trace_id


# Decorators --------------------------------------------------------------------------------


class FuzzError(Exception):
    """An exception a traced function raises: it must come out unchanged."""


class UnprintableError(Exception):
    """An exception whose ``str()`` raises: it must still come out unchanged."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


@dataclasses.dataclass
class Outcome:
    """What a fuzzed function does: return ``value``, or raise ``error``."""

    value: Any
    error: BaseException | None

    def finish(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


outcomes = st.builds(
    Outcome,
    fs.anything,
    st.one_of(
        st.none(),
        st.none(),
        st.builds(FuzzError, fs.text),
        st.builds(FuzzError, fs.anything),
        st.builds(UnprintableError),
    ),
)
positional = st.lists(fs.anything, min_size=1, max_size=3)
# Names that bind no parameter of the fuzzed functions: the calls themselves are valid.
keywords = st.dictionaries(
    fs.text.filter(lambda key: key not in ("self", "a", "b", "key")), fs.anything, max_size=3
)


def decorator_for(arguments: Arguments, tracer: LastMileTracer) -> Callable[[Any], Any] | Refused:
    """One of the decorators, with fuzzed decorator arguments."""
    way = arguments.aside(
        st.sampled_from(["trace_function", "atrace_function", "traced", "traced_otel"]), "way"
    )
    name = arguments.aside(st.one_of(st.none(), otel_names), "name")
    context = arguments.draw("context", st.one_of(st.none(), valid_contexts()))
    kind = arguments.aside(st.sampled_from(SpanKind), "kind")
    attributes = arguments.aside(st.one_of(st.none(), otel_attributes), "attributes")
    if way.startswith("traced"):
        # Any OpenTelemetry tracer: the ragtel one, or a plain one of the same provider.
        plain = tracer.tracer_provider.get_tracer("fuzz-plain")
        given = arguments.draw("tracer", st.just(tracer if way == "traced" else plain))
        return call(
            "traced",
            arguments,
            lambda: traced(given, name, context=context, kind=kind, attributes=attributes),
        )
    method = tracer.trace_function if way == "trace_function" else tracer.atrace_function
    return call("trace_function", arguments, lambda: method(name, context, kind, attributes))


def _same_error(raised: BaseException, outcome: Outcome) -> None:
    assert raised is outcome.error, f"{raised!r} came out instead of the function's own error"


@fuzz_settings()
@given(data=st.data())
def test_traced_functions(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        decorate = decorator_for(arguments, tracer)
        if isinstance(decorate, Refused):
            return
        outcome = arguments.aside(outcomes, "outcome")
        args = arguments.aside(positional, "args")
        kwargs = arguments.aside(keywords, "kwargs")

        def fuzzed(a: Any, b: Any = None, *rest: Any, key: Any = None, **named: Any) -> Any:
            return outcome.finish()

        class Service:
            def handle(self, a: Any, *rest: Any, **named: Any) -> Any:
                return outcome.finish()

        if arguments.aside(st.booleans(), "as a method"):  # self is not recorded
            Service.handle = decorate(Service.handle)  # type: ignore[method-assign]
            invoke = functools.partial(Service().handle, *args, **kwargs)
        else:
            invoke = functools.partial(decorate(fuzzed), *args, **kwargs)
        try:
            result = invoke()
        except BaseException as raised:  # noqa: BLE001 - any error must be the function's own
            _same_error(raised, outcome)
        else:
            assert outcome.error is None
            assert result is outcome.value


@fuzz_settings()
@given(data=st.data())
def test_traced_generators(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        decorate = decorator_for(arguments, tracer)
        if isinstance(decorate, Refused):
            return
        items = arguments.aside(st.lists(fs.anything, max_size=5), "items")
        outcome = arguments.aside(outcomes, "outcome")
        read = arguments.aside(st.integers(0, 6), "items read before close")
        args = arguments.aside(positional, "args")

        def produce(*args: Any) -> Iterator[Any]:
            yield from items
            return outcome.finish()

        generator = decorate(produce)(*args)
        seen: list[Any] = []
        try:
            for item in generator:
                seen.append(item)
                if len(seen) >= read:
                    generator.close()
                    break
        except BaseException as raised:  # noqa: BLE001 - any error must be the function's own
            _same_error(raised, outcome)
        assert all(a is b for a, b in zip(seen, items, strict=False))


@fuzz_settings()
@given(data=st.data())
def test_traced_coroutines_and_async_generators(
    exported: Exported, loop: asyncio.AbstractEventLoop, data: st.DataObject
) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        decorate = decorator_for(arguments, tracer)
        if isinstance(decorate, Refused):
            return
        outcome = arguments.aside(outcomes, "outcome")
        items = arguments.aside(st.lists(fs.anything, max_size=4), "items")
        args = arguments.aside(positional, "args")
        kwargs = arguments.aside(keywords, "kwargs")

        async def answer(a: Any, *rest: Any, **named: Any) -> Any:
            await asyncio.sleep(0)
            return outcome.finish()

        async def stream(*rest: Any) -> Any:
            for item in items:
                yield item
            outcome.finish()

        coroutine = arguments.aside(st.booleans(), "coroutine")

        async def run() -> Any:
            if coroutine:
                return await decorate(answer)(*args, **kwargs)
            return [item async for item in decorate(stream)(*args)]

        try:
            result = loop.run_until_complete(run())
        except BaseException as raised:  # noqa: BLE001 - any error must be the function's own
            _same_error(raised, outcome)
        else:
            assert outcome.error is None
            if coroutine:
                assert result is outcome.value
            else:
                assert len(result) == len(items)
                assert all(a is b for a, b in zip(result, items, strict=True))


# ParamSet and context attributes -----------------------------------------------------------

param_mappings = st.dictionaries(fs.param_keys, fs.anything, max_size=4)


@fuzz_settings()
@given(data=st.data())
def test_param_set(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        save = arguments.aside(st.booleans(), "should_also_save_in_span")
        sensitive = arguments.aside(st.booleans(), "sensitive")
        operation = arguments.aside(st.sampled_from(["one", "many", "clear"]), "operation")
        if operation == "one":
            key = arguments.draw("key", fs.param_keys)
            value = arguments.aside(fs.anything, "value")
            call(
                "register_param",
                arguments,
                lambda: tracer.register_param(key, value, save, span, sensitive=sensitive),
            )
        elif operation == "many":
            params = arguments.draw("params", param_mappings)
            overwrite = arguments.aside(st.booleans(), "overwrite")
            call(
                "register_params",
                arguments,
                lambda: tracer.register_params(params, overwrite, save, span, sensitive=sensitive),
            )
        else:
            tracer.clear_params()
        assert isinstance(tracer.get_params(), dict)


@fuzz_settings()
@given(data=st.data())
def test_param_helpers(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        value = arguments.aside(fs.anything, "value")
        other = arguments.aside(fs.anything, "other value")
        extras = arguments.draw("extras", st.one_of(st.none(), param_mappings))
        model_params = arguments.draw(
            "model_params",
            st.dictionaries(
                st.one_of(fs.param_keys, st.sampled_from(["temperature", "max_tokens", "stop"])),
                fs.anything,
                max_size=4,
            ),
        )
        helpers: dict[str, Callable[[], None]] = {
            "document": lambda: tracer.register_document_preprocess_params(
                value, other, extras, span=span
            ),
            "embedding": lambda: tracer.register_embedding_params(value, other, extras, span=span),
            "query processing": lambda: tracer.register_query_processing_params(
                value, other, value, extras, span=span
            ),
            "retrieval": lambda: tracer.register_retrieval_params(value, other, extras, span=span),
            "generation": lambda: tracer.register_generation_params(
                model_params, extras, span=span
            ),
            "model": lambda: tracer.register_query_model(value, span=span),
            "temperature": lambda: tracer.register_query_temperature(value, span=span),
            "top_p": lambda: tracer.register_query_top_p(value, span=span),
            "chunk size": lambda: tracer.register_ingestion_chunk_size(value, span=span),
            "top_k": lambda: tracer.register_retrieval_top_k(value, span=span),
        }
        helper = arguments.aside(st.sampled_from(sorted(helpers)), "helper")
        call("register_helper", arguments, helpers[helper])


@fuzz_settings()
@given(data=st.data())
def test_context_attribute_scopes(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        labels = {
            "session_id": arguments.draw("session_id", st.one_of(st.none(), fs.text.filter(bool))),
            "user_id": arguments.draw("user_id", st.one_of(st.none(), fs.text.filter(bool))),
            "tags": arguments.draw("tags", st.one_of(st.none(), fs.str_lists)),
            "metadata": arguments.draw("metadata", st.one_of(st.none(), param_mappings)),
        }
        shorthand = arguments.aside(st.sampled_from(["all", *labels]), "shorthand")
        factories: dict[str, Callable[[], Any]] = {
            "all": lambda: tracer.using_attributes(**labels),
            "session_id": lambda: tracer.using_session(labels["session_id"]),
            "user_id": lambda: tracer.using_user(labels["user_id"]),
            "tags": lambda: tracer.using_tags(labels["tags"]),
            "metadata": lambda: tracer.using_metadata(labels["metadata"]),
        }
        scope = call("using_attributes", arguments, factories[shorthand])
        if isinstance(scope, Refused):
            return
        if arguments.aside(st.booleans(), "as decorator"):
            scope(lambda: tracer.start_span("app labelled").end())()
        else:
            with scope:
                tracer.start_span("app labelled").end()


# RAG events --------------------------------------------------------------------------------


def event_kwargs(arguments: Arguments, tracer: LastMileTracer) -> dict[str, Any]:
    """``metadata``, ``name`` and ``span``, which every event helper takes."""
    return {
        "metadata": arguments.aside(st.one_of(st.none(), fs.anything), "metadata"),
        "name": arguments.draw("name", fs.optional_text),
        "span": span_argument(arguments, tracer),
    }


@fuzz_settings()
@given(data=st.data())
def test_chunking_and_embedding_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        if arguments.aside(st.booleans(), "chunking"):
            document = arguments.draw("input_document", st.one_of(st.none(), fs.documents))
            chunks = arguments.draw("output_chunks", st.lists(fs.chunks(scored=False), max_size=4))
            common = event_kwargs(arguments, tracer)
            call(
                "log_chunking_event",
                arguments,
                lambda: tracer.log_chunking_event(document, chunks, **common),
            )
        else:
            vectors = st.lists(st.floats(), max_size=4)
            embeddings = arguments.draw(
                "embeddings",
                st.one_of(st.lists(vectors, max_size=3), st.lists(vectors, max_size=3).map(tuple)),
            )
            texts = arguments.aside(st.one_of(st.none(), fs.anything), "data")
            common = event_kwargs(arguments, tracer)
            call(
                "log_embedding_event",
                arguments,
                lambda: tracer.log_embedding_event(embeddings, texts, **common),
            )


@fuzz_settings()
@given(data=st.data())
def test_retrieval_and_rerank_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        if arguments.aside(st.booleans(), "retrieval"):
            query = arguments.draw("query", fs.text)
            retrieved = arguments.draw(
                "retrieved_data", st.lists(fs.chunks(scored=True), max_size=5)
            )
            common = event_kwargs(arguments, tracer)
            call(
                "log_retrieval_event",
                arguments,
                lambda: tracer.log_retrieval_event(query, retrieved, **common),
            )
        else:
            before = arguments.draw("retrieved", st.lists(fs.chunks(scored=False), max_size=5))
            ids = [] if "retrieved" in arguments.wild else [_chunk_id(chunk) for chunk in before]
            # Valid reranked chunks carry ids out of the retrieved ones.
            reranked = arguments.draw(
                "reranked",
                st.lists(
                    st.builds(
                        lambda chunk_id, score: {"id": chunk_id, "score": score},
                        st.sampled_from(ids) if ids else st.nothing(),
                        fs.scores,
                    ),
                    max_size=len(ids),
                )
                if ids
                else st.just([]),
            )
            common = event_kwargs(arguments, tracer)
            call(
                "log_rerank_event",
                arguments,
                lambda: tracer.log_rerank_event(before, reranked, **common),
            )


def _chunk_id(chunk: Any) -> Any:
    return chunk["id"] if isinstance(chunk, dict) else chunk.id


@fuzz_settings()
@given(data=st.data())
def test_query_and_tool_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        which = arguments.aside(st.sampled_from(["rewrite", "query", "tool"]), "event")
        if which == "rewrite":
            query = arguments.draw("query", fs.text)
            rewritten = arguments.draw("rewritten_query", st.one_of(fs.text, fs.str_lists))
            common = event_kwargs(arguments, tracer)
            call(
                "log_query_rewrite_event",
                arguments,
                lambda: tracer.log_query_rewrite_event(query, rewritten, **common),
            )
        elif which == "query":
            query = arguments.draw("query", fs.text)
            response = arguments.draw("response", st.one_of(fs.text, fs.str_lists))
            system_prompt = arguments.draw("system_prompt", fs.optional_text)
            common = event_kwargs(arguments, tracer)
            call(
                "log_query_event",
                arguments,
                lambda: tracer.log_query_event(query, response, system_prompt, **common),
            )
        else:
            tool = arguments.draw("tool", fs.text)
            tool_args = arguments.aside(fs.anything, "tool_args")
            tool_result = arguments.aside(fs.anything, "tool_result")
            common = event_kwargs(arguments, tracer)
            call(
                "log_tool_call_event",
                arguments,
                lambda: tracer.log_tool_call_event(tool, tool_args, tool_result, **common),
            )


@fuzz_settings()
@given(data=st.data())
def test_trace_and_span_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        given_input = arguments.aside(fs.anything, "input")
        given_output = arguments.aside(fs.anything, "output")
        if arguments.aside(st.booleans(), "trace event"):
            metadata = arguments.aside(fs.anything, "metadata")
            # Once per trace: each example runs in a trace of its own (or none).
            call(
                "log_trace_event",
                arguments,
                lambda: tracer.log_trace_event(given_input, given_output, metadata),
            )
        else:
            event_data = arguments.aside(fs.anything, "event_data")
            kind = arguments.draw(
                "event_kind", st.one_of(st.sampled_from(RAGEventType), st.just("retrieval"))
            )
            name = arguments.draw("name", fs.optional_text)
            span = span_argument(arguments, tracer)
            call(
                "log_span_event",
                arguments,
                lambda: tracer.log_span_event(
                    given_input, given_output, event_data, kind, name, span
                ),
            )


# LLM and image logging --------------------------------------------------------------------

llm_params = st.dictionaries(
    st.one_of(
        fs.param_keys,
        st.sampled_from(["temperature", "top_p", "top_k", "max_tokens", "seed", "stop", "model"]),
        st.sampled_from(["messages", "prompt"]),
    ),
    fs.anything,
    max_size=4,
)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]), "content": fs.anything}),
    max_size=3,
)


@fuzz_settings()
@given(data=st.data())
def test_llm_call(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        options = {
            "model": arguments.draw("model", fs.text.filter(bool)),
            "operation": arguments.draw("operation", st.sampled_from(["chat", "text_completion"])),
            "output": arguments.aside(st.one_of(st.none(), fs.anything), "output"),
            "messages": arguments.aside(st.one_of(st.none(), messages, fs.anything), "messages"),
            "prompt": arguments.aside(st.one_of(st.none(), fs.anything), "prompt"),
            "provider": arguments.draw("provider", fs.optional_text),
            "response_model": arguments.draw("response_model", fs.optional_text),
            "params": arguments.draw("params", st.one_of(st.none(), llm_params)),
            "finish_reason": arguments.draw(
                "finish_reason", st.one_of(st.none(), fs.text, fs.str_lists)
            ),
            "input_tokens": arguments.draw("input_tokens", st.one_of(st.none(), fs.token_counts)),
            "output_tokens": arguments.draw("output_tokens", st.one_of(st.none(), fs.token_counts)),
            "cached_input_tokens": arguments.draw(
                "cached_input_tokens", st.one_of(st.none(), fs.token_counts)
            ),
            "cost": arguments.draw("cost", st.one_of(st.none(), fs.non_negative)),
            "latency": arguments.draw("latency", st.one_of(st.none(), fs.non_negative)),
            "stream_chunks": arguments.draw("stream_chunks", st.one_of(st.none(), fs.str_lists)),
            "span": span_argument(arguments, tracer),
        }
        call("log_llm_call", arguments, lambda: tracer.log_llm_call(**options))


@fuzz_settings()
@given(data=st.data())
def test_image_generation_and_output(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        image = image_arguments(arguments)
        options = {
            "prompt": arguments.aside(fs.anything, "prompt"),
            "params": arguments.aside(st.one_of(st.none(), fs.anything), "params"),
            "model": arguments.draw("model", fs.optional_text),
            "span": span_argument(arguments, tracer),
            **image,
        }
        handle = call(
            "log_image_generation", arguments, lambda: tracer.log_image_generation(**options)
        )
        if isinstance(handle, Refused):
            return
        later = Arguments(data)
        context = later.draw("context", st.one_of(st.just(handle), valid_contexts(lenient=False)))
        output = image_arguments(later, required=True)
        call("log_image_output", later, lambda: tracer.log_image_output(context, **output))


def image_arguments(arguments: Arguments, *, required: bool = False) -> dict[str, Any]:
    """The image given by URL, inline data, both or (unless ``required``) neither."""
    form = arguments.aside(st.sampled_from(["url", "data", "both", "neither"]), "image form")
    if required and form == "neither":
        form = "url"
    url = arguments.draw("image_url", fs.text.filter(bool))
    data = arguments.draw("image_data", st.one_of(fs.binary, fs.text))
    image_format = arguments.draw("image_format", fs.text.filter(bool))
    return {
        "image_url": url if form in ("url", "both") or "image_url" in arguments.wild else None,
        "image_url_type": arguments.draw(
            "image_url_type", st.sampled_from([None, "ephemeral", "permalink"])
        ),
        "image_data": data if form in ("data", "both") or "image_data" in arguments.wild else None,
        "image_format": image_format if form in ("data", "both") else None,
    }


# Feedback ------------------------------------------------------------------------------------

unit_scores = st.one_of(
    st.floats(min_value=0, max_value=1), st.sampled_from([0, 1]), st.fractions(0, 1)
)
categories = st.lists(fs.text, min_size=1, max_size=4, unique=True)
json_feedback = fs.anything.filter(
    lambda value: value is not None and not (isinstance(value, str) and not value.strip())
)


def feedback_target(arguments: Arguments, tracer: LastMileTracer) -> dict[str, Any]:
    """Which span the feedback judges: ids, a context, or nothing (inline / project)."""
    target = arguments.aside(
        st.sampled_from(["none", "context", "trace_id", "both ids", "current ids"]), "target"
    )
    given: dict[str, Any] = {}
    if target == "context":
        given["context"] = arguments.draw("context", valid_contexts(lenient=False))
    elif target == "trace_id":
        given["trace_id"] = arguments.draw("trace_id", fs.trace_ids)
    elif target == "both ids":
        given["trace_id"] = arguments.draw("trace_id", fs.trace_ids)
        given["span_id"] = arguments.draw("span_id", fs.span_ids)
    elif target == "current ids" and (ids := current_ids()) is not None:
        given["trace_id"], given["span_id"] = ids
    # Wild ones may come on top of valid ones.
    for name in ("context", "trace_id", "span_id"):
        if name not in given and arguments.aside(st.integers(0, 9), f"{name} added") == 0:
            arguments.wild.add(name)
            given[name] = arguments.aside(fs.anything, name)
    return given


@fuzz_settings(1.5)
@given(data=st.data())
def test_feedback(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        method = arguments.aside(
            st.sampled_from(["binary", "numeric", "categorical", "text", "json"]), "method"
        )
        common = {
            **feedback_target(arguments, tracer),
            "name": arguments.draw("name", st.one_of(st.none(), fs.non_blank_text)),
            "annotator": arguments.draw("annotator", st.sampled_from(["human", "llm", "code"])),
            "explanation": arguments.draw("explanation", fs.optional_text),
            "metadata": arguments.draw(
                "metadata",
                st.one_of(st.none(), st.dictionaries(fs.hashables, fs.anything, max_size=3)),
            ),
        }
        if method == "binary":
            value = arguments.draw("value", st.booleans())
            call(
                "log_binary_feedback",
                arguments,
                lambda: tracer.log_binary_feedback(value, **common),
            )
        elif method == "numeric":
            value = arguments.draw("value", unit_scores)
            call(
                "log_numeric_feedback",
                arguments,
                lambda: tracer.log_numeric_feedback(value, **common),
            )
        elif method == "categorical":
            labels = arguments.draw("categories", categories)
            value = arguments.draw(
                "value", st.sampled_from(labels) if isinstance(labels, list) and labels else fs.text
            )
            call(
                "log_categorical_feedback",
                arguments,
                lambda: tracer.log_categorical_feedback(value, labels, **common),
            )
        elif method == "text":
            value = arguments.draw("value", fs.non_blank_text)
            call("log_text_feedback", arguments, lambda: tracer.log_text_feedback(value, **common))
        else:
            value = arguments.draw("feedback", st.one_of(fs.non_blank_text, json_feedback))
            call("log_feedback", arguments, lambda: tracer.log_feedback(value, **common))


# log() --------------------------------------------------------------------------------------

LOG_FILES = tuple(f"log-{index}.jsonl" for index in range(20))  # past the 16 kept open


@fuzz_settings()
@given(data=st.data())
def test_log(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        value = arguments.aside(fs.anything, "data")
        choice = arguments.draw(
            "logger",
            st.sampled_from(["pipeline", "path", "pathlib", "logger"]),
            # Never text or a path: a fuzzed path could land anywhere on disk.
            fs.anything_but(str, os.PathLike, logging.Logger).filter(
                lambda value: value is not None
            ),
        )
        path = exported.directory / arguments.aside(st.sampled_from(LOG_FILES), "file")
        logger: Any = choice
        if "logger" not in arguments.wild:
            logger = {
                "pipeline": None,
                "path": str(path),
                "pathlib": path,
                "logger": logging.getLogger("fuzz.log"),
            }[choice]
        result = call("log", arguments, lambda: tracer.log(value, logger))
        if "logger" in arguments.wild:
            assert result is REFUSED, "log() accepted a logger that is none of the documented kinds"
        elif logger is None:
            exported.logged += 1
        elif not isinstance(logger, logging.Logger):
            exported.expect_path_log(path)


# Span conveniences --------------------------------------------------------------------------


@fuzz_settings()
@given(data=st.data())
def test_span_conveniences(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        which = arguments.aside(
            st.sampled_from(["io", "tokens", "tags", "failed", "update"]), "convenience"
        )
        if which == "io":
            value = arguments.aside(fs.anything, "value")
            call("record_io", arguments, lambda: tracer.record_input(value, span))
            call("record_io", arguments, lambda: tracer.record_output(value, span))
        elif which == "tokens":
            counts = [
                arguments.draw(name, st.one_of(st.none(), fs.token_counts))
                for name in ("input_tokens", "output_tokens", "cached_input_tokens")
            ]
            call("set_token_usage", arguments, lambda: tracer.set_token_usage(*counts, span=span))
        elif which == "tags":
            tags = arguments.draw("tags", fs.str_lists)
            call("add_tags", arguments, lambda: tracer.add_tags(tags, span))
        elif which == "failed":
            message = arguments.draw("message", fs.text)
            error_type = arguments.draw("error_type", fs.optional_text)
            call(
                "mark_failed",
                arguments,
                lambda: tracer.mark_failed(message, span, error_type=error_type),
            )
        else:
            fields = update_fields(arguments)
            ignored = call("update_span", arguments, lambda: tracer.update_span(fields, span))
            assert isinstance(ignored, (list, Refused))


def update_fields(arguments: Arguments) -> Any:
    """``update_span``'s fields: known keys with valid or wild values, and unknown keys."""
    known = {
        "input": st.just(None) | fs.anything,
        "output": fs.anything,
        "tags": fs.str_lists,
        "metadata": param_mappings,
        "model": fs.text,
        "input_tokens": fs.token_counts,
        "output_tokens": fs.token_counts,
        "cached_input_tokens": fs.token_counts,
        "status": st.sampled_from(["completed", "failed"]),
        "error": fs.text,
    }
    chosen = arguments.aside(st.sets(st.sampled_from(sorted(known)), max_size=4), "fields given")
    fields: dict[Any, Any] = {key: arguments.draw(key, known[key]) for key in sorted(chosen)}
    fields.update(arguments.aside(st.dictionaries(fs.hashables, fs.anything, max_size=2), "more"))
    if arguments.aside(st.integers(0, 9), "fields wild") == 0:
        arguments.wild.add("fields")
        return arguments.aside(fs.anything, "fields")
    return fields


@fuzz_settings()
@given(data=st.data())
def test_record_span(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        options = {
            "kind": arguments.draw(
                "kind", st.one_of(st.sampled_from(RAGEventType), st.just("tool_call"))
            ),
            "input": arguments.aside(fs.anything, "input"),
            "output": arguments.aside(fs.anything, "output"),
            "latency": arguments.draw(
                "latency",
                st.one_of(
                    st.none(),
                    st.floats(0, 365 * 24 * 3600.0),
                    st.integers(0, 365 * 24 * 3600),
                ),
            ),
            "status": arguments.draw("status", st.sampled_from(["completed", "failed"])),
            "error": arguments.draw("error", fs.optional_text),
            "attributes": arguments.aside(st.one_of(st.none(), otel_attributes), "attributes"),
            "context": arguments.draw("context", st.one_of(st.none(), valid_contexts())),
        }
        name = arguments.aside(otel_names, "name")
        result = call("record_span", arguments, lambda: tracer.record_span(name, **options))
        assert isinstance(result, (SpanContext, Refused))


# Coverage of the public surface ---------------------------------------------------------------

COVERED_METHODS = frozenset(
    {
        "start_span",
        "start_as_current_span",
        "trace_function",
        "atrace_function",
        "get_traceparent",
        "serialize_span_context",
        "get_distributed_trace_headers",
        "log",
        "register_param",
        "register_params",
        "get_params",
        "clear_params",
        "register_document_preprocess_params",
        "register_embedding_params",
        "register_query_processing_params",
        "register_retrieval_params",
        "register_generation_params",
        "register_query_model",
        "register_query_temperature",
        "register_query_top_p",
        "register_ingestion_chunk_size",
        "register_retrieval_top_k",
        "using_attributes",
        "using_session",
        "using_user",
        "using_tags",
        "using_metadata",
        "log_trace_event",
        "log_span_event",
        "log_chunking_event",
        "log_embedding_event",
        "log_query_rewrite_event",
        "log_retrieval_event",
        "log_rerank_event",
        "log_tool_call_event",
        "log_query_event",
        "log_llm_call",
        "log_image_generation",
        "log_image_output",
        "log_feedback",
        "log_binary_feedback",
        "log_numeric_feedback",
        "log_categorical_feedback",
        "log_text_feedback",
        "record_input",
        "record_output",
        "set_token_usage",
        "add_tags",
        "mark_failed",
        "update_span",
        "record_span",
    }
)
# Lifecycle and read-only members: they take no user data (flush timeouts are
# exercised by every test above).
NOT_FUZZED = frozenset(
    {
        "name",
        "tracer_provider",
        "output_filepaths",
        "force_flush",
        "flush",
        "shutdown",
        "dropped_span_count",
    }
)
COVERED_EXPORTS = frozenset(
    {
        "get_lastmile_tracer",
        "traced",
        "get_traceparent",
        "serialize_span_context",
        "get_distributed_trace_headers",
        "trace_id_from_request_id",
        "context_from_request_id",
        # Types, used as arguments throughout.
        "LastMileTracer",
        "Chunk",
        "Document",
        "RetrievedChunk",
        "RAGEventType",
        "RagFlowType",
        "__version__",
    }
)


def test_every_public_api_is_fuzzed() -> None:
    public = {name for name in dir(LastMileTracer) if not name.startswith("_")}
    assert public - COVERED_METHODS - NOT_FUZZED == set(), "new tracer methods need fuzzing"
    assert set(ragtel.__all__) - COVERED_EXPORTS == set(), "new exports need fuzzing"
