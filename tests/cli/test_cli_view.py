"""``ragtel view`` on files the tracer writes, and every command on bad files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from cli_helpers import ragtel
from ragtel import Chunk, Document, RetrievedChunk, get_lastmile_tracer

# Every test runs `ragtel view` as a process: out of the quick run.
pytestmark = pytest.mark.integration

MS = 1_000_000
BASE = 1_790_000_000 * 1_000_000_000  # 2026-09-21T14:13:20Z


def write_traces(path: Path) -> list[str]:
    """Three traces at BASE, +1 min and +2 min; returns their trace ids in that order.

    1. ingestion: index → chunk (a chunking event), chunk_size 128.
    2. query, top_k 3: answer → retrieve (2 chunks, top score 0.91) → generate;
       inline thumbs up, late relevance 0.8.
    3. query, top_k 5: answer → generate, which fails.
    Written out of order (the last first) to check that view sorts by start time,
    one line per trace.
    """
    tracer = get_lastmile_tracer(
        "view-fixture", output_filepath=path, project_name="helpdesk", rag_flow_type="query"
    )
    ids: dict[int, str] = {}
    contexts: list[str] = []

    def span_at(name: str, minute: int, start_ms: int, end_ms: int) -> tuple[trace.Span, int]:
        """A span started ``start_ms`` into the trace's minute; and when to end it."""
        start = BASE + minute * 60_000 * MS
        return tracer.start_span(name, start_time=start + start_ms * MS), start + end_ms * MS

    def run(minute: int, flow: str, params: dict[str, object], body: Callable[[int], None]) -> None:
        root, end = span_at("answer" if flow == "query" else "index", minute, 0, 100)
        with trace.use_span(root, end_on_exit=False):
            tracer.register_params(params)
            body(minute)
        root.end(end_time=end)
        tracer.force_flush()  # a line per trace: the corrupt-file tests need several
        ids[minute] = format(root.get_span_context().trace_id, "032x")

    def failing_query(minute: int) -> None:
        span, end = span_at("generate", minute, 10, 60)
        span.set_status(Status(StatusCode.ERROR, "model timed out"))
        span.end(end_time=end)

    def good_query(minute: int) -> None:
        retrieve, end = span_at("retrieve", minute, 5, 25)
        with trace.use_span(retrieve, end_on_exit=False):
            tracer.log_retrieval_event(
                "refund time?",
                [
                    RetrievedChunk("c1", "five days", retrieval_score=0.91),
                    RetrievedChunk("c2", "thirty", retrieval_score=0.4),
                ],
            )
        retrieve.end(end_time=end)
        generate, end = span_at("generate", minute, 30, 90)
        generate.end(end_time=end)
        tracer.log_binary_feedback(True, name="thumbs")
        contexts.append(tracer.serialize_span_context() or "")

    def ingest(minute: int) -> None:
        chunk, end = span_at("chunk", minute, 1, 9)
        with trace.use_span(chunk, end_on_exit=False):
            tracer.log_chunking_event(Document("refunds.md"), [Chunk("c1", "a"), Chunk("c2", "b")])
        chunk.end(end_time=end)

    run(2, "query", {"retrieval.top_k": 5}, failing_query)
    run(1, "query", {"retrieval.top_k": 3}, good_query)
    run(0, "ingestion", {"ingestion.chunk_size": 128}, ingest)
    tracer.force_flush()
    tracer.log_numeric_feedback(0.8, context=contexts[0], name="relevance")
    tracer.shutdown()
    return [ids[0], ids[1], ids[2]]


