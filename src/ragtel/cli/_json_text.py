"""JSON output of ``view --json``, ``report --format json`` and ``send``: always valid JSON.

Python's ``json`` writes a NaN or infinite float as the bare ``NaN`` or
``Infinity``, which JSON parsers refuse; a file may hold such values (OTLP/JSON
writes them as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``), so
they go out as those strings. Strings need nothing more: they were escaped
for the terminal when the file was read, and JSON escapes the rest.
"""

from __future__ import annotations

import json
import math
from typing import Any


def json_text(data: Any, **options: Any) -> str:
    """``data`` as JSON text, non-finite floats as OTLP/JSON's strings.

    ``options`` are ``json.dumps``'s (by default non-ASCII text is written as is).
    """
    options = {"ensure_ascii": False, "default": str, **options, "allow_nan": False}
    try:
        return json.dumps(data, **options)
    except ValueError:  # a NaN or an infinity: rare, so the walk is paid only then
        return json.dumps(_finite(data), **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
