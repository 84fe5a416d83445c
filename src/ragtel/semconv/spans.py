# Generated from semconv/model by semconv/tools/generate.py: do not edit.
"""Names of the spans ragtel creates itself.

Spans of application code keep the names the application gives them.
Reference: semconv/docs/spans.md in the source tree.
"""

from typing import Final

RAGTEL_FEEDBACK_SPAN: Final = "ragtel.feedback"
"""A span that carries feedback arriving after the judged span ended, or in another process."""
