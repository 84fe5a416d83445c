"""What counts as a collector refusing a request for its size (exporters and ragtel send alike)."""

from __future__ import annotations

import pytest

from ragtel._sdk.size_refusal import is_too_large_grpc, is_too_large_http


@pytest.mark.parametrize(
    "details",
    [
        "Received message larger than max (5242880 vs. 4194304)",  # gRPC C-core, Python, C++
        "grpc: received message larger than max (5242880 vs. 4194304)",  # grpc-go
        "gRPC message exceeds maximum size 4194304: 5242880",  # grpc-java
    ],
)
def test_every_servers_wording_of_an_oversized_message_is_a_size_refusal(details: str) -> None:
    assert is_too_large_grpc("RESOURCE_EXHAUSTED", details)


@pytest.mark.parametrize(
    ("code", "details"),
    [
        ("RESOURCE_EXHAUSTED", "queue is full, retry later"),  # backpressure: retried
        ("RESOURCE_EXHAUSTED", None),
        ("UNAVAILABLE", "message larger than max"),
        ("INVALID_ARGUMENT", "exceeds maximum"),
    ],
)
def test_other_refusals_are_not_size_refusals(code: str, details: str | None) -> None:
    assert not is_too_large_grpc(code, details)


def test_only_http_413_is_a_size_refusal() -> None:
    assert is_too_large_http(413)
    assert not any(is_too_large_http(status) for status in (None, 200, 400, 429, 500, 503))
