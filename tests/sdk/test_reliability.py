"""Reliability under load and at exit, against the real OTLP test receiver.

Each scenario runs the application in a process of its own, as an app would
run, and checks what reached the receiver and the JSON Lines file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from otlp_receiver import OTLPReceiver
from ragtel import get_lastmile_tracer

BURST_APP = textwrap.dedent(
    """
    import json, pathlib, re, sys
    from ragtel import get_lastmile_tracer

    endpoint, path, count, protocol = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tracer = get_lastmile_tracer(
        "burst", otlp_endpoint=endpoint, otlp_protocol=protocol, output_filepath=path
    )
    with tracer.start_as_current_span("request"):
        for i in range(count):  # as fast as Python starts spans: a burst
            with tracer.start_as_current_span("step") as span:
                span.set_attribute("app.index", i)
    print(json.dumps({
        "dropped_before_exit": tracer.dropped_span_count(),
        # VmHWM, not ru_maxrss: the latter keeps the peak of the forked parent
        # (the test runner) from before exec.
        "max_rss_kb": int(re.search(
            r"VmHWM:\\s+(\\d+)", pathlib.Path("/proc/self/status").read_text()
        )[1]),
    }))
    # No flush, no shutdown: a normal exit must deliver everything.
    """
)


def run_app(script: str, *args: str, timeout: float = 180) -> dict[str, int]:
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, int] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


def spans_in_file(path: Path) -> list[dict[str, object]]:
    spans = []
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                spans.extend(scope_spans["spans"])
    return spans


def test_a_burst_of_20000_spans_is_delivered_whole_by_the_defaults(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    # The SDK's own default queue (2,048 spans) drops a large share of such a
    # burst; ragtel's default queue holds it, and a normal exit flushes it.
    count = 20_000
    path = tmp_path / "burst.jsonl"
    report = run_app(BURST_APP, receiver.http_endpoint, str(path), str(count), "http/protobuf")

    assert report["dropped_before_exit"] == 0
    in_file = spans_in_file(path)
    assert len(in_file) == count + 1
    assert len({span["spanId"] for span in in_file}) == count + 1
    received = receiver.wait_for_spans(count + 1, timeout=60)
    assert len({span["span_id"] for span in received}) == count + 1
    indexes = {span["attributes"].get("app.index") for span in received} - {None}
    assert indexes == set(range(count))
    # Bounded memory: the whole process, queue included, stays small.
    assert report["max_rss_kb"] < 300_000, report
    print(f"\n20,000-span burst: peak RSS {report['max_rss_kb'] / 1024:.0f} MB, 0 dropped")


def test_a_normal_exit_after_10000_spans_leaves_all_of_them_in_the_file_and_the_receiver(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    count = 10_000
    path = tmp_path / "exit.jsonl"
    run_app(BURST_APP, receiver.grpc_endpoint, str(path), str(count), "grpc")
    assert len(spans_in_file(path)) == count + 1
    assert len({s["span_id"] for s in receiver.wait_for_spans(count + 1, timeout=60)}) == count + 1


@pytest.mark.node  # starts receivers of its own, outside the receiver fixture
def test_spans_after_the_receiver_restarts_arrive_and_the_app_never_waits(
    tmp_path: Path,
) -> None:
    first = OTLPReceiver().start()
    port = first.http_port
    tracer = get_lastmile_tracer(
        "restart",
        otlp_endpoint=first.http_endpoint,
        otlp_timeout=1,
        set_global=False,
    )
    second: OTLPReceiver | None = None
    try:
        with tracer.start_as_current_span("before"):
            pass
        assert tracer.force_flush(5_000)
        assert [s["name"] for s in first.wait_for_spans(1)] == ["before"]

        first.stop()  # the collector goes away mid-run
        slowest = 0.0
        for _ in range(50):
            started = time.monotonic()
            with tracer.start_as_current_span("while-down"):
                pass
            slowest = max(slowest, time.monotonic() - started)
        started = time.monotonic()
        tracer.force_flush(500)  # may fail: the receiver is down
        flush_seconds = time.monotonic() - started

        second = OTLPReceiver(http_port=port).start()  # back, on the same port
        with tracer.start_as_current_span("after"):
            pass
        assert tracer.force_flush(10_000)
        # Spans queued while it was down may arrive first, in their own request;
        # the receiver reports requests a moment after answering them.
        deadline = time.monotonic() + 10
        while "after" not in (names := [s["name"] for s in second.spans()]):
            assert time.monotonic() < deadline, names
            time.sleep(0.05)
        # Never blocked on the dead collector: span calls stay fast, flush keeps its timeout.
        assert slowest < 0.5, slowest
        assert flush_seconds < 1.5, flush_seconds
        print(
            f"\nreceiver restart: slowest span {slowest * 1e3:.1f} ms while down, "
            f"flush(500 ms) took {flush_seconds:.2f} s, "
            f"{names.count('while-down')} of 50 made while down delivered after the restart, "
            f"{tracer.dropped_span_count()} dropped"
        )
    finally:
        tracer.shutdown()
        first.stop()
        if second is not None:
            second.stop()


SIGTERM_APP = textwrap.dedent(
    """
    import os, signal, sys, time
    from ragtel import get_lastmile_tracer

    endpoint, path, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == "app-handler":
        def app_handler(signum, frame):
            print("app handler", signum, flush=True)
            os._exit(7)  # no atexit: only a flush made before this handler saves the spans
        signal.signal(signal.SIGTERM, app_handler)
    elif mode == "ignored":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tracer = get_lastmile_tracer("sigterm", otlp_endpoint=endpoint, output_filepath=path)
    for i in range(count):
        with tracer.start_as_current_span("work") as span:
            span.set_attribute("app.index", i)
    print("ready", flush=True)
    time.sleep(60)
    print("not stopped", flush=True)
    """
)


def run_until_sigterm(
    receiver: OTLPReceiver, path: Path, mode: str, *, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Start the app, send SIGTERM once its spans are queued; its exit status and output."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    # A minute between scheduled exports: only a flush on SIGTERM can deliver the spans.
    environment.update(OTEL_BSP_SCHEDULE_DELAY="60000", **(env or {}))
    app = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_APP, receiver.http_endpoint, str(path), "500", mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "ready"
        app.send_signal(signal.SIGTERM)
        stdout, stderr = app.communicate(timeout=30)
    finally:
        app.kill()
    assert "Traceback" not in stderr, stderr
    return app.returncode, stdout


def test_sigterm_flushes_then_ends_the_process_as_the_default_action_would(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "sigterm.jsonl"
    returncode, _ = run_until_sigterm(receiver, path, "default")

    assert returncode == -signal.SIGTERM  # still killed by the signal, as without ragtel
    assert len(spans_in_file(path)) == 500
    assert len(receiver.wait_for_spans(500, timeout=20)) == 500


def test_sigterm_flushes_before_calling_the_apps_own_handler(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "sigterm.jsonl"
    returncode, stdout = run_until_sigterm(receiver, path, "app-handler")

    assert returncode == 7
    assert stdout.splitlines()[-1] == f"app handler {int(signal.SIGTERM)}"
    assert len(spans_in_file(path)) == 500
    assert len(receiver.wait_for_spans(500, timeout=20)) == 500


def test_sigterm_is_left_alone_when_ignored_or_disabled(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    # Disabled: the default action ends the process with its spans still queued.
    path = tmp_path / "disabled.jsonl"
    returncode, _ = run_until_sigterm(
        receiver, path, "default", env={"RAGTEL_FLUSH_ON_SIGTERM": "false"}
    )
    assert returncode == -signal.SIGTERM
    assert not path.exists() or spans_in_file(path) == []

    # Ignored by the app: ragtel keeps it ignored, and the app goes on running.
    app = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_APP, receiver.http_endpoint, str(path), "1", "ignored"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "ready"
        app.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            app.wait(timeout=1)
    finally:
        app.kill()
        app.wait()
