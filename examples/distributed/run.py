"""Runs the distributed example end to end: service, client, one trace.

Picks a free port, starts ``service.py`` on it, waits until it accepts
connections, runs ``client.py`` against it, stops the service, and prints
the trace id both processes share. Every wait is bounded.

``--traces-file`` makes both processes write to that file (it sets
``RAGTEL_TRACES_FILE`` for them); otherwise ragtel's defaults apply to both.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


def free_port() -> int:
    # Ask the OS for an unused port. Another process could in theory take it
    # before the service binds it; for an example that window is acceptable.
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_listening(port: int, service: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.poll() is not None:
            sys.exit(f"the service exited early with code {service.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"the service did not listen on port {port} within {timeout:.0f} s")


def stop(service: subprocess.Popen[bytes], timeout: float) -> None:
    # SIGTERM on POSIX, which the service turns into a clean, flushing exit.
    # (On Windows terminate() is a hard kill, so the service's spans are lost.)
    service.terminate()
    try:
        service.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        service.kill()
        service.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces-file", help="OTLP JSON Lines file both processes write to")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.traces_file:
        env["RAGTEL_TRACES_FILE"] = os.path.abspath(args.traces_file)

    port = free_port()
    # Each process names its own service, as it would in a real deployment.
    service = subprocess.Popen(
        [sys.executable, str(HERE / "service.py"), "--port", str(port)],
        env={**env, "OTEL_SERVICE_NAME": "retrieval-service"},
    )
    try:
        wait_until_listening(port, service, timeout=15)
        client = subprocess.run(
            [sys.executable, str(HERE / "client.py"), "--url", f"http://{HOST}:{port}"],
            env={**env, "OTEL_SERVICE_NAME": "support-frontend"},
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        stop(service, timeout=10)

    sys.stderr.write(client.stderr)
    sys.stdout.write(client.stdout)
    if client.returncode != 0:
        sys.exit(f"the client failed with code {client.returncode}")
    trace_ids = [
        line.split(":", 1)[1].strip()
        for line in client.stdout.splitlines()
        if line.startswith("trace id:")
    ]
    if not trace_ids:
        sys.exit("the client printed no trace id")
    print(f"\nBoth processes' spans are in trace {trace_ids[-1]}")


if __name__ == "__main__":
    main()
