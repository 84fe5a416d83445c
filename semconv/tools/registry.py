"""Load and validate the ragtel semantic-convention registry (``semconv/``).

The YAML follows the OpenTelemetry Weaver registry format (groups of type
``attribute_group``, ``span`` and ``event``), so ``weaver registry check``
accepts it. This module reads the same files without Weaver: the code
generator, the validator test and the live check of the test suite all use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

SEMCONV_ROOT = Path(__file__).resolve().parent.parent

PRIMITIVE_TYPES = (
    "string",
    "int",
    "double",
    "boolean",
    "string[]",
    "int[]",
    "double[]",
    "boolean[]",
)
TEMPLATE_TYPES = tuple(f"template[{kind}]" for kind in (*PRIMITIVE_TYPES, "any"))
REQUIREMENT_LEVELS = ("required", "recommended", "opt_in", "conditionally_required")
STABILITIES = ("development",)
NAMESPACE = "ragtel."

# Keys of other registries that ragtel references: prefix -> manifest dependency.
EXTERNAL_PREFIXES = {
    "gen_ai.": "otel_genai",
    "session.": "otel",
    "user.": "otel",
    "error.": "otel",
}

_GROUP_PREFIXES = {
    "attribute_group": "registry.ragtel.",
    "span": "span.ragtel.",
    "event": "event.ragtel.",
}
_SPAN_NAME = re.compile(r"named `([^`]+)`")


@dataclass(frozen=True)
class Member:
    id: str
    value: str
    brief: str
    stability: str


@dataclass(frozen=True)
class Attribute:
    id: str
    type: str
    """A primitive or template type, or ``"enum"`` (see ``members``)."""
    brief: str
    examples: tuple[Any, ...]
    stability: str
    requirement_level: str
    note: str
    group: str
    members: tuple[Member, ...] = ()

    @property
    def is_template(self) -> bool:
        return self.type.startswith("template[")

    @property
    def value_type(self) -> str:
        """The type of its values: ``string`` for an enum, the inner type of a template."""
        if self.type == "enum":
            return "string"
        return self.type[len("template[") : -1] if self.is_template else self.type


@dataclass(frozen=True)
class Reference:
    id: str
    requirement_level: str | None
    note: str


@dataclass(frozen=True)
class Group:
    id: str
    type: str
    brief: str
    note: str
    display_name: str
    name: str | None
    """The event name of an event group; the fixed span name of a span group, if any."""
    span_kind: str | None
    attributes: tuple[str, ...]
    """Ids of the attributes it defines (attribute groups) or references (spans, events)."""
    references: tuple[Reference, ...]
    file: str


@dataclass
class Registry:
    manifest: dict[str, Any]
    external: dict[str, str] = field(default_factory=dict)
    """Referenced keys of other registries and their types (dependencies.lock.yaml)."""
    openinference: dict[str, str] = field(default_factory=dict)
    """OpenInference keys written in compatibility mode ("{i}" for an index)."""
    external_events: frozenset[str] = frozenset()
    """Event names of other registries that ragtel emits, with attributes of its own added."""
    groups: list[Group] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def groups_of(self, kind: str) -> list[Group]:
        return [group for group in self.groups if group.type == kind]

    @property
    def external_references(self) -> set[str]:
        """Keys of other registries referenced by ragtel's spans and events."""
        return {
            ref.id
            for group in self.groups
            for ref in group.references
            if ref.id not in self.attributes
        }

    def attribute_for_key(self, key: str) -> Attribute | None:
        """The attribute declaring ``key``, matching templates by prefix."""
        attribute = self.attributes.get(key)
        if attribute is not None:
            return attribute
        for candidate in self.attributes.values():
            if candidate.is_template and key.startswith(candidate.id + "."):
                return candidate
        return None

    def event(self, name: str) -> Group | None:
        return next((g for g in self.groups_of("event") if g.name == name), None)

    @property
    def span_names(self) -> set[str]:
        return {g.name for g in self.groups_of("span") if g.name}


