"""Where ``log()`` records go: a Logs SDK pipeline beside the span exporters, or a file.

Without ``logger=``, records go, in order of preference:

1. to the app's own logs pipeline: a global SDK ``LoggerProvider`` it set up
   (as ``opentelemetry-instrument`` does when logs are enabled);
2. else beside ragtel's span exporters: a traces file gets a sibling logs
   file, an OTLP exporter the same collector's logs endpoint, the console the
   console (see :func:`ragtel._sdk.exporters.build_log_exporter`);
3. else nowhere: ragtel warns once and says how to give them a place.

A path given as ``logger=`` gets each record appended right away, as one OTLP
JSON line. At most :data:`MAX_PATH_LOGGERS` such files are kept open; the
least recently used is closed first.

Where the state lives: the pipeline beside an installation's exporters is
that :class:`~ragtel._sdk.provider.Installation`'s ``log_pipeline``; the open
path files and the warning given once are the process's
(:data:`ragtel._state.STATE`). This module loads with ``log()``'s first call,
and the Logs SDK with it.
"""

from __future__ import annotations

import logging
import os
from typing import Final, Protocol

from opentelemetry._logs import Logger, get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from ragtel import _environment as env
from ragtel._config import ExportConfig, env_int, resolve_capture
from ragtel._sdk.exporters import build_log_exporter
from ragtel._sdk.jsonl_log_file import OtlpJsonLinesLogExporter
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")

MAX_PATH_LOGGERS: Final = 16
"""Files given as ``logger=`` that stay open at once."""

_SDK_LOG_BATCH_SIZE: Final = 512  # the SDK's default OTEL_BLRP_MAX_EXPORT_BATCH_SIZE
_RECORD_OVERHEAD_BYTES: Final = 1_024  # ids, times, severity, attributes, framing
_NOWHERE: Final = "log() records have nowhere to go"


class PipelineOwner(Protocol):
    """What holds a log pipeline: an :class:`~ragtel._sdk.provider.Installation`.

    Named by its shape, so this module needs nothing from the provider module
    that builds on it.
    """

    export_configs: dict[tuple[str, ...], ExportConfig]
    """The span exporters the pipeline mirrors."""
    log_pipeline: LogPipeline | None
    """The pipeline, built on first use; guarded by ``STATE.providers_lock``."""


class LogPipeline:
    """A ``LoggerProvider`` whose exporters mirror one installation's span exporters."""

    def __init__(self, exports: dict[tuple[str, ...], ExportConfig], resource: Resource) -> None:
        self.keys = frozenset(exports)
        """The exporters mirrored: a pipeline is rebuilt when the installation's change."""
        self.provider = LoggerProvider(resource=resource, shutdown_on_exit=True)
        for key, config in exports.items():
            self.provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    build_log_exporter(key[0], config),
                    max_export_batch_size=_log_batch_size(config),
                )
            )

    def shutdown(self) -> None:
        self.provider.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.provider.force_flush(timeout_millis)


def pipeline_logger(
    scope_name: str, installation: PipelineOwner | None, resource: Resource | None
) -> Logger | None:
    """The logger for ``log()`` without ``logger=``; None (warned once) if records have no place.

    ``resource`` is the traces' resource, which the records share (None: the default one).
    """
    global_provider = get_logger_provider()
    if isinstance(global_provider, LoggerProvider):
        return global_provider.get_logger(scope_name)
    if installation is not None and installation.export_configs:
        pipeline = _current_pipeline(installation, resource or Resource.create())
        logger: Logger = pipeline.provider.get_logger(scope_name)
        return logger
    if STATE.first_time(_NOWHERE):
        _logger.warning(
            "ragtel: %s: ragtel exports no spans here and the app set up no OpenTelemetry "
            "LoggerProvider; set one up, or pass logger= (a path or a logging.Logger)",
            _NOWHERE,
        )
    return None


def _current_pipeline(installation: PipelineOwner, resource: Resource) -> LogPipeline:
    """The installation's pipeline, built (or rebuilt) when its exporters are not the ones mirrored.

    Built outside the lock, which every tracer and export set-up takes: building
    exporters may take a while. Of two threads building at once, one pipeline is kept.
    """
    with STATE.providers_lock:
        exports = dict(installation.export_configs)  # a snapshot: exporters may be added
        current = installation.log_pipeline
    if current is not None and current.keys == frozenset(exports):
        return current
    built = LogPipeline(exports, resource)
    with STATE.providers_lock:
        current = installation.log_pipeline
        if current is not None and current.keys == built.keys:
            unused: LogPipeline | None = built  # another thread was first
        else:
            unused, installation.log_pipeline = current, built
            current = built
    if unused is not None:
        unused.shutdown()  # outside the lock: it exports what it still holds
    return current


def path_logger(path: str | os.PathLike[str], scope_name: str, resource: Resource | None) -> Logger:
    """A logger writing each record to ``path`` at once (the file stays open, LRU-bounded)."""
    key = os.path.abspath(os.fspath(path))
    files = STATE.log_files
    evicted = None
    with STATE.log_files_lock:
        provider = files.get(key)
        if provider is not None:
            files.move_to_end(key)
        else:
            provider = LoggerProvider(
                resource=resource or Resource.create(), shutdown_on_exit=False
            )
            provider.add_log_record_processor(
                SimpleLogRecordProcessor(OtlpJsonLinesLogExporter(key))
            )
            files[key] = provider
            if len(files) > MAX_PATH_LOGGERS:
                evicted = files.popitem(last=False)[1]
    if evicted is not None:
        evicted.shutdown()
    return provider.get_logger(scope_name)


def _log_batch_size(config: ExportConfig) -> int:
    """Records per export request: the SDK's batch size, capped by the request size.

    The SDK batches log records by count only: 512 records of 16 KB would
    make an 8 MB request, twice what a gRPC collector takes by default. So
    the batch holds at most as many of the largest records ragtel writes (a
    ``repr`` at the value cap, 4 bytes a character at worst) as fit in
    ``RAGTEL_MAX_EXPORT_BATCH_BYTES``.
    """
    largest = 4 * resolve_capture(None, None).limits.max_length + _RECORD_OVERHEAD_BYTES
    fitting = max(1, config.batch.max_export_batch_bytes // largest)
    return min(env_int(env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, _SDK_LOG_BATCH_SIZE), fitting)
