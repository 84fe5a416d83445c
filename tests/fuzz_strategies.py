"""Hypothesis strategies for fuzzing ragtel's public API: values nobody should pass, passed anyway.

``anything`` is the hostile value: nested containers, cycles, huge strings,
lone surrogates, bytes, NaN and infinities, ints beyond 64 bits (and beyond
``int``'s string conversion limit), objects whose ``repr``/``str`` raise or
return something that is not text, whose ``==``/``hash()`` raise, proxies
that answer any attribute, mappings and lists whose own iteration or length
raises. The other strategies are the valid forms
of typed arguments (ids, chunks, contexts...), so a test can draw each
argument either valid or wild.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from hypothesis import strategies as st

from ragtel import Chunk, Document, RetrievedChunk

# Hostile objects --------------------------------------------------------------


class RaisingRepr:
    """``repr()`` and ``str()`` raise, as a broken third-party ``__repr__`` does."""

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ exploded")

    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


class NonTextRepr:
    """``__repr__`` and ``__str__`` return non-text, so ``repr()`` and ``str()`` raise TypeError."""

    def __repr__(self) -> Any:
        return 42

    def __str__(self) -> Any:
        return None


class RaisingStr:
    """A readable ``repr``, but ``str()`` raises."""

    def __repr__(self) -> str:
        return "RaisingStr()"

    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


class HostileText(str):
    """A ``str`` subclass (so it passes isinstance checks) whose ``str()``/``repr()`` raise."""

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ exploded")

    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


class RaisingCompare:
    """``==``, ``<``, ``hash()`` and ``bool()`` raise, as broken ``__eq__``/``__hash__`` do."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("__eq__ exploded")

    def __lt__(self, other: object) -> bool:
        raise RuntimeError("__lt__ exploded")

    def __hash__(self) -> int:
        raise RuntimeError("__hash__ exploded")

    def __bool__(self) -> bool:
        raise RuntimeError("__bool__ exploded")

    def __repr__(self) -> str:
        return "RaisingCompare()"


ATTRIBUTE_LOOKUPS: list[str] = []
"""Every lookup made on a :class:`AnswersAnything` (a test asserts it stays empty)."""


class AnswersAnything:
    """A proxy (an XML-RPC ServerProxy, a mock): any attribute exists; each lookup is recorded.

    Calling what a lookup returns would be a remote call with side effects.
    """

    def __getattr__(self, name: str) -> Any:
        ATTRIBUTE_LOOKUPS.append(name)
        return lambda *args, **kwargs: {"side": "effect"}

    def __repr__(self) -> str:
        return "AnswersAnything()"


class BrokenMapping(Mapping[str, Any]):
    """A Mapping whose iteration (so ``items()``, ``keys()``, ``dict()``...) raises part way."""

    def __getitem__(self, key: str) -> Any:
        return "value"

    def __iter__(self) -> Iterator[str]:
        yield "first"
        raise RuntimeError("__iter__ exploded")

    def __len__(self) -> int:
        return 2


class UncountedMapping(Mapping[str, Any]):
    """A Mapping whose ``__len__`` raises (and so ``bool()``)."""

    def __getitem__(self, key: str) -> Any:
        return 1

    def __iter__(self) -> Iterator[str]:
        return iter(["a"])

    def __len__(self) -> int:
        raise RuntimeError("__len__ exploded")


