"""Which names count as secrets."""

from __future__ import annotations

import pytest

from ragtel._redaction import is_sensitive_name, mask_url_credentials


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "API-KEY",
        "apikey",
        "openai_api_key",
        "password",
        "db_password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refreshToken",
        "Authorization",
        "cookie",
        "Set-Cookie",
        "credentials",
        "private_key",
        "aws_secret_access_key",
    ],
)
def test_credential_names_are_sensitive(name: str) -> None:
    assert is_sensitive_name(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "input_tokens", "tokenizer", "top_k", "query", "keys", "session_id", "author"],
)
def test_ordinary_names_are_not(name: str) -> None:
    assert not is_sensitive_name(name)


def test_only_the_password_of_a_url_is_masked() -> None:
    text = "see https://bob:pa55@example.com/x and http://example.com/y"
    assert (
        mask_url_credentials(text)
        == "see https://bob:[REDACTED]@example.com/x and http://example.com/y"
    )
