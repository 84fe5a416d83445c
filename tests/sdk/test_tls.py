"""OTLP over TLS, against the real receiver behind a TLS-terminating proxy.

The CA and the server certificate are generated per test module. The CA
reaches the exporter only through the standard variables
(``OTEL_EXPORTER_OTLP_CERTIFICATE`` or ``OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE``).
A certificate the client does not trust must fail closed: nothing reaches the
receiver, nothing is sent in plaintext, the app never sees an exception, the
loss is counted and the log names the TLS problem.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from otlp_receiver import OTLPReceiver
from ragtel import LastMileTracer, get_lastmile_tracer
from tls_proxy import (
    GRPC_ALPN,
    HOST,
    HTTP_ALPN,
    TLS_HANDSHAKE_RECORD,
    CertificateAuthority,
    ServerCertificate,
    TLSProxy,
)

TOKEN = "tok-3a9e7c21-never-logged"
PROTOCOLS = ["grpc", "http/protobuf"]
CA_VARIABLES = ["OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"]
# Variables through which requests picks a CA bundle of its own.
REQUESTS_CA_VARIABLES = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
# OTEL_BSP_EXPORT_TIMEOUT of the failure tests: how long shutdown() may wait.
SHUTDOWN_TIMEOUT_MILLIS = 1_000


class Pki(NamedTuple):
    ca_file: Path
    """The CA that signed the proxy's certificate."""
    other_ca_file: Path
    """A CA unrelated to the proxy's certificate."""
    server: ServerCertificate


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority.create("ragtel test CA")
    other = CertificateAuthority.create("unrelated test CA")
    return Pki(
        ca_file=ca.write_pem(directory / "ca.pem"),
        other_ca_file=other.write_pem(directory / "other-ca.pem"),
        server=ca.issue_server_certificate(directory),
    )


@pytest.fixture(autouse=True)
def exporter_logs_start_fresh() -> None:
    """Lets the gRPC exporter log this test's failure even if an earlier test logged the same.

    Its logger carries the SDK's ``DuplicateFilter``, which drops a record equal
    to the previous one (same module, level and format) within a 20 s window:
    the previous test's identical failure would hide this one's.
    """
    logger = logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter")
    for log_filter in logger.filters:
        if type(log_filter).__name__ == "DuplicateFilter":
            vars(log_filter).pop("last_log", None)


@pytest.fixture
def tls_front(receiver: OTLPReceiver, pki: Pki) -> Iterator[Callable[[str], TLSProxy]]:
    """Starts a TLS proxy in front of the receiver's plain port for a protocol."""
    proxies: list[TLSProxy] = []

    def start(protocol: str) -> TLSProxy:
        grpc = protocol == "grpc"
        proxy = TLSProxy(
            pki.server,
            upstream_port=receiver.grpc_port if grpc else receiver.http_port,
            alpn=GRPC_ALPN if grpc else HTTP_ALPN,
        )
        proxies.append(proxy.start())
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


def tls_tracer(name: str, protocol: str, endpoint: str, *, timeout: float | None) -> LastMileTracer:
    # No otlp_certificate argument: the CA must come from the environment.
    return get_lastmile_tracer(
        name,
        lastmile_api_token=TOKEN,
        exporter="otlp",
        otlp_protocol=protocol,
        otlp_endpoint=endpoint,
        otlp_timeout=timeout,
        set_global=False,
    )


def make_spans(tracer: LastMileTracer) -> int:
    """Two traced calls under a root span; returns how many spans that made."""

    @tracer.trace_function("retrieve")
    def retrieve(query: str) -> list[str]:
        return [query.upper()]

    with tracer.start_as_current_span("request"):
        assert retrieve("refunds") == ["REFUNDS"]
        assert retrieve("returns") == ["RETURNS"]
    return 3


# -- trusted CA ---------------------------------------------------------------