def load(root: Path = SEMCONV_ROOT) -> Registry:
    manifest = yaml.safe_load((root / "manifest.yaml").read_text())
    lock = yaml.safe_load((root / "dependencies.lock.yaml").read_text()) or {}
    registry = Registry(
        manifest=manifest,
        external=dict(lock.get("attributes", {})),
        openinference=dict(lock.get("openinference", {})),
        external_events=frozenset(lock.get("events", ())),
    )
    group_ids: set[str] = set()
    for path in sorted((root / "model").glob("*.yaml")):
        document = yaml.safe_load(path.read_text()) or {}
        for raw in document.get("groups", []):
            group = _group(raw, path.name, registry)
            if group.id in group_ids:
                registry.duplicates.append(f"group {group.id}")
            group_ids.add(group.id)
            registry.groups.append(group)
    return registry


def _group(raw: dict[str, Any], file: str, registry: Registry) -> Group:
    group_id = str(raw.get("id", ""))
    defined: list[str] = []
    references: list[Reference] = []
    for item in raw.get("attributes", []):
        if "ref" in item:
            level = item.get("requirement_level")
            if isinstance(level, dict):
                level = next(iter(level), None)
            references.append(Reference(str(item["ref"]), level, item.get("note", "")))
            continue
        attribute = _attribute(item, group_id, registry)
        if attribute.id in registry.attributes:
            registry.duplicates.append(f"attribute {attribute.id}")
        registry.attributes[attribute.id] = attribute
        defined.append(attribute.id)
    name = raw.get("name")
    if raw.get("type") == "span" and name is None:
        match = _SPAN_NAME.search(str(raw.get("brief", "")) + " " + str(raw.get("note", "")))
        name = match.group(1) if match else None
    return Group(
        id=group_id,
        type=str(raw.get("type", "")),
        brief=str(raw.get("brief", "")).strip(),
        note=str(raw.get("note", "")).strip(),
        display_name=str(raw.get("display_name", "")),
        name=name,
        span_kind=raw.get("span_kind"),
        attributes=tuple(defined or (ref.id for ref in references)),
        references=tuple(references),
        file=file,
    )


def _attribute(item: dict[str, Any], group_id: str, registry: Registry) -> Attribute:
    raw_type = item.get("type")
    members: tuple[Member, ...] = ()
    if isinstance(raw_type, dict):
        members = tuple(
            Member(
                id=str(member.get("id", "")),
                value=str(member.get("value", "")),
                brief=str(member.get("brief", "")).strip(),
                stability=str(member.get("stability", "")),
            )
            for member in raw_type.get("members", [])
        )
        type_name = "enum"
    else:
        type_name = str(raw_type)
    level = item.get("requirement_level", "")
    if isinstance(level, dict):
        level = next(iter(level), "")
    elif level == "conditionally_required":
        registry.problems.append(
            f"attribute {item.get('id')}: conditionally_required needs its condition as text"
        )
    examples = item.get("examples")
    if examples is None:
        examples = []
    return Attribute(
        id=str(item.get("id", "")),
        type=type_name,
        brief=str(item.get("brief", "")).strip(),
        examples=tuple(examples) if isinstance(examples, list) else (examples,),
        stability=str(item.get("stability", "")),
        requirement_level=str(level),
        note=str(item.get("note", "")).strip(),
        group=group_id,
        members=members,
    )


_ID: Final = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_EXAMPLE_TYPES: Final = {
    "string": (str,),
    "int": (int,),
    "double": (int, float),
    "boolean": (bool,),
}


def _example_fits(value_type: str, example: Any) -> bool:
    if value_type == "any":
        return True
    if value_type.endswith("[]"):
        return isinstance(example, list) and all(_example_fits(value_type[:-2], e) for e in example)
    kinds = _EXAMPLE_TYPES[value_type]
    if isinstance(example, bool) and bool not in kinds:
        return False
    return isinstance(example, kinds)


def validate(registry: Registry) -> list[str]:
    """Every problem with the registry, as readable lines (empty when it is valid)."""
    return list(_problems(registry))


