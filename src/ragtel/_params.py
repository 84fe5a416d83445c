"""ParamSet keys and values as span attributes (``ragtel.param.<key>``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding import apply_mask, encode_attribute
from ragtel._redaction import REDACTED, is_sensitive_name
from ragtel.semconv.attributes import RAGTEL_PARAM_PREFIX

# One or more dot-separated segments of letters, digits, '_' and '-'.
_KEY: Final = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


def validate_param_key(key: Any, *, argument: str = "key") -> str:
    """Return ``key`` if it can name a param attribute; raise otherwise, quoting it."""
    if not isinstance(key, str):
        raise TypeError(f"{argument} must be a str; got {type(key).__name__} {key!r}")
    if not _KEY.fullmatch(key):
        raise ValueError(
            f"{argument} must be a non-empty attribute key segment "
            f"(letters, digits, '_', '-', dot-separated); got {key!r}"
        )
    return key


def param_attributes(
    params: Mapping[str, Any], capture: CaptureConfig
) -> dict[str, AttributeValue]:
    """``ragtel.param.<key>`` attributes for ``params``; None values are left out.

    Values under sensitive keys are redacted and every value goes through the
    mask hook, as all captured content does.
    """
    attributes: dict[str, AttributeValue] = {}
    for key, value in params.items():
        if is_sensitive_name(key):
            encoded: AttributeValue | None = REDACTED
        else:
            encoded = encode_attribute(apply_mask(value, capture.mask), capture.limits)
        if encoded is not None:
            attributes[RAGTEL_PARAM_PREFIX + key] = encoded
    return attributes
