"""Throughput rounds timed inside a sender process of their own, against a real receiver.

The sender (``benchmarks._export_sender``, ``benchmarks._cli_send_sender``)
prints ``ready``, then for each side name read on stdin (``baseline`` or
``candidate``) delivers its spans and prints one JSON report with the
nanoseconds it took. The benchmark process only reads reports and counts what
the receiver got, so decoding the receiver's output never competes with the
senders for the GIL.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from benchmarks._timing import Pair

_ROOT = Path(__file__).resolve().parent.parent


class Tally(Protocol):
    def add(self, is_candidate: bool, report: dict[str, Any], received: int) -> None: ...

    def summary(self) -> tuple[str, bool]: ...


def sender_pair(
    command: Sequence[str],
    *,
    environment: dict[str, str],
    receiver: Any,
    spans: int,
    tally: Tally,
    count_arrivals: Callable[[Any, int], int],
    before_warm_up: Callable[[], None] = lambda: None,
    cleanup: Callable[[], None] = lambda: None,
) -> Pair:
    """A self-timed :class:`Pair` over the sender ``command``, after one untimed round a side.

    The warm-up rounds let the receiver's JIT and both sides' connections
    settle; their spans are counted like any others: a span lost is lost.
    ``receiver`` is stopped and ``cleanup`` called when the pair is closed.
    """
    sender = subprocess.Popen(
        list(command),
        cwd=_ROOT,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sender.stdin is not None and sender.stdout is not None
    stdin: IO[str] = sender.stdin
    stdout: IO[str] = sender.stdout

    def close() -> None:
        stdin.close()
        try:
            sender.wait(30)
        finally:
            if sender.poll() is None:
                sender.kill()
            receiver.stop()
            cleanup()

    def measure(is_candidate: bool) -> float:
        receiver.clear()
        stdin.write("candidate\n" if is_candidate else "baseline\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"{command[2]} exited with status {sender.wait()}")
        report = json.loads(line)
        tally.add(is_candidate, report, count_arrivals(receiver, spans))
        return float(report["ns"]) / spans

    if stdout.readline().strip() != "ready":
        close()
        raise RuntimeError(f"{command[2]} failed to start (status {sender.wait()})")
    try:
        before_warm_up()
        for is_candidate in (False, True):
            measure(is_candidate)
    except BaseException:
        close()
        raise

    def unused(loops: int) -> None:
        raise AssertionError("self-timed benchmark")

    return Pair(
        unused, unused, close, measure=measure, loops=spans, slow=True, summary=tally.summary
    )
