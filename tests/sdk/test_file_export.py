"""OTLP JSON Lines: parses into TracesData, round-trips, whole lines only, owner-only file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from ragtel import get_lastmile_tracer
from ragtel._sdk.jsonl_file import OtlpJsonLinesExporter
from ragtel._sdk.otlp_json import encode_spans_line, message_fields


def decode_traces_line(line: str) -> TracesData:
    """One line read as ``ragtel send`` reads it (``message_fields``), as a TracesData."""
    data = json.loads(line)
    return TracesData(**message_fields(data, TracesData.DESCRIPTOR))


def write_sample(path: Path) -> list:  # type: ignore[type-arg]
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = get_lastmile_tracer("file", tracer_provider=provider, output_filepath=path)
    with tracer.start_as_current_span(
        "root", kind=SpanKind.SERVER, attributes={"s": "x", "i": 7, "f": 0.5, "b": True}
    ) as root:
        root.add_event("step", {"tags": ["a", "b"], "n": [1, 2]})
        with tracer.start_as_current_span("child") as child:
            child.set_status(Status(StatusCode.ERROR, "nope"))
        link_target = tracer.start_span("linked")
        link_target.end()
    tracer.start_span(
        "with-link", links=[__import__("opentelemetry").trace.Link(link_target.get_span_context())]
    ).end()
    tracer.force_flush()
    return list(memory.get_finished_spans())


def test_each_line_parses_into_traces_data_with_matching_ids(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    spans = write_sample(path)
    by_name = {span.name: span for span in spans}
    seen = {}
    for line in path.read_text().splitlines():
        message = decode_traces_line(line)
        assert isinstance(message, TracesData)
        for resource_spans in message.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                assert scope_spans.scope.name == "file"
                for span in scope_spans.spans:
                    seen[span.name] = span
    assert set(seen) == set(by_name)
    for name, exported in seen.items():
        original = by_name[name]
        assert exported.trace_id == original.context.trace_id.to_bytes(16, "big")
        assert exported.span_id == original.context.span_id.to_bytes(8, "big")
        if original.parent is not None:
            assert exported.parent_span_id == original.parent.span_id.to_bytes(8, "big")
    assert (
        seen["child"].status.code == StatusCode.ERROR.value
        and seen["child"].status.message == "nope"
    )
    assert seen["with-link"].links[0].span_id == by_name["linked"].context.span_id.to_bytes(
        8, "big"
    )
    root_attributes = {kv.key: kv.value for kv in seen["root"].attributes}
    assert root_attributes["i"].int_value == 7 and root_attributes["b"].bool_value is True
    assert [kv.key for kv in seen["root"].events[0].attributes] == ["tags", "n"]


def test_lines_are_otlp_json_with_hex_ids_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    spans = write_sample(path)
    lines = path.read_text().splitlines()
    raw = json.loads(lines[0])
    first_span = raw["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert first_span["traceId"] == format(spans[0].context.trace_id, "032x")
    assert isinstance(first_span["kind"], int)
    # Round trip: OTLP JSON -> TracesData -> OTLP JSON gives back the same document.
    for line in lines:
        message = decode_traces_line(line)
        again = json_format.MessageToDict(message, use_integers_for_enums=True)
        reencoded = json.loads(line)
        from ragtel._sdk.otlp_json import _base64_to_hex, _convert_ids

        _convert_ids(again, _base64_to_hex)
        assert again == reencoded


def test_file_is_created_owner_only_and_appended(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "traces.jsonl"
    exporter = OtlpJsonLinesExporter(path)
    spans = write_sample(tmp_path / "other.jsonl")
    exporter.export(spans[:1])
    exporter.export(spans[1:])
    exporter.shutdown()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert len(path.read_text().splitlines()) == 2


def test_a_torn_last_line_is_cut_when_the_file_is_opened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.jsonl"
    spans = write_sample(tmp_path / "other.jsonl")
    first = OtlpJsonLinesExporter(path)
    first.export(spans)
    first.shutdown()
    whole = path.read_bytes()
    tail = b'{"resourceSpans": [{"scopeSpans": '  # a writer killed mid-line
    with path.open("ab") as torn:
        torn.write(tail)
    exporter = OtlpJsonLinesExporter(path)
    exporter.export(spans)
    exporter.shutdown()
    lines = path.read_text().splitlines()
    assert path.read_bytes().startswith(whole)
    assert len(lines) == 2
    for line in lines:
        decode_traces_line(line)
    assert f"removed an unfinished last line ({len(tail)} bytes)" in caplog.text


@pytest.mark.integration
def test_kill_9_mid_write_leaves_only_whole_lines_after_reopening(tmp_path: Path) -> None:
    import signal
    import time

    path = tmp_path / "traces.jsonl"
    script = f"""
