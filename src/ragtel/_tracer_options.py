"""``TracerOptions``: what ``get_lastmile_tracer`` is asked for, checked and frozen.

A call's arguments are checked here (TypeError or ValueError naming the
argument, never calling a value's own ``repr``), then frozen into one
:class:`TracerOptions`. Its :meth:`~TracerOptions.requested` form tells a
later call with the same name and other arguments apart, for the warning
that they are ignored.
What the environment adds (:class:`EnvironmentDefaults`) is read only when a
tracer is made, never for a call that finds its tracer made already.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from opentelemetry import trace
from opentelemetry.util import types

from ragtel import _environment as env
from ragtel._attributes.params import validated_params
from ragtel._config import CaptureConfig, Mask, resolve_capture
from ragtel._encoding.encoder import quoted, stable_repr
from ragtel._state import STATE
from ragtel._types import RagFlowType

_logger = logging.getLogger("ragtel")


class TracerOptions(NamedTuple):
    """What a tracer is asked for: ``get_lastmile_tracer``'s arguments, checked and frozen.

    Fields are named and documented as the arguments are; ``None`` means the
    argument was not given. ``pipeline_type`` is folded into
    ``rag_flow_type``, ``exporter`` is a str or a tuple, ``output_filepath``
    a plain path. Kept in memory only and never logged: it holds the token.
    Compare two with :meth:`ignored_arguments`, never ``==`` (which would call
    the params' own ``__eq__``). A NamedTuple, as in ``ragtel._config``: made
    on every call, it must cost next to nothing.
    """

    lastmile_api_token: str | None = None
    project_name: str | None = None
    project_id: str | None = None
    rag_flow_type: RagFlowType | None = None
    initial_params: Mapping[str, Any] = MappingProxyType({})
    output_filepath: str | None = None
    tracer_provider: trace.TracerProvider | None = None
    set_global: bool = True
    exporter: str | tuple[str, ...] | None = None
    otlp_endpoint: str | None = None
    otlp_protocol: str | None = None
    otlp_headers: Mapping[str, str] | None = None
    otlp_compression: str | None = None
    otlp_timeout: float | None = None
    otlp_certificate: str | None = None
    capture_content: bool | None = None
    mask: Mask | None = None
    propagate_params: bool | None = None
    record_embeddings: bool | None = None
    openinference: bool | None = None
    instrumenting_library_version: str | None = None
    schema_url: str | None = None
    attributes: types.Attributes = None
    """The instrumentation scope's attributes (OTel's ``get_tracer(attributes=)``)."""

    def requested(self) -> tuple[object, ...]:
        """Each argument, in field order, as a value that compares safely (None: not given).

        Objects compare by identity, params by a ``stable_repr`` (a value's own
        ``__eq__`` or ``__repr__`` may raise), ``set_global`` only when False.
        ``tracer_provider`` is never compared: another provider gets another tracer.
        """
        params = self.initial_params
        return (
            self.lastmile_api_token,
            self.project_name,
            self.project_id,
            self.rag_flow_type,
            stable_repr(sorted(params.items(), key=lambda item: item[0])) if params else None,
            self.output_filepath,
            None,  # tracer_provider: the registry keeps one tracer per provider asked for
            None if self.set_global else False,  # True is the default
            stable_repr(self.exporter) if self.exporter is not None else None,
            self.otlp_endpoint,
            self.otlp_protocol,
            repr(sorted(self.otlp_headers.items())) if self.otlp_headers else None,
            self.otlp_compression,
            self.otlp_timeout,
            self.otlp_certificate,
            self.capture_content,
            _identity(self.mask),
            self.propagate_params,
            self.record_embeddings,
            self.openinference,
            self.instrumenting_library_version,
            self.schema_url,
            stable_repr(sorted(self.attributes.items())) if self.attributes else None,
        )

    def ignored_arguments(self, first_requested: tuple[object, ...]) -> list[str]:
        """The arguments given here that differ from those first requested (see
        :meth:`requested`); an argument not given asks for nothing."""
        requested = self.requested()
        if requested == first_requested:
            return []
        return [
            name
            for name, value, kept in zip(self._fields, requested, first_requested, strict=True)
            if value is not None and value != kept
        ]


def _identity(value: object) -> int | None:
    return id(value) if value is not None else None


class EnvironmentDefaults(NamedTuple):
    """What the environment adds to a tracer's options, read once when the tracer is made.

    Kept with the tracer, so one made again after a shutdown is set up as the first was.
    """

    project_id: str | None
    """``project_id``, else ``LASTMILE_PROJECT_ID``."""
    fallback_token: str | None
    """``LASTMILE_API_TOKEN``: sent when no argument or header sets ``authorization``."""
    capture: CaptureConfig
    """The capture arguments over the ``RAGTEL_*`` variables."""


def environment_defaults(options: TracerOptions) -> EnvironmentDefaults:
    """Read the environment's defaults for a tracer made from ``options``, now."""
    return EnvironmentDefaults(
        project_id=options.project_id or os.environ.get(env.LASTMILE_PROJECT_ID),
        fallback_token=os.environ.get(env.LASTMILE_API_TOKEN),
        capture=resolve_capture(
            options.capture_content, options.mask, options.record_embeddings, options.openinference
        ),
    )


