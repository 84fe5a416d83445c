"""ragtel's process-wide state has one owner, resets whole, and survives ``fork()``."""

from __future__ import annotations

import ast
import gc
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry import propagate

import ragtel
import ragtel.testing
from ragtel._config import ValueLimits
from ragtel._encoding.arguments import report_cap
from ragtel._state import STATE

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ragtel"

# Memo caches: bounded, documented where they are, and safe to empty at any time.
MEMOS = {"_valid_keys", "_READERS", "_FIELD_TABLES", "_PLAIN_KEYS", "NAME_DECISIONS"}
_MUTABLE_CALLS = {
    "dict",
    "list",
    "set",
    "OrderedDict",
    "deque",
    "Lock",
    "RLock",
    "WeakSet",
    "WeakKeyDictionary",
    "WeakValueDictionary",
}


def _module_level_mutables(path: Path) -> list[str]:
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        mutable = (
            isinstance(value, (ast.Dict, ast.List, ast.Set)) and not _is_constant_table(value)
        ) or (
            isinstance(value, ast.Call)
            and getattr(value.func, "attr", getattr(value.func, "id", None)) in _MUTABLE_CALLS
        )
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        found += [f"{path.relative_to(PACKAGE)}:{name}" for name in names if mutable]
    return found


def _is_constant_table(value: ast.expr) -> bool:
    # A literal table written out in full is a constant, not state.
    return isinstance(value, (ast.Dict, ast.List, ast.Set)) and bool(
        value.keys if isinstance(value, ast.Dict) else value.elts
    )


def test_no_module_rebinds_a_global() -> None:
    statements = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Global)
    ]
    assert statements == []


def test_mutable_module_level_objects_are_the_state_or_documented_memos() -> None:
    found = [name for path in PACKAGE.rglob("*.py") for name in _module_level_mutables(path)]
    assert [name for name in found if name.rpartition(":")[2] not in MEMOS] == []


def test_reset_forgets_tracers(tmp_path: Path) -> None:
    first = ragtel.get_lastmile_tracer("state", output_filepath=tmp_path / "t.jsonl")
    assert ragtel.get_lastmile_tracer("state") is first
    ragtel.testing.reset()
    assert STATE.tracers == {} and len(STATE.installations) == 0
    assert ragtel.get_lastmile_tracer("state", exporter="none") is not first


def test_reset_puts_back_the_propagator_ragtel_replaced() -> None:
    before = propagate.get_global_textmap()
    ragtel.get_lastmile_tracer("propagating", exporter="none", propagate_params=True)
    assert propagate.get_global_textmap() is not before
    ragtel.testing.reset()
    assert propagate.get_global_textmap() is before
    assert STATE.propagator is None


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM handlers are POSIX-only")
def test_reset_puts_back_the_sigterm_handler_ragtel_replaced(tmp_path: Path) -> None:
    def app_handler(signum: int, frame: object) -> None: ...

    previous = signal.signal(signal.SIGTERM, app_handler)
    try:
        ragtel.get_lastmile_tracer("sigterm", output_filepath=tmp_path / "t.jsonl")
        assert signal.getsignal(signal.SIGTERM) is not app_handler  # ragtel's flush chains to it
        ragtel.testing.reset()
        assert signal.getsignal(signal.SIGTERM) is app_handler
        assert not STATE.sigterm_settled
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_reset_lets_warnings_given_once_be_given_again(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        report_cap("state-test items", ValueLimits())
        report_cap("state-test items", ValueLimits())
        ragtel.testing.reset()
        report_cap("state-test items", ValueLimits())
    assert sum("state-test items capped" in message for message in caplog.messages) == 2


def test_reset_for_tests_is_kept_as_the_former_name_of_reset() -> None:
    ragtel.get_lastmile_tracer("old-name", exporter="none")
    ragtel.testing.reset_for_tests()
    assert STATE.tracers == {}


def test_an_object_registered_for_fork_is_held_weakly() -> None:
    class Owner:
        def reinit_after_fork(self) -> None: ...

    owner = Owner()
    STATE.reinit_in_child(owner)
    assert owner in STATE._fork_aware
    del owner
    gc.collect()
    assert not [item for item in STATE._fork_aware if type(item).__name__ == "Owner"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_renews_the_state_locks_and_the_registered_objects() -> None:
    script = textwrap.dedent(
        """
        import os, sys, threading
        from ragtel._state import STATE

        class Owner:
            renewed = False

            def reinit_after_fork(self):
                self.renewed = True

        owner = Owner()
        STATE.reinit_in_child(owner)
        held, release = threading.Event(), threading.Event()

        def holder():
            with STATE.providers_lock, STATE.warnings_lock:
                held.set()
                release.wait()

        thread = threading.Thread(target=holder)
        thread.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            free = STATE.providers_lock.acquire(timeout=5) and STATE.first_time("after fork")
            os._exit(0 if free and owner.renewed else 3)
        release.set()
        thread.join()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status) or (3 if owner.renewed else 0))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert result.returncode == 0
