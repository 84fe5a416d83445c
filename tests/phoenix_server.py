"""A real Arize Phoenix server for end-to-end tests.

Phoenix runs from its own virtualenv, ``.phoenix-venv`` at the repository root
(built by ``bash scripts/setup-phoenix.sh`` from ``tests/phoenix/requirements.txt``),
so its dependencies never mix with the test virtualenv. This module starts it on
free loopback ports with throwaway SQLite storage and reads spans back through
Phoenix's REST API::

    with PhoenixServer() as phoenix:
        exporter = OTLPSpanExporter(endpoint=phoenix.otlp_http_traces_url)
        ...
        spans = phoenix.wait_for_spans("my-project", 2)

Phoenix files spans under the project named by the resource attribute
``openinference.project.name`` (``"default"`` without it); a project name per
test keeps tests sharing one server apart.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = REPO_ROOT / ".phoenix-venv"
# Written into the virtualenv by scripts/setup-phoenix.sh once the install has finished.
VENV_STAMP_NAME = ".requirements.sha256"
HOST = "127.0.0.1"
DEFAULT_PROJECT = "default"
PROJECT_RESOURCE_ATTRIBUTE = "openinference.project.name"

# Printed by the launcher once it has bound Phoenix's gRPC listener to loopback.
_GRPC_LOOPBACK_MARKER = "ragtel-phoenix: OTLP/gRPC bound to loopback"

# Runs inside .phoenix-venv. Phoenix has a setting for the HTTP host but binds
# its OTLP/gRPC listener to "[::]:<port>" unconditionally, so the launcher
# narrows every gRPC bind to loopback before starting the regular CLI. It also
# stops Phoenix when its stdin closes, so a test process that dies without
# cleaning up leaves neither a server nor its working directory behind.
_LAUNCHER = f"""
import os, signal, sys, threading
import grpc.aio

_make_server = grpc.aio.server

def _loopback_server(*args, **kwargs):
    server = _make_server(*args, **kwargs)
    for method in ("add_insecure_port", "add_secure_port"):
        bind = getattr(server, method)
        def loopback_bind(address, *rest, _bind=bind):
            port = _bind("{HOST}:" + address.rpartition(":")[2], *rest)
            print("{_GRPC_LOOPBACK_MARKER}", port, file=sys.stderr, flush=True)
            return port
        setattr(server, method, loopback_bind)
    return server

grpc.aio.server = _loopback_server

parent_gone = threading.Event()

def _stop_when_parent_gone():
    sys.stdin.read()
    parent_gone.set()
    # SIGINT rather than SIGTERM: uvicorn re-raises the signal once shut down,
    # and only SIGINT (as KeyboardInterrupt) lets the cleanup below run.
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=_stop_when_parent_gone, daemon=True).start()
sys.argv = ["phoenix", "serve"]
from phoenix.server.main import main
try:
    main()
finally:
    if parent_gone.is_set():  # nobody else is left to remove the working directory
        import shutil
        shutil.rmtree(os.getcwd(), ignore_errors=True)