# ``get_lastmile_tracer``'s positional arguments after the name, in each order
# it accepts; which one a call uses is told from the type of the first of them.
NEWER_ORDER = (
    "lastmile_api_token",
    "project_name",
    "initial_params",
    "output_filepath",
    "rag_flow_type",
)
"""LastMile's current signature: the default order."""
OLDER_ORDER = ("pipeline_type", "output_filepath", "project_id", "lastmile_api_token")
"""LastMile's older signature: chosen when a flow type (``RagFlowType`` or value) is first."""
OTEL_ORDER = ("instrumenting_library_version", "tracer_provider", "schema_url", "attributes")
"""OpenTelemetry's ``get_tracer`` order: chosen when a version comes first."""

# A version as instrumentation libraries write it (PEP 440 or SemVer): digits
# with at least one dot (after a PEP 440 epoch, "1!"), then pre-, post-, dev-
# or build parts. A LastMile token
# is a long opaque string that never starts "<digits>.<digits>"; a lone number
# ("1") is not taken as a version, since it could be a (test) token. Capped in
# length so that nothing token-sized is ever read as a version and exported.
_VERSION = re.compile(
    r"v?(?:\d+!)?\d+(?:\.\d+)+"
    r"(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev)[-_.]?\d*)*"
    r"(?:[-+][0-9a-z]+(?:[.-][0-9a-z]+)*)*",
    re.IGNORECASE,
)
_MAX_VERSION_LENGTH = 40
_FLOW_TYPE_VALUES = frozenset(member.value for member in RagFlowType)


def looks_like_version(value: object) -> bool:
    """Whether a positional ``value`` after the name is a scope version, not a token."""
    return (
        isinstance(value, str)
        and len(value) <= _MAX_VERSION_LENGTH
        and _VERSION.fullmatch(value) is not None
    )


def _is_flow_type(value: object) -> bool:
    return isinstance(value, RagFlowType) or (isinstance(value, str) and value in _FLOW_TYPE_VALUES)


def _is_path(value: object) -> bool:
    """A file path where the current order has ``project_name``: the older order's output file."""
    return isinstance(value, os.PathLike) or (
        isinstance(value, str) and value.endswith((".jsonl", ".json"))
    )


def positional_order(positional: tuple[Any, ...]) -> tuple[str, ...]:
    """The names of ``positional`` (the arguments after the name), told by the first's type.

    ``None`` first fits both of LastMile's orders (no token, or no flow type):
    a path second (a ``PathLike``, or text ending ``.jsonl`` or ``.json``) is
    then the older order's output file, not a project name.
    """
    first = positional[0] if positional else None
    if _is_flow_type(first):
        return OLDER_ORDER
    if first is None and len(positional) > 1 and _is_path(positional[1]):
        return OLDER_ORDER
    if looks_like_version(first):
        return OTEL_ORDER
    return NEWER_ORDER


def bind_positional(positional: tuple[Any, ...]) -> dict[str, Any]:
    """Each positional argument after the name, by the parameter name it stands for."""
    if not positional:
        return {}
    order = positional_order(positional)
    if len(positional) > len(order):
        raise TypeError(
            f"get_lastmile_tracer takes at most {len(order) + 1} positional arguments in the "
            f"order (tracer_name, {', '.join(order)}); got {len(positional) + 1}"
        )
    return dict(zip(order, positional, strict=False))


