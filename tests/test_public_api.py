"""The public API stays what it was: names, methods and signatures against a snapshot.

The snapshot (``public_api.json``) was taken from the released 0.1 surface. A
change to it is a change to the public API: make it on purpose, by running
``python tests/test_public_api.py`` and committing the new file with a
CHANGELOG entry.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import ragtel
import ragtel.instrumentation
import ragtel.testing

SNAPSHOT = Path(__file__).with_name("public_api.json")


def _signature(function: Any) -> list[list[str]]:
    """Each parameter as [name, kind, default, annotation]."""
    rows = []
    for parameter in inspect.signature(function).parameters.values():
        default = "" if parameter.default is parameter.empty else repr(parameter.default)
        annotation = "" if parameter.annotation is parameter.empty else str(parameter.annotation)
        rows.append([parameter.name, parameter.kind.name, default, annotation])
    return rows


def _public_members(owner: Any) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name in sorted(dir(owner)):
        if name.startswith("_"):
            continue
        value = inspect.getattr_static(owner, name)
        if isinstance(value, property):
            members[name] = "property"
        elif isinstance(value, (staticmethod, classmethod)):
            members[name] = _signature(value.__func__)
        elif callable(value):
            members[name] = _signature(value)
        else:
            members[name] = type(value).__name__
    return members


def _own_names(module: Any) -> list[str]:
    """Public names a module defines or re-exports from ragtel (not its imports of others)."""
    names = []
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if str(getattr(value, "__module__", "")).startswith("ragtel"):
            names.append(name)
    return sorted(names)


def current_api() -> dict[str, Any]:
    functions = {
        name: _signature(getattr(ragtel, name))
        for name in ragtel.__all__
        if inspect.isfunction(getattr(ragtel, name))
    }
    return {
        "dir(ragtel)": _own_names(ragtel),
        "ragtel.__all__": sorted(ragtel.__all__),
        "functions": functions,
        "LastMileTracer": _public_members(ragtel.LastMileTracer),
        "LastMileTracer.__init__": _signature(ragtel.LastMileTracer.__init__),
        "ragtel.testing": _own_names(ragtel.testing),
        "ragtel.instrumentation.__all__": sorted(ragtel.instrumentation.__all__),
    }


def test_public_api_matches_the_snapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(current_api()))
    for section, value in expected.items():
        assert actual[section] == value, f"public API changed: {section}"
    assert actual.keys() == expected.keys()


if __name__ == "__main__":
    SNAPSHOT.write_text(
        json.dumps(current_api(), indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    sys.exit(0)
