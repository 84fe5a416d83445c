"""The tracer's ``log()``: any data, as its ``repr``, in an OpenTelemetry log record.

Loaded on the first ``log()`` call, with the Logs SDK. The record is
correlated with the span current at the call (its trace and span ids), named
``ragtel.log``, severity INFO. The ``repr`` goes through the mask hook,
redaction of secret-looking fields and the size cap, as captured values do;
unlike captured inputs and outputs, it is recorded when content capture is
off too, since logging it is what the call asks for.

Where a record goes (the app's logs pipeline, the one beside ragtel's span
exporters, or a file given as ``logger=``) is :mod:`ragtel._sdk.log_pipeline`'s
business; this module makes the record.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from ragtel._encoding.encoder import masked_repr
from ragtel._record.core import TracerCore
from ragtel._sdk.log_pipeline import path_logger, pipeline_logger
from ragtel.semconv.attributes import RAGTEL_LOG_DATA_TYPE
from ragtel.semconv.events import RAGTEL_LOG_EVENT

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource


def log(
    core: TracerCore,
    data: object,
    logger: logging.Logger | str | os.PathLike[str] | None,
) -> None:
    """What :meth:`LastMileTracer.log` does, for the tracer made of ``core``."""
    if logger is not None and not isinstance(logger, (logging.Logger, str, os.PathLike)):
        raise TypeError(
            f"logger must be a logging.Logger, a file path or None; got {type(logger).__name__}"
        )
    if core.sdk_disabled and not isinstance(logger, logging.Logger):
        return  # OTEL_SDK_DISABLED: no telemetry, and no file opened for it
    body = masked_repr(data, core.capture)
    if isinstance(logger, logging.Logger):
        logger.info("%s", body, stacklevel=3)
        return
    # The tracer's exported scope name: its name made encodable.
    scope_name = core.profile.scope_name
    resource = _resource_of(core)
    if logger is None:
        otel_logger = pipeline_logger(scope_name, core.installation, resource)
    else:
        otel_logger = path_logger(logger, scope_name, resource)
    if otel_logger is not None:
        emit(otel_logger, body, data)


def _resource_of(core: TracerCore) -> Resource | None:
    """The traces' resource, which log records share (None on a provider that is not the SDK's)."""
    provider = core.provider
    return provider.resource if isinstance(provider, SdkTracerProvider) else None


def emit(logger: Logger, body: str, data: object) -> None:
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
