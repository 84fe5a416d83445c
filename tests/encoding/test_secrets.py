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


def clean_environment() -> dict[str, str]:
    """This process's environment without OpenTelemetry's or LastMile's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LASTMILE_"))}


def leaks(secrets: dict[str, str], written: dict[str, str]) -> list[str]:
    """Which secret appears where, in everything a run wrote."""
    return sorted(
        f"{name} in {where}"
        for where, text in written.items()
        for name, secret in secrets.items()
        if secret in text
    )


def test_no_secret_appears_in_anything_the_run_wrote(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    secrets = canaries()
    env = clean_environment()
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
    assert not leaks(secrets, written), leaks(secrets, written)


SWEEP_APP = textwrap.dedent(
    """
    import json, logging, sys
    from ragtel import get_lastmile_tracer

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    secrets = json.loads(sys.argv[1])
    names = json.loads(sys.argv[2])
    http_endpoint, directory, token_file = sys.argv[3], sys.argv[4], sys.argv[5]

    class Doc:  # no JSON form: its neighbours must still be redacted
        __slots__ = ()

    class Settings:  # a repr with credential fields
        def __repr__(self):
            return f"Settings(user='bob', password='{secrets['repr_field']}')"

    # The token as a mounted secret file holds it: with a trailing newline.
    with open(token_file) as handle:
        token = handle.read()
    tracer = get_lastmile_tracer(
        "sweep", token, otlp_endpoint=http_endpoint, otlp_protocol="http/protobuf",
        output_filepath=f"{directory}/traces.jsonl",
    )
    # Failing exports: a collector that is not there, over both protocols.
    dead_http = get_lastmile_tracer(
        "sweep-dead-http", token, otlp_endpoint="http://127.0.0.1:9",
        otlp_timeout=1, set_global=False,
    )
    dead_grpc = get_lastmile_tracer(
        "sweep-dead-grpc", token, otlp_endpoint="http://127.0.0.1:9", otlp_protocol="grpc",
        otlp_timeout=1, set_global=False,
    )

    under_names = {name: secrets[f"name:{name}"] for name in names}

    @tracer.trace_function()
    def handle(query, **kwargs):
        return {"answer": "ok", **kwargs}

    for current in (tracer, dead_http, dead_grpc):
        with current.start_as_current_span("request") as span:
            handle("q", **under_names)
            handle(
                "q",
                mixed={"api_key": secrets["beside_unconvertible"], "doc": Doc()},
                settings=Settings(),
                auth=("bob", secrets["auth_tuple"]),
                dsn=f"Driver={{ODBC Driver 18}};Server=db;Uid=app;Password={secrets['odbc']};",
                database_url=f"postgresql+psycopg://app:{secrets['sqlalchemy']}@db:5432/rag",
            )
            current.register_params({"retrieval.top_k": 3, "db": {"password": secrets["param"]}})
            current.log({"apiKeys": [secrets["logged"]], "doc": Doc()})
            current.log_feedback({"secrets": secrets["feedback"], "doc": Doc()})
            current.log_binary_feedback(True, metadata={"cookies": secrets["feedback"], "d": Doc()})
        current.force_flush(5_000)
    print("done")
    """
)

# Names a credential travels under in real code: boto, requests, HTTP headers,
# OpenAI and Anthropic clients, and the plural and camelCase forms of each.
SENSITIVE_NAMES = (
    "api_key",
    "apiKey",
    "apiKeys",
    "x_api_key",
    "aws_secret_access_key",
    "aws_session_token",
    "password",
    "passwords",
    "secret",
    "secrets",
    "client_secret",
    "cookie",
    "cookies",
    "authorization",
    "proxy_authorization",
    "access_token",
    "refresh_token",
    "private_key",
    "passphrase",
    "auth",
)


def test_canary_sweep_every_sensitive_name_with_failing_exports(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    """Canaries under every sensitive name, at DEBUG, with failing exports: none is written."""
    secrets = canaries() | {
        f"name:{name}": f"canaryname{name.lower()}{uuid.uuid4().hex}" for name in SENSITIVE_NAMES
    }
    for name in (
        "beside_unconvertible",
        "repr_field",
        "auth_tuple",
        "odbc",
        "sqlalchemy",
        "param",
        "header_crlf",
    ):
        secrets[name] = f"canary{name.replace('_', '')}{uuid.uuid4().hex}"
    token_file = tmp_path / "token"
    token_file.write_text(secrets["token"] + "\n")
    env = clean_environment()
    # A header value with a line break inside is refused at set-up, never echoed.
    env["OTEL_EXPORTER_OTLP_HEADERS"] = f"x-env-key={secrets['header_crlf']}\r\nx-evil: 1"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            SWEEP_APP,
            json.dumps(secrets),
            json.dumps(SENSITIVE_NAMES),
            receiver.http_endpoint,
            str(tmp_path),
            str(token_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.splitlines()[-1] == "done"

    received = receiver.wait_for_spans(3, timeout=20)
    # Control: the token travelled, stripped, as the bearer header...
    headers = [request["headers"] for request in receiver.requests()]
    assert any(h.get("authorization") == f"Bearer {secrets['token']}" for h in headers)
    # ...the refused header did not travel at all, and its name was reported.
    assert not any("x-env-key" in h for h in headers)
    assert "x-env-key" in run.stderr
    # ...and the captured values are there, redacted.
    assert "[REDACTED]" in json.dumps(received)

    written: dict[str, str] = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "received": json.dumps([r["request"] for r in receiver.requests()]),
    }
    for path in (p for p in tmp_path.rglob("*") if p.is_file() and p != token_file):
        written[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
    assert not leaks(secrets, written), leaks(secrets, written)
