"""``store_trace_id`` / ``read_trace_id``: the key -> trace map shared by a machine's processes."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
import ragtel
from fuzz_arguments import maybe_in_span, otel_text
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported
from ragtel._context import trace_id_store
from ragtel.testing import SpanRecorder


@pytest.fixture
def ids_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ids.sqlite"
    monkeypatch.setenv("RAGTEL_TRACE_IDS_FILE", str(path))
    return path


def test_the_current_spans_ids_are_stored_and_read_back_in_lastmiles_form(
    ragtel_spans: SpanRecorder, ids_file: Path
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as span:
        tracer.store_trace_id("message-1")
    stored = tracer.read_trace_id("message-1")
    assert stored == str(span.get_span_context().trace_id)  # decimal, as LastMile's
    assert ragtel.read_trace_id("message-1") == stored  # the module-level map is the same file
    assert ids_file.exists()


def test_feedback_sent_to_the_read_trace_id_reaches_that_trace(
    ragtel_spans: SpanRecorder, ids_file: Path
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as span:
        ragtel.store_trace_id("message-2")
    tracer.log_binary_feedback(True, tracer.read_trace_id("message-2"))
    feedback = ragtel_spans.by_name("ragtel.feedback")
    assert feedback.context is not None
    assert feedback.context.trace_id == span.get_span_context().trace_id


def test_given_ids_in_any_form_are_stored_and_a_key_stored_again_takes_the_new_ids(
    ids_file: Path,
) -> None:
    ragtel.store_trace_id("k", "0x" + "ab" * 16, "00f067aa0ba902b7")
    assert ragtel.read_trace_id("k") == str(int("ab" * 16, 16))
    ragtel.store_trace_id("k", "12345")
    assert ragtel.read_trace_id("k") == "12345"
    assert trace_id_store.read_from(str(ids_file), "k") == "12345"


def test_an_unknown_key_reads_none_and_a_missing_trace_stores_nothing(
    ids_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert ragtel.read_trace_id("never stored") is None
    ragtel.store_trace_id("no span")  # no current span: nothing to store
    assert ragtel.read_trace_id("no span") is None
    assert "no current span" in caplog.text


def test_bad_keys_and_ids_raise_as_documented(ids_file: Path) -> None:
    with pytest.raises(TypeError, match="key"):
        ragtel.store_trace_id("", 1)
    with pytest.raises(TypeError, match="key"):
        ragtel.read_trace_id(7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trace_id"):
        ragtel.store_trace_id("k", "not an id")


def test_the_default_file_is_beside_the_traces_file(tmp_path: Path) -> None:
    traces = tmp_path / "run.jsonl"
    tracer = ragtel.get_lastmile_tracer("ids-beside-file", output_filepath=str(traces))
    try:
        tracer.store_trace_id("k", 99)
        assert (tmp_path / "run.jsonl.ids.sqlite").exists()
        assert tracer.read_trace_id("k") == "99"
    finally:
        tracer.shutdown()
    assert trace_id_store.store_path() == "ragtel-traces.jsonl.ids.sqlite"


def test_another_process_reads_what_this_one_stored(ids_file: Path) -> None:
    ragtel.store_trace_id("shared", 4242)
    reader = "import ragtel; print(ragtel.read_trace_id('shared'))"
    result = subprocess.run(
        [sys.executable, "-c", reader], capture_output=True, text=True, check=True, env=os.environ
    )
    assert result.stdout.strip() == "4242"


def test_concurrent_processes_all_store(ids_file: Path) -> None:
    writer = (
        "import sys, ragtel\n"
        "for n in range(40): ragtel.store_trace_id(f'{sys.argv[1]}-{n}', n + 1)\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", writer, str(worker)], env=os.environ)
        for worker in range(4)
    ]
    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0, 0]
    with sqlite3.connect(ids_file) as connection:
        assert connection.execute("SELECT count(*) FROM trace_ids").fetchone()[0] == 160
    assert ragtel.read_trace_id("3-39") == "40"


def test_the_map_is_capped_and_drops_the_oldest_with_one_warning(
    ids_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(trace_id_store, "MAX_KEYS", 5)
    for n in range(12):
        ragtel.store_trace_id(f"k{n}", n + 1)
    assert ragtel.read_trace_id("k0") is None
    assert [ragtel.read_trace_id(f"k{n}") for n in range(7, 12)] == ["8", "9", "10", "11", "12"]
    assert caplog.text.count("keeps at most 5 keys") == 1


@pytest.mark.parametrize("kind", ["text", "foreign sqlite", "symlink"])
def test_a_file_ragtel_did_not_write_is_left_as_it_was(
    tmp_path: Path, ids_file: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    if kind == "text":
        ids_file.write_text("someone's notes\n")
    elif kind == "foreign sqlite":
        with sqlite3.connect(ids_file) as connection:
            connection.execute("CREATE TABLE mine (x)")
        connection.close()
    else:
        target = tmp_path / "elsewhere.sqlite"
        target.write_bytes(b"")
        ids_file.symlink_to(target)
    before = ids_file.read_bytes()
    caplog.set_level(logging.WARNING, logger="ragtel")
    ragtel.store_trace_id("k", 1)  # never raises into the app
    assert ragtel.read_trace_id("k") is None
    assert ids_file.read_bytes() == before
    assert "is not used" in caplog.text
    if kind == "symlink":
        assert (tmp_path / "elsewhere.sqlite").read_bytes() == b""


def test_the_route_for_several_machines_is_the_request_id(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer", context=ragtel.context_from_request_id("req-9")):
        pass
    tracer.log_binary_feedback(True, ragtel.trace_id_from_request_id("req-9"))
    answer, feedback = ragtel_spans.by_name("answer"), ragtel_spans.by_name("ragtel.feedback")
    assert feedback.context.trace_id == answer.context.trace_id


@fuzz_settings(0.2)
@given(data=st.data())
def test_store_and_read_trace_id(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        # A valid key is non-empty UTF-8 text; a lone surrogate is a documented ValueError,
        # which the wild draws (fuzz_contract: key=BOTH) exercise.
        key = arguments.draw("key", otel_text.filter(bool))
        trace_id = arguments.draw("trace_id", st.one_of(st.none(), fs.trace_ids))
        span_id = arguments.draw("span_id", st.one_of(st.none(), fs.span_ids))
        for store, read in (
            (tracer.store_trace_id, tracer.read_trace_id),
            (ragtel.store_trace_id, ragtel.read_trace_id),
        ):
            call("trace_id_store", arguments, lambda store=store: store(key, trace_id, span_id))
            call("trace_id_store", arguments, lambda read=read: read(key))
