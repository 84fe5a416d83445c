"""Which captured names and strings hold secrets, and how they are masked.

Redaction works on names, not on values: an argument, dict key or field whose
name reads like a credential has its value replaced with :data:`REDACTED`.
Names are split into words (``snake_case``, ``kebab-case``, ``camelCase``) so
``access_token`` and ``apiKey`` are caught while ``max_tokens`` and
``input_tokens`` — ordinary LLM parameters — are not.
"""

from __future__ import annotations

import itertools
import re
from typing import Final

REDACTED: Final = "[REDACTED]"

# A name is sensitive when one of its words is here...
_SENSITIVE_WORDS: Final = frozenset(
    {
        "apikey",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "token",
    }
)
# ...or when two adjacent words are one of these pairs.
_SENSITIVE_PAIRS: Final = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("client", "secret"),
        ("set", "cookie"),
        ("session", "token"),
    }
)

# Patterns are compiled on first use (re caches them): import ragtel stays cheap.
_WORD_SPLIT: Final = r"[^0-9a-zA-Z]+|(?<=[a-z0-9])(?=[A-Z])"
# userinfo of a URL: scheme://user:password@host — the password part is masked.
# The scheme's length is bounded: unbounded, a match tried at every position of
# a long alphanumeric run (a base64 blob) scanned the rest of it each time,
# quadratic in the run's length. Schemes are short, and the scheme is kept as it
# is, so where a match starts in a longer run changes nothing.
_URL_CREDENTIALS: Final = r"([A-Za-z][A-Za-z0-9+.-]{0,63}://[^/\s:@]*:)[^@\s/]+@"

# Argument and key names repeat endlessly (the same functions are called again
# and again), so decisions are cached; the cap keeps an app that invents keys
# from growing the cache without bound.
_CACHE_LIMIT: Final = 4096
NAME_DECISIONS: dict[str, bool] = {}
_decisions = NAME_DECISIONS


def is_sensitive_name(name: str) -> bool:
    """Return True when ``name`` reads like a credential (``api_key``, ``Authorization``...)."""
    decision = _decisions.get(name)
    if decision is None:
        decision = _classify(name)
        if len(_decisions) < _CACHE_LIMIT:
            _decisions[name] = decision
    return decision


def _classify(name: str) -> bool:
    words = [word.lower() for word in re.split(_WORD_SPLIT, name) if word]
    if any(word in _SENSITIVE_WORDS for word in words):
        return True
    return any(pair in _SENSITIVE_PAIRS for pair in itertools.pairwise(words))


def may_hold_url_credentials(text: str) -> bool:
    """False when ``text`` surely holds no ``scheme://user:password@host`` URL.

    Almost no captured string holds one. A one-character search is a memchr,
    about eight times faster than looking for ``://``, so ``@`` goes first.
    """
    return "@" in text and "://" in text


def mask_url_credentials(text: str) -> str:
    """Mask the password of any ``scheme://user:password@host`` URL inside ``text``."""
    if not may_hold_url_credentials(text):
        return text
    return re.sub(_URL_CREDENTIALS, rf"\g<1>{REDACTED}@", text)


# name=value or 'name': value inside a repr, e.g. Config(api_key='sk-...'). A name
# starts where a run of word characters starts: a match tried inside a long run
# (a base64 blob) would scan and backtrack over the rest of it at every position,
# quadratic in the run's length (seconds for 8,000 characters).
_REPR_FIELD: Final = (
    r"""(?P<name>['"]?(?<![\w-])[\w-]+['"]?\s*[=:]\s*)"""
    r"""(?P<value>'[^']*'|"[^"]*"|[^,)\]}\s]+)"""
)
_REPR_HINTS: Final = (
    "key",
    "token",
    "secret",
    "pass",
    "pwd",
    "cookie",
    "bearer",
    "auth",
    "credential",
)


def redact_repr(text: str) -> str:
    """Redact ``name=value`` fields of a ``repr`` whose name is sensitive."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _REPR_HINTS):
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group("name").rstrip(" =:").strip("'\"")
        return match.group("name") + repr(REDACTED) if is_sensitive_name(name) else match.group(0)

    return re.sub(_REPR_FIELD, replace, text)