class BrokenList(list):  # type: ignore[type-arg]
    """A list whose own ``__iter__`` and ``__len__`` raise."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("__iter__ exploded")

    def __len__(self) -> int:
        raise RuntimeError("__len__ exploded")


class Color(enum.Enum):
    RED = "red"
    NAN = float("nan")


class Point(NamedTuple):
    x: Any
    api_key: Any


@dataclasses.dataclass
class Record:
    name: Any
    password: Any = None


HOSTILE_OBJECTS: tuple[Callable[[], Any], ...] = (
    RaisingRepr,
    NonTextRepr,
    RaisingStr,
    lambda: HostileText("hostile"),
    object,
    lambda: lambda: None,  # a function: no JSON form, a repr with an address
    lambda: iter([1, 2]),  # an iterator: reading it would use it up
    lambda: Document,  # a class (a dataclass type, not an instance)
    lambda: Ellipsis,
    lambda: NotImplemented,
    lambda: 1 + 2j,
    lambda: range(10**12),
    RaisingCompare,
    AnswersAnything,
    BrokenMapping,
    UncountedMapping,
    lambda: BrokenList([1, 2]),
)

# Text ---------------------------------------------------------------------------

ODD_TEXT: tuple[str, ...] = (
    "",
    " ",
    "\t\n",
    "\x00",
    "\ud800",  # a lone high surrogate: not encodable as UTF-8
    "a\udfffb",  # a lone low surrogate between letters
    "\udcff\udcfe",  # surrogate-escaped bytes, as os.fsdecode makes them
    "\ud83d\ude00",  # a surrogate pair written as two code points
    "\u2028\u2029",
    "\ufeff",
    "\u202eevil",
    "e\u0301",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "null",
    "NaN",
    '{"traceparent": 5}',
    "00-00000000000000000000000000000000-0000000000000000-01",
    "api_key",
    "postgres://user:secret@db.example/app",
    "%s%n{0}",
    "\\",
    '"',
)

# Every code point, surrogates included: lone surrogates are a classic crash
# source (protobuf and UTF-8 writers refuse them).
any_char_text = st.text(st.characters(codec=None, categories=None), max_size=40)
odd_text = st.sampled_from(ODD_TEXT)
# 100k+ characters, built rather than generated (Hypothesis caps generated data).
# Long runs of word characters (a base64 blob) are where regular expressions
# that backtrack go quadratic.
huge_text = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "a1", "é", "\ud800", "𝔘", "\x00", "key=secret "]),
    st.integers(min_value=100_000, max_value=250_000),
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``one_of`` with integer weights (a branch listed n times is drawn n times as often)."""
    return st.one_of(*[strategy for weight, strategy in choices for _ in range(weight)])


text = weighted((4, st.text(max_size=30)), (4, any_char_text), (2, odd_text), (1, huge_text))
"""Any text: the common kind, every code point, odd cases, and (rarely) huge."""

non_blank_text = text.filter(lambda value: bool(value.strip()))

# Numbers and bytes --------------------------------------------------------------

huge_ints = st.one_of(
    st.integers(min_value=2**63, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-(2**63) - 1),
    # Over int's default str() limit: str() raises ValueError. Built, not st.just():
    # Hypothesis would repr the strategy.
    st.builds(pow, st.just(10), st.just(5000)),
)
numbers = weighted(
    (3, st.integers()),
    (3, st.floats()),  # NaN, infinities and -0.0 included
    (1, st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 5e-324])),
    (1, huge_ints),
    (1, st.fractions(max_denominator=1000)),
    (1, st.sampled_from([decimal.Decimal("NaN"), decimal.Decimal("1e999999"), True, False])),
)
binary = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=64).map(bytearray),
    st.binary(max_size=64).map(memoryview),
    st.sampled_from([b"\xff\xfe", b"\xe2\x82", "é".encode("latin-1")]),
)

# Other library values ----------------------------------------------------------

