"""``ragtel view`` and ``report`` on crafted files: nothing reaches the terminal raw, nothing
crashes, memory stays bounded.

The commands run as subprocesses, output captured as bytes, so that every
byte a terminal would receive is checked, carriage returns included. The
files are written by the real tracer with hostile text in every field a
command shows, and by hand for what the tracer's API cannot write (bad ids,
times out of range, deep nesting, lone surrogates, over-long lines).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli_helpers import cli_env
from cli_hostile_lines import (
    ATTACK,
    ATTACK_ESCAPED,
    dangerous_bytes,
    forged_lines,
    good_line,
    good_span,
    hostile_file,
    hostile_lines,
    line_of,
)
from example_budget import examples
from ragtel.cli import main
from ragtel.cli._jsonl import LineStats
from ragtel.cli.send.batches import export_request, json_body
from ragtel.cli.send.command import Progress, Tally, file_batches
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events, references

# The command and what it writes, with a wrapper that reports the peak memory (VmHWM).
_RUN_WITH_PEAK = textwrap.dedent(
    """
    import resource, sys
    limit = int(sys.argv[1])
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from ragtel.cli import main
    status = main(sys.argv[2:])
    with open("/proc/self/status") as proc:
        peak = next(line.split()[1] for line in proc if line.startswith("VmHWM:"))
    print(f"peak-kib {peak}", file=sys.stderr)
    sys.exit(status)
    """
)


def run(
    *args: str | Path, address_space: int = 0, timeout: float = 120
) -> tuple[int, bytes, bytes]:
    """``ragtel ARGS`` in a subprocess: status, stdout and stderr as raw bytes."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_WITH_PEAK, str(address_space), *map(str, args)],
        capture_output=True,
        env=cli_env(),
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def peak_mib(stderr: bytes) -> float:
    line = next(line for line in stderr.splitlines() if line.startswith(b"peak-kib "))
    return int(line.split()[1]) / 1024


def without_peak(stderr: bytes) -> bytes:
    return b"\n".join(line for line in stderr.splitlines() if not line.startswith(b"peak-kib "))


# 1. Text that commands the terminal -----------------------------------------------


def crafted_by_hand() -> bytes:
    """What the tracer's API cannot write: the attack in keys, ids, the service name,
    raw C1 bytes, a lone surrogate."""
    span = good_span(7, name=ATTACK + "\ud800")
    span["attributes"] += [
        {"key": "ragtel.param." + ATTACK, "value": {"stringValue": ATTACK}},
        {"key": "ragtel.param.variant", "value": {"stringValue": "by-hand"}},
        {
            "key": "ragtel.param.map",
            "value": {"kvlistValue": {"values": [{"key": ATTACK, "value": {"boolValue": True}}]}},
        },
    ]
    span["status"] = {"code": 2, "message": ATTACK}
    feedback = {
        attrs.RAGTEL_FEEDBACK_KIND: "text",
        attrs.RAGTEL_FEEDBACK_VALUE_TEXT: ATTACK,
        attrs.RAGTEL_FEEDBACK_ANNOTATOR: ATTACK,
        references.GEN_AI_EVALUATION_NAME: ATTACK,
        "ragtel.feedback." + ATTACK: ATTACK,
    }
    span["events"] += [
        {"name": ATTACK, "timeUnixNano": span["startTimeUnixNano"]},
        {
            "name": events.GEN_AI_EVALUATION_RESULT_EVENT,
            "timeUnixNano": span["startTimeUnixNano"],
            "attributes": [
                {"key": key, "value": {"stringValue": value}} for key, value in feedback.items()
            ],
        },
    ]
    line = line_of(span)
    line["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"] = ATTACK
    bad_id = good_span(8)
    bad_id["traceId"] = ATTACK
    # C1 and bidi characters raw, as UTF-8; the lone surrogate as the JSON escape it must be.
    text = json.dumps(line, ensure_ascii=False).replace("\ud800", "\\ud800")
    return (text + "\n" + json.dumps(line_of(bad_id)) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crafted") / "crafted.jsonl"
    # In a process of its own, as an application writes: the spans are the file's.
    script = "import sys; from cli_hostile_lines import write_crafted; write_crafted(sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", script, str(path)],
        env={**cli_env(), "PYTHONPATH": str(Path(__file__).parents[1])},
        check=True,
        timeout=120,
    )
    with path.open("ab") as out:
        out.write(crafted_by_hand())
    return path


