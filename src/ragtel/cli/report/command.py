"""``ragtel report FILE --by PARAM``: compare traces grouped by ParamSet values."""

from __future__ import annotations

import argparse
import sys

from ragtel.cli._errors import EXIT_OK, EXIT_PARTIAL
from ragtel.cli._escape import say
from ragtel.cli._filters import build_filter, resolve_filter_params, resolve_param_key
from ragtel.cli._jsonl import default_traces_path
from ragtel.cli._loading import load
from ragtel.cli._style import style_for
from ragtel.cli.report.groups import build_report
from ragtel.cli.report.output import csv_text, dumps, json_object, notes, table


def run(args: argparse.Namespace) -> int:
    trace_filter = build_filter(
        trace_ids=args.trace_id, params=args.param, since=args.since, until=args.until
    )
    path = args.file or default_traces_path()
    contents = load(path, args.max_line_size)
    status = EXIT_PARTIAL if contents.stats.has_problems else EXIT_OK
    if contents.stats.has_problems:
        say(f"ragtel: {contents.stats.describe_skipped()}")
    if not contents.traces:
        say(f"no traces in {path}")
        return status

    known = {key for trace in contents.traces for key in trace.params}
    by: list[str] = []
    for key in args.by:
        resolved = resolve_param_key(key, known, option="--by")
        if resolved not in by:
            by.append(resolved)
    resolve_filter_params(trace_filter, contents.traces)
    report = build_report([t for t in contents.traces if trace_filter.matches(t)], by)

    if args.format == "json":
        print(dumps(json_object(report, path, contents.stats)))
        return status
    if args.format == "csv":
        sys.stdout.write(csv_text(report))
        for note in notes(report):
            say(note)
        return status
    style = style_for(args.color, sys.stdout)
    if not report.groups:
        say("no traces to report")
    else:
        print(table(report, style))
    for note in notes(report):
        print(style(note, "dim"))
    return status