library_values = st.one_of(
    st.datetimes(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(),
    st.sampled_from(list(Color)),
    st.builds(types.SimpleNamespace, token=text, value=st.integers()),
    st.just(datetime.date.min),
)

scalars = weighted(
    (4, text),
    (3, numbers),
    (1, st.none()),
    (1, st.booleans()),
    (1, binary),
    (1, library_values),
    (1, st.sampled_from(HOSTILE_OBJECTS).map(lambda make: make())),
)

hashables = st.one_of(
    text,
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.binary(max_size=8),
    st.sampled_from(list(Color)),
    st.builds(RaisingRepr),
    st.tuples(st.text(max_size=5), st.integers()),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.dictionaries(hashables, children, max_size=6),
        st.frozensets(hashables, max_size=6),
        st.sets(hashables, max_size=6),
        st.builds(Point, children, children),
        st.builds(Record, children, children),
    )


# Containers built so that they hold themselves: the encoder must not loop.


def _self_list(items: list[Any]) -> list[Any]:
    items = list(items)
    items.append(items)
    return items


def _self_dict(entries: dict[Any, Any]) -> dict[Any, Any]:
    entries = dict(entries)
    entries["self"] = entries
    return entries


def _mutual(value: Any) -> list[Any]:
    outer: list[Any] = [value]
    outer.append({"outer": outer, "value": value})
    return outer


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


nested = st.recursive(scalars, _containers, max_leaves=10)
cycles = st.one_of(
    st.lists(nested, max_size=3).map(_self_list),
    st.dictionaries(st.text(max_size=5), nested, max_size=3).map(_self_dict),
    nested.map(_mutual),
)
# Past the encoder's depth cap (32), and past the interpreter's recursion limit
# (repr() and json.dumps of such a value raise RecursionError).
deep = st.builds(_nested, st.sampled_from([31, 33, 100, 5_000]), scalars)
wide = st.sampled_from(
    [
        lambda: list(range(100_000)),
        lambda: dict.fromkeys(map(str, range(5_000)), "v"),
        lambda: {str(index): [index] * 10 for index in range(2_000)},
        lambda: set(range(3_000)),
    ]
).map(lambda make: make())

anything = weighted((6, nested), (2, cycles), (1, deep), (1, wide))
"""Any value at all, hostile ones included."""


def anything_but(*excluded: type) -> st.SearchStrategy[Any]:
    """``anything`` except instances of ``excluded`` (to draw a value that must be refused)."""
    return anything.filter(lambda value: not isinstance(value, excluded))


# Valid forms of typed arguments -------------------------------------------------------

optional_text = st.one_of(st.none(), text)
param_keys = st.from_regex(r"[A-Za-z0-9_-]{1,12}(\.[A-Za-z0-9_-]{1,8}){0,2}", fullmatch=True)
"""Valid ParamSet keys (and context-attribute metadata keys)."""

chunk_ids = st.one_of(text, st.integers())
# Any real number a double can hold: scores may be NaN or infinite.
scores = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.fractions(max_denominator=100),
)


def chunks(*, scored: bool) -> st.SearchStrategy[Any]:
    """A chunk as a dataclass or a dict, with any content and extras."""
    content = st.one_of(st.none(), text, anything)
    extras = st.one_of(st.none(), anything)
    embedding = st.one_of(st.none(), st.lists(st.floats(), max_size=4))
    if scored:
        return st.one_of(
            st.builds(
                RetrievedChunk,
                id=chunk_ids,
                content=content,
                embedding=embedding,
                extras=extras,
                retrieval_score=scores,
            ),
            st.fixed_dictionaries(
                {"id": chunk_ids, "score": scores},
                optional={"content": content, "extras": extras, "embedding": embedding},
            ),
        )
    return st.one_of(
        st.builds(Chunk, id=chunk_ids, content=content, embedding=embedding, extras=extras),
        st.fixed_dictionaries({"id": chunk_ids}, optional={"content": content, "extras": extras}),
    )


documents = st.one_of(
    st.builds(Document, id=text, name=optional_text, content=anything, extras=anything),
    st.fixed_dictionaries({"id": chunk_ids}, optional={"name": text, "extras": anything}),
)

trace_ids = st.one_of(
    st.integers(min_value=1, max_value=2**128 - 1),
    st.integers(min_value=1, max_value=2**128 - 1).map(lambda n: f"{n:032x}"),
    st.integers(min_value=1, max_value=2**128 - 1).map(lambda n: f"{n:032X}"),
)
span_ids = st.one_of(
    st.integers(min_value=1, max_value=2**64 - 1),
    st.integers(min_value=1, max_value=2**64 - 1).map(lambda n: f"{n:016x}"),
)
request_ids = st.one_of(non_blank_text, st.integers(), st.uuids())

token_counts = st.integers(min_value=0, max_value=2**63 - 1)
non_negative = st.one_of(
    st.floats(min_value=0),  # +inf included
    st.integers(min_value=0, max_value=2**1000),
)
str_lists = st.lists(text, max_size=5)
