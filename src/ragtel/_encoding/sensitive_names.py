"""Which names read like credentials: the rule behind every redaction ragtel makes.

Redaction works on names, not on values: an argument, dict key or field whose
name reads like a credential has its value replaced with :data:`REDACTED`.
Names are split into words (``snake_case``, ``kebab-case``, ``camelCase``) so
``access_token``, ``apiKeys`` and ``Proxy-Authorization`` are caught while
``max_tokens``, ``token_count`` and ``primary_key`` — ordinary parameters —
are not. How text is searched for such names is
:mod:`ragtel._encoding.redaction`.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Sequence
from typing import Final

REDACTED: Final = "[REDACTED]"

# A name is sensitive when one of its words is here...
_SENSITIVE_WORDS: Final = frozenset(
    {
        "apikey",
        "apikeys",
        "auth",  # requests, httpx and aiohttp: auth=("user", "password")
        "authorization",
        "authorizations",
        "bearer",
        "cookie",
        "cookies",
        "cred",
        "creds",
        "credential",
        # Anti-forgery tokens: Django's csrftoken cookie, Angular's XSRF-TOKEN.
        "csrf",
        "credentials",
        "jwt",
        # One-time passwords; an otpauth:// URI carries the TOTP seed itself.
        "otp",
        "otpauth",
        "passcode",
        "passphrase",
        "passphrases",
        "passwd",
        "password",
        "passwords",
        "pw",
        "pwd",
        "secret",
        "secrets",
        # A session cookie's name (Django, PHP): session_id, an identifier
        # recorded on purpose (session.id), is two words and stays visible.
        "sessionid",
        # Request signatures: S3 presigned URLs (X-Amz-Signature=), Azure SAS (sig=).
        "sig",
        "signature",
        # Singular only: "tokens" is how LLM APIs count (max_tokens, input_tokens).
        "token",
        "totp",
        "xsrf",
    }
)
# A name written as one word (PGPASSWORD, accesstoken, authKey split into
# nothing) is sensitive when it ends like one: its tail is the secret's kind.
_SENSITIVE_ENDINGS: Final = (
    "accesskey",
    "apikey",
    "authkey",
    "passwd",
    "password",
    "privatekey",
    "secret",
    "secretkey",
    "token",
)
# ...or when two adjacent words are one of these pairs ("key" alone is not a
# secret: primary_key, sort_key, cache keys)...
_KEY_OWNERS: Final = (
    "access",
    "account",  # Azure storage: AccountKey=
    "api",
    "app",
    "auth",
    "client",
    "consumer",
    "encryption",
    "hmac",
    "license",
    "master",
    "private",
    "secret",
    "session",
    "shared",
    "signing",
    "ssh",
    "subscription",  # Azure API Management: Ocp-Apim-Subscription-Key
)
_TOKEN_OWNERS: Final = ("access", "api", "auth", "bearer", "id", "refresh", "session")
_SENSITIVE_PAIRS: Final = frozenset(
    [(owner, key) for owner in _KEY_OWNERS for key in ("key", "keys")]
    + [(owner, "tokens") for owner in _TOKEN_OWNERS]
    # "pass" alone is no secret (pass_rate, first_pass: eval metrics), nor "pat".
    + [("db", "pass"), ("github", "pat")]
)
# ...unless its last word says it names something about the secret, not the
# secret itself: token_count, token_ids, auth_type, password_length, secret_name,
# token_url, api_key_env.
_DESCRIPTOR_WORDS: Final = frozenset(
    {
        "budget",
        "count",
        "counts",
        "endpoint",
        "env",
        "error",  # TokenError: a message follows, not a secret
        "errors",
        "estimate",
        "exception",
        "file",
        "ids",
        "len",
        "length",
        "limit",
        "limits",
        "name",
        "path",
        "size",
        "type",
        "types",
        "uri",
        "url",
        "usage",
        "version",  # signature_version="s3v4"
    }
)
# Every sensitive word and pair contains one of these (a test checks it): text
# without any of them holds no sensitive name, which a substring search tells
# much faster than splitting names into words.
NAME_HINTS: Final = (
    "key",
    "token",
    "secret",
    "pass",
    "pw",
    "sig",
    "cookie",
    "bearer",
    "auth",
    "cred",
    "jwt",
    "srf",
    "otp",
    "sessionid",
    "github",
)

# Patterns are compiled on first use (re caches them): import ragtel stays cheap.
# Word boundaries: separators, lower-to-upper (apiKey) and the end of an
# acronym (APIKey -> API Key).
_WORD_SPLIT: Final = r"[^0-9a-zA-Z]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"

# Argument and key names repeat endlessly (the same functions are called again
# and again), so decisions are cached; the cap keeps an app that invents keys
# from growing the cache without bound (past it, names are classified anew).
_CACHE_LIMIT: Final = 4096
_CACHED_NAME_LENGTH: Final = 256  # a longer "name" is data, not worth keeping
NAME_DECISIONS: dict[str, bool] = {}
_decisions = NAME_DECISIONS


def is_sensitive_name(name: str) -> bool:
    """Return True when ``name`` reads like a credential (``api_key``, ``Authorization``...)."""
    if len(name) > _CACHED_NAME_LENGTH:
        return _classify(name)  # not even hashed: that would read all of it
    decision = _decisions.get(name)
    if decision is None:
        decision = _classify(name)
        if len(_decisions) < _CACHE_LIMIT:
            _decisions[name] = decision
    return decision


def is_sensitive_key(key: object) -> bool:
    """True when a mapping key reads like a credential: the rule for every recorded mapping.

    A ``str`` key by its name (a subclass by its text, without calling its own
    methods); an enum member by its value if that is text, and by its own name
    (``Field.password = 1``); a tuple key when any of its text items does.
    """
    if type(key) is str:
        return is_sensitive_name(key)
    if isinstance(key, enum.Enum):
        value = key.__dict__.get("_value_")  # stored by enum, read without a property
        name = key.__dict__.get("_name_")
        return any(isinstance(text, str) and _is_sensitive_text(text) for text in (value, name))
    if isinstance(key, str):
        return _is_sensitive_text(key)
    if isinstance(key, tuple):
        return any(isinstance(item, str) and _is_sensitive_text(item) for item in key)
    return False


def _is_sensitive_text(text: str) -> bool:
    return is_sensitive_name(str.__str__(text))


def is_secret_pair(value: Sequence[object]) -> bool:
    """True when ``value`` is a ``("name", value)`` pair whose name reads like a credential.

    Headers often travel as such pairs (``[("Authorization", "Bearer ...")]``),
    and so do ``auth=("user", "password")`` arguments: wherever a list or tuple
    is recorded, its second item is then masked.
    """
    return len(value) == 2 and type(value[0]) is str and is_sensitive_name(value[0])


def _classify(name: str) -> bool:
    if len(name) > _CACHED_NAME_LENGTH:
        # Data rather than a name: its two ends are what could read as one, and
        # the cost must not grow with its length.
        half = _CACHED_NAME_LENGTH // 2
        name = f"{name[:half]} {name[-half:]}"
    lowered = name.lower()
    if not any(hint in lowered for hint in NAME_HINTS):
        return False
    words = [word.lower() for word in re.split(_WORD_SPLIT, name) if word]
    if not words or words[-1] in _DESCRIPTOR_WORDS:
        return False
    if any(word in _SENSITIVE_WORDS or word.endswith(_SENSITIVE_ENDINGS) for word in words):
        return True
    for pair in itertools.pairwise(words):
        # passWord, Pass_Word: a compound the word split cut in two. Endings
        # only: session_id is two words on purpose, not the cookie sessionid.
        if pair in _SENSITIVE_PAIRS or (pair[0] + pair[1]).endswith(_SENSITIVE_ENDINGS):
            return True
    return False
