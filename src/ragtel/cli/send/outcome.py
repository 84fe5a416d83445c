"""What became of a batch, whatever the transport: outcomes, retries with backoff, and
the bookkeeping of items that encoding left out.

A sender's attempt returns an :class:`Outcome` (done: accepted, partly or
wholly rejected) or a :class:`Retry` (a transient failure); :func:`deliver`
repeats attempts with exponential backoff and jitter (:func:`retrying`),
honouring a server's ``Retry-After``, within the request's timeout.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ragtel._version import __version__
from ragtel.cli._errors import shorten
from ragtel.cli.send.batches import Batch, Encoded

USER_AGENT = f"ragtel-send/{__version__}"
_FIRST_BACKOFF_SECONDS = 0.5
_MAX_BACKOFF_SECONDS = 8.0
MAX_REASON = 200  # characters of a reason in the summary


@dataclass(frozen=True)
class Outcome:
    """What became of one batch."""

    rejected: int = 0
    """Items the collector did not take (all of the batch, unless a partial success)."""
    reason: str = ""
    stop: bool = False
    """The batch failed after retrying for the whole timeout (or TLS failed):
    later batches would only wait as long, so the sender should stop."""
    left_out: int = 0
    """Items never sent: protobuf could not encode them (see ``batches.export_request``)."""
    left_out_reason: str = ""
    too_large: bool = False
    """The collector refused the request for its size: smaller parts may pass."""
    requests: int = 1
    """Requests the batch took (more when it was split, none when nothing was left)."""

    def __add__(self, other: Outcome) -> Outcome:
        """The outcome of two parts of a batch, together."""
        return Outcome(
            rejected=self.rejected + other.rejected,
            reason=self.reason or other.reason,
            stop=self.stop or other.stop,
            left_out=self.left_out + other.left_out,
            left_out_reason=self.left_out_reason or other.left_out_reason,
            requests=self.requests + other.requests,
        )


@dataclass(frozen=True)
class Retry:
    """A transient failure: try again, after ``delay`` if the server named one."""

    reason: str
    delay: float | None = None
    """What the server asked for (``Retry-After``), else the backoff decides."""


Attempt = Outcome | Retry
"""What one try of a request gives."""


def retrying(
    attempt: Callable[[float], Attempt],
    timeout: float,
    size: int,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Call ``attempt(seconds_left)`` until it gives an outcome or ``timeout`` runs out."""
    deadline = clock() + timeout
    retries = 0
    while True:
        result = attempt(max(deadline - clock(), 0.001))
        if isinstance(result, Outcome):
            return result
        delay = result.delay if result.delay is not None else backoff_seconds(retries)
        if clock() + delay >= deadline:
            return Outcome(size, f"{result.reason} (still failing after {timeout:g} s)", stop=True)
        sleep(delay)
        retries += 1


def backoff_seconds(retry: int) -> float:
    """0.5 s, 1 s, 2 s ... up to 8 s, each ±20 % so that many senders do not retry in step."""
    base: float = min(_FIRST_BACKOFF_SECONDS * 2.0**retry, _MAX_BACKOFF_SECONDS)
    return base * random.uniform(0.8, 1.2)


def deliver(
    batch: Batch,
    encoded: Encoded,
    timeout: float,
    attempt: Callable[[Batch, float], Attempt],
) -> Outcome:
    """Send what encoding kept of ``batch``, retrying within ``timeout``; count what it left out.

    ``attempt(sent, seconds_left)`` makes one request for ``sent``, the batch
    without the items encoding left out.
    """
    sent = _without_left_out(batch, encoded)
    if not sent.size:
        return _with_left_out(Outcome(requests=0), encoded)
    outcome = retrying(lambda seconds_left: attempt(sent, seconds_left), timeout, sent.size)
    return _with_left_out(outcome, encoded)


def _without_left_out(batch: Batch, encoded: Encoded) -> Batch:
    """The batch as sent: its size without the items encoding left out."""
    if not encoded.left_out:
        return batch
    return Batch(batch.layout, batch.resources, batch.size - encoded.left_out)


def _with_left_out(outcome: Outcome, encoded: Encoded) -> Outcome:
    """``outcome`` with the items encoding left out (and why) added to it."""
    if not encoded.left_out:
        return outcome
    return dataclasses.replace(
        outcome, left_out=encoded.left_out, left_out_reason=shorten_reason(encoded.reason)
    )


def partial_outcome(rejected: int, message: str, batch: Batch) -> Outcome:
    """The outcome of an accepted request whose response says ``rejected`` items were not."""
    if rejected <= 0:
        return Outcome()
    noun = batch.layout.noun if rejected == 1 else f"{batch.layout.noun}s"
    detail = f": {shorten_reason(message)}" if message else ""
    return Outcome(
        min(rejected, batch.size), f"partial success, {rejected:,} {noun} rejected{detail}"
    )


def shorten_reason(text: str) -> str:
    """``text`` cut to the length of a reason in the summary."""
    return shorten(text, MAX_REASON)
