"""Nulls in attribute arrays reach the exporter as nulls, or as "" where the encoder has none."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common._internal import _encode_attributes

from ragtel._sdk.span_prepare import _value, encoder_carries_null


def test_the_installed_encoder_is_asked_once_what_it_does_with_a_null() -> None:
    try:
        encoded = _encode_attributes({"contents": ("a", None)})
    except Exception:  # noqa: BLE001 - an encoder without nulls refuses them
        encoded = None
    assert encoder_carries_null() is (encoded is not None and len(encoded) == 1)


def test_without_nulls_an_array_keeps_its_length_and_order_with_empty_text() -> None:
    assert _value(("first", None, "third"), 0, nulls=False) == ("first", "", "third")
    assert _value({"nested": (None, 1.5)}, 0, nulls=False) == {"nested": ("", 1.5)}


def test_with_nulls_the_null_is_kept() -> None:
    assert _value(("first", None), 0, nulls=True) == ("first", None)