@pytest.mark.parametrize("variable", CA_VARIABLES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_spans_arrive_over_tls_with_the_ca_from_the_environment(
    protocol: str,
    variable: str,
    pki: Pki,
    receiver: OTLPReceiver,
    tls_front: Callable[[str], TLSProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, str(pki.ca_file))
    proxy = tls_front(protocol)
    tracer = tls_tracer(f"tls-{protocol}-{variable}", protocol, proxy.endpoint, timeout=10)
    try:
        sent = make_spans(tracer)
        assert tracer.force_flush(10_000)
        spans = receiver.wait_for_spans(sent)
    finally:
        tracer.shutdown()

    assert sorted(span["name"] for span in spans) == ["request", "retrieve", "retrieve"]
    assert {span["transport"] for span in spans} == {"grpc" if protocol == "grpc" else "http"}
    # The bearer token travelled inside the TLS connection.
    assert {span["headers"]["authorization"] for span in spans} == {f"Bearer {TOKEN}"}
    assert tracer.dropped_span_count() == 0
    assert_tls_was_spoken(proxy, protocol, handshakes_succeeded=True)


def test_https_ca_variable_wins_over_the_requests_ca_bundle_variables(
    pki: Pki,
    receiver: OTLPReceiver,
    tls_front: Callable[[str], TLSProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # requests lets these variables replace a session's CA; the OTLP variable must still win.
    for name in REQUESTS_CA_VARIABLES:
        monkeypatch.setenv(name, str(pki.other_ca_file))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(pki.ca_file))
    proxy = tls_front("http/protobuf")
    tracer = tls_tracer("tls-over-requests-bundle", "http/protobuf", proxy.endpoint, timeout=10)
    try:
        sent = make_spans(tracer)
        assert tracer.force_flush(10_000)
        assert len(receiver.wait_for_spans(sent)) == sent
    finally:
        tracer.shutdown()
    assert tracer.dropped_span_count() == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_log_records_follow_the_spans_ca_to_their_collector(
    protocol: str,
    pki: Pki,
    receiver: OTLPReceiver,
    tls_front: Callable[[str], TLSProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tracer.log() goes to the spans' collector, so it must trust what the spans
    # trust, even a CA given for traces only.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", str(pki.ca_file))
    proxy = tls_front(protocol)
    tracer = tls_tracer(f"tls-logs-{protocol}", protocol, proxy.endpoint, timeout=10)
    try:
        with tracer.start_as_current_span("answer"):
            tracer.log({"step": "answer"})
        assert tracer.force_flush(10_000)
        [span] = receiver.wait_for_spans(1)
        [record] = receiver.wait_for_log_records(1)
    finally:
        tracer.shutdown()

    assert "answer" in str(record["body"])
    assert record["trace_id"] == span["trace_id"]
    assert record["transport"] == ("grpc" if protocol == "grpc" else "http")
    assert_tls_was_spoken(proxy, protocol, handshakes_succeeded=True)


# -- untrusted certificates ---------------------------------------------------


@pytest.mark.parametrize("trust", ["unrelated-ca", "no-ca-variable"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_untrusted_certificate_fails_closed(
    protocol: str,
    trust: str,
    pki: Pki,
    receiver: OTLPReceiver,
    tls_front: Callable[[str], TLSProxy],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", str(SHUTDOWN_TIMEOUT_MILLIS))
    if trust == "unrelated-ca":
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(pki.other_ca_file))
    else:
        # The client falls back to its default roots; keep requests' own bundle
        # variables from pointing somewhere else so the case means what it says.
        for name in REQUESTS_CA_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    proxy = tls_front(protocol)
    # The exporter's default 10 s timeout: it keeps retrying the handshake with
    # backoff, so it is ragtel that must keep flush and shutdown short.
    tracer = tls_tracer(f"untrusted-{protocol}-{trust}", protocol, proxy.endpoint, timeout=None)

    sent = make_spans(tracer)  # the app's own work completes; nothing raises
    flushed, flush_seconds, shutdown_seconds = flush_and_shut_down(tracer, flush_millis=500)

    assert flushed is False  # still retrying: a bad certificate is never "delivered"
    assert flush_seconds < 1.0, flush_seconds
    assert shutdown_seconds < SHUTDOWN_TIMEOUT_MILLIS / 1000 + 1.0, shutdown_seconds
    assert tracer.dropped_span_count() == sent
    assert_nothing_arrived(receiver)
    assert_tls_was_spoken(proxy, protocol, handshakes_succeeded=False)
    assert_tls_failure_logged(caplog, protocol, proxy.port, certificate=True)
    assert any(f"{sent} spans dropped" in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_https_endpoint_that_speaks_plaintext_is_never_downgraded(
    protocol: str,
    pki: Pki,
    receiver: OTLPReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The receiver's own plaintext port, addressed as https: a client that fell
    # back to plaintext after the failed handshake would deliver the spans.
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", str(SHUTDOWN_TIMEOUT_MILLIS))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(pki.ca_file))
    port = receiver.grpc_port if protocol == "grpc" else receiver.http_port
    # A 1 s exporter timeout: the exporter gives up by itself, well within the flush.
    tracer = tls_tracer(f"plaintext-port-{protocol}", protocol, f"https://{HOST}:{port}", timeout=1)

    sent = make_spans(tracer)
    flushed, flush_seconds, shutdown_seconds = flush_and_shut_down(tracer, flush_millis=5_000)

    assert flushed is True  # the export finished: it failed
    assert flush_seconds < 3, flush_seconds  # 1 s plus backoff jitter, not the 5 s allowed
    assert shutdown_seconds < 1.0, shutdown_seconds
    assert tracer.dropped_span_count() == sent
    assert_nothing_arrived(receiver)
    assert_tls_failure_logged(caplog, protocol, port, certificate=False)
    assert TOKEN not in caplog.text


# -- helpers ------------------------------------------------------------------


def flush_and_shut_down(tracer: LastMileTracer, *, flush_millis: int) -> tuple[bool, float, float]:
    started = time.monotonic()
    flushed = tracer.force_flush(flush_millis)
    flush_seconds = time.monotonic() - started
    started = time.monotonic()
    tracer.shutdown()
    shutdown_seconds = time.monotonic() - started
    print(
        f"force_flush({flush_millis}) {flush_seconds:.2f}s -> {flushed}, "
        f"shutdown {shutdown_seconds:.2f}s"
    )
    return flushed, flush_seconds, shutdown_seconds


def assert_tls_was_spoken(proxy: TLSProxy, protocol: str, *, handshakes_succeeded: bool) -> None:
    # A connection closed before its first byte carried nothing either way.
    connections = [c for c in proxy.connections() if c.first_byte is not None]
    # The exporter did reach the TLS port: a failure is the certificate's, not the network's.
    assert connections, "the exporter never sent anything to the TLS proxy"
    # Every connection opened with a TLS ClientHello: never plaintext HTTP or an HTTP/2 preface.
    assert {c.first_byte for c in connections} == {TLS_HANDSHAKE_RECORD}, connections
    if handshakes_succeeded:
        expected_alpn = GRPC_ALPN[0] if protocol == "grpc" else HTTP_ALPN[0]
        assert {(c.handshake_error, c.alpn) for c in connections} == {(None, expected_alpn)}
    else:
        # The client gave up during the handshake, so no byte of OTLP was decrypted.
        assert all(c.handshake_error and c.alpn is None for c in connections), connections


def assert_nothing_arrived(receiver: OTLPReceiver) -> None:
    # Give a late request time to be reported before concluding nothing came.
    time.sleep(0.3)
    assert receiver.requests() == []


def assert_tls_failure_logged(
    caplog: pytest.LogCaptureFixture, protocol: str, port: int, *, certificate: bool
) -> None:
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    if protocol == "grpc":
        # The gRPC exporter logs the channel's error details, with the endpoint.
        expected = "CERTIFICATE_VERIFY_FAILED" if certificate else "handshake"
        found = [m for m in messages if f"{HOST}:{port}" in m and expected in m]
    else:
        # ragtel's own warning: the HTTP exporter may only say "failed to export".
        what = "TLS certificate verification failed for" if certificate else "TLS handshake with"
        found = [m for m in messages if f"{what} the OTLP endpoint https://{HOST}:{port}/" in m]
    assert found, "no TLS failure in the log:\n" + "\n".join(messages)
