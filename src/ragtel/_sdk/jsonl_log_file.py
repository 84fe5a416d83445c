"""The log-record exporter that appends to an OTLP JSON Lines file.

The log-record twin of :class:`ragtel._sdk.jsonl_file.OtlpJsonLinesExporter`,
over the same :class:`~ragtel._sdk.jsonl_file.JsonLinesFile`. It lives apart
because it needs the Logs SDK, which is loaded only once ``log()`` is first
used, and so that building exporters (:mod:`ragtel._sdk.exporters`) never
depends on the ``log()`` API that uses them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from ragtel._sdk.jsonl_file import JsonLinesFile
from ragtel._sdk.otlp_json import encode_logs_line


class OtlpJsonLinesLogExporter(LogRecordExporter):
    """Append log records to ``path`` as OTLP JSON Lines (one line per export call)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = JsonLinesFile(path, what="log records")

    @property
    def path(self) -> str:
        return self._file.path

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._file.append_batch(encode_logs_line, batch):
            return LogRecordExportResult.SUCCESS
        return LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # lines go straight to the kernel

    def shutdown(self) -> None:
        self._file.close()
