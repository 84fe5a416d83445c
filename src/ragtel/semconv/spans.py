# Generated from semconv/model by semconv/tools/generate.py: do not edit.
"""Names of the spans ragtel creates itself.

Spans of application code keep the names the application gives them.
Reference: semconv/docs/spans.md in the source tree.
"""

from typing import Final

RAGTEL_FEEDBACK_SPAN: Final = "ragtel.feedback"
"""A span that carries feedback arriving after the judged span ended, or in another process."""

RAGTEL_EVENT_SPAN: Final = "ragtel.event"
"""A short span ragtel creates for an event logged while no span is active, so the event is not lost."""

RAGTEL_IMAGE_OUTPUT_SPAN: Final = "ragtel.image_output"
"""A span that carries an image generation's output arriving after its span ended, or in another process."""
