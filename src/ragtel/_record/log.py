"""The tracer's ``log()``: any data, as its ``repr``, in an OpenTelemetry log record.

Loaded on the first ``log()`` call, with the Logs SDK. The record is
correlated with the span current at the call (its trace and span ids), named
``ragtel.log``, severity INFO. The ``repr`` goes through the mask hook,
redaction of secret-looking fields and the size cap, as captured values do;
unlike captured inputs and outputs, it is recorded when content capture is
off too, since logging it is what the call asks for.

Without ``logger=``, records go, in order of preference:

1. to the app's own logs pipeline: a global SDK ``LoggerProvider`` it set up
   (as ``opentelemetry-instrument`` does when logs are enabled);
2. else beside ragtel's span exporters: a traces file gets a sibling logs
   file, an OTLP exporter the same collector's logs endpoint, the console the
   console (see :func:`ragtel._sdk.exporters.build_log_exporter`);
3. else nowhere: ragtel warns once and says how to give them a place.

A path given as ``logger=`` gets the record appended right away, as one OTLP
JSON line. At most :data:`MAX_PATH_LOGGERS` such files are kept open; the
least recently used is closed first.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Final

from opentelemetry._logs import Logger, SeverityNumber, get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource

from ragtel import _environment as env
from ragtel._encoding.encoder import masked_repr
from ragtel._sdk.fork import reinit_in_child
from ragtel._sdk.jsonl_log_file import OtlpJsonLinesLogExporter
from ragtel._sdk.provider import Installation
from ragtel.semconv.attributes import RAGTEL_LOG_DATA_TYPE
from ragtel.semconv.events import RAGTEL_LOG_EVENT

if TYPE_CHECKING:
    from ragtel._config import ExportConfig
    from ragtel._tracer import LastMileTracer

_logger = logging.getLogger("ragtel")

MAX_PATH_LOGGERS: Final = 16
"""Files given as ``logger=`` that stay open at once."""

_SDK_LOG_BATCH_SIZE: Final = 512  # the SDK's default OTEL_BLRP_MAX_EXPORT_BATCH_SIZE
_RECORD_OVERHEAD_BYTES: Final = 1_024  # ids, times, severity, attributes, framing


def log(
    tracer: LastMileTracer,
    data: Any,
    logger: logging.Logger | str | os.PathLike[str] | None,
) -> None:
    """What :meth:`LastMileTracer.log` does."""
    if logger is not None and not isinstance(logger, (logging.Logger, str, os.PathLike)):
        raise TypeError(
            f"logger must be a logging.Logger, a file path or None; got {type(logger).__name__}"
        )
    if tracer._sdk_disabled and not isinstance(logger, logging.Logger):
        return  # OTEL_SDK_DISABLED: no telemetry, and no file opened for it
    body = masked_repr(data, tracer._capture)
    if isinstance(logger, logging.Logger):
        logger.info("%s", body, stacklevel=3)
        return
    # The tracer's exported scope name: its name made encodable.
    scope_name = tracer._profile.scope_name
    if logger is None:
        otel_logger = pipeline_logger(scope_name, tracer._installation)
    else:
        resource = getattr(tracer._provider, "resource", None) or Resource.create()
        otel_logger = path_logger(logger, scope_name, resource)
    if otel_logger is not None:
        emit(otel_logger, body, data)


class LogPipeline:
    """A ``LoggerProvider`` whose exporters mirror one installation's span exporters."""

    def __init__(self, installation: Installation) -> None:
        from ragtel._sdk.exporters import build_log_exporter

        configs = dict(installation.export_configs)  # a snapshot: exporters may be added
        self.keys = frozenset(configs)
        traces = installation.provider
        resource = traces.resource if traces is not None else Resource.create()
        self.provider = LoggerProvider(resource=resource, shutdown_on_exit=True)
        for key, config in configs.items():
            exporter = build_log_exporter(key[0], config)
            self.provider.add_log_record_processor(
                BatchLogRecordProcessor(exporter, max_export_batch_size=_log_batch_size(config))
            )

    def shutdown(self) -> None:
        self.provider.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.provider.force_flush(timeout_millis)


