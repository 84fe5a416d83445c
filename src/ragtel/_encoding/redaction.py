"""Which captured names and strings hold secrets, and how they are masked.

Names first (:mod:`ragtel._encoding.sensitive_names`, re-exported here): an
argument, dict key or field whose name reads like a credential has its value
replaced with :data:`REDACTED`.

Text is searched for the same names: ``name=value`` and ``name: value``
fields (keyword reprs, dict reprs, connection strings such as ODBC's
``Pwd=…;``, query strings, header lines) have the value replaced, and the
password of any ``scheme://user:password@host`` URL is masked (userinfo
without a password part, often a token, is masked whole). In reprs,
``('name', value)`` pairs (headers as lists of tuples) are redacted too.
"""

from __future__ import annotations

import re
from typing import Final

from ragtel._encoding.sensitive_names import (
    NAME_HINTS,
    REDACTED,
    is_secret_pair,
    is_sensitive_key,
    is_sensitive_name,
)

__all__ = [
    "NAME_HINTS",
    "REDACTED",
    "is_secret_pair",
    "is_sensitive_key",
    "is_sensitive_name",
    "mask_open_url_credentials",
    "mask_url_credentials",
    "may_hold_secrets",
    "may_hold_url_credentials",
    "redact_repr",
    "redact_text",
]

# URLs -----------------------------------------------------------------------------

# userinfo of a URL: scheme://user:password@host — the password part is masked;
# userinfo without a ":" (https://ghp_token@github.com) is a token as often as a
# user name, and is masked whole.
# The scheme's length is bounded: unbounded, a match tried at every position of
# a long alphanumeric run (a base64 blob) scanned the rest of it each time,
# quadratic in the run's length. Schemes are short, and the scheme is kept as it
# is, so where a match starts in a longer run changes nothing. The password
# runs to the last "@" before the host (an unescaped "@" inside a password is
# common); it cannot cross a "/" or a space, so each try stops at the next URL.
# Userinfo without a ":" cannot hold "?" or "#" either: an "@" after one is in the
# query (https://example.com?to=ada@example.com), not before the host.
_URL_CREDENTIALS: Final = (
    r"([A-Za-z][A-Za-z0-9+.-]{0,63}://)(?:(?P<user>[^/\s:@]*:)[^\s/]+|[^/\s:@?#]+)@"
)
# The same userinfo cut off by the end of the text, before its "@".
_OPEN_USERINFO: Final = r"([^/\s:@]*:)[^@\s/]*"


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
    return re.sub(_URL_CREDENTIALS, _masked_userinfo, text)


def _masked_userinfo(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group('user') or ''}{REDACTED}@"


def mask_open_url_credentials(text: str) -> str:
    """Mask a URL password that runs to the end of ``text`` (a head cut from a longer text).

    Cut before its ``@``, a URL's password no longer reads as one; the part
    that remains must not be shown.
    """
    start = text.rfind("://")
    if start < 0:
        return text
    start += 3
    match = re.fullmatch(_OPEN_USERINFO, text[start:])
    if match is None:
        return text
    return text[:start] + match.group(1) + REDACTED


# name=value fields in text ----------------------------------------------------------

# name=value, name: value, 'name': value or ('name', value), as keyword reprs,
# dict reprs, header pairs, connection and query strings write them. A name
# starts where a run of word characters starts: a match tried inside a long run
# (a base64 blob) would scan and backtrack over the rest of it at every
# position, quadratic in the run's length (seconds for 8,000 characters). The
# value is not part of the pattern: it is found by :func:`_value_end`, which
# knows quotes and brackets, and only for sensitive names, so that the fields
# inside the value of an ordinary name (inner=Inner(api_key=...)) are searched too.
_FIELD: Final = (
    r"""(?:\(\s*(?P<pq>['"])(?<![\w-])(?P<pair>[\w-]+)(?P=pq)\s*,"""
    r"""|(?P<q>['"]?)(?<![\w-])(?P<name>[\w-]+)(?P=q)\s*(?P<sep>[=:]))[ \t]*"""
)
_QUOTES: Final = "'\""
_OPENERS: Final = "([{"
_CLOSERS: Final = ")]}"
# Where a bare value ends: a field separator (ODBC's ";", a query string's "&")
# or a space, at bracket depth 0.
_BARE_ENDS: Final = ",;&"
# A bare value that is an HTTP auth scheme is followed by the credential itself.
_AUTH_SCHEMES: Final = frozenset({"basic", "bearer", "digest", "token"})
# String prefixes of a repr: b'...', rb'...'.
_STRING_PREFIXES: Final = frozenset({"b", "r", "u", "f", "br", "rb", "B", "R", "U", "F"})


