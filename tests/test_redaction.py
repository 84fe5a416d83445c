"""Which names count as secrets."""

from __future__ import annotations

import time

import pytest

from ragtel._redaction import is_sensitive_name, mask_url_credentials, redact_repr


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


def test_repr_fields_are_redacted_by_the_same_word_rule() -> None:
    text = "Config(api_key='sk-1', max_tokens=5, élan_token=x, x-api-key: y, n=1)"
    assert redact_repr(text) == (
        "Config(api_key='[REDACTED]', max_tokens=5, élan_token='[REDACTED]', "
        "x-api-key: '[REDACTED]', n=1)"
    )


@pytest.mark.parametrize("run", ["a" * 16_000, "a-" * 8_000, "a1" * 8_000])
def test_redacting_a_repr_with_a_long_word_takes_linear_time(run: str) -> None:
    # A field name was tried at every position of a long run of word characters,
    # each try scanning the rest of it: with "token" (max_tokens) anywhere in a
    # repr, 16,000 characters took seconds and 100,000 many minutes (log() hung).
    started = time.perf_counter()
    text = f"['max_tokens', '{run}']"
    assert redact_repr(text) == text
    assert time.perf_counter() - started < 1.0


def test_masking_url_passwords_in_a_long_text_takes_linear_time() -> None:
    # A scheme was tried at every position of a long alphanumeric run, each try
    # scanning the rest of it: quadratic, seconds for this 60,000-character text
    # (a 250,000-character document with an e-mail address and a link: minutes).
    blob = "a1" * 30_000
    text = f"mail ops@example.com, see https://example.com/ {blob} postgres://u:pw@db"
    started = time.perf_counter()
    assert mask_url_credentials(text) == text.replace("u:pw@", "u:[REDACTED]@")
    assert time.perf_counter() - started < 1.0
    assert mask_url_credentials("1https://u:pw@h") == "1https://u:[REDACTED]@h"
