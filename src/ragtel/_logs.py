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
from typing import Any

from opentelemetry import trace

from ragtel._config import CaptureConfig
from ragtel._encoding import masked_repr
from ragtel._provider import Installation


class LogAPI:
    """``log()``; mixed into LastMileTracer."""

    _name: str
    _capture: CaptureConfig
    _installation: Installation | None
    _provider: trace.TracerProvider

    def log(self, data: Any, logger: logging.Logger | str | os.PathLike[str] | None = None) -> None:
        """Log ``data`` (its ``repr``) for later reading next to the trace.

        ``logger`` chooses where it goes:

        * ``None``: an OpenTelemetry log record, exported with the traces
          (the logs endpoint of the same collector, or the logs file beside
          the traces file), or through the app's own ``LoggerProvider``;
        * a path: the record is appended to that file at once, as an OTLP
          JSON line;
        * a ``logging.Logger``: logged there at INFO, like any log line.

        Raises TypeError for any other ``logger``.
        """
        if logger is not None and not isinstance(logger, (logging.Logger, str, os.PathLike)):
            raise TypeError(
                f"logger must be a logging.Logger, a file path or None; got {type(logger).__name__}"
            )
        body = masked_repr(data, self._capture)
        if isinstance(logger, logging.Logger):
            logger.info("%s", body, stacklevel=2)
            return
        from ragtel import _log_export

        if logger is None:
            otel_logger = _log_export.pipeline_logger(self._name, self._installation)
        else:
            otel_logger = _log_export.path_logger(logger, self._name, self._resource())
        if otel_logger is not None:
            _log_export.emit(otel_logger, body, data)

    def _resource(self) -> Any:
        resource = getattr(self._provider, "resource", None)
        if resource is None:
            from opentelemetry.sdk.resources import Resource

            resource = Resource.create()
        return resource
