"""Which names count as secrets."""

from __future__ import annotations

import time

import pytest

from ragtel._encoding.redaction import is_sensitive_name, mask_url_credentials, redact_repr


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
        # One word, ending in a sensitive one.
        "accesstoken",
        "apitoken",
        "authkey",
        "pgpassword",
        "PGPASSWORD",
        "csrftoken",
        "passWord",
        "Pass_Word",
        "csrf",
        "X-CSRF-Token",
        "xsrf",
        "XSRF-TOKEN",
        "sessionid",
        "hmac_key",
        "otp",
        "totp",
        "otpauth",
        "license_key",
        "db_pass",
        "DB_PASS",
        "github_pat",
    ],
)
def test_credential_names_are_sensitive(name: str) -> None:
    assert is_sensitive_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "input_tokens",
        "tokenizer",
        "top_k",
        "query",
        "keys",
        "session_id",
        "sessionId",
        "sessions",
        "author",
        "tokens",
        "token_count",
        "pass_rate",
        "pass_count",
        "first_pass",
        "bypass",
        "passenger",
        "compass",
        "keypoint",
        "protocol",
        "github_url",
        "pattern",
        "hmac",
        "license",
    ],
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


# Real-world names a credential travels under, and ordinary names beside them.
# (boto3/botocore, requests/httpx, HTTP headers, OpenAI and Anthropic clients,
# Azure and database connection settings.)
SENSITIVE_NAMES = [
    "pw",
    "db_pw",
    "X-Amz-Signature",
    "sig",
    "signature",
    # plural and camelCase forms
    "secrets",
    "passwords",
    "apiKeys",
    "api_keys",
    "cookies",
    "credentials",
    "accessTokens",
    "refresh_tokens",
    # requests / httpx / aiohttp: auth=("bob", pw) or auth=BasicAuth(...)
    "auth",
    "basic_auth",
    "http_auth",
    "proxy_auth",
    # boto
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "AWS_SECRET_ACCESS_KEY",
    "SecretAccessKey",
    "SessionToken",
    # HTTP headers
    "Authorization",
    "Proxy-Authorization",
    "x-api-key",
    "X-API-Key",
    "x-auth-token",
    "X-Amz-Security-Token",
    "x-goog-api-key",
    "Cookie",
    "Set-Cookie",
    "Ocp-Apim-Subscription-Key",
    "api-key",
    # OpenAI and Anthropic clients, and their environment variables
    "api_key",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "anthropic-api-key",
    "azure_ad_token",
    # connection settings
    "Password",
    "PWD",
    "db_password",
    "AccountKey",
    "SharedAccessKey",
    "client_secret",
    "private_key",
    "privateKey",
    "APIKey",
    "jwt",
    "passphrase",
    "--password",
]
ORDINARY_NAMES = [
    "max_tokens",
    "max_completion_tokens",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "prompt_tokens",
    "tokens",
    "token_count",
    "tokenCount",
    "token_ids",
    "tokenizer",
    "key",
    "keys",
    "primary_key",
    "sort_key",
    "partition_key",
    "cache_key",
    "author",
    "authors",
    "authority",
    "organization",
    "OpenAI-Organization",
    "anthropic-version",
    "model",
    "temperature",
    "session_id",
    "auth_type",
    "token_url",
    "secret_name",
    "password_length",
    "keyword",
    "monkey",
    "passage",
    "compass",
    "pwm",
    "pwr",
    "signal",
    "signature_version",
    "design",
    "sigma",
]


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_real_world_credential_names_are_sensitive(name: str) -> None:
    assert is_sensitive_name(name)


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_real_world_ordinary_names_are_not(name: str) -> None:
    assert not is_sensitive_name(name)


def test_every_sensitive_word_holds_a_hint() -> None:
    # The quick substring test that skips text with no sensitive name relies on it.
    from ragtel._encoding.sensitive_names import _SENSITIVE_PAIRS, _SENSITIVE_WORDS, NAME_HINTS

    for word in _SENSITIVE_WORDS | {first + second for first, second in _SENSITIVE_PAIRS}:
        assert any(hint in word for hint in NAME_HINTS), word


