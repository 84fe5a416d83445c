"""Fuzzing ``log()``: to the tracer's pipeline, to files and to loggers (see ``fuzz_contract``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span
from fuzz_contract import REFUSED, Arguments, call, fuzz_settings
from fuzz_export import Exported

LOG_FILES = tuple(f"log-{index}.jsonl" for index in range(20))  # past the 16 kept open


@fuzz_settings()
@given(data=st.data())
def test_log(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        value = arguments.aside(fs.anything, "data")
        choice = arguments.draw(
            "logger",
            st.sampled_from(["pipeline", "path", "pathlib", "logger"]),
            # Never text or a path: a fuzzed path could land anywhere on disk.
            fs.anything_but(str, os.PathLike, logging.Logger).filter(
                lambda value: value is not None
            ),
        )
        path = exported.directory / arguments.aside(st.sampled_from(LOG_FILES), "file")
        logger: Any = choice
        if "logger" not in arguments.wild:
            logger = {
                "pipeline": None,
                "path": str(path),
                "pathlib": path,
                "logger": logging.getLogger("fuzz.log"),
            }[choice]
        result = call("log", arguments, lambda: tracer.log(value, logger))
        if "logger" in arguments.wild:
            assert result is REFUSED, "log() accepted a logger that is none of the documented kinds"
        elif logger is None:
            exported.logged += 1
        elif not isinstance(logger, logging.Logger):
            exported.expect_path_log(path)
