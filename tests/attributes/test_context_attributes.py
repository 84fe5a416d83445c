"""The pure builders of labels (``ragtel._attributes.context``): session, user, tags, metadata."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from opentelemetry import context as context_api

from ragtel._attributes.context import (
    CONTEXT_ATTRIBUTES_KEY,
    checked_tags,
    context_attributes,
    current_context_attributes,
    merged,
    merged_tags,
)
from ragtel._config import CaptureConfig, ValueLimits

CAPTURE = CaptureConfig()
SMALL = CaptureConfig(limits=ValueLimits(max_length=10, max_items=3))


def labels(capture: CaptureConfig = CAPTURE, **given: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "session_id": None,
        "user_id": None,
        "tags": None,
        "metadata": None,
    }
    arguments.update(given)
    return dict(context_attributes(capture=capture, **arguments))  # type: ignore[arg-type]


def test_each_label_has_its_attribute_and_the_session_its_gen_ai_mirror() -> None:
    assert labels(
        session_id="s1", user_id="u1", tags=["a", "b", "a"], metadata={"k": 1, "d": {"x": 1}}
    ) == {
        "session.id": "s1",
        "gen_ai.conversation.id": "s1",
        "user.id": "u1",
        "ragtel.tags": ["a", "b"],
        "ragtel.metadata.k": 1,
        "ragtel.metadata.d": '{"x": 1}',
    }


def test_no_labels_give_no_attributes() -> None:
    assert labels() == {}


def test_metadata_under_a_credential_name_is_redacted() -> None:
    assert labels(metadata={"password": "hunter2"}) == {"ragtel.metadata.password": "[REDACTED]"}


def test_metadata_values_go_through_the_mask_and_ids_do_not() -> None:
    masked = CaptureConfig(mask=lambda value: "[masked]")
    assert labels(masked, session_id="s1", metadata={"m": "v"}) == {
        "session.id": "s1",
        "gen_ai.conversation.id": "s1",
        "ragtel.metadata.m": "[masked]",
    }


def test_labels_are_capped_and_what_was_left_out_is_counted() -> None:
    attributes = labels(
        SMALL,
        session_id="s" * 50,
        tags=[f"t{index}" for index in range(6)],
        metadata={f"k{index}": index for index in range(5)},
    )
    assert len(str(attributes["session.id"])) <= 10
    assert attributes["ragtel.tags"] == ["t0", "t1", "t2", "…[3 more tags]"]
    assert {key: value for key, value in attributes.items() if key.startswith("ragtel.meta")} == {
        "ragtel.metadata.k0": 0,
        "ragtel.metadata.k1": 1,
        "ragtel.metadata.k2": 2,
        "ragtel.metadata.…": "[2 more entries]",
    }


def test_text_that_cannot_be_exported_is_escaped() -> None:
    attributes = labels(session_id="a\ud800b", user_id="\udcff")
    assert attributes["session.id"] == "a\\ud800b"
    assert attributes["user.id"] == "\\udcff"
    for value in attributes.values():
        str(value).encode("utf-8")  # a lone surrogate would fail the whole export


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"session_id": ""}, TypeError, "session_id must be a non-empty str"),
        ({"user_id": 5}, TypeError, "user_id must be a non-empty str"),
        ({"tags": "ab"}, TypeError, "tags must be a sequence of str"),
        ({"tags": [1]}, TypeError, "tags must be a sequence of str"),
        ({"metadata": [1]}, TypeError, "metadata must be a mapping"),
        ({"metadata": {1: "x"}}, TypeError, "metadata key must be a str"),
        ({"metadata": {"": 1}}, ValueError, "metadata key must be a non-empty str"),
    ],
    ids=["empty-session", "int-user", "str-tags", "int-tag", "list-metadata", "int-key", "bad-key"],
)
def test_a_bad_label_is_refused_naming_it(
    given: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        labels(**given)


def test_tags_are_read_once_from_any_iterable() -> None:
    assert checked_tags((tag for tag in ["g1", "g2", "g1"]), ValueLimits()) == ["g1", "g2"]


def test_an_inner_scope_overrides_ids_merges_metadata_and_adds_tags() -> None:
    outer = labels(session_id="s1", user_id="u1", tags=["a", "b"], metadata={"k": 1})
    inner = labels(session_id="s2", tags=["b", "c"], metadata={"j": 2})
    result = merged(outer, inner)  # type: ignore[arg-type]
    assert dict(result) == {
        "session.id": "s2",
        "gen_ai.conversation.id": "s2",
        "user.id": "u1",
        "ragtel.tags": ["a", "b", "c"],
        "ragtel.metadata.k": 1,
        "ragtel.metadata.j": 2,
    }
    with pytest.raises(TypeError):
        result["user.id"] = "changed"  # type: ignore[index]  # scopes share it: read-only


def test_merging_capped_tag_lists_carries_their_left_out_counts() -> None:
    three = ValueLimits(max_items=3)
    first = checked_tags([f"a{index}" for index in range(6)], three)
    second = checked_tags([f"b{index}" for index in range(5)], three)
    assert first == ["a0", "a1", "a2", "…[3 more tags]"]
    assert merged_tags(first, second, limits=three) == ["a0", "a1", "a2", "…[8 more tags]"]
    assert merged_tags(first, second, limits=ValueLimits()) == [
        *["a0", "a1", "a2", "b0", "b1", "b2"],
        "…[5 more tags]",
    ]


def test_the_labels_in_force_are_read_from_the_context() -> None:
    assert dict(current_context_attributes()) == {}
    labelled = context_api.set_value(CONTEXT_ATTRIBUTES_KEY, {"user.id": "u"})
    found: Mapping[str, object] = current_context_attributes(labelled)
    assert dict(found) == {"user.id": "u"}
    token = context_api.attach(labelled)
    try:
        assert dict(current_context_attributes()) == {"user.id": "u"}
    finally:
        context_api.detach(token)
