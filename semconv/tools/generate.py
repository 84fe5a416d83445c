"""Generate ragtel's semantic-convention constants and reference docs from the registry.

    python semconv/tools/generate.py          # write the generated files
    python semconv/tools/generate.py --check  # exit 1 if any generated file is stale

Writes ``src/ragtel/semconv/{attributes,events,spans,references,openinference}.py`` and
``semconv/docs/*.md``. Needs Jinja2 and PyYAML (the ``dev`` or ``test`` extra).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import registry as semconv

ROOT = semconv.SEMCONV_ROOT.parent
PACKAGE = ROOT / "src" / "ragtel" / "semconv"
DOCS = semconv.SEMCONV_ROOT / "docs"
TEMPLATES = semconv.SEMCONV_ROOT / "templates"


def constant_name(identifier: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", identifier.replace("{i}", "")).strip("_").upper()


def class_name(identifier: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", identifier)) + "Values"


def python_docstring(text: str) -> str:
    # Escaped so that any brief makes a valid docstring (quotes, backslashes).
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def markdown_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_all() -> dict[Path, str]:
    """Every generated file's path and content."""
    registry = semconv.load()
    problems = semconv.validate(registry)
    if problems:
        raise SystemExit("the registry is not valid:\n  " + "\n  ".join(problems))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        constant=constant_name,
        class_name=class_name,
        docstring=python_docstring,
        cell=markdown_cell,
    )
    context = {
        "registry": registry,
        "attributes": sorted(registry.attributes.values(), key=lambda a: a.id),
        "attribute_groups": registry.groups_of("attribute_group"),
        "spans": registry.groups_of("span"),
        "events": registry.groups_of("event"),
        "external": sorted(registry.external_references),
        "openinference": sorted(registry.openinference),
        "manifest": registry.manifest,
    }
    outputs = {
        PACKAGE / "attributes.py": "attributes.py.j2",
        PACKAGE / "attribute_values.py": "attribute_values.py.j2",
        PACKAGE / "events.py": "events.py.j2",
        PACKAGE / "spans.py": "spans.py.j2",
        PACKAGE / "references.py": "references.py.j2",
        PACKAGE / "openinference.py": "openinference.py.j2",
        DOCS / "attributes.md": "attributes.md.j2",
        DOCS / "spans.md": "spans.md.j2",
        DOCS / "events.md": "events.md.j2",
    }
    rendered = {
        path: environment.get_template(name).render(**context) for path, name in outputs.items()
    }
    _check_python(rendered)
    return rendered


def _check_python(rendered: dict[Path, str]) -> None:
    """Generated modules must parse, and never define one constant twice."""
    for path, text in rendered.items():
        if path.suffix != ".py":
            continue
        tree = ast.parse(text, filename=str(path))
        names = [
            node.target.id
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        ]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise SystemExit(f"{path.name}: constants generated twice: {', '.join(repeated)}")


def stale_files() -> list[Path]:
    return [
        path for path, text in render_all().items() if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for path, text in render_all().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
