"""The fields of structured objects, found by their type, never by asking the object.

An attribute lookup on an arbitrary object runs its code: a proxy (an
XML-RPC ``ServerProxy``, a mock, a lazy ORM object) answers any name, and
calling what it returns may be a remote call. So the encoder recognises
dataclasses, attrs classes, pydantic models (v1 and v2), NamedTuples and
NumPy values by what their *class* defines, read from the class dictionaries
along the MRO, which runs no user code, and reads the declared fields of the
instance. Serialization hooks (``model_dump``, ``_asdict``...) are never
called: the fields are read one by one, so the cost is bounded by what is
shown and a computed field or custom serializer does not run.

Neither pydantic, attrs nor NumPy is imported here: a value of theirs can
only exist if the app already imported them.
"""

from __future__ import annotations

import dataclasses
import sys
import types
from collections.abc import Iterator
from typing import Any, Final

_MISSING: Final = object()
# Where pydantic defines BaseModel, in v2 and in v1 (also as pydantic.v1).
_PYDANTIC_BASES: Final = frozenset({"pydantic.main", "pydantic.v1.main"})

Fields = Iterator[tuple[str, Any]]


def class_attribute(kind: type, name: str) -> Any:
    """``name`` as ``kind`` or a base class defines it, or ``_MISSING``; runs no lookup hook."""
    for base in kind.__mro__:
        namespace = base.__dict__
        if name in namespace:
            return namespace[name]
    return _MISSING


def is_named_tuple(kind: type) -> bool:
    """True for a ``tuple`` subclass with ``_fields`` (``namedtuple``, ``typing.NamedTuple``)."""
    return kind is not tuple and isinstance(class_attribute(kind, "_fields"), tuple)


def named_tuple_fields(value: tuple[Any, ...]) -> Fields:
    names = class_attribute(type(value), "_fields")
    return zip(names, tuple.__iter__(value), strict=False)


def structured_fields(value: Any) -> tuple[int, Fields] | None:
    """How many fields ``value`` declares and ``(name, value)`` of each; None if it has none.

    Dataclasses, attrs classes and pydantic models (v1 and v2, their extra
    fields included; fields declared ``exclude=True`` left out, as
    ``model_dump`` leaves them).
    """
    kind = type(value)
    names = _field_names(kind)
    if names is None:
        return None
    if _pydantic_base(kind) is not None:
        return len(names), _pydantic_fields(value, names)
    return len(names), _attribute_fields(value, names)


def _field_names(kind: type) -> tuple[str, ...] | None:
    if issubclass(kind, type):
        return None  # a dataclass or model class itself is no instance of it
    dataclass_fields = class_attribute(kind, "__dataclass_fields__")
    if isinstance(dataclass_fields, dict):
        return tuple(field.name for field in dataclasses.fields(kind))  # type: ignore[arg-type]
    attrs_fields = class_attribute(kind, "__attrs_attrs__")
    if isinstance(attrs_fields, tuple):
        return tuple(str(getattr(field, "name", "?")) for field in attrs_fields)
    base = _pydantic_base(kind)
    if base is None:
        return None
    if base.__module__ == "pydantic.main" and "pydantic" in sys.modules:
        declared = class_attribute(kind, "__pydantic_fields__")  # v2
        if isinstance(declared, dict):
            return tuple(
                name
                for name, info in declared.items()
                if getattr(info, "exclude", None) is not True
            )
    declared = class_attribute(kind, "__fields__")  # v1
    if isinstance(declared, dict):
        return tuple(
            name
            for name, field in declared.items()
            if getattr(getattr(field, "field_info", None), "exclude", None) is not True
        )
    return None


def _pydantic_base(kind: type) -> type | None:
    for base in kind.__mro__:
        if base.__name__ == "BaseModel" and base.__module__ in _PYDANTIC_BASES:
            return base
    return None


def _attribute_fields(value: Any, names: tuple[str, ...]) -> Fields:
    # As stored, in the instance __dict__ or a slot: getattr would run a
    # property or __getattr__ (code of the app, with side effects) in its place.
    # A field the instance does not hold is left out.
    stored = _instance_attribute(value, "__dict__")
    if not isinstance(stored, dict):
        stored = {}
    kind = type(value)
    for name in names:
        if name in stored:
            yield name, stored[name]
            continue
        slot = class_attribute(kind, name)
        if type(slot) is types.MemberDescriptorType:
            try:
                yield name, slot.__get__(value, kind)
            except AttributeError:
                continue  # a slot never set


def _pydantic_fields(value: Any, names: tuple[str, ...]) -> Fields:
    # Both versions keep field values in the instance __dict__ and v2 its
    # extra fields in __pydantic_extra__: read them as stored.
    stored = _instance_attribute(value, "__dict__")
    if not isinstance(stored, dict):
        return
    for name in names:
        yield name, stored.get(name, "<unset>")
    extra = _instance_attribute(value, "__pydantic_extra__")
    if isinstance(extra, dict):
        yield from extra.items()


def _instance_attribute(value: Any, name: str) -> Any:
    try:
        return object.__getattribute__(value, name)
    except AttributeError:
        return None


# NumPy ----------------------------------------------------------------------------


def numpy_form(value: Any, max_items: int) -> Any:
    """Plain-Python form of a NumPy array or scalar, or ``_MISSING`` if ``value`` is neither.

    A big array keeps its shape, dtype and first ``max_items`` values:
    ``flat[:n]`` copies only those.
    """
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return _MISSING
    if isinstance(value, numpy.ndarray):
        size = int(value.size)
        if size > max_items:
            return {
                "shape": list(value.shape),
                "dtype": str(value.dtype),
                "values": value.flat[:max_items].tolist(),
                "…": f"[{size - max_items} more values]",
            }
        return value.tolist()
    if isinstance(value, numpy.generic):
        return value.item()
    return _MISSING


NO_FORM: Final = _MISSING
"""What :func:`numpy_form` returns for a value that is not NumPy's."""
