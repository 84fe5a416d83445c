"""Which exporters a tracer gets, from its arguments and the environment (``resolve_export``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtel._config import ExportConfig
from ragtel._sdk.export_config import resolve_export


def choose(**given: object) -> ExportConfig:
    """``resolve_export`` with every argument unset but those given."""
    arguments: dict[str, object] = {
        "exporter": None,
        "output_filepath": None,
        "otlp_endpoint": None,
        "otlp_protocol": None,
        "otlp_headers": None,
        "otlp_compression": None,
        "otlp_timeout": None,
        "otlp_certificate": None,
        "api_token": None,
        "fallback_token": None,
        "reusing_provider": False,
    }
    arguments.update(given)
    return resolve_export(**arguments)  # type: ignore[arg-type]


def test_with_nothing_chosen_a_new_provider_writes_the_default_file() -> None:
    config = choose()
    assert (config.exporters, config.file_path, config.is_default_file) == (
        ("file",),
        "ragtel-traces.jsonl",
        True,
    )


def test_with_nothing_chosen_the_apps_own_provider_gets_no_exporter() -> None:
    assert choose(reusing_provider=True).exporters == ()


def test_ragtel_traces_file_names_the_default_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAGTEL_TRACES_FILE", str(tmp_path / "env.jsonl"))
    config = choose()
    assert (config.exporters, config.file_path) == (("file",), str(tmp_path / "env.jsonl"))
    assert not config.is_default_file  # someone chose it: no warning about where traces went


@pytest.mark.parametrize(
    ("given", "exporters"),
    [
        ({"output_filepath": "out.jsonl"}, ("file",)),
        ({"exporter": "otlp", "output_filepath": "out.jsonl"}, ("otlp", "file")),
        ({"exporter": " OTLP,file,otlp,, "}, ("otlp", "file")),
        ({"exporter": ["console", "file"]}, ("console", "file")),
        ({"otlp_endpoint": "http://127.0.0.1:4318"}, ("otlp",)),
        ({"otlp_timeout": 3}, ("otlp",)),
        # exporter= wins: otlp_* arguments ask for OTLP only when it is not given.
        ({"exporter": "file", "otlp_endpoint": "http://127.0.0.1:4318"}, ("file",)),
        ({"exporter": "none", "output_filepath": "out.jsonl"}, ()),
    ],
    ids=[
        "output-filepath",
        "otlp-and-file",
        "names-cleaned",
        "a-list",
        "otlp-endpoint",
        "otlp-timeout",
        "exporter-wins",
        "none-wins",
    ],
)
def test_arguments_choose_the_exporters(given: dict[str, object], exporters: tuple[str]) -> None:
    assert choose(**given).exporters == exporters


@pytest.mark.parametrize(
    ("variable", "value", "exporters"),
    [
        ("OTEL_TRACES_EXPORTER", "console", ("console",)),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", ("otlp",)),
    ],
)
def test_the_environment_chooses_only_when_the_arguments_do_not(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, exporters: tuple[str]
) -> None:
    monkeypatch.setenv(variable, value)
    assert choose().exporters == exporters
    assert choose(exporter="file").exporters == ("file",)
    assert choose(reusing_provider=True).exporters == ()


def test_an_http_endpoint_gets_the_traces_path_and_a_grpc_one_is_kept() -> None:
    assert choose(otlp_endpoint="http://127.0.0.1:4318").otlp.endpoint == (
        "http://127.0.0.1:4318/v1/traces"
    )
    assert choose(otlp_endpoint="http://127.0.0.1:4318/v1/traces").otlp.endpoint == (
        "http://127.0.0.1:4318/v1/traces"
    )
    grpc = choose(otlp_endpoint="http://127.0.0.1:4317", otlp_protocol="grpc").otlp
    assert (grpc.protocol, grpc.endpoint) == ("grpc", "http://127.0.0.1:4317")


def test_the_protocol_comes_from_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert choose(exporter="otlp").otlp.protocol == "http/protobuf"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert choose(exporter="otlp").otlp.protocol == "grpc"
    assert choose(exporter="otlp", otlp_protocol="http/protobuf").otlp.protocol == "http/protobuf"


def test_the_api_token_becomes_a_bearer_header_beside_the_headers_given() -> None:
    config = choose(exporter="otlp", otlp_headers={"x-team": "search"}, api_token="tok")
    assert dict(config.otlp.headers) == {"x-team": "search", "authorization": "Bearer tok"}
    assert dict(choose(exporter="otlp", fallback_token="fb").otlp.headers) == {
        "authorization": "Bearer fb"
    }
    assert "tok" not in repr(config)  # the headers' values stay out of reprs and logs


def test_otlp_settings_are_kept_only_when_otlp_is_chosen() -> None:
    config = choose(exporter="otlp", otlp_compression="gzip", otlp_timeout=3)
    assert (config.otlp.compression, config.otlp.timeout) == ("gzip", 3.0)
    assert choose(output_filepath="out.jsonl").otlp.endpoint is None


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"exporter": "jaeger"}, ValueError, "exporter must be one of otlp, console, file, none"),
        ({"exporter": [1]}, TypeError, "exporter must name exporters as strings"),
        ({"exporter": "otlp", "otlp_protocol": "http/json"}, ValueError, "otlp_protocol must be"),
    ],
    ids=["unknown-name", "not-a-name", "unknown-protocol"],
)
def test_a_bad_choice_is_refused_naming_the_argument(
    given: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        choose(**given)
