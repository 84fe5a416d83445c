"""Frozen configuration, read once from arguments and the environment.

A tracer's configuration is resolved when it is created and passed down as
immutable values; nothing deeper in the package reads ``os.environ``.
The records are NamedTuples rather than frozen dataclasses: defining a frozen
dataclass costs about a millisecond at import, and ``import ragtel`` must
stay cheap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from ragtel import _environment as env

_logger = logging.getLogger("ragtel")

DEFAULT_MAX_VALUE_LENGTH: Final = 16_384
"""Characters kept of one captured value (input, output, event field)."""

DEFAULT_MAX_ITEMS: Final = 1_000
"""Items kept of one captured collection, and of a generator's yielded items."""

DEFAULT_TRACES_FILE: Final = "ragtel-traces.jsonl"

EXPORT_THREAD_PREFIX: Final = "ragtel-export-"
"""Names of ragtel's export threads start so; the exporters tell their own thread by it."""

# Batching defaults. The SDK's (2048 queue, 512 batch, 5 s delay) drop a
# quarter of a 20,000-span burst even against a fast receiver; a deeper queue
# and bigger batches keep such bursts while the queue still bounds memory.
DEFAULT_MAX_QUEUE_SIZE: Final = 32_768
DEFAULT_MAX_EXPORT_BATCH_SIZE: Final = 1_024
DEFAULT_SCHEDULE_DELAY_MILLIS: Final = 1_000
DEFAULT_EXPORT_TIMEOUT_MILLIS: Final = 10_000
# Bytes per export request (estimated, encoded, before compression). Under the
# 4 MiB a gRPC server (the Collector's OTLP receiver included) accepts by
# default, with room for the estimate's error; far under HTTP receivers' limits.
DEFAULT_MAX_EXPORT_BATCH_BYTES: Final = 3_670_016  # 3.5 MiB

# Per-span attribute count for providers ragtel creates. The SDK default of
# 128 silently drops keys on spans that carry a ParamSet or flattened
# retrieval documents.
DEFAULT_SPAN_ATTRIBUTE_COUNT_LIMIT: Final = 1_024

Mask = Callable[[Any], Any]


class ValueLimits(NamedTuple):
    """Size caps applied by the encoder."""

    max_length: int = DEFAULT_MAX_VALUE_LENGTH
    max_items: int = DEFAULT_MAX_ITEMS


class CaptureConfig(NamedTuple):
    """What content is recorded, and how it is cleaned first."""

    capture_content: bool = True
    limits: ValueLimits = ValueLimits()
    mask: Mask | None = None
    record_embeddings: bool = False
    openinference: bool = False


class BatchConfig(NamedTuple):
    """Batching of spans on their way to an exporter."""

    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE
    schedule_delay_millis: int = DEFAULT_SCHEDULE_DELAY_MILLIS
    export_timeout_millis: int = DEFAULT_EXPORT_TIMEOUT_MILLIS
    max_export_batch_bytes: int = DEFAULT_MAX_EXPORT_BATCH_BYTES


class OtlpConfig(NamedTuple):
    """Arguments for an OTLP span exporter; ``None`` leaves a field to the SDK's env handling."""

    protocol: str = "http/protobuf"
    endpoint: str | None = None
    headers: Mapping[str, str] = MappingProxyType({})
    compression: str | None = None
    timeout: float | None = None
    certificate_file: str | None = None

    def __repr__(self) -> str:
        # Headers carry the API token, which must never reach a log line.
        return (
            f"OtlpConfig(protocol={self.protocol!r}, endpoint={self.endpoint!r}, "
            f"headers=<{len(self.headers)} hidden>, compression={self.compression!r}, "
            f"timeout={self.timeout!r}, certificate_file={self.certificate_file!r})"
        )


class ExportConfig(NamedTuple):
    """Where spans go. ``exporters`` holds names out of otlp, console, file."""

    exporters: tuple[str, ...]
    file_path: str | None = None
    otlp: OtlpConfig = OtlpConfig()
    batch: BatchConfig = BatchConfig()
    is_default_file: bool = False


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    _logger.warning("ragtel: ignoring %s=%r, expected true or false", name, raw)
    return default


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = minimum - 1
    if value < minimum:
        _logger.warning("ragtel: ignoring %s=%r, expected an integer >= %d", name, raw, minimum)
        return default
    return value


def resolve_capture(
    capture_content: bool | None,
    mask: Mask | None,
    record_embeddings: bool | None = None,
    openinference: bool | None = None,
) -> CaptureConfig:
    """Capture settings from arguments, falling back to the environment."""
    max_length = env_int(env.RAGTEL_MAX_VALUE_LENGTH, DEFAULT_MAX_VALUE_LENGTH, minimum=32)
    # The SDK would cut a longer value silently; cut it ourselves, with a marker.
    for limit_name in (
        env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    ):
        if os.environ.get(limit_name):
            max_length = min(max_length, env_int(limit_name, max_length, minimum=1))
            break
    enabled = (
        env_flag(env.RAGTEL_CAPTURE_CONTENT, True) if capture_content is None else capture_content
    )
    vectors = (
        env_flag(env.RAGTEL_RECORD_EMBEDDINGS, False)
        if record_embeddings is None
        else record_embeddings
    )
    return CaptureConfig(
        capture_content=enabled,
        limits=ValueLimits(max_length=max_length),
        mask=mask,
        record_embeddings=vectors,
        openinference=env_flag(env.RAGTEL_OPENINFERENCE, False)
        if openinference is None
        else openinference,
    )


def resolve_batch() -> BatchConfig:
    """Batch settings: the standard ``OTEL_BSP_*`` variables over ragtel's defaults."""
    max_queue = env_int(env.OTEL_BSP_MAX_QUEUE_SIZE, DEFAULT_MAX_QUEUE_SIZE)
    batch = min(
        env_int(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, DEFAULT_MAX_EXPORT_BATCH_SIZE), max_queue
    )
    return BatchConfig(
        max_queue_size=max_queue,
        max_export_batch_size=batch,
        schedule_delay_millis=env_int(env.OTEL_BSP_SCHEDULE_DELAY, DEFAULT_SCHEDULE_DELAY_MILLIS),
        export_timeout_millis=env_int(env.OTEL_BSP_EXPORT_TIMEOUT, DEFAULT_EXPORT_TIMEOUT_MILLIS),
        max_export_batch_bytes=env_int(
            env.RAGTEL_MAX_EXPORT_BATCH_BYTES, DEFAULT_MAX_EXPORT_BATCH_BYTES, minimum=1_024
        ),
    )


class DropCounts(NamedTuple):
    """Spans a processor could not deliver, by reason."""

    queue_full: int = 0
    export_failed: int = 0
    after_shutdown: int = 0
    too_large: int = 0
    """Spans the collector refused as too large even when sent alone."""
    unencodable: int = 0
    """Spans OTLP cannot hold even after repair (a timestamp before 1970, say)."""

    @property
    def total(self) -> int:
        return sum(self)