COMMANDS = {
    "view": ["view", "--limit", "0"],
    "view --json": ["view", "--json", "--limit", "0"],
    "view --name (no match)": ["view", "--name", "nothing-matches"],
    "report": ["report", "--by", "variant"],
    "report csv": ["report", "--by", "variant", "--format", "csv"],
    "report json": ["report", "--by", "variant", "--format", "json"],
    "report --by an attack key (error lists the file's params)": ["report", "--by", "nope"],
}


@pytest.mark.integration
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
@pytest.mark.parametrize("color", ["never", "always"])
def test_file_text_never_reaches_the_terminal_raw(crafted: Path, command: str, color: str) -> None:
    args = COMMANDS[command]
    extra = ["--color", color] if "--format" not in args and "--json" not in args else []
    status, stdout, stderr = run(args[0], crafted, *args[1:], *extra)
    stderr = without_peak(stderr)

    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    for stream in (stdout, stderr):
        assert dangerous_bytes(stream, colours=color == "always") == []
        assert forged_lines(stream) == []
    if command.startswith("report --by an attack"):
        assert status == 2
        assert ATTACK_ESCAPED.encode() in stderr  # the file's param keys, listed escaped
        return
    assert status == 1  # the span with the attack for an id is skipped and reported
    assert b"traceId is not 32 hex digits" in stderr
    # The attack is shown, escaped, not dropped.
    shown = stdout.decode()
    if command == "view --name (no match)":
        assert shown == ""
        return
    escaped = ATTACK_ESCAPED if "json" not in command else json.dumps(ATTACK_ESCAPED)[1:-1]
    assert escaped in shown
    if command == "view":
        assert "\\ud800" in shown  # the lone surrogate, escaped: the output encodes
    if color == "always" and command in ("view", "report"):
        assert "\x1b[1m" in shown  # ragtel's own colours still work


@pytest.mark.integration
def test_csv_cells_cannot_start_a_formula(crafted: Path) -> None:
    status, stdout, _ = run("report", crafted, "--by", "variant", "--format", "csv")
    assert status == 1
    rows = list(csv.reader(io.StringIO(stdout.decode())))
    variants = {row[0] for row in rows[1:]}
    assert '\'=HYPERLINK("https://evil.example")' in variants
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.integration
def test_json_output_holds_the_text_as_the_tree_shows_it(crafted: Path) -> None:
    _, stdout, _ = run("view", crafted, "--json", "--limit", "0")
    traces = [json.loads(line) for line in stdout.decode().splitlines()]
    names = {span["name"] for item in traces for span in item["spans"]}
    assert ATTACK not in names
    assert any(name.startswith(ATTACK_ESCAPED) for name in names)


# 2. Lines that used to crash the reader -------------------------------------------


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(hostile_file())
    return path


@pytest.mark.integration
@pytest.mark.parametrize("command", [["view", "--limit", "0"], ["report", "--by", "k"]])
def test_every_hostile_line_is_skipped_and_reported_and_the_rest_is_read(
    hostile: Path, command: list[str]
) -> None:
    status, stdout, stderr = run(command[0], hostile, *command[1:])
    stderr = without_peak(stderr)
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    assert status == 1
    text = stdout.decode()
    # The good lines around the hostile ones, and the good spans of the mixed line.
    if command[0] == "view":
        assert f"trace {1:032x}" in text and f"trace {2:032x}" in text
        assert "kept-in-a-mixed-line" in text and "also-kept-in-a-mixed-line" in text
    else:
        rows = {line.split()[0] for line in text.splitlines()[1:] if line.strip()}
        assert {"1", "2", "120", "122"} <= rows
    message = stderr.decode()
    number = {name: index + 2 for index, name in enumerate(hostile_lines())}
    assert f"{number['deeply nested JSON']} (JSON nested too deeply)" in message
    assert f"{number['start in the year 3170843']} (1 span: startTimeUnixNano out of range)" in (
        message
    )
    assert f"{number['negative start']} (1 span: startTimeUnixNano out of range)" in message
    assert "and " in message and " more" in message  # more than ten problems: counted


