"""The tracer's ``log()``: any data, as its ``repr``, in an OpenTelemetry log record.

The record is correlated with the span current at the call (its trace and
span ids), named ``ragtel.log``, severity INFO. The ``repr`` goes through the
mask hook, redaction of secret-looking fields and the size cap, as captured
values do; unlike captured inputs and outputs, it is recorded when content
capture is off too, since logging it is what the call asks for.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from ragtel._encoding import masked_repr

if TYPE_CHECKING:
    from ragtel._tracer import LastMileTracer


def log(
    tracer: LastMileTracer,
    data: Any,
    logger: logging.Logger | str | os.PathLike[str] | None,
) -> None:
    """What :meth:`LastMileTracer.log` does (loaded on its first call)."""
    if logger is not None and not isinstance(logger, (logging.Logger, str, os.PathLike)):
        raise TypeError(
            f"logger must be a logging.Logger, a file path or None; got {type(logger).__name__}"
        )
    body = masked_repr(data, tracer._capture)
    if isinstance(logger, logging.Logger):
        logger.info("%s", body, stacklevel=3)
        return
    from ragtel import _log_export

    if logger is None:
        otel_logger = _log_export.pipeline_logger(tracer._name, tracer._installation)
    else:
        otel_logger = _log_export.path_logger(logger, tracer._name, _resource_of(tracer))
    if otel_logger is not None:
        _log_export.emit(otel_logger, body, data)


def _resource_of(tracer: LastMileTracer) -> Any:
    resource = getattr(tracer._provider, "resource", None)
    if resource is None:
        from opentelemetry.sdk.resources import Resource

        resource = Resource.create()
    return resource
