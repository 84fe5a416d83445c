"""The requests session of OTLP/HTTP exporters: the configured CA, TLS failures told, no bad header.

The OTLP/HTTP exporter sends through a ``requests`` session. Two things about
TLS are left to chance there, and the session built here settles them. It
also keeps the status of the last response, which the exporter does not
return (ragtel splits a request refused with 413), and never sends a header
value that requests would refuse in an error quoting it.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, Final

_logger = logging.getLogger("ragtel")


def tls_reporting_session() -> Any:
    """A requests session for one OTLP/HTTP exporter, or None to let the exporter make its own.

    It makes two things about TLS explicit that the exporter leaves to chance:

    * the CA of ``OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`` (or
      ``otlp_certificate``) is used even when ``REQUESTS_CA_BUNDLE`` or
      ``CURL_CA_BUNDLE`` is set: the exporter puts its CA on the session, and
      requests lets those variables override a session's CA;
    * a failed certificate verification is logged by ragtel at the first
      failure, naming the endpoint. The exporter itself logs only a generic
      "failed to export" when its timeout leaves no room for a retry.

    It also records ``last_status_code``, and leaves out a header whose value
    cannot be sent: the exporter reads ``OTEL_EXPORTER_OTLP_*HEADERS`` by
    itself, and ragtel has already warned about such a value.

    A credential-provider variable asks the exporter to build its own session;
    then ragtel stays out of the way.
    """
    if any(os.environ.get(name) for name in _HTTP_CREDENTIAL_PROVIDER_VARIABLES):
        return None
    return _tls_reporting_session_class()()


@functools.cache
def _tls_reporting_session_class() -> type[Any]:
    # Defined on first use: importing requests is left to the first HTTP exporter.
    import requests

    from ragtel._sdk.otlp_headers import is_valid_header_value

    class TlsReportingSession(requests.Session):
        # Cleared by a request that gets through, so each outage is reported once.
        _tls_failure_reported = False
        last_status_code: int | None = None

        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> Any:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if isinstance(self.verify, str) and (verify is None or verify is True):
                # A request without a CA of its own gets the session's, not the environment's.
                settings["verify"] = self.verify
            return settings

        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            self.last_status_code = None
            headers = kwargs.get("headers")
            if headers and any(_unsendable(value) for value in headers.values()):
                kwargs["headers"] = {
                    name: value for name, value in headers.items() if not _unsendable(value)
                }
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.exceptions.SSLError as error:
                if not self._tls_failure_reported:
                    self._tls_failure_reported = True
                    _log_tls_failure(str(url), error)
                raise
            self._tls_failure_reported = False
            self.last_status_code = response.status_code
            return response

    def _unsendable(value: Any) -> bool:
        return isinstance(value, str) and not is_valid_header_value(value)

    return TlsReportingSession


_HTTP_CREDENTIAL_PROVIDER_VARIABLES: Final = (
    "OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER",
    "OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER",
    "OTEL_PYTHON_EXPORTER_OTLP_HTTP_LOGS_CREDENTIAL_PROVIDER",
)


def _log_tls_failure(url: str, error: BaseException) -> None:
    import ssl

    cause = _find_cause(error, ssl.SSLError)
    endpoint = _display_url(url)
    if isinstance(cause, ssl.SSLCertVerificationError):
        _logger.warning(
            "ragtel: TLS certificate verification failed for the OTLP endpoint %s (%s); "
            "nothing is exported to it. Set OTEL_EXPORTER_OTLP_CERTIFICATE "
            "(or otlp_certificate=) to the CA file that signed its certificate",
            endpoint,
            cause.verify_message or cause.reason,
        )
    else:
        _logger.warning(
            "ragtel: TLS handshake with the OTLP endpoint %s failed (%s); "
            "nothing is exported to it",
            endpoint,
            getattr(cause, "reason", None) or type(error).__name__,
        )


def _find_cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` behind ``error``.

    requests and urllib3 wrap the ssl error several times over: as the cause or
    context, as a ``reason``, or as an argument.
    """
    pending: list[object] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        pending.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
        pending.extend(current.args)
    return None


def _display_url(url: str) -> str:
    # Only scheme, host, port and path: user info and query strings may hold credentials.
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"