# Secrets inside text: connection strings, URLs, query strings, header lines.
SECRET_TEXTS = [
    ("Driver={ODBC Driver 18};Server=db;Uid=app;Pwd=S3CRET;Encrypt=yes", "Pwd="),
    ("Server=db;Database=rag;User ID=app;Password=S3CRET;", "Password="),
    ("Data Source=db;Password='S3CRET;still';Pooling=true", "Password="),
    ("PWD={S3C;RET};UID=app", "PWD="),
    ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=S3CRET==;", "AccountKey="),
    ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=S3CRET", "SharedAccessKey="),
    ("host=db port=5432 dbname=rag user=app password=S3CRET", "password="),
    ("jdbc:postgresql://db/rag?user=app&password=S3CRET&ssl=true", "password="),
    ("postgresql+psycopg://app:S3CRET@db:5432/rag", "app:"),
    ("mysql+pymysql://app:S3CRET@db/rag?charset=utf8", "app:"),
    ("redis://:S3CRET@cache:6379/0", "://:"),
    ("mongodb+srv://app:S3C@RET@cluster.example.net/rag", "app:"),
    ("https://api.example.com/v1/search?q=rag&api_key=S3CRET&n=5", "api_key="),
    ("Authorization: Bearer S3CRET", "Authorization:"),
    ("curl -H 'x-api-key: S3CRET' https://api.example.com", "x-api-key:"),
    ('{"client_secret": "S3CRET", "client_id": "app"}', "client_secret"),
    ("Client(auth=('bob', 'S3CRET'), timeout=3)", "auth="),
    ("Outer(inner=Inner(api_key='S3CRET'))", "api_key="),
    ("{'headers': {'Authorization': 'Bearer S3CRET'}}", "Authorization"),
    ("token=b'S3CRET'", "token="),
    ("git clone https://ghp_S3CRET@github.com/org/repo", "https://"),
    ("https://x-access-token:S3CRET@github.com/org/repo", "x-access-token:"),
    (
        "https://bucket.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=S3CRET",
        "X-Amz-Signature=",
    ),
    ("https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=S3CRET%3D", "sig="),
    ("Login(user='bob', pw='S3CRET')", "pw="),
    ("api_key:\n  S3CRET\nmodel: gpt", "api_key:"),
    ("llm:\n  password:\n    S3CRET\n", "password:"),
]


@pytest.mark.parametrize(("text", "kept"), SECRET_TEXTS)
def test_secrets_inside_text_are_redacted(text: str, kept: str) -> None:
    from ragtel._encoding.redaction import redact_text

    redacted = redact_text(text)
    assert "S3C" not in redacted and "RET" not in redacted, redacted
    assert kept in redacted and "[REDACTED]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=512, temperature=0.2",
        "See https://example.com/docs?page=2&sort=asc",
        "Time: 12:30, key: value, keys=3",
        "postgresql://db.internal:5432/rag",
        "author=Ada Lovelace; authority: high",
        "password:\nmodel: gpt",  # an empty field: the next line is a key of its own
        "Contact: ada@example.com, see https://example.com/a?b=1",
    ],
)
def test_text_without_secrets_is_left_alone(text: str) -> None:
    from ragtel._encoding.redaction import redact_text

    assert redact_text(text) == text


def test_header_pairs_in_reprs_are_redacted() -> None:
    text = "[('Authorization', 'Bearer S3CRET'), ('Accept', 'json'), ('x-api-key', \"S3CRET\")]"
    assert redact_repr(text) == (
        "[('Authorization', '[REDACTED]'), ('Accept', 'json'), ('x-api-key', \"[REDACTED]\")]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "password='" + "a" * 200_000,  # a value that never ends
        "(" * 100_000 + "token=x",
        "api_key=" + "[" * 100_000,
        "key=" * 50_000,
        "'a': " * 50_000,
        "token: \\" * 30_000,
        "token:\n " * 50_000,
        "password:\n\n" * 50_000,
        "https://" + "a" * 200_000,
        "a://b" * 50_000 + "@",
    ],
)
def test_redacting_hostile_text_takes_linear_time(text: str) -> None:
    from ragtel._encoding.redaction import redact_text

    started = time.perf_counter()
    redact_text(text)
    redact_repr(text)
    assert time.perf_counter() - started < 1.0


def test_the_name_cache_stays_bounded() -> None:
    from ragtel._encoding.sensitive_names import _CACHE_LIMIT, NAME_DECISIONS

    for number in range(_CACHE_LIMIT + 500):
        is_sensitive_name(f"field_{number}")
    assert len(NAME_DECISIONS) <= _CACHE_LIMIT
    # A long "name" is data: it is neither hashed into the cache nor read whole.
    long_name = "x" * 10_000_000 + "_token"
    started = time.perf_counter()
    assert is_sensitive_name(long_name)
    assert time.perf_counter() - started < 0.05
    assert long_name not in NAME_DECISIONS


def test_keys_that_are_no_plain_str_are_redacted_alike_in_reprs_and_json() -> None:
    # log() writes a repr, trace capture writes JSON: the same keys must be
    # redacted by both (the repr once checked str keys alone).
    import enum

    from ragtel._config import ValueLimits
    from ragtel._encoding.encoder import encode_json
    from ragtel._encoding.safe_repr import safe_repr

    class Plain(enum.Enum):
        api_key = "api_key"

    class Text(str, enum.Enum):
        password = "password"

    class Numbered(enum.Enum):
        secret = 1

    class Name(str):
        pass

    for key in (Plain.api_key, Text.password, Numbered.secret, Name("token"), ("password",)):
        value = {key: "S3CR3T", "kept": "visible"}
        for text in (safe_repr(value, 1000), encode_json(value, ValueLimits())):
            assert "S3CR3T" not in text and "visible" in text, (key, text)
    assert "S3CR3T" in safe_repr({("user", 1): "S3CR3T", Name("stage"): 1}, 1000)
