"""Delivery for ``ragtel send``: a sender for the destination's protocol, which splits
the batches a collector refuses for their size.

A sender takes one :class:`~ragtel.cli.send.batches.Batch` at a time and
returns an :class:`Outcome`: accepted, partly or wholly rejected, or
rejected after retrying for the whole timeout, when the collector is
unreachable and sending more would only wait again. Transient failures
(HTTP 408/429/502/503/504, connection errors, gRPC UNAVAILABLE and the
like) are retried with exponential backoff and jitter, honouring HTTP
``Retry-After``, within the timeout of the request.

Outcomes and retries are :mod:`ragtel.cli.send.outcome`; the transports are
:mod:`ragtel.cli.send.http_sender` and :mod:`ragtel.cli.send.grpc_sender`,
which import requests, grpc and protobuf only on first use: the other
commands, and ``import ragtel``, never load them.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from ragtel.cli.send.batches import Batch, halves
from ragtel.cli.send.destination import Destination
from ragtel.cli.send.grpc_sender import GrpcSender
from ragtel.cli.send.http_sender import HttpSender
from ragtel.cli.send.outcome import Outcome


class Sender(Protocol):
    """Sends one batch at a time; closed when the file is done."""

    def send(self, batch: Batch) -> Outcome: ...

    def close(self) -> None: ...


def open_sender(destination: Destination) -> Sender:
    """A sender for ``destination``'s protocol; close it when done."""
    if destination.protocol == "grpc":
        return SplittingSender(GrpcSender(destination))
    return SplittingSender(HttpSender(destination))


class SplittingSender:
    """Sends a batch the collector refuses for its size (HTTP 413, gRPC "larger than
    max") again in halves, down to single items, so that one big span costs only
    itself; a single item over the limit is rejected and counted."""

    def __init__(self, inner: Sender) -> None:
        self._inner = inner

    def send(self, batch: Batch) -> Outcome:
        outcome = self._inner.send(batch)
        if not outcome.too_large:
            return outcome
        if batch.size <= 1:
            reason = f"{outcome.reason} (one {batch.layout.noun} alone is over the limit)"
            return dataclasses.replace(outcome, reason=reason, too_large=False)
        total = Outcome(requests=outcome.requests)  # the refused request counts too
        for part in halves(batch):
            # Once a part stops the sending, the parts after it are not sent either.
            total += Outcome(part.size, stop=True, requests=0) if total.stop else self.send(part)
        return total

    def close(self) -> None:
        self._inner.close()