from opentelemetry.sdk.trace import TracerProvider
from ragtel._sdk.jsonl_file import OtlpJsonLinesExporter
tracer = TracerProvider().get_tracer("t")
spans = []
for i in range(2000):
    span = tracer.start_span("s", attributes={{"blob": "x" * 4000}})
    span.end()
    spans.append(span)
exporter = OtlpJsonLinesExporter({str(path)!r})
print("ready", flush=True)
while True:
    exporter.export(spans)
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    exporter = OtlpJsonLinesExporter(path)
    exporter.export(write_sample(tmp_path / "other.jsonl"))
    exporter.shutdown()
    lines = path.read_text().splitlines()
    assert len(lines) >= 2
    for line in lines:
        decode_traces_line(line)


def test_concurrent_exports_write_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    spans = write_sample(tmp_path / "other.jsonl")
    exporter = OtlpJsonLinesExporter(path)

    def hammer() -> None:
        for _ in range(50):
            exporter.export(spans)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exporter.shutdown()
    lines = path.read_text().splitlines()
    assert len(lines) == 400
    for line in lines:
        decode_traces_line(line)


@pytest.mark.integration
def test_a_write_cut_short_leaves_no_partial_line(tmp_path: Path) -> None:
    # A real short write: the file-size rlimit stops the write mid-line, like a full disk.
    path = tmp_path / "traces.jsonl"
    script = f"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from opentelemetry.sdk.trace import TracerProvider
from ragtel._sdk.jsonl_file import OtlpJsonLinesExporter
from opentelemetry.sdk.trace.export import SpanExportResult
provider = TracerProvider()
tracer = provider.get_tracer("t")
spans = []
for i in range(20):
    span = tracer.start_span("s" * 200)
    span.end()
    spans.append(span)
exporter = OtlpJsonLinesExporter({str(path)!r})
resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))
results = [exporter.export(spans[:5]) for _ in range(10)]
print(results.count(SpanExportResult.SUCCESS), results.count(SpanExportResult.FAILURE))
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    successes, failures = map(int, completed.stdout.split())
    assert successes >= 1 and failures >= 1
    text = path.read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == successes
    for line in lines:
        decode_traces_line(line)
    assert "could not write traces" in completed.stderr


def test_encode_and_decode_reject_what_is_not_otlp() -> None:
    import pytest

    for bad in (
        '["list"]',
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        '{"resourceSpans": 5}',
    ):
        with pytest.raises(ValueError):
            decode_traces_line(bad)
    assert encode_spans_line([]) in ("{}", '{"resourceSpans":[]}')


@pytest.mark.integration
def test_spans_are_flushed_at_exit_without_an_explicit_flush(tmp_path: Path) -> None:
    script = """
import ragtel
tracer = ragtel.get_lastmile_tracer("exit")
for i in range(3000):
    with tracer.start_as_current_span(f"s{i}"):
        pass
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    names = set()
    for line in (tmp_path / "ragtel-traces.jsonl").read_text().splitlines():
        for resource_spans in decode_traces_line(line).resource_spans:
            for scope_spans in resource_spans.scope_spans:
                names.update(span.name for span in scope_spans.spans)
    assert names == {f"s{i}" for i in range(3000)}


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB filesystem (tmpfs), so writes meet a real ENOSPC."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"needs permission to mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_drops_and_counts_whole_batches_then_recovers(
    tiny_filesystem: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tiny_filesystem / "traces.jsonl"
    filler = tiny_filesystem / "filler"
    filler.write_bytes(b"x" * 40_000)  # leaves room for a few batches only
    tracer = get_lastmile_tracer("full-disk", output_filepath=path, set_global=False)

    def batch(label: str) -> bool:
        for _ in range(5):
            with tracer.start_as_current_span(label) as span:
                span.set_attribute("app.payload", "p" * 1_000)
        return tracer.force_flush(5_000)

    results = [batch("before") for _ in range(10)]  # the disk fills up on the way
    assert all(results)  # the flush completes: a failed write is a dropped batch, not a hang
    dropped = tracer.dropped_span_count()
    assert dropped > 0 and dropped % 5 == 0, dropped  # whole batches, counted
    assert "No space left on device" in caplog.text
    written = [json.loads(line) for line in path.read_text().splitlines()]  # whole lines only
    assert len(written) * 5 + dropped == 50
    print(f"\nfull disk: {len(written)} batches written, {dropped} spans dropped and counted")

    filler.unlink()  # space again: later spans are written
    batch("after")
    names = [
        span["name"]
        for line in path.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    assert names.count("after") == 5
    assert tracer.dropped_span_count() == dropped
    tracer.shutdown()
