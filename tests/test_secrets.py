"""No secret leaves the process except in the header it is meant for.

A real app run, in a process of its own, is given unique canary secrets: the
API token, OTLP header values from the environment and from arguments, and
credentials in captured arguments, nested dicts, URLs, log() data and feedback
metadata. It exports over OTLP/HTTP and OTLP/gRPC to the real receiver and to
files, logs everything at DEBUG, and hits error paths on the way. Then every
byte the run wrote is searched: its stdout and stderr, every file it created,
and every span and log record the receiver got.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from otlp_receiver import OTLPReceiver

APP = textwrap.dedent(
    """
    import json, logging, sys
    from ragtel import get_lastmile_tracer

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    secrets = json.loads(sys.argv[1])
    http_endpoint, grpc_endpoint, directory = sys.argv[2], sys.argv[3], sys.argv[4]

    http = get_lastmile_tracer(
        "secrets-http",
        secrets["token"],
        otlp_endpoint=http_endpoint,
        otlp_protocol="http/protobuf",
        output_filepath=f"{directory}/traces.jsonl",
    )
    grpc = get_lastmile_tracer(
        "secrets-grpc",
        otlp_endpoint=grpc_endpoint,
        otlp_protocol="grpc",
        otlp_headers={"x-tenant-key": secrets["argument_header"]},
        set_global=False,
    )
    print(repr(http), repr(grpc))

    @http.trace_function()
    def call_api(query, api_key, *, password, options, url):
        return {"answer": "ok", "session_token": secrets["returned"]}

    for tracer in (http, grpc):
        with tracer.start_as_current_span("request"):
            call_api(
                "q",
                secrets["api_key_arg"],
                password=secrets["password_kwarg"],
                options={"auth": {"client_secret": secrets["nested"]}},
                url=f"https://user:{secrets['url_password']}@example.test/v1",
            )
            tracer.log({"step": "answer", "apiKey": secrets["logged"]})
            tracer.log_feedback("fine", metadata={"authorization": secrets["feedback"]})
        try:  # an error path: the message must not echo any secret
            get_lastmile_tracer("bad", secrets["token"], otlp_timeout=-1)
        except ValueError as error:
            print("ValueError:", error)

    # An unreachable collector: the export errors are logged, with no secret in them.
    dead = get_lastmile_tracer(
        "secrets-dead", secrets["token"], otlp_endpoint="http://127.0.0.1:9",
        otlp_timeout=1, set_global=False,
    )
    with dead.start_as_current_span("lost"):
        pass
    dead.force_flush(3_000)
    for tracer in (http, grpc, dead):
        tracer.force_flush(10_000)
    print("done")
    """
)


def canaries() -> dict[str, str]:
    names = (
        "token",
        "env_header",
        "argument_header",
        "api_key_arg",
        "password_kwarg",
        "nested",
        "url_password",
        "returned",
        "logged",
        "feedback",
        "malformed_header",
    )
    return {name: f"canary{name.replace('_', '')}{uuid.uuid4().hex}" for name in names}


def test_no_secret_appears_in_anything_the_run_wrote(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    secrets = canaries()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LASTMILE_"))}
    # A malformed entry too (a bare value with no name): it is dropped, never echoed.
    env["OTEL_EXPORTER_OTLP_HEADERS"] = (
        f"x-api-key={secrets['env_header']},{secrets['malformed_header']}"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            APP,
            json.dumps(secrets),
            receiver.http_endpoint,
            receiver.grpc_endpoint,
            str(tmp_path),
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
    assert "ValueError: otlp_timeout" in run.stdout

    received = receiver.wait_for_spans(4, timeout=20)
    receiver.wait_for_log_records(2, timeout=20)
    # Control: the secrets meant for headers did travel, as headers.
    headers = [request["headers"] for request in receiver.requests()]
    assert any(h.get("authorization") == f"Bearer {secrets['token']}" for h in headers)
    assert any(h.get("x-tenant-key") == secrets["argument_header"] for h in headers)
    assert any(h.get("x-api-key") == secrets["env_header"] for h in headers)
    assert "[entry not shown: it may hold a secret]" in run.stderr  # reported, not echoed
    # Control: the captured values are there, redacted.
    assert "[REDACTED]" in json.dumps(received)

    written: dict[str, str] = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "received": json.dumps([r["request"] for r in receiver.requests()]),
    }
    created = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in created} >= {"traces.jsonl", "logs.jsonl"}
    for path in created:
        written[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    leaks = [
        f"{name} in {where}"
        for where, text in written.items()
        for name, secret in secrets.items()
        if secret in text
    ]
    assert not leaks, leaks
