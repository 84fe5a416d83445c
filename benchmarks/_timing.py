"""Interleaved A/B timing: a baseline and a candidate measured in the same run.

A benchmark gives two callables, ``baseline(loops)`` and ``candidate(loops)``,
that each run the operation ``loops`` times. They are timed in alternating
rounds (baseline then candidate, then candidate then baseline, ...), so that
whatever else the machine is doing at a given moment slows both sides alike
instead of one of them. Each timed block runs with the garbage collector
disabled, after a ``gc.collect()``, so a collection triggered by one side's
garbage is never charged to the other.

The result of a comparison is the median per-operation time of each side over
all rounds and the ratio of those medians (candidate / baseline). The
per-round ratios (each round's candidate time over the same round's baseline
time) are kept too: their spread shows how noisy the run was.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Timed = Callable[[int], None]
"""Runs the measured operation the given number of times."""


@dataclass(frozen=True)
class Settings:
    """How long to measure."""

    rounds: int
    """Timed rounds; each round times the baseline once and the candidate once."""
    block_seconds: float
    """Approximate duration of one timed block (one side of one round)."""
    warmup_seconds: float
    """Untimed running of each side before the first round."""


QUICK = Settings(rounds=21, block_seconds=0.05, warmup_seconds=0.5)
FULL = Settings(rounds=151, block_seconds=0.05, warmup_seconds=1.5)


@dataclass
class Pair:
    """The two sides of one benchmark, ready to run, and how to clean up after them."""

    baseline: Timed
    candidate: Timed
    close: Callable[[], None] = field(default=lambda: None)
    measure: Callable[[bool], float] | None = None
    """For operations too slow to repeat in-process (a fresh interpreter per
    import): called with True for the candidate, False for the baseline, it
    runs one operation and returns the nanoseconds it measured itself."""
    max_rounds: int | None = None


@dataclass(frozen=True)
class Benchmark:
    """One A/B comparison with a ceiling on the ratio candidate / baseline."""

    name: str
    target: float
    """The ratio of medians must be at most this."""
    prepare: Callable[[], Pair]
    """Builds fresh baseline and candidate callables (called once per run)."""


@dataclass(frozen=True)
class Measurement:
    """A quantity that is not a ratio (memory, say), with the limit it must stay under."""

    name: str
    value: float
    unit: str
    limit: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.value <= self.limit


Measure = Callable[[Settings], Measurement]
"""Measures one quantity; quick runs may measure less of it."""


@dataclass(frozen=True)
class Comparison:
    """What one benchmark measured."""

    name: str
    target: float
    baseline_ns: float
    """Median baseline time per operation, in nanoseconds."""
    candidate_ns: float
    """Median candidate time per operation, in nanoseconds."""
    round_ratios: tuple[float, ...]
    rounds: int
    loops: int
    """Operations per timed block."""

    @property
    def ratio(self) -> float:
        return self.candidate_ns / self.baseline_ns

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target

    def round_ratio_quartiles(self) -> tuple[float, float, float]:
        """25th, 50th and 75th percentile of the per-round ratios."""
        if len(self.round_ratios) < 2:
            only = self.round_ratios[0]
            return only, only, only
        q1, q2, q3 = statistics.quantiles(self.round_ratios, n=4, method="inclusive")
        return q1, q2, q3


def time_block(fn: Timed, loops: int) -> float:
    """Nanoseconds per operation for one run of ``fn(loops)``, with gc off."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        fn(loops)
        elapsed = time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()
    return elapsed / loops


def calibrate(fn: Timed, seconds: float) -> int:
    """The number of operations ``fn`` runs in about ``seconds``."""
    loops = 1
    while True:
        per_op = time_block(fn, loops)
        total = per_op * loops
        if total >= 0.02e9 or total >= seconds * 1e9 * 0.5:
            return max(1, round(seconds * 1e9 / max(per_op, 1.0)))
        loops *= 4 if total < 0.002e9 else 2


def warm_up(fn: Timed, seconds: float) -> None:
    """Run ``fn`` untimed for about ``seconds`` (interpreter caches, lazy imports...)."""
    deadline = time.perf_counter() + seconds
    loops = 16
    while time.perf_counter() < deadline:
        fn(loops)
        loops = min(loops * 2, 4096)


def compare(benchmark: Benchmark, settings: Settings) -> Comparison:
    """Run ``benchmark``'s two sides in alternating rounds and summarise them."""
    pair = benchmark.prepare()
    if pair.measure is not None:
        return _compare_self_timed(benchmark, pair, pair.measure, settings)
    try:
        # Alternate during warm-up too, so both sides reach a steady state.
        for _ in range(2):
            warm_up(pair.baseline, settings.warmup_seconds / 4)
            warm_up(pair.candidate, settings.warmup_seconds / 4)
        # One operation count for both sides, sized on the slower one.
        loops = min(
            calibrate(pair.baseline, settings.block_seconds),
            calibrate(pair.candidate, settings.block_seconds),
        )
        baseline_times: list[float] = []
        candidate_times: list[float] = []
        for index in range(settings.rounds):
            if index % 2 == 0:
                base = time_block(pair.baseline, loops)
                cand = time_block(pair.candidate, loops)
            else:
                cand = time_block(pair.candidate, loops)
                base = time_block(pair.baseline, loops)
            baseline_times.append(base)
            candidate_times.append(cand)
    finally:
        pair.close()
    return _summarise(benchmark, baseline_times, candidate_times, loops)


def _compare_self_timed(
    benchmark: Benchmark, pair: Pair, measure: Callable[[bool], float], settings: Settings
) -> Comparison:
    rounds = min(settings.rounds, pair.max_rounds or settings.rounds)
    baseline_times: list[float] = []
    candidate_times: list[float] = []
    try:
        measure(False)
        measure(True)  # warm the OS file cache for both sides
        for index in range(rounds):
            order = (False, True) if index % 2 == 0 else (True, False)
            for is_candidate in order:
                (candidate_times if is_candidate else baseline_times).append(measure(is_candidate))
    finally:
        pair.close()
    return _summarise(benchmark, baseline_times, candidate_times, loops=1)


def _summarise(
    benchmark: Benchmark, baseline_times: list[float], candidate_times: list[float], loops: int
) -> Comparison:
    return Comparison(
        name=benchmark.name,
        target=benchmark.target,
        baseline_ns=statistics.median(baseline_times),
        candidate_ns=statistics.median(candidate_times),
        round_ratios=tuple(c / b for b, c in zip(baseline_times, candidate_times, strict=True)),
        rounds=len(baseline_times),
        loops=loops,
    )