def may_hold_secrets(text: str) -> bool:
    """False when ``text`` surely holds no sensitive field nor URL password (cheap).

    A field needs a ``=`` or a ``:`` and a name with one of :data:`NAME_HINTS`;
    a URL password an ``@`` (and a ``:``). Each test is a memchr or a
    substring search. Callers on hot paths test ``"=" in text or ":" in text``
    themselves first.
    """
    if "=" not in text and ":" not in text:
        return False
    if "@" in text and "://" in text:
        return True
    lowered = text.lower()
    return any(hint in lowered for hint in NAME_HINTS)


def redact_text(text: str) -> str:
    """``text`` with the values of sensitive fields and URL passwords replaced.

    Fields are ``name=value`` and ``name: value`` (names quoted or not).
    Linear in the text's length: each character is looked at a bounded number
    of times. A value that does not end (an open quote or bracket) is
    redacted to the end of the text: when in doubt, nothing is shown.
    """
    if not may_hold_secrets(text):
        return text
    return _redact_fields(mask_url_credentials(text), pairs=False)


def redact_repr(text: str) -> str:
    """Redact a ``repr``: as :func:`redact_text`, and ``('name', value)`` pairs too."""
    if "('" in text or '("' in text:
        return _redact_fields(mask_url_credentials(text), pairs=True)
    return redact_text(text)


def _redact_fields(text: str, *, pairs: bool) -> str:
    lowered = text.lower()
    if not any(hint in lowered for hint in NAME_HINTS):
        return text
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces
    position = 0
    pattern = re.compile(_FIELD)
    while True:
        match = pattern.search(text, position)
        if match is None:
            break
        name = match.group("name")
        if name is None:
            name = match.group("pair")
            if not pairs:
                position = match.end("pair")
                continue
        if not _is_sensitive_field(name):
            # Not consumed: the fields inside this one's value are searched too.
            position = match.end("name") if match.group("name") else match.end("pair")
            continue
        start = match.end()
        if match.group("sep") == ":":
            start = _next_line_value(text, start)
        end = _value_end(text, start)
        if end == start:
            position = start
            continue
        pieces.append(text[done:start])
        pieces.append(_replacement(text[start]))
        done = position = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _is_sensitive_field(name: str) -> bool:
    lowered = name.lower()
    # Words of free text are not cached as names: they would crowd out real ones.
    return any(hint in lowered for hint in NAME_HINTS) and is_sensitive_name(name)


def _next_line_value(text: str, start: int) -> int:
    """Where a YAML value written on the line after its ``name:`` starts, else ``start``.

    Only an indented line is the value: an unindented one is a key of its own.
    """
    index = start
    if text.startswith("\r\n", index):
        index += 2
    elif text.startswith("\n", index):
        index += 1
    else:
        return start
    indented = index
    while indented < len(text) and text[indented] in " \t":
        indented += 1
    if indented == index or indented == len(text) or text[indented] in "\r\n":
        return start
    return indented


def _replacement(first: str) -> str:
    # Quoted the way the value was, so a repr still reads as one.
    return f'"{REDACTED}"' if first == '"' else repr(REDACTED)


def _value_end(text: str, start: int) -> int:
    """Where the value that starts at ``start`` ends (exclusive)."""
    end = _atom_end(text, start)
    # "Authorization: Bearer sk-..." or "auth=Basic dXNlcjpwdw==": the scheme,
    # then the credential.
    if text[start:end].lower() in _AUTH_SCHEMES and end < len(text) and text[end] == " ":
        following = end + 1
        while following < len(text) and text[following] == " ":
            following += 1
        if following < len(text):
            end = max(end, _atom_end(text, following))
    return end


def _atom_end(text: str, start: int) -> int:
    length = len(text)
    depth = 0
    index = start
    while index < length:
        char = text[index]
        if char in _QUOTES:
            if depth == 0 and index != start and text[start:index] not in _STRING_PREFIXES:
                return index  # a quote after a bare word: where a JSON string or repr closes
            index = _string_end(text, index)
            if depth == 0:
                return index
        elif char in _OPENERS:
            depth += 1
            index += 1
        elif char in _CLOSERS:
            if depth == 0:
                return index
            depth -= 1
            index += 1
            if depth == 0:
                return index
        elif char == "\\":
            index += 2  # an escaped character belongs to the value
        elif depth == 0 and (char in _BARE_ENDS or char.isspace()):
            return index
        else:
            index += 1
    return length


def _string_end(text: str, start: int) -> int:
    """Just past the quote closing the string that opens at ``start`` (or the text's end)."""
    quote = text[start]
    index = start + 1
    length = len(text)
    while True:
        closing = text.find(quote, index)
        if closing < 0:
            return length
        # A quote preceded by an odd number of backslashes is escaped.
        backslashes = 0
        while closing - 1 - backslashes > start and text[closing - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return closing + 1
        index = closing + 1