@pytest.mark.integration
def test_the_report_json_lists_every_skipped_line(hostile: Path) -> None:
    status, stdout, _ = run("report", hostile, "--by", "k", "--format", "json")
    assert status == 1
    report = json.loads(stdout)
    names = list(hostile_lines())
    number = {name: index + 2 for index, name in enumerate(names)}
    skipped = set(report["skipped_lines"])
    for name in (
        "deeply nested JSON",
        "deeply nested value",
        "start in the year 3170843",
        "negative start",
        "int value beyond 64 bits",
        "int value of 5,000 digits",
        "resourceSpans of numbers",
        "trace id not hex",
        "one bad span among good ones",
        "not UTF-8",
    ):
        assert number[name] in skipped, name
    assert number["duplicate keys"] not in skipped  # valid JSON: the last key wins
    assert report["skipped_line_count"] + report["skipped_span_count"] >= len(skipped)


# 3. Over-long lines and endless input, in bounded memory ---------------------------


@pytest.mark.integration
def test_an_over_long_line_is_skipped_between_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    long_line = b'{"resourceSpans": [], "pad": "' + b"x" * (3 << 20) + b'"}'
    path.write_bytes(b"\n".join([good_line(1).encode(), long_line, good_line(2).encode()]) + b"\n")
    status, stdout, stderr = run("view", path, "--max-line-size", "1M")
    assert status == 1
    assert f"trace {1:032x}" in stdout.decode() and f"trace {2:032x}" in stdout.decode()
    assert b"skipped 1 corrupt line of " in stderr
    assert b": 2 (longer than 1 MiB, skipped)" in stderr
    # Under the default limit (64 MiB) the same line is read.
    status, _, stderr = run("view", path)
    assert status == 0, stderr


@pytest.mark.integration
def test_a_line_of_hundreds_of_megabytes_costs_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge-line.jsonl"
    with path.open("wb") as out:
        out.write(good_line(1).encode() + b"\n")
        out.write(b'{"resourceSpans": [{"pad": "')
        block = b"x" * (1 << 20)
        for _ in range(300):
            out.write(block)
        out.write(b'"}]}\n')
        out.write(good_line(2).encode() + b"\n")
    for command in (["view"], ["report", "--by", "k"]):
        status, stdout, stderr = run(command[0], path, *command[1:])
        assert status == 1, stderr
        assert b": 2 (longer than 64 MiB, skipped)" in stderr
        assert b"1" in stdout and b"2" in stdout
        # The limit's buffer and the interpreter; never the 300 MB line.
        assert peak_mib(stderr) < 200, peak_mib(stderr)


@pytest.mark.integration
@pytest.mark.parametrize(
    "command",
    [
        ["view"],
        ["report", "--by", "k"],
        ["send", "--endpoint", "http://127.0.0.1:9", "--timeout", "1"],
    ],
)
def test_endless_input_is_refused_in_bounded_memory(command: list[str]) -> None:
    status, _, stderr = run(
        command[0], "/dev/zero", *command[1:], address_space=2 << 30, timeout=60
    )
    assert status == 2, stderr[-2000:]
    assert b"Traceback" not in stderr
    assert b"ragtel: /dev/zero: not an OTLP JSON Lines file (line 1: longer than 64 MiB" in (stderr)
    assert peak_mib(stderr) < 200


@pytest.mark.integration
def test_millions_of_bad_lines_are_counted_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    with path.open("wb") as out:
        out.write(good_line(1).encode() + b"\n")
        out.write(b"garbage\n" * 500_000)
    status, stdout, stderr = run("report", path, "--by", "k", "--format", "json")
    assert status == 1
    report = json.loads(stdout)
    assert report["skipped_line_count"] == 500_000
    assert len(report["skipped_lines"]) == 1_000  # the first ones, by number
    assert report["skipped_lines"][:2] == [2, 3]
    assert b"skipped 500,000 corrupt lines of " in stderr and b"and 499,990 more" in stderr


# 4. Fuzz: any hostile line, through view, report and send's encoding ----------------

