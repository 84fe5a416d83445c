"""Tracing turned off: nothing leaks between requests, nothing is encoded, nothing is started.

Tracing is off with ``OTEL_SDK_DISABLED=true``, with a ``NoOpTracerProvider``,
or with a sampler that drops everything. In each mode every helper must
return before looking at its arguments (a value that records any use of it
stays untouched), params registered inside a request must never become
defaults for the next one, and with ``OTEL_SDK_DISABLED`` ragtel must not
start a thread, install a signal handler, open a file or print anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBasedTraceIdRatio

from ragtel import LastMileTracer, get_lastmile_tracer
from ragtel._tracer import tracer_core

MODES = ["no-op provider", "OTEL_SDK_DISABLED", "ALWAYS_OFF", "parentbased ratio 0"]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(params=MODES)
def off_tracer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> LastMileTracer:
    mode = request.param
    initial = {"model": "m"}
    if mode == "OTEL_SDK_DISABLED":
        monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
        return get_lastmile_tracer("off", initial_params=initial)
    if mode == "no-op provider":
        provider: trace.TracerProvider = trace.NoOpTracerProvider()
    elif mode == "ALWAYS_OFF":
        provider = TracerProvider(sampler=ALWAYS_OFF)
    else:
        provider = TracerProvider(sampler=ParentBasedTraceIdRatio(0))
    return get_lastmile_tracer("off", tracer_provider=provider, initial_params=initial)


# Defect: params leaking between requests -------------------------------------------


def test_params_registered_in_a_request_never_reach_the_next_one(
    off_tracer: LastMileTracer,
) -> None:
    tracer = off_tracer

    @tracer.trace_function()
    def handle(index: int) -> None:
        tracer.register_param("handler", index)

    for index in range(1_000):
        with tracer.start_as_current_span("request"):
            # Request B never sees what request A registered.
            assert tracer.get_params() == {"model": "m"}
            tracer.register_param("customer", f"c-{index}")
            tracer.register_params({f"key{index}": index})
            tracer.register_generation_params({"temperature": 0.1 * (index % 10)})
            tracer.register_retrieval_top_k(index)
            handle(index)
            tracer.clear_params()
        tracer.register_param("explicit", index, span=trace.INVALID_SPAN)
    assert tracer.get_params() == {"model": "m"}
    assert tracer_core(tracer).profile.dropped_defaults == 0
    # Outside any span a registration is a default, as documented.
    tracer.register_param("region", "eu")
    assert tracer.get_params() == {"model": "m", "region": "eu"}


# Defect: the disabled path does work ------------------------------------------------


class Tripwire:
    """A value that notes every use made of it: repr, str, iteration, attributes..."""

    uses: ClassVar[list[str]] = []

    def _use(self, what: str) -> None:
        Tripwire.uses.append(what)

    def __repr__(self) -> str:
        self._use("repr")
        return "Tripwire()"

    def __str__(self) -> str:
        self._use("str")
        return "Tripwire"

    def __iter__(self) -> Iterator[Any]:
        self._use("iter")
        return iter(())

    def __len__(self) -> int:
        self._use("len")
        return 0

    def __bool__(self) -> bool:
        self._use("bool")
        return True

    def __getitem__(self, key: Any) -> Any:
        self._use("getitem")
        raise KeyError(key)

    def __eq__(self, other: object) -> bool:
        self._use("eq")
        return False

    def __hash__(self) -> int:
        self._use("hash")
        return 0

    def __getattr__(self, name: str) -> Any:
        self._use(f"attribute {name}")
        raise AttributeError(name)


def _call_every_helper(
    tracer: LastMileTracer, value: Tripwire, *, in_a_span: bool, **span: Any
) -> None:
    """Each helper with a tripwire wherever it takes data; none may touch it (or raise).

    With no span at all, a registration is no no-op: it updates the tracer's
    defaults (checked and kept as given), so it is left out there.
    """
    tracer.log_retrieval_event(value, value, metadata=value, **span)  # type: ignore[arg-type]
    tracer.log_rerank_event(value, value, metadata=value, **span)  # type: ignore[arg-type]
    tracer.log_chunking_event(value, value, metadata=value, **span)  # type: ignore[arg-type]
    tracer.log_embedding_event(value, value, metadata=value, **span)  # type: ignore[arg-type]
    tracer.log_query_rewrite_event(value, value, **span)  # type: ignore[arg-type]
    tracer.log_tool_call_event(value, value, value, **span)  # type: ignore[arg-type]
    tracer.log_query_event(value, value, value, **span)  # type: ignore[arg-type]
    tracer.log_span_event(value, value, value, event_kind=value, **span)  # type: ignore[arg-type]
    tracer.log_llm_call(model=value, messages=value, output=value, params=value, **span)  # type: ignore[arg-type]
    assert tracer.log_image_generation(prompt=value, params=value, image_url=value, **span) is None  # type: ignore[arg-type]
    if in_a_span:
        tracer.register_param("key", value, **span)
        tracer.register_params(value, **span)  # type: ignore[arg-type]
        tracer.register_generation_params(value, extras=value, **span)  # type: ignore[arg-type]
        tracer.register_retrieval_params(value, value, value, **span)  # type: ignore[arg-type]
        tracer.clear_params()
    tracer.record_input(value, **span)
    tracer.record_output(value, **span)
    tracer.set_token_usage(value, value, value, **span)  # type: ignore[arg-type]
    tracer.add_tags(value, **span)  # type: ignore[arg-type]
    assert tracer.update_span({"input": value, "metadata": value, "tags": value}, **span) == []
    if not span:
        tracer.log_trace_event(value, value, value)
        tracer.log_feedback(value, explanation=value, metadata=value)  # type: ignore[arg-type]
        tracer.log_binary_feedback(value, name=value, metadata=value)  # type: ignore[arg-type]
        tracer.log_numeric_feedback(value, annotator=value)  # type: ignore[arg-type]
        tracer.log_categorical_feedback(value, value)  # type: ignore[arg-type]
        tracer.log_text_feedback(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("where", ["no span", "in a span", "span="])
def test_no_helper_looks_at_its_arguments_when_nothing_records(
    off_tracer: LastMileTracer, where: str
) -> None:
    tracer = off_tracer
    Tripwire.uses = []
    value = Tripwire()

    @tracer.trace_function()
    def traced(argument: Any) -> Any:
        return argument

    scope: AbstractContextManager[Any] = (
        tracer.start_as_current_span("request") if where != "no span" else nullcontext()
    )
    with scope as current:
        if where == "span=":
            _call_every_helper(tracer, value, in_a_span=True, span=current)
        else:
            _call_every_helper(tracer, value, in_a_span=where == "in a span")
        assert traced(value) is value
    # Feedback about a given span, and a late image, start spans of their own:
    # only where the tracer's spans can never record do they return at once.
    if tracer_core(tracer).reach == 2:
        tracer.log_binary_feedback(value, context=TRACEPARENT)  # type: ignore[arg-type]
        tracer.log_image_output(TRACEPARENT, image_url=value)  # type: ignore[arg-type]
    assert Tripwire.uses == []


def test_labels_are_not_looked_at_when_no_span_could_record(off_tracer: LastMileTracer) -> None:
    tracer = off_tracer
    if tracer_core(tracer).reach != 2:
        pytest.skip("a sampled upstream parent could make this tracer's spans record")
    Tripwire.uses = []
    value: Any = Tripwire()
    labels = {"session_id": value, "user_id": value, "tags": value, "metadata": value}

    @tracer.using_attributes(**labels)
    def labelled() -> int:
        return 7

    with tracer.using_attributes(**labels), tracer.using_session(value):
        tracer.start_span("plain", **labels).end()
        with tracer.start_as_current_span("current", **labels):
            assert labelled() == 7
    assert Tripwire.uses == []
    assert tracer.using_attributes(**labels) is tracer.using_attributes(session_id="s")


# OTEL_SDK_DISABLED starts nothing --------------------------------------------------

DISABLED_APP = textwrap.dedent(
    """
    import json, multiprocessing, os, signal, sys, threading

    fds = set(os.listdir("/proc/self/fd"))
    handler = signal.getsignal(signal.SIGTERM)

    from ragtel import RetrievedChunk, get_lastmile_tracer

    out = sys.argv[1]
    default = get_lastmile_tracer("default")  # would write ./ragtel-traces.jsonl
    tracer = get_lastmile_tracer(
        "app", output_filepath=out, otlp_endpoint="http://127.0.0.1:9", project_name="p"
    )

    @default.trace_function()
    def answer(question):
        return question.upper()

    with tracer.start_as_current_span("request") as span:
        tracer.register_param("customer", "c-1")
        tracer.log_retrieval_event("refunds?", [RetrievedChunk("c1", "text", retrieval_score=1)])
        tracer.log_llm_call(model="gpt-4o", messages=["hi"], output="hello")
        answer("refunds?")
        tracer.log_binary_feedback(True)
        tracer.log("a log record")
        tracer.log("a log record", logger=out + ".log")
        tracer.update_span({"unknown": 1})
        recording = span.is_recording()
    tracer.log_feedback("late", trace_id="0af7651916cd43dd8448eb211c80319c")
    tracer.record_span("finished", latency=0.1)
    assert tracer.force_flush() and default.force_flush()
    tracer.shutdown()
    print(json.dumps({
        "threads": [thread.name for thread in threading.enumerate()],
        "new_fds": sorted(set(os.listdir("/proc/self/fd")) - fds),
        "sigterm_unchanged": signal.getsignal(signal.SIGTERM) == handler,
        "recording": recording,
    }))
    """
)


def test_otel_sdk_disabled_starts_no_thread_handler_or_file_and_prints_nothing(
    tmp_path: Path,
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    out = tmp_path / "out" / "traces.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RAGTEL_"))}
    env["OTEL_SDK_DISABLED"] = "true"
    completed = subprocess.run(
        [sys.executable, "-c", DISABLED_APP, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    (line,) = completed.stdout.splitlines()
    report = json.loads(line)
    assert report == {
        "threads": ["MainThread"],
        "new_fds": [],
        "sigterm_unchanged": True,
        "recording": False,
    }
    assert list(cwd.iterdir()) == []
    assert not out.parent.exists()
