"""ParamSet keys and values as span attributes (``ragtel.param.<key>``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import ValueLimits
from ragtel._encoding import encode_attribute
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


def param_attributes(params: Mapping[str, Any], limits: ValueLimits) -> dict[str, AttributeValue]:
    """``ragtel.param.<key>`` attributes for ``params``; None values are left out."""
    attributes: dict[str, AttributeValue] = {}
    for key, value in params.items():
        encoded = encode_attribute(value, limits)
        if encoded is not None:
            attributes[RAGTEL_PARAM_PREFIX + key] = encoded
    return attributes