_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([10**23, -1, 2**63, 2**64, 10**400])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(exclude_categories=()), max_size=20)
    | st.sampled_from(["NaN", "Infinity", "-1", "1e30", "zz", "0" * 32, "\ud800", ATTACK])
)
_json_values = st.recursive(
    _leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
_deep = st.integers(min_value=50, max_value=3_000).map(
    lambda depth: json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
)
_SPAN_FIELDS = [
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "status",
    "attributes",
    "events",
    "links",
    "flags",
    "droppedAttributesCount",
    "traceState",
]


def _set_path(line: dict[str, Any], target: str, value: Any) -> None:
    span = line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    holders = {
        "span": (span, None),
        "status": (span.setdefault("status", {}), None),
        "attribute": (span["attributes"][0], None),
        "attribute value": (span["attributes"][0]["value"], None),
        "event": (span["events"][0], None),
        "event attribute value": (span["events"][0]["attributes"][0]["value"], None),
        "resource": (line["resourceSpans"][0], None),
        "scope": (line["resourceSpans"][0]["scopeSpans"][0], None),
        "line": (line, None),
    }
    kind, _, key = target.partition(":")
    holder, _ = holders[kind]
    holder[key] = value


_TARGETS = [
    *(f"span:{field}" for field in _SPAN_FIELDS),
    "status:code",
    "status:message",
    "attribute:key",
    "attribute:value",
    "attribute value:stringValue",
    "attribute value:intValue",
    "attribute value:doubleValue",
    "attribute value:boolValue",
    "attribute value:arrayValue",
    "attribute value:kvlistValue",
    "event:name",
    "event:timeUnixNano",
    "event:attributes",
    "event attribute value:stringValue",
    "resource:resource",
    "resource:scopeSpans",
    "scope:spans",
    "scope:scope",
    "line:resourceSpans",
    "line:resourceLogs",
]


@st.composite
def hostile_line(draw: st.DrawFn) -> bytes:
    """A good line with one to three fields replaced by something hostile, or raw garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    line = line_of(good_span(50))
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(_TARGETS))
        value = draw(_json_values | _deep)
        # An earlier change may have removed what this one would replace.
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            _set_path(line, target, value)
    return json.dumps(line).encode()


def _run_in_process(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, out.getvalue(), err.getvalue()


def _check_text(text: str) -> None:
    encoded = text.encode("utf-8")  # raises on a lone surrogate: the output could not be written
    assert dangerous_bytes(encoded) == [], encoded
    assert forged_lines(encoded) == []


def _send_pipeline(path: Path, protocol: str) -> tuple[int, LineStats]:
    """``ragtel send``'s reading, conversion and request encoding, without the network."""
    stats = LineStats(str(path))
    sent = 0
    progress = Progress(None, 0, Tally(started=0.0))
    for batch in file_batches(str(path), stats, protocol, 512, progress):
        if protocol == "http/json":
            json.loads(json_body(batch))
            sent += batch.size
        else:
            encoded = export_request(batch)
            request = type(encoded.request).FromString(encoded.request.SerializeToString())
            in_request = sum(
                len(scope.spans)
                for resource in request.resource_spans
                for scope in resource.scope_spans
            )
            assert in_request == batch.size - encoded.left_out
            sent += in_request
    return sent, stats


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bad=hostile_line())
@example(bad=hostile_lines()["start in the year 3170843"])
@example(bad=hostile_lines()["deeply nested JSON"])
@example(bad=hostile_lines()["lone surrogate in the name"])
@example(bad=hostile_lines()["int value beyond 64 bits"])
def test_fuzz_no_hostile_line_crashes_a_command(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join([good_line(1).encode(), bad, good_line(2).encode()]) + b"\n")

    status, stdout, stderr = _run_in_process(["view", str(path), "--limit", "0"])
    assert status in (0, 1), stderr
    assert f"trace {1:032x}" in stdout and f"trace {2:032x}" in stdout
    _check_text(stdout)
    _check_text(stderr)
    if status == 1:
        assert f"of {path}: 2 (" in stderr  # the hostile line, by number

    status, stdout, stderr = _run_in_process(["report", str(path), "--by", "k"])
    assert status in (0, 1), stderr
    _check_text(stdout)
    _check_text(stderr)

    status, stdout, stderr = _run_in_process(["report", str(path), "--by", "k", "--format", "json"])
    json.loads(stdout)

    for protocol in ("http/protobuf", "http/json"):
        sent, stats = _send_pipeline(path, protocol)
        assert sent >= 4, protocol  # both good lines' spans, whatever the hostile one did
        if stats.has_problems:
            assert stats.bad_lines[0].number == 2


