"""How an OTLP collector says that a request was over its size limit.

Retrying such a request as it is fails the same way, so whoever sends it
splits it instead: the exporters on the export thread, and ``ragtel send``.
Both read the refusal here, so they agree on what one looks like.
"""

from __future__ import annotations

from typing import Final

HTTP_PAYLOAD_TOO_LARGE: Final = 413
# gRPC servers refuse an oversized message with RESOURCE_EXHAUSTED and a text
# naming the size: C-core and grpc-go say "... larger than max ...",
# grpc-java "... exceeds maximum size ...". The same code without such a text
# is a collector asking to slow down, which is retried.
_GRPC_SIZE_DETAILS: Final = ("larger than max", "exceeds maximum")


def is_too_large_http(status: int | None) -> bool:
    """True when an OTLP/HTTP response status says the request was too large."""
    return status == HTTP_PAYLOAD_TOO_LARGE


def is_too_large_grpc(code_name: str, details: str | None) -> bool:
    """True when a gRPC status (its code's name and details) says the message was too large."""
    if code_name != "RESOURCE_EXHAUSTED":
        return False
    lowered = (details or "").lower()
    return any(marker in lowered for marker in _GRPC_SIZE_DETAILS)
