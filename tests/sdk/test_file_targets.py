"""The JSON Lines file: never a file ragtel did not write, and the configured path followed.

* A path holding something else (a binary file, a link to one, a text file,
  a directory, a FIFO) is refused, with a ValueError from
  ``get_lastmile_tracer(output_filepath=...)``, or, for a path from the
  environment, with one error and the spans counted as dropped; the file is
  left byte for byte as it was. The torn-tail repair still runs on ragtel's
  own files.
* A traces or logs file deleted or renamed (rotated) while the app runs is
  opened again at the configured path: later spans land there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from ragtel import get_lastmile_tracer
from ragtel._config import DropCounts
from ragtel._tracer import tracer_core


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def span_names(path: Path) -> list[str]:
    return [
        span["name"]
        for line in path.read_text().splitlines()
        for resource_spans in json.loads(line)["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


def binary_file(path: Path) -> Path:
    path.write_bytes(os.urandom(1 << 20).replace(b"\n", b"\0"))  # 1 MiB, no line break
    return path


def text_file(path: Path) -> Path:
    path.write_text("name,value\nalpha,1\nbeta,2")  # no newline at the end: a "torn tail"
    return path


def symlink_to_binary(path: Path) -> Path:
    path.symlink_to(binary_file(path.with_name("data.db")))
    return path


def dangling_symlink(path: Path) -> Path:
    path.symlink_to(path.with_name("not-yet-there.jsonl"))
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (binary_file, "not an OTLP JSON Lines file"),
        (text_file, "not an OTLP JSON Lines file"),
        (symlink_to_binary, "symbolic link"),
        (dangling_symlink, "symbolic link"),
    ],
)
def test_output_filepath_that_is_not_ragtel_s_is_refused_and_left_unchanged(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path / "traces.jsonl")  # type: ignore[operator]
    before = {p.name: digest(p) for p in tmp_path.iterdir() if p.exists()}
    listing = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match=f"output_filepath: .*{reason}"):
        get_lastmile_tracer("foreign", output_filepath=path, set_global=False)
    assert {p.name: digest(p) for p in tmp_path.iterdir() if p.exists()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # nothing created


def test_a_directory_or_a_fifo_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "dir.jsonl"
    directory.mkdir()
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    for path in (directory, fifo):
        with pytest.raises(ValueError, match="not a regular file"):
            get_lastmile_tracer(f"not-regular-{path.name}", output_filepath=path, set_global=False)


def test_a_file_from_the_environment_is_refused_at_export_without_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = binary_file(tmp_path / "data.db")
    before = digest(path)
    monkeypatch.setenv("RAGTEL_TRACES_FILE", str(path))
    provider = TracerProvider()
    tracer = get_lastmile_tracer("env-foreign", tracer_provider=provider, exporter="file")
    for batch in range(3):
        with tracer.start_as_current_span(f"lost-{batch}"):
            pass
        tracer.force_flush(5_000)
    assert digest(path) == before
    assert tracer_core(tracer).installation is not None
    assert tracer_core(tracer).installation.drop_counts() == DropCounts(export_failed=3)
    assert caplog.text.count("not an OTLP JSON Lines file of traces") == 1
    provider.shutdown()


def test_a_file_swapped_for_a_foreign_one_after_set_up_is_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider()
    tracer = get_lastmile_tracer("swapped", tracer_provider=provider, output_filepath=path)
    binary_file(path)  # before the first export opens it
    before = digest(path)
    with tracer.start_as_current_span("lost"):
        pass
    tracer.force_flush(5_000)
    assert digest(path) == before
    provider.shutdown()


def test_ragtel_s_own_file_with_a_torn_tail_is_still_repaired(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider()
    tracer = get_lastmile_tracer("torn", tracer_provider=provider, output_filepath=path)
    with tracer.start_as_current_span("first"):
        pass
    tracer.force_flush(5_000)
    provider.shutdown()
    with path.open("ab") as torn:
        torn.write(b'{"resourceSpans":[{"scopeSpans":')  # a writer killed mid-line

    provider = TracerProvider()
    tracer = get_lastmile_tracer("torn-again", tracer_provider=provider, output_filepath=path)
    with tracer.start_as_current_span("second"):
        pass
    tracer.force_flush(5_000)
    provider.shutdown()
    assert span_names(path) == ["first", "second"]


def test_an_empty_file_and_a_file_cut_inside_its_first_line_are_ragtel_s(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.na')
    for path in (empty, cut):
        provider = TracerProvider()
        tracer = get_lastmile_tracer(
            f"own-{path.name}", tracer_provider=provider, output_filepath=path
        )
        with tracer.start_as_current_span("kept"):
            pass
        tracer.force_flush(5_000)
        provider.shutdown()
        assert span_names(path) == ["kept"]


# Deleted and rotated files ------------------------------------------------------


def test_spans_after_the_file_is_deleted_go_to_a_new_file_at_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider()
    tracer = get_lastmile_tracer("deleted", tracer_provider=provider, output_filepath=path)
    with tracer.start_as_current_span("before"):
        pass
    tracer.force_flush(5_000)
    path.unlink()
    for name in ("after-1", "after-2"):
        with tracer.start_as_current_span(name):
            pass
        tracer.force_flush(5_000)
    provider.shutdown()
    assert span_names(path) == ["after-1", "after-2"]
    assert caplog.text.count("was deleted; writing traces to a new file at that path") == 1


def test_spans_after_the_file_is_rotated_go_to_a_new_file_at_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider()
    tracer = get_lastmile_tracer("rotated", tracer_provider=provider, output_filepath=path)
    with caplog.at_level(logging.INFO, logger="ragtel"):
        with tracer.start_as_current_span("before"):
            pass
        tracer.force_flush(5_000)
        rotated = path.rename(tmp_path / "traces.jsonl.1")
        for name in ("after-1", "after-2"):
            with tracer.start_as_current_span(name):
                pass
            tracer.force_flush(5_000)
    provider.shutdown()
    assert span_names(rotated) == ["before"]
    assert span_names(path) == ["after-1", "after-2"]
    assert caplog.text.count("was renamed (rotated); writing traces to a new file") == 1


def test_the_logs_file_is_reopened_after_rotation_too(tmp_path: Path) -> None:
    path = tmp_path / "ragtel-traces.jsonl"
    logs = tmp_path / "ragtel-logs.jsonl"
    provider = TracerProvider()
    tracer = get_lastmile_tracer("rotated-logs", tracer_provider=provider, output_filepath=path)
    with tracer.start_as_current_span("request"):
        tracer.log("before")
    tracer.force_flush(5_000)
    rotated = logs.rename(tmp_path / "ragtel-logs.jsonl.1")
    with tracer.start_as_current_span("request"):
        tracer.log("after")
    tracer.force_flush(5_000)
    provider.shutdown()

    def bodies(file: Path) -> list[str]:
        return [
            record["body"]["stringValue"]
            for line in file.read_text().splitlines()
            for resource_logs in json.loads(line)["resourceLogs"]
            for scope_logs in resource_logs["scopeLogs"]
            for record in scope_logs["logRecords"]
        ]

    assert bodies(rotated) == ["'before'"]
    assert bodies(logs) == ["'after'"]


def test_a_path_the_system_refuses_at_set_up_is_a_value_error_naming_it(tmp_path: Path) -> None:
    parent_file = tmp_path / "not-a-dir"
    parent_file.write_text("")
    paths = {
        parent_file / "traces.jsonl": "Not a directory",
        tmp_path / ("x" * 300 + ".jsonl"): "too long",
        tmp_path / "nul\x00byte.jsonl": "null byte",
    }
    for path, reason in paths.items():
        with pytest.raises(ValueError, match=f"output_filepath: .*{reason}") as raised:
            get_lastmile_tracer(f"refused-{len(str(path))}", output_filepath=path, set_global=False)
        assert repr(str(path)) in str(raised.value)
