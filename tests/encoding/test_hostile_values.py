"""Hostile values through the public API: mappings that break, huge collections and
arguments, objects with side effects, secrets beside values that cannot be converted.

Spans go to a real OTLP JSON Lines file; what is checked is what was written.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import types
import uuid
import xmlrpc.client
import xmlrpc.server
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_strategies as fs
from example_budget import examples
from fuzz_export import Exported
from ragtel import LastMileTracer, get_lastmile_tracer

# A tracer writing to a file ---------------------------------------------------------


@pytest.fixture
def tracer(tmp_path: pathlib.Path) -> Iterator[LastMileTracer]:
    traced = get_lastmile_tracer(
        "hostile", project_name="hostile", output_filepath=tmp_path / "traces.jsonl"
    )
    yield traced
    traced.shutdown()


def exported_spans(tracer: LastMileTracer) -> list[dict[str, Any]]:
    assert tracer.force_flush(10_000)
    spans = []
    for path in tracer.output_filepaths:
        if not pathlib.Path(path).exists() or not str(path).endswith("traces.jsonl"):
            continue
        for line in pathlib.Path(path).read_text("utf-8").splitlines():
            for resource in json.loads(line)["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    spans.extend(scope["spans"])
    return spans


def attributes_of(span: Mapping[str, Any]) -> dict[str, Any]:
    def value(wrapped: Mapping[str, Any]) -> Any:
        if "arrayValue" in wrapped:
            return [value(item) for item in wrapped["arrayValue"].get("values", [])]
        return next(iter(wrapped.values()), None)

    return {item["key"]: value(item["value"]) for item in span.get("attributes", [])}


def exported_text(tracer: LastMileTracer) -> str:
    assert tracer.force_flush(10_000)
    return "".join(
        pathlib.Path(path).read_text("utf-8", errors="replace")
        for path in tracer.output_filepaths
        if pathlib.Path(path).exists()
    )


# Mappings whose own methods break (issue 15, 15a) -------------------------------------


class BrokenMapping(Mapping[str, Any]):
    """A Mapping whose ``broken`` method raises RuntimeError."""

    def __init__(self, broken: str) -> None:
        self.broken = broken

    def _check(self, name: str) -> None:
        if name == self.broken:
            raise RuntimeError(f"{name} exploded")

    def __getitem__(self, key: str) -> Any:
        self._check("__getitem__")
        return 1

    def __iter__(self) -> Iterator[str]:
        self._check("__iter__")
        yield "chunk_size"

    def __len__(self) -> int:
        self._check("__len__")
        return 1

    def items(self) -> Any:
        self._check("items")
        return super().items()

    def keys(self) -> Any:
        self._check("keys")
        return super().keys()


BROKEN = ("items", "__iter__", "__getitem__", "__len__", "keys")


def _in_span(tracer: LastMileTracer, call: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with tracer.start_as_current_span("outer"):
            return call()

    return run


def _enter(scope: Any) -> None:
    with scope:
        pass


# (label, argument named in the error, the call given a broken mapping)
MAPPING_CALLS: list[tuple[str, str, Callable[[LastMileTracer, Any], Any]]] = [
    ("update_span", "fields", lambda t, m: _in_span(t, lambda: t.update_span(m))()),
    (
        "update_span metadata",
        "metadata",
        lambda t, m: _in_span(t, lambda: t.update_span({"metadata": m}))(),
    ),
    ("using_attributes", "metadata", lambda t, m: t.using_attributes(metadata=m)),
    ("using_metadata", "metadata", lambda t, m: t.using_metadata(m)),
    ("start_span", "metadata", lambda t, m: t.start_span("s", metadata=m).end()),
    (
        "start_as_current_span",
        "metadata",
        lambda t, m: _enter(t.start_as_current_span("s", metadata=m)),
    ),
    ("register_params", "params", lambda t, m: _in_span(t, lambda: t.register_params(m))()),
    ("register_params, no span", "params", lambda t, m: t.register_params(m)),
    (
        "register_generation_params",
        "model_params",
        lambda t, m: _in_span(t, lambda: t.register_generation_params(m))(),
    ),
    (
        "register_retrieval_params extras",
        "extras",
        lambda t, m: _in_span(t, lambda: t.register_retrieval_params(top_k=3, extras=m))(),
    ),
    (
        "log_llm_call params",
        "params",
        lambda t, m: _in_span(t, lambda: t.log_llm_call(model="m", params=m))(),
    ),
    (
        "log_feedback metadata",
        "metadata",
        lambda t, m: _in_span(t, lambda: t.log_feedback("fine", metadata=m))(),
    ),
    (
        "log_binary_feedback metadata",
        "metadata",
        lambda t, m: _in_span(t, lambda: t.log_binary_feedback(True, metadata=m))(),
    ),
    (
        "log_retrieval_event chunk",
        "retrieved_data",
        lambda t, m: _in_span(t, lambda: t.log_retrieval_event("q", [m]))(),
    ),
    ("record_span attributes", "attributes", lambda t, m: t.record_span("r", attributes=m)),
    (
        "initial_params",
        "initial_params",
        lambda t, m: get_lastmile_tracer("hostile-initial", initial_params=m, set_global=False),
    ),
]


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize(
    ("call", "argument"),
    [(call, argument) for _, argument, call in MAPPING_CALLS],
    ids=[label for label, _, _ in MAPPING_CALLS],
)
def test_a_mapping_that_cannot_be_read_gives_the_documented_type_error(
    tracer: LastMileTracer, call: Callable[[LastMileTracer, Any], Any], argument: str, broken: str
) -> None:
    try:
        call(tracer, BrokenMapping(broken))
    except TypeError as error:
        assert argument in str(error)
    except ValueError as error:  # read, then refused for what it holds
        assert broken in ("__len__", "keys") and argument in str(error)
    # Anything else escaping (the mapping's own RuntimeError) fails the test.
    exported_spans(tracer)


# Collections are capped (issue 15, 15b and 15c) ---------------------------------------


class SdkWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sdk_warnings() -> Iterator[SdkWarnings]:
    handler = SdkWarnings()
    logger = logging.getLogger("opentelemetry")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class CountingMapping(Mapping[str, Any]):
    """A mapping that counts the values read from it."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self._entries = entries
        self.reads = 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def test_huge_metadata_is_capped_counted_and_cheap(
    tracer: LastMileTracer, sdk_warnings: SdkWarnings, caplog: pytest.LogCaptureFixture
) -> None:
    metadata = CountingMapping({f"key{number}": number for number in range(100_000)})
    with tracer.using_attributes(metadata=metadata):
        for _ in range(3):
            with tracer.start_as_current_span("labelled"):
                pass
    with tracer.start_as_current_span("direct", metadata=metadata):
        pass
    spans = exported_spans(tracer)
    assert len(spans) == 4
    for span in spans:
        attributes = attributes_of(span)
        entries = [key for key in attributes if key.startswith("ragtel.metadata.")]
        assert len(entries) == 1_000 + 1
        assert attributes["ragtel.metadata.key0"] == "0"  # OTLP JSON: int64 as a string
        assert attributes["ragtel.metadata.…"] == "[99000 more entries]"
    # Only what is kept is read (every entry of every span's copy before the cap).
    assert metadata.reads <= 2 * 1_000, metadata.reads
    assert not sdk_warnings.records, sdk_warnings.records[:3]
    capped = [r for r in caplog.records if "metadata entries capped" in r.getMessage()]
    assert len(capped) == 1  # warned once