def test_the_hostile_corpus_through_sends_encoding(hostile: Path) -> None:
    for protocol in ("http/protobuf", "http/json"):
        sent, stats = _send_pipeline(hostile, protocol)
        assert sent >= 4, protocol  # the good lines' spans at least
        assert stats.has_problems


# 5. Parent links that loop or nest deep ---------------------------------------------


def _looping_span(name: str, span: int, parent: int | None, start: int = 1) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": name,
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": f"{span:016x}",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1),
        "attributes": [{"key": "ragtel.param.k", "value": {"intValue": "1"}}],
    }
    if parent is not None:
        raw["parentSpanId"] = f"{parent:016x}"
    return raw


_LOOPS = {
    # two spans share an id, the second names that id as its parent, on two lines
    "duplicate-id": [[_looping_span("a", 7, None)], [_looping_span("b", 7, 7)]],
    "self-parent": [[_looping_span("a", 7, 7)]],
    "mutual-parents": [[_looping_span("a", 7, 8), _looping_span("b", 8, 7, start=2)]],
    "loop-below-a-root": [
        [_looping_span("r", 1, None), _looping_span("a", 7, 8), _looping_span("b", 8, 7)]
    ],
}


@pytest.mark.integration
@pytest.mark.parametrize("shape", sorted(_LOOPS))
@pytest.mark.parametrize(
    "args", [["view"], ["view", "--name", "b*"], ["view", "--json"], ["report", "--by", "k"]]
)
def test_spans_whose_parents_loop_are_shown_once_without_a_crash(
    tmp_path: Path, shape: str, args: list[str]
) -> None:
    path = tmp_path / f"{shape}.jsonl"
    lines = _LOOPS[shape]
    path.write_text("".join(json.dumps(line_of(*spans)) + "\n" for spans in lines))
    names = [span["name"] for spans in lines for span in spans]
    if args[-1] == "b*" and "b" not in names:
        args = ["view", "--name", "a"]
    status, out, err = run(*args, path, timeout=60)
    assert status == 0, err  # every line is OTLP JSON: nothing skipped
    assert b"Traceback" not in err and b"RecursionError" not in err
    text = out.decode()
    if args[0] == "report":
        status, out, err = run(*args, "--format", "json", path, timeout=60)
        assert status == 0 and json.loads(out)["traces"] == 1  # counted, not dropped
        return
    if "--json" in args:
        shown = [span["name"] for span in json.loads(text)["spans"]]
        assert sorted(shown) == sorted(names)
        return
    tree = [line for line in text.splitlines()[1:] if not line.startswith("  params:")]
    tree_names = [line.strip().lstrip("└├─ ").split()[0] for line in tree]
    assert sorted(tree_names) == sorted(names)  # each span exactly once, none dropped


@pytest.mark.integration
def test_a_chain_of_5000_nested_spans_is_drawn_whole(tmp_path: Path) -> None:
    depth = 5000
    spans = [_looping_span(f"s{n}", n + 1, n or None, start=n + 1) for n in range(depth)]
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(line_of(*spans)) + "\n")
    status, out, err = run("view", path, timeout=120)
    assert status == 0, err[-2000:]
    assert b"Traceback" not in err
    lines = out.decode().splitlines()[2:]  # below the header and params
    assert [line.strip().lstrip("└├─ ").split()[0] for line in lines] == [
        f"s{n}" for n in range(depth)
    ]
    assert lines[-1].startswith("  " + "   " * (depth - 2) + "└─ s4999")
    status, out, err = run("view", "--json", path, timeout=120)
    assert status == 0 and len(json.loads(out)["spans"]) == depth
    status, out, err = run("report", "--by", "k", path, timeout=120)
    assert status == 0, err[-2000:]
