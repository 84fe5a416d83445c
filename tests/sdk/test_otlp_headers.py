"""OTLP headers and the API token: cleaned or refused at set-up, never in a log line.

A token read from a mounted secret file ends in a newline. Sent as it is,
requests refused it in an error quoting the header value (the token, in
clear), logged at ERROR on every export, and every batch was lost. The runs
here are real processes at DEBUG logging, exporting to the real receiver and
to an endpoint where nothing listens; everything they print is searched for
the canary.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from otlp_receiver import OTLPReceiver
from ragtel import get_lastmile_tracer

APP = textwrap.dedent(
    """
    import logging, sys
    from ragtel import get_lastmile_tracer

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    token_file, http_endpoint, grpc_endpoint = sys.argv[1:4]
    with open(token_file) as handle:
        token = handle.read()  # as a mounted secret holds it: with a trailing newline

    tracers = [
        get_lastmile_tracer(
            "file-token-" + protocol, token, otlp_endpoint=endpoint, otlp_protocol=protocol,
            set_global=False,
        )
        for protocol, endpoint in (("http/protobuf", http_endpoint), ("grpc", grpc_endpoint))
    ]
    # The token from the environment (a trailing newline too), and collectors that are down.
    tracers += [
        get_lastmile_tracer(
            "dead-" + protocol, otlp_endpoint="http://127.0.0.1:9", otlp_protocol=protocol,
            otlp_timeout=1, set_global=False,
        )
        for protocol in ("http/protobuf", "grpc")
    ]
    # Credentials in a dead endpoint's URL: a password, a query token.
    tracers += [
        get_lastmile_tracer(
            "dead-url-" + protocol,
            otlp_endpoint=f"http://user:{token.strip()}@127.0.0.1:9/?key={token.strip()}",
            otlp_protocol=protocol, otlp_timeout=1, set_global=False,
        )
        for protocol in ("http/protobuf", "grpc")
    ]
    for tracer in tracers:
        with tracer.start_as_current_span("request"):
            pass
        tracer.force_flush(5_000)
    # Whatever a library logs, a header value never shows.
    for name in (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.grpc.exporter",
        "urllib3.connectionpool",
        "ragtel",
    ):
        logging.getLogger(name).error("logged %s and %r", token.strip(), {"h": token})
    try:
        raise RuntimeError("Bearer " + token.strip())
    except RuntimeError:
        logging.getLogger("opentelemetry.sdk.trace.export").exception("export failed")
    print("done")
    """
)


def test_a_token_with_a_trailing_newline_is_sent_stripped_and_never_logged(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    token = f"sk-canary-{uuid.uuid4().hex}"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LASTMILE_"))}
    env["LASTMILE_API_TOKEN"] = token + "\n"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            APP,
            str(token_file),
            receiver.http_endpoint,
            receiver.grpc_endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "done"

    received = receiver.wait_for_spans(2)
    assert {span["transport"] for span in received} == {"http", "grpc"}
    assert {span["headers"].get("authorization") for span in received} == {f"Bearer {token}"}
    # The failures were logged (at DEBUG and ERROR), without the token.
    assert "Failed to export" in run.stderr
    assert run.stderr.count("[REDACTED]") >= 6
    assert token not in run.stdout + run.stderr


def test_a_line_break_inside_an_argument_is_refused_naming_the_header_not_its_value() -> None:
    secret = f"canary{uuid.uuid4().hex}"
    with pytest.raises(ValueError, match="'x-tenant-key'") as refused:
        get_lastmile_tracer(
            "crlf-header",
            otlp_endpoint="http://127.0.0.1:9",
            otlp_headers={"X-Tenant-Key": f"{secret}\r\nx-injected: 1"},
            set_global=False,
        )
    assert secret not in str(refused.value)
    with pytest.raises(ValueError, match="lastmile_api_token") as refused:
        get_lastmile_tracer(
            "crlf-token", f"{secret}\nmore", otlp_endpoint="http://127.0.0.1:9", set_global=False
        )
    assert secret not in str(refused.value)
    with pytest.raises(ValueError, match="header name") as refused:
        get_lastmile_tracer(
            "bad-name",
            otlp_endpoint="http://127.0.0.1:9",
            otlp_headers={secret + " x": "v"},
            set_global=False,
        )
    assert secret not in str(refused.value)


def test_surrounding_whitespace_of_argument_values_is_stripped(receiver: OTLPReceiver) -> None:
    tracer = get_lastmile_tracer(
        "strip-arguments",
        " tok-argument\n",
        otlp_endpoint=receiver.http_endpoint,
        otlp_headers={"x-tenant": "acme-tenant\r\n"},
        set_global=False,
    )
    with tracer.start_as_current_span("request"):
        pass
    assert tracer.force_flush(5_000)
    (span,) = receiver.wait_for_spans(1)
    assert span["headers"]["authorization"] == "Bearer tok-argument"
    assert span["headers"]["x-tenant"] == "acme-tenant"


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_environment_header_with_a_line_break_is_left_out_with_one_warning(
    receiver: OTLPReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
) -> None:
    secret = f"canary{uuid.uuid4().hex}"
    bad = f"x-bad-{protocol[:4]}"  # warned once per process: a name of its own per run
    # URL-encoded, as the specification has header values: the parser decodes the CR/LF.
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_HEADERS", f"x-good=fine-value,{bad}={secret}%0D%0Ax-injected:%201"
    )
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    with caplog.at_level(logging.DEBUG):
        for index in range(2):
            tracer = get_lastmile_tracer(
                f"env-crlf-{protocol}-{index}",
                otlp_endpoint=endpoint,
                otlp_protocol=protocol,
                set_global=False,
            )
            with tracer.start_as_current_span("request"):
                pass
            assert tracer.force_flush(5_000)
            assert tracer.dropped_span_count() == 0

    spans = receiver.wait_for_spans(2)
    for span in spans:
        assert span["headers"]["x-good"] == "fine-value"
        assert bad not in span["headers"] and "x-injected" not in span["headers"]
    assert caplog.text.count(f"ignoring header '{bad}' of OTEL_EXPORTER_OTLP_HEADERS") == 1
    assert secret not in caplog.text


def test_a_bad_token_in_the_environment_is_ignored_with_a_warning(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"canary{uuid.uuid4().hex}"
    monkeypatch.setenv("LASTMILE_API_TOKEN", f"{secret}\r\nx-injected: 1")
    tracer = get_lastmile_tracer(
        "env-bad-token", otlp_endpoint=receiver.http_endpoint, set_global=False
    )
    with tracer.start_as_current_span("request"):
        pass
    assert tracer.force_flush(5_000)
    (span,) = receiver.wait_for_spans(1)
    assert "authorization" not in span["headers"]
    assert "ignoring LASTMILE_API_TOKEN" in caplog.text
    assert secret not in caplog.text + json.dumps(span)
