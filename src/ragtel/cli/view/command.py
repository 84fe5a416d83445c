"""``ragtel view FILE``: traces as trees, oldest first, or as JSON Lines."""

from __future__ import annotations

import argparse
import sys

from ragtel.cli._errors import EXIT_OK, EXIT_PARTIAL
from ragtel.cli._escape import say
from ragtel.cli._filters import build_filter, resolve_filter_params
from ragtel.cli._json_text import json_text
from ragtel.cli._jsonl import default_traces_path
from ragtel.cli._loading import load
from ragtel.cli._style import style_for
from ragtel.cli.view.render import trace_json, trace_lines


def run(args: argparse.Namespace) -> int:
    trace_filter = build_filter(
        trace_ids=args.trace_id,
        params=args.param,
        since=args.since,
        until=args.until,
        name_pattern=args.name,
        errors_only=args.errors,
    )
    path = args.file or default_traces_path()
    contents = load(path, args.max_line_size)
    resolve_filter_params(trace_filter, contents.traces)
    matching = [trace for trace in contents.traces if trace_filter.matches(trace)]
    shown = matching[-args.limit :] if args.limit else matching

    out = sys.stdout
    if args.json:
        for trace in shown:
            out.write(json_text(trace_json(trace)) + "\n")
    else:
        style = style_for(args.color, out)
        for index, trace in enumerate(shown):
            if index:
                out.write("\n")
            out.write("\n".join(trace_lines(trace, style)) + "\n")
    out.flush()

    if not contents.traces:
        say(f"no traces in {path}")
    elif not matching:
        say(f"no traces match (the file holds {len(contents.traces):,})")
    elif len(shown) < len(matching):
        say(
            f"showing the {len(shown):,} most recent of {len(matching):,} matching traces "
            "(--limit 0 shows all)"
        )
    if contents.stats.has_problems:
        say(f"ragtel: {contents.stats.describe_skipped()}")
        return EXIT_PARTIAL
    return EXIT_OK
