"""A tracer's ``store_trace_id`` / ``read_trace_id``: the key -> trace map beside its traces file.

The map itself is :mod:`ragtel._context.trace_id_store`; this module only
picks the tracer's file for it.
"""

from __future__ import annotations

from ragtel._context.trace_id_store import read_from, store_in, store_path
from ragtel._record.core import TracerCore


def store_trace_id(
    core: TracerCore, key: str, trace_id: int | str | None, span_id: int | str | None
) -> None:
    """Store ``key`` -> (trace id, span id) in the map beside ``core``'s traces file."""
    store_in(store_path(_traces_file(core)), key, trace_id, span_id)


def read_trace_id(core: TracerCore, key: str) -> str | None:
    """The trace id stored under ``key`` beside ``core``'s traces file; None if unknown."""
    return read_from(store_path(_traces_file(core)), key)


def _traces_file(core: TracerCore) -> str | None:
    """The OTLP JSON Lines file ragtel writes this tracer's spans to, if any (the first one)."""
    installation = core.installation
    if installation is None:
        return None
    for config in list(installation.export_configs.values()):
        if config.file_path:
            return config.file_path
    return None
