"""TLS test fixtures: a throwaway certificate authority and a TLS-terminating TCP proxy.

The OTLP test receiver speaks plaintext only, so TLS tests put this proxy in
front of it: the exporter under test does a real TLS handshake with the proxy,
which forwards the decrypted bytes to the receiver's plain gRPC or HTTP port::

    ca = CertificateAuthority.create("test CA")
    cert = ca.issue_server_certificate(tmp_path)
    with TLSProxy(cert, upstream_port=receiver.http_port, alpn=HTTP_ALPN) as proxy:
        ...  # export to f"https://127.0.0.1:{proxy.port}"

Everything binds to 127.0.0.1. Certificates are generated with
``cryptography`` at run time and written as PEM files.
"""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST: Final = "127.0.0.1"
# gRPC refuses a TLS server that does not select h2 by ALPN.
GRPC_ALPN: Final = ("h2",)
# The HTTP upstream speaks HTTP/1.1 only, so that is all the proxy may select.
HTTP_ALPN: Final = ("http/1.1",)
# The first byte of every TLS connection: a handshake record (the ClientHello).
TLS_HANDSHAKE_RECORD: Final = 0x16

_VALIDITY = datetime.timedelta(days=1)
_IO_TIMEOUT_SECONDS: Final = 30.0
_CHUNK: Final = 64 * 1024


class ServerCertificate(NamedTuple):
    """PEM files of a server certificate (with its CA appended) and its private key."""

    chain_file: Path
    key_file: Path


class CertificateAuthority:
    """A self-signed CA that issues server certificates for 127.0.0.1 and localhost."""

    def __init__(self, name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.name = name
        self._key = key
        self.certificate = cert

    @classmethod
    def create(cls, name: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        public_key = key.public_key()
        cert = (
            _builder(subject, subject, public_key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(name, key, cert)

    def write_pem(self, path: Path) -> Path:
        """The CA certificate as a PEM file: what a client is told to trust."""
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def issue_server_certificate(self, directory: Path) -> ServerCertificate:
        """A leaf certificate valid for IP 127.0.0.1 and DNS localhost, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        ca_key_id = self.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        cert = (
            _builder(subject, self.certificate.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            # Clients match the host they dialled against the SAN, never the CN.
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            # Strict verifiers (OpenSSL 3's X509_STRICT) require both key identifiers.
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        chain_file = directory / "server-chain.pem"
        chain_file.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + self.certificate.public_bytes(serialization.Encoding.PEM)
        )
        key_file = directory / "server-key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return ServerCertificate(chain_file, key_file)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    # Back-dated a little so a clock a few seconds behind still accepts it.
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


class Connection(NamedTuple):
    """What the proxy saw of one client connection."""

    first_byte: int | None
    alpn: str | None
    handshake_error: str | None


class TLSProxy:
    """Terminates TLS on 127.0.0.1 (a free port) and forwards plaintext to ``upstream_port``.

    One thread accepts; each connection gets a thread that does the handshake
    and then relays both directions. A single thread per connection keeps each
    ``SSLSocket`` used by one thread only, as OpenSSL requires.
    """

    def __init__(
        self, certificate: ServerCertificate, *, upstream_port: int, alpn: Sequence[str]
    ) -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context.load_cert_chain(certificate.chain_file, certificate.key_file)
        self._context.set_alpn_protocols(list(alpn))
        self._upstream_port = upstream_port
        self._listener = socket.create_server((HOST, 0))
        # Polled, so close() is seen: closing a socket does not wake a blocked accept() on Linux.
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"https://{HOST}:{self.port}"

    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._connections)

    def start(self) -> TLSProxy:
        self._spawn(self._accept_loop, "tls-proxy-accept")
        return self

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)
        self._listener.close()

    def __enter__(self) -> TLSProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            self._spawn(self._serve, "tls-proxy-conn", client)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(_IO_TIMEOUT_SECONDS)
        with client:
            # Peeked, not read: the handshake below still needs this byte. It shows
            # whether the client spoke TLS at all or sent plaintext to a TLS port.
            peeked = _peek_first_byte(client)
            try:
                tls = self._context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError) as error:
                self._record(Connection(peeked, None, _describe(error)))
                return
            with tls:
                self._record(Connection(peeked, tls.selected_alpn_protocol(), None))
                try:
                    upstream = socket.create_connection(
                        (HOST, self._upstream_port), timeout=_IO_TIMEOUT_SECONDS
                    )
                except OSError:
                    return
                with upstream:
                    _relay(tls, upstream, self._closed)

    def _record(self, connection: Connection) -> None:
        with self._lock:
            self._connections.append(connection)


def _peek_first_byte(sock: socket.socket) -> int | None:
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return None
    return data[0] if data else None


def _describe(error: BaseException) -> str:
    # The OpenSSL reason (e.g. TLSV1_ALERT_UNKNOWN_CA) says who gave up and why.
    reason = getattr(error, "reason", None)
    return f"{reason}: {error}" if reason else repr(error)


def _relay(tls: ssl.SSLSocket, plain: socket.socket, closed: threading.Event) -> None:
    """Copy bytes both ways until either side closes."""
    while not closed.is_set():
        # Bytes OpenSSL already decrypted are invisible to select().
        readable = [tls] if tls.pending() else select.select([tls, plain], [], [], 0.5)[0]
        for source in readable:
            target = plain if source is tls else tls
            try:
                data = source.recv(_CHUNK)
                if not data:
                    return
                target.sendall(data)
            except OSError:  # includes ssl.SSLError: the peer went away
                return
