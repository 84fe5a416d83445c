"""The local-first workflow end to end: demo → view → report → send to a real receiver."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from cli_helpers import ragtel
from ragtel.cli.demo.questions import QUESTIONS
from ragtel.cli.demo.traces import CHUNK_SIZES, TOP_KS

if TYPE_CHECKING:
    from otlp_receiver import OTLPReceiver


def file_spans(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    """Every span of the file by (trace id, span id)."""
    spans = {}
    for line in path.read_text("utf-8").splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    spans[(span["traceId"], span["spanId"])] = span
    return spans


def test_demo_view_report_send(tmp_path: Path, receiver: OTLPReceiver) -> None:
    path = tmp_path / "demo traces.jsonl"  # a space: the printed commands must quote it
    demo = ragtel("demo", "--output", path)
    assert demo.status == 0, demo.stderr
    query_traces = len(CHUNK_SIZES) * len(TOP_KS) * len(QUESTIONS)
    traces = query_traces + len(CHUNK_SIZES)

    # The commands the demo prints are the ones that work.
    printed = [line.strip() for line in demo.stdout.splitlines() if " view " in line]
    assert printed and shlex.split(printed[0])[-1] == str(path)

    view = ragtel("view", path, "--limit", "0", "--json")
    assert view.status == 0, view.stderr
    viewed = [json.loads(line) for line in view.stdout.splitlines()]
    assert len(viewed) == traces
    starts = [trace["start"] for trace in viewed]
    assert starts == sorted(starts)
    assert sum(trace["error"] for trace in viewed) == len(CHUNK_SIZES) * len(TOP_KS)
    assert sum(bool(trace["feedback"]) for trace in viewed) > query_traces // 2

    report = ragtel(
        "report",
        path,
        "--by",
        "ingestion.chunk_size",
        "--by",
        "retrieval.top_k",
        "--format",
        "json",
    )
    assert report.status == 0, report.stderr
    summary = json.loads(report.stdout)
    assert summary["traces"] == query_traces
    assert summary["left_out"]["traces"] == len(CHUNK_SIZES)  # the ingestion traces
    assert len(summary["groups"]) == len(CHUNK_SIZES) * len(TOP_KS)
    assert all(group["traces"] == len(QUESTIONS) for group in summary["groups"])
    rates = [g["feedback"]["thumbs_up_rate"] for g in summary["groups"]]
    assert max(rates) > min(rates)  # the settings make a difference the report can see

    in_file = file_spans(path)
    send = ragtel("send", path, "--endpoint", receiver.grpc_endpoint, "--protocol", "grpc")
    assert send.status == 0, send.stderr
    arrived = receiver.wait_for_spans(len(in_file), timeout=30)
    assert len(arrived) == len(in_file)
    by_id = {(span["trace_id"], span["span_id"]): span for span in arrived}
    assert by_id.keys() == in_file.keys()
    for key, span in by_id.items():
        original = in_file[key]
        assert span["name"] == original["name"]
        assert span["parent_span_id"] == (original.get("parentSpanId") or None)
        assert span["start_time_unix_nano"] == int(original["startTimeUnixNano"])
        assert span["end_time_unix_nano"] == int(original["endTimeUnixNano"])