"""

# Loopback requests must never go through an HTTP(S)_PROXY from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Inherited variables that would reconfigure Phoenix (its own PHOENIX_* and
# OTEL_* settings) or leak the test virtualenv's packages into it.
_DROPPED_ENV_PREFIXES = ("PHOENIX_", "OTEL_")
_DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")


class PhoenixServer:
    """Runs ``phoenix serve`` as a subprocess on loopback ports."""

    def __init__(
        self,
        *,
        startup_timeout: float = 90.0,
        venv: Path = VENV,
        settings: dict[str, str] | None = None,
    ) -> None:
        """``settings`` are extra ``PHOENIX_*`` environment variables for the server."""
        self._startup_timeout = startup_timeout
        self._venv = venv
        self._settings = dict(settings or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self.http_port = 0
        self.grpc_port = 0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> PhoenixServer:
        if self._proc is not None:
            raise RuntimeError("PhoenixServer already started")
        python = self._venv / "bin" / "python"
        if not python.is_file() or not (self._venv / VENV_STAMP_NAME).is_file():
            raise RuntimeError(
                f"Phoenix is not installed in {self._venv.name}; "
                "run `bash scripts/setup-phoenix.sh` from the repository root"
            )
        self.http_port, self.grpc_port = _free_ports(2)
        self._workdir = Path(tempfile.mkdtemp(prefix="ragtel-phoenix-"))
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_DROPPED_ENV_PREFIXES) and name not in _DROPPED_ENV
        }
        env.update(
            PHOENIX_WORKING_DIR=str(self._workdir),
            PHOENIX_SQL_DATABASE_URL=f"sqlite:///{self._workdir / 'phoenix.db'}",
            PHOENIX_HOST=HOST,
            PHOENIX_PORT=str(self.http_port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            # No outbound traffic: telemetry, docs MCP and other public-internet
            # fetches are all gated by these two.
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            # Features the tests do not use; fewer moving parts at startup.
            PHOENIX_DISABLE_AGENT_ASSISTANT="true",
            PHOENIX_ENABLE_MCP_SERVER="false",
            PHOENIX_ENABLE_PROMETHEUS="false",  # would open another port
            PHOENIX_LOG_MIGRATIONS="false",  # hundreds of SQL lines per start
            PYTHONUNBUFFERED="1",
        )
        env.update(self._settings)
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [str(python), "-c", _LAUNCHER],
                cwd=self._workdir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group, so stop() reaches anything Phoenix spawns.
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._startup_timeout
        # /readyz answers only after the app's startup (database migrations and
        # the gRPC listener) has finished.
        while not self._get_ok("/readyz"):
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"Phoenix exited with code {self._proc.returncode} before it was ready:\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Phoenix not ready after {self._startup_timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.2)
        if _GRPC_LOOPBACK_MARKER not in self._log_text():
            raise RuntimeError(
                "Phoenix started its OTLP/gRPC listener without the loopback-only "
                "launcher hook; the pinned Phoenix version changed how it binds:\n"
                f"{self.log_tail()}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    proc.wait(timeout)
            # Phoenix may have left helpers behind even after a clean exit.
            _signal_group(proc, signal.SIGKILL)
            if proc.stdin is not None:
                proc.stdin.close()
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> PhoenixServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def _log_path(self) -> Path:
        assert self._workdir is not None
        return self._workdir / "phoenix.log"

    def _log_text(self) -> str:
        if self._workdir is None:
            return ""
        try:
            return self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        """The end of Phoenix's combined stdout/stderr, for error messages."""
        return "\n".join(self._log_text().splitlines()[-lines:]) or "(no output)"

    # -- endpoints -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Phoenix UI and REST API (``/v1/...``)."""
        self._check_started()
        return f"http://{HOST}:{self.http_port}"

    @property
    def otlp_http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP (``OTEL_EXPORTER_OTLP_ENDPOINT``); traces go to /v1/traces."""
        return self.base_url

    @property
    def otlp_http_traces_url(self) -> str:
        """For ``opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter``."""
        return f"{self.base_url}/v1/traces"

    @property
    def otlp_grpc_endpoint(self) -> str:
        """For the gRPC ``OTLPSpanExporter(endpoint=..., insecure=True)``."""
        self._check_started()
        return f"http://{HOST}:{self.grpc_port}"

    def _check_started(self) -> None:
        if self._proc is None:
            raise RuntimeError("PhoenixServer is not started")

    # -- reading spans back --------------------------------------------------

    def spans(self, project: str = DEFAULT_PROJECT) -> list[dict[str, Any]]:
        """Every span Phoenix has stored for ``project``, oldest first.

        Each is Phoenix's REST shape (``GET /v1/projects/{project}/spans``)::

            {"id": <Phoenix global id>, "name": ...,
             "context": {"trace_id": <32 hex>, "span_id": <16 hex>},
             "parent_id": <16 hex> | None,
             "span_kind": "LLM" | "RETRIEVER" | ... | "UNKNOWN",
             "start_time": <ISO 8601>, "end_time": <ISO 8601>,
             "status_code": "OK" | "ERROR" | "UNSET", "status_message": ...,
             "attributes": {<flattened dotted key>: <scalar or list of scalars>},
             "events": [{"name": ..., "timestamp": ..., "attributes": {...}}]}

        ``attributes`` is flat, with list indices as path segments
        (``"retrieval.documents.0.document.id"``), and lacks
        ``openinference.span.kind``: Phoenix moves it to ``span_kind``.
        An unknown project (no span arrived yet) gives an empty list.
        """
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
        spans: list[dict[str, Any]] = []
        params = {"limit": "1000", "sort": "id", "order": "asc"}
        while True:
            try:
                page = self._get_json(f"{path}?{urllib.parse.urlencode(params)}")
            except urllib.error.HTTPError as error:
                # Phoenix creates a project with its first span.
                if error.code == 404 and not spans:
                    return []
                raise
            spans.extend(page["data"])
            if not page.get("next_cursor"):
                return spans
            params["cursor"] = page["next_cursor"]

    def wait_for_spans(
        self, project: str, count: int, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Waits until ``project`` holds at least ``count`` spans; returns all of them.

        Needed because Phoenix answers the export before its bulk inserter has
        written the spans.
        """
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if len(spans) >= count:
                return spans
            if time.monotonic() > deadline or self._proc is None or self._proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(
            f"expected at least {count} spans in Phoenix project {project!r} within "
            f"{timeout}s, got {len(spans)}: {json.dumps(spans, indent=1, default=repr)}"
        )

    def _get_json(self, path: str) -> Any:
        with _NO_PROXY.open(self.base_url + path, timeout=10) as response:
            return json.load(response)

    def _get_ok(self, path: str) -> bool:
        try:
            with _NO_PROXY.open(self.base_url + path, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:  # refused while starting, 503 while migrating, timeouts
            return False


def _free_ports(count: int) -> list[int]:
    # Bind all at once so the kernel hands out distinct ports. Another process
    # could still take one before Phoenix binds it; Phoenix then fails to start
    # with a clear "address already in use" in the log tail.
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # group already gone
        os.killpg(proc.pid, sig)