def test_huge_category_lists_are_capped(tracer: LastMileTracer) -> None:
    categories = [f"category-{number}" for number in range(100_000)]
    with tracer.start_as_current_span("judged"):
        tracer.log_categorical_feedback("category-7", categories)
    recorded = next(
        attributes_of(item)["ragtel.feedback.categories"]
        for span in exported_spans(tracer)
        for item in (span, *span.get("events", []))
        if "ragtel.feedback.categories" in attributes_of(item)
    )
    assert len(recorded) <= 1_001
    assert recorded[:2] == ["category-0", "category-1"]
    assert recorded[-1] == f"…[{100_000 - len(recorded) + 1} more categories]"
    assert len(exported_text(tracer)) < 100_000  # was a 2.5 MB line


def test_huge_tag_lists_are_capped_also_when_added_again_and_again(
    tracer: LastMileTracer,
) -> None:
    with tracer.start_as_current_span("tagged", tags=[f"t{n}" for n in range(50_000)]) as span:
        for number in range(2_000):
            tracer.add_tags([f"more{number}"], span=span)
    [exported] = exported_spans(tracer)
    tags = attributes_of(exported)["ragtel.tags"]
    assert len(tags) <= 1_001
    assert tags[-1] == f"…[{50_000 + 2_000 - len(tags) + 1} more tags]"