def _log_batch_size(config: ExportConfig) -> int:
    """Records per export request: the SDK's batch size, capped by the request size.

    The SDK batches log records by count only: 512 records of 16 KB would
    make an 8 MB request, twice what a gRPC collector takes by default. So
    the batch holds at most as many of the largest records ragtel writes (a
    ``repr`` at the value cap, 4 bytes a character at worst) as fit in
    ``RAGTEL_MAX_EXPORT_BATCH_BYTES``.
    """
    from ragtel._config import env_int, resolve_capture

    largest = 4 * resolve_capture(None, None).limits.max_length + _RECORD_OVERHEAD_BYTES
    fitting = max(1, config.batch.max_export_batch_bytes // largest)
    return min(env_int(env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, _SDK_LOG_BATCH_SIZE), fitting)


_lock = threading.Lock()
_path_providers: OrderedDict[str, LoggerProvider] = OrderedDict()
_warned_nowhere = False


def _reinit_lock() -> None:
    global _lock
    _lock = threading.Lock()


reinit_in_child(_reinit_lock)


def emit(logger: Logger, body: str, data: Any) -> None:
    """One ``ragtel.log`` record, correlated with the current span."""
    data_type = type(data)
    module = data_type.__module__
    type_name = (
        data_type.__qualname__ if module == "builtins" else f"{module}.{data_type.__qualname__}"
    )
    logger.emit(
        timestamp=time.time_ns(),
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        body=body,
        attributes={RAGTEL_LOG_DATA_TYPE: type_name},
        event_name=RAGTEL_LOG_EVENT,
    )


def pipeline_logger(scope_name: str, installation: Installation | None) -> Logger | None:
    """The logger for ``log()`` without ``logger=``; None (warned once) if records have no place."""
    from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider

    global_provider = get_logger_provider()
    if isinstance(global_provider, SdkLoggerProvider):
        return global_provider.get_logger(scope_name)
    if installation is not None and installation.export_configs:
        with _lock:
            pipeline = installation.log_pipeline
            if pipeline is None or pipeline.keys != frozenset(installation.export_configs):
                stale, pipeline = pipeline, LogPipeline(installation)
                installation.log_pipeline = pipeline
            else:
                stale = None
        if stale is not None:
            stale.shutdown()
        logger: Logger = pipeline.provider.get_logger(scope_name)
        return logger
    _warn_nowhere()
    return None


def path_logger(path: str | os.PathLike[str], scope_name: str, resource: Resource) -> Logger:
    """A logger writing each record to ``path`` at once (the file stays open, LRU-bounded)."""
    key = os.path.abspath(os.fspath(path))
    with _lock:
        provider = _path_providers.get(key)
        if provider is not None:
            _path_providers.move_to_end(key)
            evicted = None
        else:
            provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
            provider.add_log_record_processor(
                SimpleLogRecordProcessor(OtlpJsonLinesLogExporter(key))
            )
            _path_providers[key] = provider
            evicted = (
                _path_providers.popitem(last=False)[1]
                if len(_path_providers) > MAX_PATH_LOGGERS
                else None
            )
    if evicted is not None:
        evicted.shutdown()
    return provider.get_logger(scope_name)


def close_path_loggers() -> None:
    """Close every file given as ``logger=`` (they reopen on the next record)."""
    with _lock:
        providers = list(_path_providers.values())
        _path_providers.clear()
    for provider in providers:
        provider.shutdown()


def reset_for_tests() -> None:
    """Close path loggers and warn again (test isolation only)."""
    global _warned_nowhere
    close_path_loggers()
    _warned_nowhere = False


def _warn_nowhere() -> None:
    global _warned_nowhere
    if _warned_nowhere:
        return
    _warned_nowhere = True
    _logger.warning(
        "ragtel: log() records have nowhere to go: ragtel exports no spans here and the app "
        "set up no OpenTelemetry LoggerProvider; set one up, or pass logger= (a path or a "
        "logging.Logger)"
    )
