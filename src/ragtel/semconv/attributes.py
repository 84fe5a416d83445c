"""Attribute keys of the ragtel semantic convention (``ragtel.*``)."""

from typing import Final

RAGTEL_INPUT: Final = "ragtel.input"
"""The captured input of the operation, as JSON (function arguments by name)."""

RAGTEL_OUTPUT: Final = "ragtel.output"
"""The captured output of the operation, as JSON (return value or yielded items)."""

RAGTEL_PROJECT_NAME: Final = "ragtel.project.name"
"""The project the trace belongs to, as given to ``get_lastmile_tracer``."""

RAGTEL_PROJECT_ID: Final = "ragtel.project.id"
"""The id of the project the trace belongs to."""

RAGTEL_RAG_FLOW_TYPE: Final = "ragtel.rag_flow.type"
"""Which RAG pipeline the trace belongs to."""

RAGTEL_PARAM_PREFIX: Final = "ragtel.param."
"""Template prefix: ``ragtel.param.<key>`` holds one ParamSet entry."""