# Decorator cost bounded by what is kept (issue 15, 15d) --------------------------------


class Text(str):
    pass


ARGUMENT_SHAPES: dict[str, Callable[[int], Any]] = {
    "str": lambda size: "a" * size,
    "str subclass": lambda size: Text("a" * size),
    "bytes": lambda size: b"a" * size,
    "list of str": lambda size: ["a" * (size // 4)] * 4,
    "dict": lambda size: {"doc": "a" * size},
    "numpy": lambda size: np.zeros(size // 8),
    "many items": lambda size: list(range(size // 100)),
}


@pytest.mark.parametrize("shape", ARGUMENT_SHAPES)
def test_decorator_cost_does_not_grow_with_the_argument(tracer: LastMileTracer, shape: str) -> None:
    @tracer.trace_function()
    def handle(document: Any) -> Any:
        return document

    def cost(size: int) -> tuple[float, int]:
        argument = ARGUMENT_SHAPES[shape](size)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            handle(argument)
            best = min(best, time.perf_counter() - started)
        tracemalloc.start()
        try:
            handle(argument)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return best, peak

    small_time, _ = cost(1_000_000)
    large_time, large_peak = cost(100_000_000)
    # A 100 MB argument added 1.2 s and 210 MB before; now it costs what 1 MB does.
    assert large_time < max(5 * small_time, 0.01), (small_time, large_time)
    assert large_peak < 3_000_000, large_peak
    for span in exported_spans(tracer):
        for key in ("ragtel.input", "ragtel.output"):
            assert len(attributes_of(span)[key]) <= 16_384


# No side effects on user objects (issue 15, defect 2) ---------------------------------


class CountingHandler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    calls: ClassVar[list[str]]

    def do_POST(self) -> None:
        type(self).calls.append(self.path)
        super().do_POST()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def xmlrpc_proxy() -> Iterator[tuple[xmlrpc.client.ServerProxy, list[str]]]:
    calls: list[str] = []
    handler = type("Handler", (CountingHandler,), {"calls": calls})
    server = xmlrpc.server.SimpleXMLRPCServer(
        ("127.0.0.1", 0), requestHandler=handler, logRequests=False, allow_none=True
    )
    server.register_function(lambda *args: {"api_key": "sk-remote"}, "model_dump")
    server.register_function(lambda *args: {"api_key": "sk-remote"}, "dict")
    server.register_function(lambda *args: [1, 2], "tolist")
    server.register_introspection_functions()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    proxy = xmlrpc.client.ServerProxy(f"http://{host}:{port}/", allow_none=True)
    try:
        assert proxy.system.listMethods()  # the server answers: a call is counted
        assert calls == ["/"]
        calls.clear()
        yield proxy, calls
    finally:
        server.shutdown()
        server.server_close()


class RecordsLookups:
    def __init__(self) -> None:
        object.__setattr__(self, "lookups", [])

    def __getattr__(self, name: str) -> Any:
        self.lookups.append(name)
        return lambda *args, **kwargs: {"token": "sk-lookup"}


def _every_api(tracer: LastMileTracer, value: Any) -> None:
    @tracer.trace_function()
    def handle(value: Any, **kwargs: Any) -> Any:
        return value

    with tracer.start_as_current_span("side effects") as span:
        handle(value, nested={"client": value}, items=[value])
        tracer.register_param("client", value)
        tracer.log(value)
        tracer.log({"client": value})
        tracer.log_feedback({"client": value}, metadata={"client": value})
        tracer.log_retrieval_event("q", [{"id": "c1", "score": 0.5, "extras": value}])
        tracer.log_span_event(input=value, output=[value], event_data={"client": value})
        tracer.record_input(value)
        tracer.record_output(value)
        tracer.update_span({"input": value, "metadata": {"client": value}}, span=span)
        with tracer.using_attributes(metadata={"client": value}):
            tracer.start_span("labelled").end()


def test_no_remote_call_is_made_through_an_xmlrpc_proxy(
    tracer: LastMileTracer, xmlrpc_proxy: tuple[xmlrpc.client.ServerProxy, list[str]]
) -> None:
    proxy, calls = xmlrpc_proxy
    _every_api(tracer, proxy)
    text = exported_text(tracer)
    assert calls == []
    assert "ServerProxy for 127.0.0.1" in text and "sk-remote" not in text


def test_no_attribute_of_a_captured_object_is_looked_up(tracer: LastMileTracer) -> None:
    value = RecordsLookups()
    _every_api(tracer, value)
    assert value.lookups == []
    assert "sk-lookup" not in exported_text(tracer)


# Hostile values with secrets inside, through every public API (hypothesis) -----------

CANARY_ID = uuid.uuid4().hex
CANARY = f"canary{CANARY_ID}"
# What must never be written: the canary, or any sizeable piece of it.
LEAK_MARKERS = (CANARY_ID[:12], CANARY_ID[-12:])


class SettingsRepr:
    """An object with no JSON form whose repr holds a credential field."""

    def __repr__(self) -> str:
        return f"Settings(user='bob', password='{CANARY}', timeout=3)"


class PasswordModel(pydantic.BaseModel):
    user: str
    password: str


class UserDictLike(Mapping[str, Any]):
    """A Mapping that is no dict, holding a secret under a sensitive key."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self._entries = entries

    def __getitem__(self, key: str) -> Any:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


SECRET_HOLDERS: tuple[Callable[[], Any], ...] = (
    lambda: {"api_key": CANARY},
    lambda: {"auth": ("bob", CANARY)},
    lambda: {"apiKeys": [CANARY, CANARY]},
    lambda: {"secrets": {"openai": CANARY}},
    lambda: {"cookies": {"session": CANARY}},
    lambda: {"nested": {"deeper": {"client_secret": CANARY}}},
    lambda: {"x-api-key": CANARY, "Proxy-Authorization": f"Basic {CANARY}"},
    lambda: [("Authorization", f"Bearer {CANARY}"), ("Accept", "json")],
    lambda: (("authorization", CANARY),),
    lambda: f"Driver={{ODBC Driver 18}};Server=db;Uid=app;Pwd={CANARY};Encrypt=yes",
    lambda: f"Server=db;Database=rag;User ID=app;Password={CANARY};",
    lambda: f"postgresql+psycopg://app:{CANARY}@db:5432/rag",
    lambda: f"see https://api.example.com/v1?q=1&api_key={CANARY}&n=2 for details",
    lambda: f"Authorization: Bearer {CANARY}",
    lambda: f"password={CANARY}".encode(),
    SettingsRepr,
    lambda: PasswordModel(user="bob", password=CANARY),
    lambda: fs.Record(name="bob", password=CANARY),
    lambda: fs.Point(1, CANARY),
    lambda: types.SimpleNamespace(region="eu", token=CANARY),
    lambda: UserDictLike({"passwords": [CANARY]}),
    lambda: {"aws_secret_access_key": CANARY, "aws_session_token": CANARY},
)
secret_holders = st.sampled_from(SECRET_HOLDERS).map(lambda make: make())
hostile_objects = st.sampled_from(fs.HOSTILE_OBJECTS).map(lambda make: make())


def _mixed(shape: str, wild: Any, secret: Any, hostile: Any) -> Any:
    """The secret beside a wild value and a hostile object, in one of several shapes."""
    if shape == "dict":
        return {"wild": wild, "data": secret, "obj": hostile, 3: hostile}
    if shape == "list":
        return [hostile, wild, secret]
    if shape == "tuple":
        return (secret, hostile)
    if shape == "set":
        return [{"b", "a", 3, (1, "c")}, frozenset({secret}) if _hashable(secret) else secret]
    if shape == "cycle":
        looped: dict[str, Any] = {"data": secret, "obj": hostile}
        looped["self"] = looped
        return [looped, wild]
    if shape == "deep":
        value: Any = secret
        for _ in range(12):
            value = {"level": [value, hostile]}
        return value
    if shape == "wide":
        return [hostile] * 50 + [secret] + [wild]
    if shape == "huge text":
        return {"text": "x" * 200_000, "data": secret}
    return secret


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


hostile_with_secrets = st.builds(
    _mixed,
    st.sampled_from(["dict", "list", "tuple", "set", "cycle", "deep", "wide", "huge text", "bare"]),
    fs.anything,
    secret_holders,
    hostile_objects,
)


def _push_through_every_api(tracer: LastMileTracer, value: Any, exported: Any) -> None:
    """``value`` as an argument, a result, a param, feedback, metadata, event data and a log."""

    @tracer.trace_function()
    def handle(query: str, document: Any, **options: Any) -> Any:
        return document

    with tracer.start_as_current_span("request") as span:
        handle("q", value, extra=value)
        tracer.register_param("document", value)
        tracer.log(value)
        exported.logged += 1
        tracer.log_feedback(value if value is not None else {}, metadata={"m": value})
        tracer.log_binary_feedback(True, metadata={"m": value}, explanation="fine")
        tracer.log_retrieval_event(
            "q", [{"id": "c1", "score": 0.5, "content": "text", "extras": value}], metadata=value
        )
        tracer.log_span_event(input=value, output=value, event_data=value)
        tracer.log_llm_call(model="m", messages=value, output=value, params={"p": value})
        tracer.record_input(value)
        tracer.record_output(value)
        tracer.update_span({"input": value, "metadata": {"m": value}}, span=span)
        with tracer.using_attributes(metadata={"m": value}):
            tracer.start_span("labelled").end()
    tracer.record_span("done", input=value, output=value)


class Everything(logging.Handler):
    """Every log line anyone writes during the test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@settings(
    max_examples=int(os.environ.get("RAGTEL_HOSTILE_EXAMPLES", examples(60))),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_values_never_crash_leak_or_break_the_export(
    exported: Exported, data: st.DataObject
) -> None:
    """Whatever the value: no exception escapes, no secret is written, the line is OTLP JSON."""
    tracer = exported.draw(data)
    value = data.draw(hostile_with_secrets, label="value")
    logs = Everything()
    root = logging.getLogger()
    root.addHandler(logs)
    started = time.perf_counter()
    try:
        with exported.example():  # every line parsed as OTLP, counts and caps checked
            _push_through_every_api(tracer, value, exported)
    finally:
        root.removeHandler(logs)
    # A dozen API calls on values of up to 250,000 characters or 100,000 items.
    assert time.perf_counter() - started < 10.0
    written = [
        pathlib.Path(path).read_text("utf-8", errors="replace")
        for path in exported.directory.rglob("*")
        if path.is_file()
    ]
    for text in [*written, *logs.lines]:
        for marker in LEAK_MARKERS:
            assert marker not in text, f"secret written: …{text[text.index(marker) - 80 :][:200]}"
    assert fs.ATTRIBUTE_LOOKUPS == []


# Error messages quote bad values: redacted too ---------------------------------------

ERROR_CALLS: list[tuple[str, Callable[[LastMileTracer], Any]]] = [
    ("trace_id dict", lambda t: t.log_binary_feedback(True, trace_id={"api_key": CANARY})),
    ("trace_id text", lambda t: t.log_binary_feedback(True, trace_id=f"token={CANARY}")),
    ("context text", lambda t: t.start_span("s", context=f"password={CANARY}")),
    ("param key", lambda t: t.register_param(f"x password={CANARY}", 1)),
    ("status", lambda t: t.record_span("s", status={"secret": CANARY})),  # type: ignore[arg-type]
    ("tags", lambda t: t.add_tags(["ok", ("auth", CANARY)])),  # type: ignore[list-item]
    ("numeric value", lambda t: t.log_numeric_feedback(f"api_key={CANARY}")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call", [call for _, call in ERROR_CALLS], ids=[i for i, _ in ERROR_CALLS])
def test_error_messages_never_quote_a_secret(
    tracer: LastMileTracer, call: Callable[[LastMileTracer], Any]
) -> None:
    with tracer.start_as_current_span("outer"), pytest.raises((TypeError, ValueError)) as raised:
        call(tracer)
    assert "[REDACTED]" in str(raised.value)
    assert all(marker not in str(raised.value) for marker in LEAK_MARKERS)


# Every argument of every helper, given each hostile object -------------------------

# (label, argument named by a documented error, the call with the value in that argument)
ARGUMENT_CALLS: list[tuple[str, str, Callable[[LastMileTracer, Any], Any]]] = [
    ("start_span context", "context", lambda t, v: t.start_span("s", context=v).end()),
    ("start_span tags", "tags", lambda t, v: t.start_span("s", tags=v).end()),
    ("start_span metadata", "metadata", lambda t, v: t.start_span("s", metadata=v).end()),
    ("start_span session_id", "session_id", lambda t, v: t.start_span("s", session_id=v).end()),
    ("using_attributes tags", "tags", lambda t, v: _enter(t.using_attributes(tags=v))),
    ("register_param value", "-", lambda t, v: t.register_param("k", v)),
    ("register_param key", "key", lambda t, v: t.register_param(v, 1)),
    ("register_params", "params", lambda t, v: t.register_params(v)),
    ("register_generation_params", "model_params", lambda t, v: t.register_generation_params(v)),
    ("extras", "extras", lambda t, v: t.register_retrieval_params(top_k=3, extras=v)),
    ("log_trace_event", "-", lambda t, v: t.log_trace_event(input=v, output=v, metadata=v)),
    ("log_span_event", "-", lambda t, v: t.log_span_event(input=v, output=v, event_data=v)),
    ("log_span_event kind", "event_kind", lambda t, v: t.log_span_event(event_kind=v)),
    ("log_span_event name", "name", lambda t, v: t.log_span_event(name=v)),
    (
        "log_chunking_event document",
        "input_document",
        lambda t, v: t.log_chunking_event(v, [{"id": "c"}]),
    ),
    (
        "log_chunking_event chunks",
        "output_chunks",
        lambda t, v: t.log_chunking_event({"id": "d"}, v),
    ),
    (
        "log_chunking_event chunk",
        "output_chunks",
        lambda t, v: t.log_chunking_event({"id": "d"}, [v]),
    ),
    ("log_embedding_event", "embeddings", lambda t, v: t.log_embedding_event(v)),
    ("log_embedding_event vector", "embeddings", lambda t, v: t.log_embedding_event([v])),
    (
        "log_embedding_event data",
        "-",
        lambda t, v: t.log_embedding_event([[0.5]], data=v, metadata=v),
    ),
    ("log_query_rewrite_event", "rewritten_query", lambda t, v: t.log_query_rewrite_event("q", v)),
    ("log_retrieval_event query", "query", lambda t, v: t.log_retrieval_event(v, [])),
    ("log_retrieval_event data", "retrieved_data", lambda t, v: t.log_retrieval_event("q", v)),
    ("log_retrieval_event chunk", "retrieved_data", lambda t, v: t.log_retrieval_event("q", [v])),
    ("log_rerank_event", "retrieved", lambda t, v: t.log_rerank_event(v, [])),
    (
        "log_rerank_event reranked",
        "reranked",
        lambda t, v: t.log_rerank_event([{"id": "a", "score": 1.0}], v),
    ),
    ("log_tool_call_event", "-", lambda t, v: t.log_tool_call_event("tool", v, v, metadata=v)),
    ("log_query_event", "response", lambda t, v: t.log_query_event("q", v)),
    ("log_llm_call model", "model", lambda t, v: t.log_llm_call(model=v)),
    ("log_llm_call content", "-", lambda t, v: t.log_llm_call(model="m", messages=v, output=v)),
    ("log_llm_call params", "params", lambda t, v: t.log_llm_call(model="m", params=v)),
    ("finish_reason", "finish_reason", lambda t, v: t.log_llm_call(model="m", finish_reason=v)),
    ("stream_chunks", "stream_chunks", lambda t, v: t.log_llm_call(model="m", stream_chunks=v)),
    ("input_tokens", "input_tokens", lambda t, v: t.log_llm_call(model="m", input_tokens=v)),
    ("cost", "cost", lambda t, v: t.log_llm_call(model="m", cost=v)),
    ("log_image_generation", "-", lambda t, v: t.log_image_generation(prompt=v, params=v)),
    ("image_url", "image_url", lambda t, v: t.log_image_generation(prompt="p", image_url=v)),
    ("log_feedback", "feedback", lambda t, v: t.log_feedback(v)),
    ("feedback metadata", "metadata", lambda t, v: t.log_feedback("ok", metadata=v)),
    ("feedback explanation", "explanation", lambda t, v: t.log_feedback("ok", explanation=v)),
    ("feedback annotator", "annotator", lambda t, v: t.log_feedback("ok", annotator=v)),
    ("feedback context", "context", lambda t, v: t.log_feedback("ok", context=v)),
    ("feedback trace_id", "trace_id", lambda t, v: t.log_feedback("ok", trace_id=v)),
    ("log_binary_feedback", "value", lambda t, v: t.log_binary_feedback(v)),
    ("log_numeric_feedback", "value", lambda t, v: t.log_numeric_feedback(v)),
    ("log_text_feedback", "value", lambda t, v: t.log_text_feedback(v)),
    ("categories", "categor", lambda t, v: t.log_categorical_feedback("a", v)),
    ("categorical value", "value", lambda t, v: t.log_categorical_feedback(v, ["a"])),
    ("log", "-", lambda t, v: t.log(v)),
    ("log logger", "logger", lambda t, v: t.log("x", logger=v)),
    ("record_input", "-", lambda t, v: (t.record_input(v), t.record_output(v))),
    ("add_tags", "tags", lambda t, v: t.add_tags(v)),
    ("mark_failed", "message", lambda t, v: t.mark_failed(v)),
    ("set_token_usage", "input_tokens", lambda t, v: t.set_token_usage(input_tokens=v)),
    ("update_span", "fields", lambda t, v: t.update_span(v)),
    ("update_span tags", "tags", lambda t, v: t.update_span({"tags": v})),
    ("update_span model", "model", lambda t, v: t.update_span({"model": v})),
    ("update_span error", "error", lambda t, v: t.update_span({"error": v})),
    ("update_span status", "status", lambda t, v: t.update_span({"status": v})),
    ("update_span content", "-", lambda t, v: t.update_span({"input": v, "output": v})),
    ("record_span kind", "kind", lambda t, v: t.record_span("r", kind=v)),
    ("record_span content", "-", lambda t, v: t.record_span("r", input=v, output=v)),
    ("record_span latency", "latency", lambda t, v: t.record_span("r", latency=v)),
    ("record_span status", "status", lambda t, v: t.record_span("r", status=v)),
    ("record_span context", "context", lambda t, v: t.record_span("r", context=v)),
]


@pytest.mark.parametrize(
    "make", fs.HOSTILE_OBJECTS, ids=lambda make: getattr(make, "__name__", "?")
)
@pytest.mark.parametrize(
    ("call", "argument"),
    [(call, argument) for _, argument, call in ARGUMENT_CALLS],
    ids=[label for label, _, _ in ARGUMENT_CALLS],
)
def test_every_argument_takes_any_hostile_object(
    tracer: LastMileTracer,
    call: Callable[[LastMileTracer, Any], Any],
    argument: str,
    make: Callable[[], Any],
) -> None:
    """Accepted and recorded, or refused with TypeError/ValueError naming the argument."""
    with tracer.start_as_current_span("outer"):
        try:
            call(tracer, make())
        except (TypeError, ValueError) as error:
            assert argument != "-", f"{type(error).__name__}: {error}"
            assert argument in str(error), str(error)
    exported_spans(tracer)
    lookups, fs.ATTRIBUTE_LOOKUPS[:] = list(fs.ATTRIBUTE_LOOKUPS), []
    assert not lookups


# ("name", value) pairs as whole attribute values -------------------------------------


@pytest.mark.parametrize("pair", [("password", "s3cr3t-canary"), ["api_key", "s3cr3t-canary"]])
def test_a_secret_pair_recorded_as_an_attribute_is_redacted(
    tracer: LastMileTracer, pair: Any
) -> None:
    # A list of strings is an attribute array: its ("name", value) form must be
    # recognised there too, not only when it is encoded as JSON.
    with tracer.start_as_current_span("pairs"):
        tracer.register_param("header", pair)
        tracer.update_span({"metadata": {"z": pair}})
    text = exported_text(tracer)
    assert "s3cr3t-canary" not in text
    assert text.count("[REDACTED]") >= 2


def test_a_secret_pair_param_is_not_propagated_in_baggage(tmp_path: pathlib.Path) -> None:
    tracer = get_lastmile_tracer(
        "pairs-baggage", exporter="none", set_global=False, propagate_params=True
    )
    try:
        with tracer.start_as_current_span("ask"):
            tracer.register_param("header", ("password", "s3cr3t-canary"))
            tracer.register_param("plain", ("model", "gpt"))
            headers = tracer.get_distributed_trace_headers()
    finally:
        tracer.shutdown()
    assert "ragtel.param.header" in headers["baggage"]
    assert "s3cr3t-canary" not in headers["baggage"]
    assert "gpt" in headers["baggage"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_child_forked_while_the_cap_warning_lock_is_held_can_still_warn() -> None:
    # The lock held by a parent thread at fork() stays held in the child: unless
    # it is re-created there, the child hangs at its first cap warning.
    script = textwrap.dedent(
        """
        import os, sys, threading
        from ragtel._encoding import arguments as _arguments
        from ragtel._config import ValueLimits
        from ragtel._state import STATE

        held, release = threading.Event(), threading.Event()

        def holder():
            with STATE.warnings_lock:
                held.set()
                release.wait()

        thread = threading.Thread(target=holder)
        thread.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            done = threading.Event()
            worker = threading.Thread(
                target=lambda: (_arguments.report_cap("tags", ValueLimits()), done.set()),
                daemon=True,
            )
            worker.start()
            os._exit(0 if done.wait(5) else 3)
        release.set()
        thread.join()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert result.returncode == 0


def test_the_number_of_repr_calls_per_value_is_bounded() -> None:
    # Each object with no JSON form gets its own __repr__ called: a thousand
    # slow ones in one value cost a thousand calls (10 s at 10 ms each).
    from ragtel._config import CaptureConfig, ValueLimits
    from ragtel._encoding.encoder import encode_json, masked_repr
    from ragtel._encoding.safe_repr import MAX_REPR_CALLS

    calls = [0]

    class Slow:
        def __init__(self, number: int) -> None:
            self.number = number

        def __repr__(self) -> str:
            calls[0] += 1
            return f"Slow#{self.number}"

    limits = ValueLimits(max_length=1_000_000, max_items=2_000)
    values = [Slow(number) for number in range(1_000)]
    capture = CaptureConfig(limits=limits)
    for encode in (
        lambda: encode_json(values, limits),
        lambda: encode_json({"a": values, "b": set(values)}, limits),
        lambda: masked_repr(values, capture),
    ):
        calls[0] = 0
        text = encode()
        assert calls[0] <= MAX_REPR_CALLS, calls[0]
        assert "Slow#0" in text and "Slow#1" in text
        assert "Slow>" in text  # <TypeName>: its qualified name
