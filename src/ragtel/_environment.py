"""Names of the environment variables ragtel reads.

The standard ``OTEL_*`` variables are read by the OpenTelemetry SDK and
exporters themselves wherever they can be; ragtel names only the ones it has
to interpret on its own (to merge headers with the API token, or to pick an
exporter). Values are read once, when a tracer is created, never on the span
hot path.
"""

from typing import Final

LASTMILE_API_TOKEN: Final = "LASTMILE_API_TOKEN"
"""API token sent as ``Authorization: Bearer <token>`` on OTLP export."""

LASTMILE_PROJECT_ID: Final = "LASTMILE_PROJECT_ID"
"""Default project id recorded on trace roots when ``project_id`` is not given."""

RAGTEL_TRACES_FILE: Final = "RAGTEL_TRACES_FILE"
"""Path of the embedded default OTLP JSON Lines file (default ``./ragtel-traces.jsonl``)."""

RAGTEL_TRACE_IDS_FILE: Final = "RAGTEL_TRACE_IDS_FILE"
"""Path of the SQLite file of ``store_trace_id`` (default: the traces file + ``.ids.sqlite``)."""

RAGTEL_CAPTURE_CONTENT: Final = "RAGTEL_CAPTURE_CONTENT"
"""``false`` turns off recording of function inputs, outputs and other content."""

RAGTEL_RECORD_EMBEDDINGS: Final = "RAGTEL_RECORD_EMBEDDINGS"
"""``true`` records embedding vectors in embedding events (rounded, capped)."""

RAGTEL_OPENINFERENCE: Final = "RAGTEL_OPENINFERENCE"
"""``true`` also writes OpenInference attributes (Phoenix's retrieval, rerank and LLM views)."""

RAGTEL_MAX_VALUE_LENGTH: Final = "RAGTEL_MAX_VALUE_LENGTH"
"""Maximum characters of one captured value before it is truncated."""

RAGTEL_PROPAGATE_PARAMS: Final = "RAGTEL_PROPAGATE_PARAMS"
"""``true`` sends each trace's ParamSet and context attributes downstream in W3C Baggage."""

RAGTEL_PROPAGATION_MAX_BYTES: Final = "RAGTEL_PROPAGATION_MAX_BYTES"
"""Bytes of ragtel Baggage entries allowed per request (default 2048)."""

RAGTEL_MAX_EXPORT_BATCH_BYTES: Final = "RAGTEL_MAX_EXPORT_BATCH_BYTES"
"""Estimated encoded bytes per export request (default 3.5 MiB); bigger batches are split."""

RAGTEL_FLUSH_ON_SIGTERM: Final = "RAGTEL_FLUSH_ON_SIGTERM"
"""``false`` keeps ragtel from installing its flushing SIGTERM handler."""

# Standard OpenTelemetry variables ragtel interprets itself.
OTEL_TRACES_EXPORTER: Final = "OTEL_TRACES_EXPORTER"
OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"
OTEL_EXPORTER_OTLP_TRACES_HEADERS: Final = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
OTEL_EXPORTER_OTLP_LOGS_HEADERS: Final = "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
OTEL_EXPORTER_OTLP_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TIMEOUT"
OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: Final = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: Final = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"
OTEL_BSP_MAX_QUEUE_SIZE: Final = "OTEL_BSP_MAX_QUEUE_SIZE"
OTEL_BSP_SCHEDULE_DELAY: Final = "OTEL_BSP_SCHEDULE_DELAY"
OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Final = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
OTEL_BSP_EXPORT_TIMEOUT: Final = "OTEL_BSP_EXPORT_TIMEOUT"
OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: Final = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"
