"""``TracerProfile``: what one ragtel tracer brings to the traces it takes part in.

Fixed trace-level attributes (project, RAG flow type) and the tracer's
default params. The span processor (:mod:`ragtel._sdk.processor`) applies a
profile when the tracer's first span in a trace starts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry.util.types import AttributeValue

from ragtel._attributes.params import param_attributes
from ragtel._config import CaptureConfig
from ragtel._sdk.trace_state import DEFAULT_MAX_PARAMS
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")


class TracerProfile:
    """What one ragtel tracer brings to the traces it takes part in."""

    def __init__(
        self,
        scope_name: str,
        *,
        root_attributes: Mapping[str, AttributeValue],
        defaults: Mapping[str, Any],
        capture: CaptureConfig,
        max_params: int = DEFAULT_MAX_PARAMS,
    ) -> None:
        self.scope_name = scope_name
        self.root_attributes = MappingProxyType(dict(root_attributes))
        self.capture = capture
        self._max_params = max_params
        self._defaults: dict[str, Any] = {}
        self._sensitive: set[str] = set()
        self._encoded: dict[str, AttributeValue] | None = None
        self._dropped = 0
        self._lock = threading.Lock()
        STATE.reinit_in_child(self)
        if defaults:
            self.update_defaults(defaults, overwrite=False)

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()

    def copy_defaults(self) -> dict[str, Any]:
        """The ParamSet a new trace starts from."""
        with self._lock:
            return dict(self._defaults)

    def snapshot(self) -> tuple[dict[str, Any], frozenset[str], dict[str, AttributeValue]]:
        """Defaults, their sensitive keys, and their attributes — encoded once, not per trace."""
        with self._lock:
            if self._encoded is None:
                self._encoded = param_attributes(self._defaults, self.capture)
            return dict(self._defaults), frozenset(self._sensitive), self._encoded

    @property
    def dropped_defaults(self) -> int:
        """Default params refused so far: the tracer already had ``max_params`` of them."""
        return self._dropped

    def update_defaults(
        self, params: Mapping[str, Any], *, overwrite: bool, sensitive: bool = False
    ) -> None:
        """Upsert ``params`` into the defaults (replace them with ``overwrite``).

        Defaults are as capped as a trace's ParamSet: past ``max_params`` keys,
        new ones are refused, counted, and warned about once. (Their recorded
        size is capped when they join a trace, as the trace's own params are.)
        """
        dropped = 0
        with self._lock:
            defaults = self._defaults
            if overwrite:
                defaults.clear()
                self._sensitive.clear()
            if (
                not sensitive
                and not self._sensitive
                and len(defaults) + len(params) <= self._max_params
            ):
                # The common case, kept short: plain defaults, well within the cap.
                defaults.update(params)
                self._encoded = None
                return
            for key, value in params.items():
                if key not in defaults and len(defaults) >= self._max_params:
                    dropped += 1
                    continue
                defaults[key] = value
                if sensitive:
                    self._sensitive.add(key)
                elif self._sensitive:
                    self._sensitive.discard(key)
            self._encoded = None
            first = dropped and not self._dropped
            self._dropped += dropped
        if first:
            _logger.warning(
                "ragtel: tracer %r has %d default params, the most it keeps; later ones are "
                "dropped (register params inside a span to give them to one trace only)",
                self.scope_name,
                self._max_params,
            )
