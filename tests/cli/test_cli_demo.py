"""``ragtel demo``: the traces file it writes, its late feedback and the commands it prints.

The demo runs as a subprocess with the OpenTelemetry and ragtel environment
removed; the file is read directly as OTLP JSON, so these tests depend on no
other CLI command.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ragtel.cli.demo.questions import QUESTIONS
from ragtel.cli.demo.traces import CHUNK_SIZES, TOP_KS
from ragtel.semconv.attributes import (
    RAGTEL_FEEDBACK_VALUE_BINARY,
    RAGTEL_FEEDBACK_VALUE_NUMERIC,
    RAGTEL_FEEDBACK_VALUE_TEXT,
    RAGTEL_INPUT,
    RAGTEL_PARAM_PREFIX,
    RAGTEL_RAG_FLOW_TYPE,
)
from ragtel.semconv.events import RAGTEL_RERANK_EVENT, RAGTEL_RETRIEVAL_EVENT
from ragtel.semconv.references import GEN_AI_EVALUATION_NAME
from ragtel.semconv.spans import RAGTEL_FEEDBACK_SPAN

# Every test runs `ragtel demo` (or view, report) as a process: out of the quick run.
pytestmark = pytest.mark.integration

TIMEOUT = 60
CLI_DIRECTORY = Path(__file__).resolve().parents[2] / "src" / "ragtel" / "cli"
STATUS_ERROR = 2
CHUNK_SIZE_KEY = RAGTEL_PARAM_PREFIX + "ingestion.chunk_size"
TOP_K_KEY = RAGTEL_PARAM_PREFIX + "retrieval.top_k"
UNANSWERABLE = [question.text for question in QUESTIONS if not question.answerable]
PROGRAM = f"{shlex.quote(sys.executable)} -m ragtel"


# Running the demo and reading its file -------------------------------------------


def clean_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OTEL_", "RAGTEL_", "LASTMILE_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def ragtel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragtel", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def run_demo(output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = ragtel("demo", "--output", str(output), *extra, cwd=output.parent)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def attribute_value(value: dict[str, Any]) -> Any:
    if "intValue" in value:
        return int(value["intValue"])
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    return value


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start: int
    attributes: dict[str, Any]
    events: list[str]
    status_code: int


def read_spans(path: Path, skip_bytes: int = 0) -> Iterator[Span]:
    with path.open("rb") as traces:
        traces.seek(skip_bytes)
        for line in traces:
            for resource in json.loads(line)["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    for span in scope["spans"]:
                        yield Span(
                            trace_id=span["traceId"],
                            span_id=span["spanId"],
                            parent_id=span.get("parentSpanId", ""),
                            name=span["name"],
                            start=int(span["startTimeUnixNano"]),
                            attributes={
                                item["key"]: attribute_value(item["value"])
                                for item in span.get("attributes", [])
                            },
                            events=[event["name"] for event in span.get("events", [])],
                            status_code=span.get("status", {}).get("code", 0),
                        )


@dataclass
class Trace:
    spans: list[Span] = field(default_factory=list)

    @property
    def root(self) -> Span:
        (root,) = [span for span in self.spans if not span.parent_id]
        return root

    @property
    def flow(self) -> str:
        return str(self.root.attributes.get(RAGTEL_RAG_FLOW_TYPE))

    @property
    def combination(self) -> tuple[int, int]:
        return self.root.attributes[CHUNK_SIZE_KEY], self.root.attributes[TOP_K_KEY]

    @property
    def question(self) -> str:
        return str(self.root.attributes[RAGTEL_INPUT])

    def feedback(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for span in self.spans:
            if span.name != RAGTEL_FEEDBACK_SPAN:
                continue
            name = span.attributes[GEN_AI_EVALUATION_NAME]
            for key in (
                RAGTEL_FEEDBACK_VALUE_BINARY,
                RAGTEL_FEEDBACK_VALUE_NUMERIC,
                RAGTEL_FEEDBACK_VALUE_TEXT,
            ):
                if key in span.attributes:
                    values[name] = span.attributes[key]
        return values


def read_traces(path: Path, skip_bytes: int = 0) -> list[Trace]:
    traces: dict[str, Trace] = defaultdict(Trace)
    for span in read_spans(path, skip_bytes):
        traces[span.trace_id].spans.append(span)
    return list(traces.values())


def query_traces(traces: list[Trace]) -> list[Trace]:
    return [trace for trace in traces if trace.flow == "query"]


def feedback_by_question(traces: list[Trace]) -> dict[tuple[int, int, str], dict[str, Any]]:
    return {
        (*trace.combination, trace.question): trace.feedback() for trace in query_traces(traces)
    }


def thumbs_up_rates(traces: list[Trace]) -> dict[tuple[int, int], float]:
    votes: dict[tuple[int, int], list[bool]] = defaultdict(list)
    for trace in query_traces(traces):
        thumbs = trace.feedback().get("thumbs")
        if thumbs is not None:
            votes[trace.combination].append(thumbs)
    return {combination: sum(v) / len(v) for combination, v in votes.items()}


# One demo run shared by most tests --------------------------------------------------


@dataclass
class DemoRun:
    path: Path
    stdout: str
    traces: list[Trace]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    path = tmp_path_factory.mktemp("demo") / "traces.jsonl"
    result = run_demo(path)
    return DemoRun(path, result.stdout, read_traces(path))


def test_writes_one_ingestion_trace_per_chunk_size_and_one_query_trace_per_question(
    demo: DemoRun,
) -> None:
    flows = [trace.flow for trace in demo.traces]
    assert flows.count("ingestion") == len(CHUNK_SIZES)
    assert flows.count("query") == len(CHUNK_SIZES) * len(TOP_KS) * len(QUESTIONS)
    assert len(flows) == flows.count("ingestion") + flows.count("query")


def test_every_query_root_carries_the_swept_params(demo: DemoRun) -> None:
    seen = [trace.combination for trace in query_traces(demo.traces)]
    expected = [(size, k) for size in CHUNK_SIZES for k in TOP_KS for _ in QUESTIONS]
    assert sorted(seen) == sorted(expected)
    ingestion_sizes = [
        trace.root.attributes[CHUNK_SIZE_KEY] for trace in demo.traces if trace.flow == "ingestion"
    ]
    assert sorted(ingestion_sizes) == sorted(CHUNK_SIZES)


def test_query_traces_hold_retrieval_and_rerank_events(demo: DemoRun) -> None:
    for trace in query_traces(demo.traces):
        events = [event for span in trace.spans for event in span.events]
        assert RAGTEL_RETRIEVAL_EVENT in events
        assert RAGTEL_RERANK_EVENT in events


def test_span_names_are_the_apps_own(demo: DemoRun) -> None:
    names = {span.name for trace in demo.traces for span in trace.spans}
    assert {"answer_question", "retrieve", "rerank", "ingest_help_centre"} <= names
    assert not [name for name in names - {RAGTEL_FEEDBACK_SPAN} if name.startswith("ragtel")]


def test_feedback_carriers_join_the_traces_they_judge(demo: DemoRun) -> None:
    judged = 0
    for trace in demo.traces:
        carriers = [span for span in trace.spans if span.name == RAGTEL_FEEDBACK_SPAN]
        if not carriers:
            continue
        judged += 1
        assert trace.flow == "query"
        assert {carrier.parent_id for carrier in carriers} == {trace.root.span_id}
        assert {"thumbs", "relevance", "correctness"} <= set(trace.feedback())
    # About four answers in five get feedback.
    assert 0.6 < judged / len(query_traces(demo.traces)) < 0.95


def test_the_unanswerable_question_fails_its_traces(demo: DemoRun) -> None:
    failing = [trace for trace in query_traces(demo.traces) if trace.question in UNANSWERABLE]
    assert len(failing) == len(CHUNK_SIZES) * len(TOP_KS)
    for trace in failing:
        assert STATUS_ERROR in {span.status_code for span in trace.spans}
    others = [trace for trace in query_traces(demo.traces) if trace.question not in UNANSWERABLE]
    assert all(span.status_code != STATUS_ERROR for trace in others for span in trace.spans)


def test_some_settings_earn_clearly_more_thumbs_up(demo: DemoRun) -> None:
    rates = thumbs_up_rates(demo.traces)
    assert set(rates) == {(size, k) for size in CHUNK_SIZES for k in TOP_KS}
    assert max(rates.values()) - min(rates.values()) >= 0.3


def test_prints_the_commands_to_run_next(demo: DemoRun) -> None:
    file = shlex.quote(str(demo.path))
    assert f"{PROGRAM} view {file}\n" in demo.stdout
    assert (
        f"{PROGRAM} report {file} --by ingestion.chunk_size --by retrieval.top_k\n" in demo.stdout
    )
    assert "--since" not in demo.stdout
    assert f"Wrote {len(demo.traces)} traces" in demo.stdout


def printed_commands(stdout: str) -> list[list[str]]:
    lines = [line.strip() for line in stdout.splitlines() if line.strip().startswith(PROGRAM)]
    return [shlex.split(line[len(PROGRAM) :]) for line in lines]


@pytest.mark.skipif(
    not (CLI_DIRECTORY / "view" / "command.py").exists(), reason="ragtel view is not there yet"
)
def test_the_printed_view_command_runs(demo: DemoRun) -> None:
    (view,) = [command for command in printed_commands(demo.stdout) if command[0] == "view"]
    result = ragtel(*view, cwd=demo.path.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.skipif(
    not (CLI_DIRECTORY / "report" / "command.py").exists(), reason="ragtel report is not there yet"
)
def test_the_printed_report_command_runs(demo: DemoRun) -> None:
    (report,) = [command for command in printed_commands(demo.stdout) if command[0] == "report"]
    result = ragtel(*report, cwd=demo.path.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


# A second run into the same file --------------------------------------------------


def test_a_second_run_prints_since_and_repeats_the_feedback(tmp_path: Path) -> None:
    path = tmp_path / "traces file.jsonl"  # a space: the printed path must be quoted
    run_demo(path)
    first_size = path.stat().st_size
    first = read_traces(path)

    result = run_demo(path)
    second = read_traces(path, skip_bytes=first_size)

    match = re.search(r" --since (\S+)", result.stdout)
    assert match, result.stdout
    since = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    since_nanos = int(since.timestamp()) * 10**9
    assert all(span.start >= since_nanos for trace in second for span in trace.spans)
    assert all(trace.root.start < since_nanos for trace in first)
    assert result.stdout.count(f"{shlex.quote(str(path))} --since {match.group(1)}") == 2

    assert feedback_by_question(second) == feedback_by_question(first)


def test_another_seed_judges_other_answers(demo: DemoRun, tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    run_demo(path, "--seed", "8")
    assert feedback_by_question(read_traces(path)) != feedback_by_question(demo.traces)


# Bad output paths ------------------------------------------------------------------


def test_output_into_a_missing_directory_is_one_line_and_status_2(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "traces.jsonl"
    result = ragtel("demo", "--output", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("ragtel: ") and "no such directory" in result.stderr
    assert not path.parent.exists()


def test_output_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    result = ragtel("demo", "--output", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes")
def test_an_unwritable_output_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = ragtel("demo", "--output", str(locked / "traces.jsonl"), cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write" in result.stderr
    assert len(result.stderr.splitlines()) == 1