def _problems(registry: Registry) -> Iterator[str]:
    yield from (f"duplicate {what}" for what in registry.duplicates)
    yield from registry.problems
    dependencies = {dep.get("name") for dep in registry.manifest.get("dependencies", [])}
    ids = set(registry.attributes)
    for attribute in registry.attributes.values():
        where = f"attribute {attribute.id} ({attribute.group})"
        if not attribute.id.startswith(NAMESPACE):
            yield f"{where}: not in the {NAMESPACE}* namespace"
        if not _ID.fullmatch(attribute.id):
            yield f"{where}: ids are lowercase dot-separated words"
        if not attribute.is_template and any(other.startswith(attribute.id + ".") for other in ids):
            yield f"{where}: also used as the namespace of another attribute"
        if attribute.type not in (*PRIMITIVE_TYPES, *TEMPLATE_TYPES, "enum"):
            yield f"{where}: invalid type {attribute.type!r}"
            continue
        if attribute.type == "enum" and not attribute.members:
            yield f"{where}: an enum needs members"
        member_ids = [member.id for member in attribute.members]
        member_values = [member.value for member in attribute.members]
        if len(set(member_ids)) < len(member_ids) or len(set(member_values)) < len(member_values):
            yield f"{where}: enum members must have distinct ids and values"
        for member in attribute.members:
            if not (member.id and member.value and member.brief):
                yield f"{where}: enum member {member.id!r} needs an id, a value and a brief"
            if member.stability not in STABILITIES:
                yield f"{where}: enum member {member.id!r} has stability {member.stability!r}"
        if not attribute.brief:
            yield f"{where}: no brief"
        if not attribute.examples:
            yield f"{where}: no examples"
        for example in attribute.examples:
            if not _example_fits(attribute.value_type, example):
                yield f"{where}: example {example!r} is not a {attribute.value_type}"
        if attribute.stability not in STABILITIES:
            yield f"{where}: stability {attribute.stability!r} is not one of {STABILITIES}"
        if attribute.requirement_level not in REQUIREMENT_LEVELS:
            yield f"{where}: invalid requirement_level {attribute.requirement_level!r}"
    for group in registry.groups:
        where = f"group {group.id}"
        if group.type not in ("attribute_group", "span", "event"):
            yield f"{where}: invalid type {group.type!r}"
        if not group.brief:
            yield f"{where}: no brief"
        prefix = _GROUP_PREFIXES.get(group.type, "")
        external_event = group.type == "event" and group.name in registry.external_events
        if external_event and group.id != f"event.{group.name}":
            yield f"{where}: the group of event {group.name} must have the id event.{group.name}"
        elif not external_event and not group.id.startswith(prefix):
            yield f"{where}: ids of {group.type} groups start with {prefix}"
        if (
            group.type == "event"
            and not external_event
            and not (group.name or "").startswith(NAMESPACE)
        ):
            yield (
                f"{where}: an event group needs a name in the {NAMESPACE}* namespace "
                "or one listed under events in dependencies.lock.yaml"
            )
        if group.type == "span" and not group.span_kind:
            yield f"{where}: a span group needs a span_kind"
        if group.type == "attribute_group" and group.references:
            yield f"{where}: attribute groups define attributes, they do not reference them"
        for ref in group.references:
            level = ref.requirement_level
            if level is not None and level not in REQUIREMENT_LEVELS:
                yield f"{where}: reference {ref.id!r} has invalid requirement_level"
            if ref.id in registry.attributes:
                continue
            dependency = next(
                (dep for prefix, dep in EXTERNAL_PREFIXES.items() if ref.id.startswith(prefix)),
                None,
            )
            if dependency is None or dependency not in dependencies:
                yield f"{where}: reference {ref.id!r} resolves to no attribute or dependency"
            elif ref.id not in registry.external:
                yield f"{where}: reference {ref.id!r} is not in dependencies.lock.yaml"
    referenced = {ref.id for group in registry.groups for ref in group.references}
    for attribute_id in sorted(set(registry.attributes) - referenced):
        yield f"attribute {attribute_id}: defined but used by no span or event"
    for key in sorted(set(registry.external) - referenced):
        yield f"dependencies.lock.yaml: {key} is referenced by no span or event"
