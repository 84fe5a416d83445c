"""Spans that are never ended: ragtel must not keep them (or what they hold) alive.

An app that loses spans (an exception path that skips ``end()``, a handler
that forgets it) loses their memory back to the garbage collector with
plain OpenTelemetry. ragtel's per-trace state must not change that: it
refers to spans weakly and forgets a trace whose root is gone. Each run is a
fresh interpreter, measured against plain OpenTelemetry doing the same work
in the same test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Each test measures an app run as a process of its own: out of the quick run.
pytestmark = pytest.mark.integration

LEAK_APP = textwrap.dedent(
    """
    import array, gc, json, pathlib, re, sys

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    side, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def memory_kb():
        status = pathlib.Path("/proc/self/status").read_text()
        return {
            key: int(re.search(key + r":\\s+(\\d+)", status)[1]) for key in ("VmRSS", "VmHWM")
        }

    QUERY = "How long do refunds take to reach my card? " * 4
    TEXT = ("Refunds reach the card in five business days. " * 11)[:500]
    if side == "ragtel":
        from ragtel import RetrievedChunk, get_lastmile_tracer

        tracer = get_lastmile_tracer("leaks", output_filepath=path, project_name="support")
        CHUNKS = [RetrievedChunk(f"chunk-{i}", TEXT, retrieval_score=0.5) for i in range(10)]
    else:
        # Exporting to a file too, through the SDK's own batching: the same work.
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

        provider = TracerProvider()
        provider.add_span_processor(
            BatchSpanProcessor(ConsoleSpanExporter(out=open(path, "w"), formatter=lambda s: ""))
        )
        tracer = provider.get_tracer("leaks")
        trace.set_tracer_provider(provider)
        CHUNKS = [TEXT] * 10

    # The id of every span started (8 bytes each, on both sides alike): to ask the
    # processor at the end which of them it still tracks.
    started = array.array("Q")

    def started_id(span):
        started.append(span.get_span_context().span_id)
        return span

    def request(index, *, end):
        span = started_id(
            tracer.start_span("request", attributes={"app.query": QUERY, "app.index": index})
        )
        with trace.use_span(span, end_on_exit=end):
            if side == "ragtel":
                tracer.register_params({"retrieval.top_k": 10, "customer": f"c-{index}"})
                tracer.register_param("prompt", TEXT * 4)
                tracer.log_retrieval_event(QUERY, CHUNKS)
                with tracer.start_as_current_span("generate") as child:
                    started_id(child)
                    tracer.log_llm_call(model="gpt-4o", messages=[QUERY], output=TEXT * 2)
                started_id(tracer.start_span("left-open-child"))  # a child that never ends either
            else:
                span.set_attributes({"ragtel.param.customer": f"c-{index}", "p": TEXT * 4})
                span.add_event("ragtel.retrieval", {"ragtel.chunk.contents": CHUNKS})
                with tracer.start_as_current_span("generate") as child:
                    started_id(child)
                    child.set_attribute("ragtel.output", TEXT * 2)
                started_id(tracer.start_span("left-open-child"))
        return span

    # A root the app keeps open the whole time: it must stay tracked.
    kept = started_id(tracer.start_span("kept"))
    with trace.use_span(kept, end_on_exit=False):
        if side == "ragtel":
            tracer.register_param("kept.before", 1)
    for index in range(200):  # warm-up: allocator and caches settle
        request(index, end=True)
    trace.get_tracer_provider().force_flush()
    gc.collect()
    before = memory_kb()
    for index in range(count):
        request(index, end=False)  # never ended, and dropped
    trace.get_tracer_provider().force_flush()
    gc.collect()
    after = memory_kb()
    # Children of the kept root that never end, and are dropped.
    with trace.use_span(kept, end_on_exit=False):
        for index in range(count):
            started_id(tracer.start_span("leaked-child", attributes={"app.query": QUERY}))
    gc.collect()
    children_after = memory_kb()
    tracked = tracked_spans = None
    if side == "ragtel":
        with trace.use_span(kept, end_on_exit=False):
            tracer.register_param("kept.after", 2)  # the kept root is still tracked
            params = tracer.get_params()
        from ragtel._tracer import tracer_core

        processor = tracer_core(tracer).processor
        tracked = processor.tracked_traces  # forgets the collected spans first
        tracked_spans = sum(
            processor.trace_state_by_span_id(span_id) is not None for span_id in started
        )
    else:
        params = {}
    kept.end()
    if side == "ragtel":
        request(count, end=True)  # a later request still gets its params
        tracer.force_flush()
    print(json.dumps({
        "growth_kb": after["VmRSS"] - before["VmRSS"],
        "peak_growth_kb": after["VmHWM"] - before["VmRSS"],
        "tracked": tracked,
        "tracked_spans": tracked_spans,
        "children_growth_kb": children_after["VmRSS"] - after["VmRSS"],
        "params": sorted(params),
    }))
    """
)


def _run(side: str, count: int, path: Path) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", LEAK_APP, side, str(count), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


def _exported(path: Path, name: str) -> list[dict[str, object]]:
    spans = []
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                spans.extend(s for s in scope_spans["spans"] if s["name"] == name)
    return spans


def _attributes(span: dict[str, object]) -> dict[str, object]:
    return {
        item["key"]: next(iter(item["value"].values()))  # type: ignore[index]
        for item in span["attributes"]  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize("count", [5_000, 30_000])
def test_spans_never_ended_cost_no_more_memory_than_with_plain_opentelemetry(
    count: int, tmp_path: Path
) -> None:
    plain = _run("otel", count, tmp_path / "otel.jsonl")
    path = tmp_path / "ragtel.jsonl"
    ours = _run("ragtel", count, path)
    margin_kb = 16 * 1024  # allocator noise; a leak of 5,000 such spans is hundreds of MB
    assert ours["growth_kb"] <= plain["growth_kb"] + margin_kb, (ours, plain)  # type: ignore[operator]
    assert ours["peak_growth_kb"] <= plain["peak_growth_kb"] + margin_kb, (ours, plain)  # type: ignore[operator]
    assert ours["children_growth_kb"] <= plain["children_growth_kb"] + margin_kb, (ours, plain)  # type: ignore[operator]
    # The leaked traces and children are forgotten; the root the app kept is still tracked.
    assert ours["tracked"] == 1, ours
    assert ours["tracked_spans"] == 1, ours
    assert ours["params"] == ["kept.after", "kept.before"], ours
    (kept,) = _exported(path, "kept")
    assert _attributes(kept)["ragtel.param.kept.after"] == "2"
    # A request ended after the leak still gets its params and its events.
    (*_, last) = _exported(path, "request")
    attributes = _attributes(last)
    assert attributes["ragtel.param.customer"] == f"c-{count}"
    assert attributes["ragtel.project.name"] == "support"
    print(f"\n{count:,} leaked traces: RSS +{ours['growth_kb']} kB, plain +{plain['growth_kb']} kB")