@pytest.fixture
def traces(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "traces.jsonl"
    return path, write_traces(path)


def headers(stdout: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.startswith("trace ")]


def test_view_shows_trees_in_start_order(traces: tuple[Path, list[str]]) -> None:
    path, ids = traces
    result = ragtel("view", path)
    assert result.status == 0, result.stderr
    assert headers(result.stdout) == ids
    assert "\x1b[" not in result.stdout

    query = result.stdout.split("\n\n")[1].splitlines()
    assert query[0].startswith(f"trace {ids[1]}")
    assert "100.0 ms" in query[0] and "helpdesk" in query[0]
    assert query[1] == "  params: retrieval.top_k=3"
    assert query[2].startswith("  answer  100.0 ms")
    assert "feedback thumbs: 👍 positive" in query[3]
    assert "feedback relevance: 0.80" in query[4]  # late, from a carrier span
    assert query[5].startswith("  ├─ retrieve  20.0 ms  [retrieval]")
    assert query[6] == "  │    retrieval: 2 chunks, top score 0.91"
    assert query[7].startswith("  └─ generate  60.0 ms")
    assert "ragtel.feedback" not in result.stdout  # carriers show as feedback, not spans

    ingestion = result.stdout.split("\n\n")[0]
    assert "chunking: 2 chunks of refunds.md" in ingestion

    failing = result.stdout.split("\n\n")[2]
    assert "ERROR" in failing.splitlines()[0]
    assert "generate  50.0 ms  ERROR model timed out" in failing


def test_view_filters(traces: tuple[Path, list[str]]) -> None:
    path, ids = traces
    assert headers(ragtel("view", path, "--errors").stdout) == [ids[2]]
    assert headers(ragtel("view", path, "--trace-id", ids[1][:8]).stdout) == [ids[1]]
    decimal = str(int(ids[1], 16))  # LastMile's form of the same id
    if len(decimal) > 32:  # shorter ones read as a hex prefix, as they always did
        assert headers(ragtel("view", path, "--trace-id", decimal).stdout) == [ids[1]]
    assert headers(ragtel("view", path, "--param", "top_k=5").stdout) == [ids[2]]
    assert headers(ragtel("view", path, "--param", "retrieval.top_k=3.0").stdout) == [ids[1]]
    assert headers(ragtel("view", path, "--name", "ret*").stdout) == [ids[1]]
    window = ragtel(
        "view", path, "--since", "2026-09-21T14:14:20Z", "--until", "2026-09-21T14:15:20Z"
    )
    assert headers(window.stdout) == [ids[1]]
    assert headers(ragtel("view", path, "--limit", "2").stdout) == ids[1:]

    none = ragtel("view", path, "--param", "top_k=9")
    assert (none.status, none.stdout) == (0, "")
    assert "no traces match (the file holds 3)" in none.stderr


def test_view_refuses_bad_filters(traces: tuple[Path, list[str]]) -> None:
    path, _ = traces
    for args, message in [
        (("--since", "yesterday"), "--since expects an ISO 8601 time"),
        (("--param", "top_k"), "--param expects KEY=VALUE"),
        (("--trace-id", "xyz"), "--trace-id expects up to 32 hex digits"),
        (("--param", "nope=1"), "no trace has this param"),
    ]:
        result = ragtel("view", path, *args)
        assert result.status == 2, args
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_view_json_is_one_object_per_trace(traces: tuple[Path, list[str]]) -> None:
    path, ids = traces
    result = ragtel("view", path, "--json")
    assert result.status == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [item["trace_id"] for item in objects] == ids
    query = objects[1]
    assert query["start"] == "2026-09-21T14:14:20.000000000Z"
    assert (query["duration_ms"], query["flow"], query["project"]) == (100.0, "query", "helpdesk")
    assert query["params"] == {"retrieval.top_k": 3}
    assert sorted((f["name"], f["value"]) for f in query["feedback"]) == [
        ("relevance", 0.8),
        ("thumbs", True),
    ]
    retrieve = next(span for span in query["spans"] if span["name"] == "retrieve")
    assert retrieve["events"] == ["retrieval: 2 chunks, top score 0.91"]
    assert objects[2]["error"] is True


def test_view_colours(traces: tuple[Path, list[str]]) -> None:
    path, _ = traces
    assert "\x1b[" in ragtel("view", path, "--color", "always").stdout
    assert "\x1b[" in ragtel("view", path, FORCE_COLOR="1").stdout
    assert "\x1b[" not in ragtel("view", path, "--color", "auto", NO_COLOR="1").stdout


def test_view_reads_the_default_file(tmp_path: Path) -> None:
    tracer = get_lastmile_tracer("default", output_filepath=tmp_path / "ragtel-traces.jsonl")
    with tracer.start_as_current_span("answer"):
        pass
    tracer.shutdown()
    in_cwd = ragtel("view", cwd=tmp_path)
    assert in_cwd.status == 0 and "answer" in in_cwd.stdout
    from_env = ragtel("view", RAGTEL_TRACES_FILE=str(tmp_path / "ragtel-traces.jsonl"))
    assert from_env.status == 0 and "answer" in from_env.stdout


# Bad files, for view and report -------------------------------------------------


def corrupt_copy(source: Path, target: Path) -> int:
    """``source`` with a garbage line after its first line and its last line cut in half."""
    lines = source.read_text("utf-8").splitlines(keepends=True)
    assert len(lines) >= 3, "the fixture needs several lines"
    broken = [lines[0], '{"resourceSpans": [{"scopeSpans": [\n', *lines[1:-1]]
    broken.append(lines[-1][: len(lines[-1]) // 2])
    target.write_text("".join(broken), "utf-8")
    return len(broken)


@pytest.mark.parametrize("command", [["view"], ["report", "--by", "top_k"]])
def test_corrupt_and_truncated_lines_are_skipped_and_reported(
    traces: tuple[Path, list[str]], tmp_path: Path, command: list[str]
) -> None:
    path, ids = traces
    damaged = tmp_path / "damaged.jsonl"
    last = corrupt_copy(path, damaged)
    result = ragtel(command[0], damaged, *command[1:])
    assert result.status == 1
    assert f"skipped 2 corrupt lines of {damaged}: 2 (not JSON" in result.stderr
    assert f"{last} (not JSON" in result.stderr and "ends mid-line" in result.stderr
    if command[0] == "view":
        # Everything readable is still shown: one line per trace, all intact; only the
        # late relevance feedback was in the line cut in half.
        assert headers(result.stdout) == ids
        assert "feedback thumbs" in result.stdout
        assert "feedback relevance" not in result.stdout


def test_view_of_missing_empty_and_foreign_files(tmp_path: Path) -> None:
    missing = ragtel("view", tmp_path / "nope.jsonl")
    assert missing.status == 2
    assert missing.stderr == f"ragtel: {tmp_path / 'nope.jsonl'}: no such file\n"

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = ragtel("view", empty)
    assert (result.status, result.stdout) == (0, "")
    assert result.stderr == f"no traces in {empty}\n"

    for name, content in [
        ("list.json", "[1, 2, 3]\n"),
        ("package.json", '{"name": "left-pad", "version": "1.0.0"}\n'),
        ("notes.txt", "hello\nworld\n"),
    ]:
        foreign = tmp_path / name
        foreign.write_text(content)
        for command in (["view"], ["report", "--by", "x"]):
            result = ragtel(command[0], foreign, *command[1:])
            assert result.status == 2, (name, command)
            assert "not an OTLP JSON Lines file (line 1:" in result.stderr
            assert result.stderr.count("\n") == 1

    directory = ragtel("view", tmp_path)
    assert directory.status == 2 and "is a directory" in directory.stderr


def test_view_of_a_log_file_says_no_traces(tmp_path: Path) -> None:
    tracer = get_lastmile_tracer("logs", output_filepath=tmp_path / "ragtel-traces.jsonl")
    with tracer.start_as_current_span("answer"):
        tracer.log({"index": "v3"})
    tracer.shutdown()
    logs = tmp_path / "ragtel-logs.jsonl"
    assert logs.exists()
    result = ragtel("view", logs)
    assert result.status == 0
    assert result.stderr == f"no traces in {logs}\n"


def test_view_output_piped_into_a_closed_reader(tmp_path: Path) -> None:
    import subprocess
    import sys

    from cli_helpers import cli_env

    path = tmp_path / "many.jsonl"
    tracer = get_lastmile_tracer("many", output_filepath=path)
    for _ in range(2_000):  # far more output than a pipe buffers
        with tracer.start_as_current_span("answer"), tracer.start_as_current_span("retrieve"):
            pass
    tracer.shutdown()
    # `ragtel view | head -1`: the reader leaves early; no traceback, no error status.
    view = subprocess.Popen(
        [sys.executable, "-m", "ragtel", "view", str(path), "--limit", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert view.stdout is not None and view.stderr is not None
    view.stdout.readline()
    view.stdout.close()
    stderr = view.stderr.read().decode()
    assert view.wait(timeout=60) == 0
    assert "Traceback" not in stderr
