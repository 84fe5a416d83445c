"""``import ragtel`` stays light: exporters, protobuf and test tooling load only when used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "grpc",
    "google.protobuf",
    "requests",
    "urllib3",
    "opentelemetry.exporter",
    "opentelemetry.proto",
    "pytest",
)


def modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(completed.stdout.splitlines()[-1]))


def test_import_loads_no_exporter_protobuf_or_test_modules() -> None:
    loaded = modules_after("import ragtel")
    assert not [name for name in loaded if name.startswith(HEAVY)]


def test_creating_a_file_tracer_still_loads_no_network_exporter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    loaded = modules_after(
        "import ragtel; "
        f"ragtel.get_lastmile_tracer('t', output_filepath={str(tmp_path / 'x.jsonl')!r})"
    )
    assert not [
        name for name in loaded if name.startswith(("grpc", "requests", "opentelemetry.exporter"))
    ]


def test_import_does_not_load_the_global_propagators() -> None:
    # Propagators load entry points: only when ragtel's propagation is switched on.
    assert "opentelemetry.propagate" not in modules_after("import ragtel")


def test_import_does_not_load_the_command_line() -> None:
    assert not [name for name in modules_after("import ragtel") if name.startswith("ragtel.cli")]


def test_view_and_report_load_no_network_or_protobuf_modules() -> None:
    # `ragtel view` should start as fast as a small script: no gRPC, HTTP or protobuf.
    loaded = modules_after(
        "import ragtel.cli.view.command, ragtel.cli.report.command, ragtel.cli._traces"
    )
    assert not [name for name in loaded if name.startswith(HEAVY)]
    assert "opentelemetry.sdk.trace" not in loaded
