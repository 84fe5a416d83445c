"""Spans of multiprocessing children reach the file and the real receiver, in every start method.

A child started with ``fork`` or ``forkserver`` ends through ``os._exit``
once its target returns: ``atexit`` never runs there, so without a flush of
its own everything the child queued would be lost. Each scenario runs a real
application (a script file, as ``spawn`` and ``forkserver`` need one) that
starts children with ``Process``, a ``Pool`` closed and joined, a ``Pool``
used as a context manager (it ends with ``terminate()``) and a
``ProcessPoolExecutor``; every task records 100 spans.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otlp_receiver import OTLPReceiver

# Every test runs an app that starts processes: out of the quick run.
pytestmark = pytest.mark.integration

SPANS_PER_TASK = 100
TASKS = 2

# Constants shared with the apps, given as their first lines.
_HEADER = f"SPANS_PER_TASK = {SPANS_PER_TASK}\nTASKS = {TASKS}\n"

APP = _HEADER + textwrap.dedent(
    """
    import concurrent.futures
    import multiprocessing
    import sys

    from ragtel import get_lastmile_tracer

    endpoint, path, method = sys.argv[1], sys.argv[2], sys.argv[3]
    # At module level, as apps do: a spawned or forkserver child imports this
    # module again and so sets the tracer up itself; a forked one inherits it.
    tracer = get_lastmile_tracer("mp-app", otlp_endpoint=endpoint, output_filepath=path)


    def work(case):
        with tracer.start_as_current_span("child-request") as root:
            root.set_attribute("app.case", case)
            for _ in range(SPANS_PER_TASK - 1):
                with tracer.start_as_current_span("step") as span:
                    span.set_attribute("app.case", case)
        return case


    if __name__ == "__main__":
        context = multiprocessing.get_context(method)
        children = [context.Process(target=work, args=(f"process-{i}",)) for i in range(TASKS)]
        for child in children:
            child.start()
        for child in children:
            child.join()
            assert child.exitcode == 0, child.exitcode
        pool = context.Pool(TASKS)
        pool.map(work, [f"pool-{i}" for i in range(TASKS)])
        pool.close()
        pool.join()
        # As a context manager, a Pool ends with terminate(): SIGTERM to workers
        # that may already be on their way out.
        with context.Pool(TASKS) as pool:
            pool.map(work, [f"terminated-pool-{i}" for i in range(TASKS)])
        with concurrent.futures.ProcessPoolExecutor(TASKS, mp_context=context) as executor:
            list(executor.map(work, [f"executor-{i}" for i in range(TASKS)]))
        print("done")
    """
)

KINDS = ("process", "pool", "terminated-pool", "executor")
CASES = [f"{kind}-{i}" for kind in KINDS for i in range(TASKS)]


def _spans_in_file(path: Path) -> list[dict[str, object]]:
    spans: list[dict[str, object]] = []
    if not path.exists():
        return spans
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                spans.extend(scope_spans["spans"])
    return spans


def _case_of(span: dict[str, object]) -> str:
    for attribute in span["attributes"]:  # type: ignore[attr-defined]
        if attribute["key"] == "app.case":
            return str(attribute["value"]["stringValue"])
    return ""


def run_app(
    source: str, receiver: OTLPReceiver, path: Path, mode: str, *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script of its own, writing to ``path`` and to ``receiver``."""
    app = path.parent / "app.py"
    app.write_text(source)
    return subprocess.run(
        [sys.executable, str(app), receiver.http_endpoint, str(path), mode],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=path.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        check=False,
    )


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_every_child_delivers_all_its_spans_to_the_file_and_the_receiver(
    method: str, receiver: OTLPReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "traces.jsonl"
    completed = run_app(APP, receiver, path, method, timeout=240)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "done"

    expected = collections.Counter({case: SPANS_PER_TASK for case in CASES})
    in_file = collections.Counter(_case_of(span) for span in _spans_in_file(path))
    assert in_file == expected
    received = receiver.wait_for_spans(len(CASES) * SPANS_PER_TASK, timeout=30)
    by_case = collections.Counter(span["attributes"].get("app.case") for span in received)
    assert by_case == expected
    assert len({span["span_id"] for span in received}) == len(CASES) * SPANS_PER_TASK


LATE_APP = _HEADER + textwrap.dedent(
    """
    import sys

    from ragtel import get_lastmile_tracer

    endpoint, path, where = sys.argv[1], sys.argv[2], sys.argv[3]
    if where == "before-import":
        # Set up before the app loads multiprocessing at all.
        tracer = get_lastmile_tracer("mp-app", otlp_endpoint=endpoint, output_filepath=path)

    import multiprocessing


    def work(case):
        # Set up by the child itself when the parent never did.
        child_tracer = tracer if where == "before-import" else get_lastmile_tracer(
            "mp-app", otlp_endpoint=endpoint, output_filepath=path
        )
        with child_tracer.start_as_current_span("child-request") as root:
            root.set_attribute("app.case", case)
            for _ in range(SPANS_PER_TASK - 1):
                with child_tracer.start_as_current_span("step") as span:
                    span.set_attribute("app.case", case)


    if __name__ == "__main__":
        context = multiprocessing.get_context("fork")
        children = [context.Process(target=work, args=(f"process-{i}",)) for i in range(TASKS)]
        for child in children:
            child.start()
        for child in children:
            child.join()
            assert child.exitcode == 0, child.exitcode
        print("done")
    """
)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.parametrize("where", ["before-import", "in-child"])
def test_forked_children_flush_when_ragtel_is_set_up_before_multiprocessing_or_in_the_child(
    where: str, receiver: OTLPReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "traces.jsonl"
    completed = run_app(LATE_APP, receiver, path, where, timeout=120)
    assert completed.returncode == 0, completed.stderr
    expected = collections.Counter({f"process-{i}": SPANS_PER_TASK for i in range(TASKS)})
    assert collections.Counter(_case_of(span) for span in _spans_in_file(path)) == expected
    received = receiver.wait_for_spans(TASKS * SPANS_PER_TASK, timeout=30)
    assert collections.Counter(span["attributes"].get("app.case") for span in received) == expected


def test_ragtel_never_imports_multiprocessing_itself(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from ragtel import get_lastmile_tracer

        tracer = get_lastmile_tracer("quiet", output_filepath=sys.argv[1])
        with tracer.start_as_current_span("request"):
            tracer.register_param("k", 1)
        tracer.force_flush()
        print("multiprocessing" in sys.modules)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "t.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == "False"