def pick(name: str, keyword: Any, bound: Mapping[str, Any]) -> Any:
    """The value of argument ``name``: given by position (``bound``) or by keyword, not both."""
    if name not in bound:
        return keyword
    if keyword is not None:
        raise TypeError(f"get_lastmile_tracer got {name} both by position and by keyword")
    return bound[name]


def tracer_name_of(tracer_name: Any) -> str:
    """The tracer's name: ``""`` (with an error logged once) for an empty or ``None`` one.

    The OpenTelemetry specification says getting a tracer must not throw for
    an invalid name, and its SDK logs an error and uses ``""``; so does this.
    A name of another type is a programming error and raises TypeError, as a
    wrong type does for every other argument.
    """
    if isinstance(tracer_name, str) and tracer_name:
        return tracer_name
    if tracer_name is None or isinstance(tracer_name, str):
        if STATE.first_time("invalid tracer name"):
            _logger.error(
                "ragtel: invalid tracer name %r: a working tracer named '' is returned",
                tracer_name,
            )
        return ""
    raise TypeError(f"tracer_name must be a str; got {quoted(tracer_name)}")


def check_arguments(token: Any, project_name: Any, project_id: Any, output_filepath: Any) -> None:
    """TypeError, naming the argument, for one of these of the wrong type."""
    if token is not None and not isinstance(token, str):
        raise TypeError(f"lastmile_api_token must be a str; got {type(token).__name__}")
    for argument, value in (("project_name", project_name), ("project_id", project_id)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a str; got {type(value).__name__}")
    if output_filepath is not None and not isinstance(output_filepath, (str, bytes, os.PathLike)):
        raise TypeError(f"output_filepath must be a path; got {type(output_filepath).__name__}")


def check_scope(version: Any, schema_url: Any, attributes: Any, tracer_provider: Any) -> None:
    """TypeError, naming the argument, for a scope argument or provider of the wrong type."""
    for argument, value in (
        ("instrumenting_library_version", version),
        ("schema_url", schema_url),
    ):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a str; got {type(value).__name__}")
    if attributes is not None and not isinstance(attributes, Mapping):
        raise TypeError(f"attributes must be a mapping; got {type(attributes).__name__}")
    if tracer_provider is not None and not isinstance(tracer_provider, trace.TracerProvider):
        raise TypeError(
            f"tracer_provider must be a TracerProvider; got {type(tracer_provider).__name__}"
        )


def exporter_names(exporter: Any) -> str | tuple[str, ...] | None:
    """``exporter`` as given, or as a tuple when it is a list (a generator is read once).

    Checked here so that an error names the argument and never calls a
    value's own ``repr``.
    """
    if exporter is None or isinstance(exporter, str):
        return exporter
    names = tuple(exporter) if isinstance(exporter, Iterable) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise TypeError(f"exporter must be a str or a list of str; got {quoted(exporter)}")
    return names


def flow_type(
    rag_flow_type: RagFlowType | str | None, pipeline_type: RagFlowType | str | None
) -> RagFlowType | None:
    """The flow type of either alias; ValueError if they disagree or name no flow type."""
    if rag_flow_type is not None and pipeline_type is not None and rag_flow_type != pipeline_type:
        raise ValueError(
            "rag_flow_type and pipeline_type are aliases and must agree; "
            f"got {quoted(rag_flow_type)} and {quoted(pipeline_type)}"
        )
    value = rag_flow_type if rag_flow_type is not None else pipeline_type
    if value is None:
        return None
    try:
        return RagFlowType(value)
    except Exception:  # noqa: BLE001 - Enum's own message repr()s the value, which may raise
        allowed = ", ".join(repr(member.value) for member in RagFlowType)
        raise ValueError(f"rag_flow_type must be one of {allowed}; got {quoted(value)}") from None


def initial_params_of(initial_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``initial_params`` read once into a dict, keys and values checked as params are."""
    if initial_params is None:
        return {}
    return validated_params(initial_params, argument="initial_params")
