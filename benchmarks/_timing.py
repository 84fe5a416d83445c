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

A throughput benchmark (``higher_is_better``) is timed the same way, but its
ratio is the candidate's rate over the baseline's (baseline time / candidate
time), and the target is a floor instead of a ceiling.

A :class:`Lineup` measures several candidates against one baseline, for a
report with no target: the sides take turns in a rotating order, so each one
runs in every position equally often.
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
    slow_rounds: int
    """Rounds of a benchmark whose one measurement takes seconds (see ``Pair.slow``)."""


QUICK = Settings(rounds=21, block_seconds=0.05, warmup_seconds=0.5, slow_rounds=5)
FULL = Settings(rounds=151, block_seconds=0.05, warmup_seconds=1.5, slow_rounds=15)


@dataclass
class Pair:
    """The two sides of one benchmark, ready to run, and how to clean up after them."""

    baseline: Timed
    candidate: Timed
    close: Callable[[], None] = field(default=lambda: None)
    measure: Callable[[bool], float] | None = None
    """For operations too slow to repeat in-process (a fresh interpreter per
    import): called with True for the candidate, False for the baseline, it
    runs ``loops`` operations and returns the nanoseconds per operation it
    measured itself."""
    max_rounds: int | None = None
    loops: int = 1
    """Operations in one call of ``measure`` (reported as operations per round)."""
    slow: bool = False
    """One call of ``measure`` takes seconds: run ``Settings.slow_rounds`` rounds."""
    summary: Callable[[], tuple[str, bool]] | None = None
    """Called after the last round: a one-line account of what the run checked
    besides time (spans lost, say) and whether it was clean. A run that was
    not clean fails the benchmark, whatever its ratio."""


@dataclass(frozen=True)
class Benchmark:
    """One A/B comparison with a ceiling on the ratio candidate / baseline."""

    name: str
    target: float
    """The ratio of medians must be at most this (at least, if ``higher_is_better``)."""
    prepare: Callable[[], Pair]
    """Builds fresh baseline and candidate callables (called once per run)."""
    higher_is_better: bool = False
    """A throughput benchmark: the ratio is candidate rate / baseline rate
    (baseline time / candidate time), and must be at least ``target``."""
    unit: str = "op"
    """What one operation is, for rates in the report (``"span"``: spans/s)."""


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
    higher_is_better: bool = False
    unit: str = "op"
    detail: str = ""
    """What the run checked besides time (see ``Pair.summary``)."""
    clean: bool = True

    @property
    def ratio(self) -> float:
        """Candidate / baseline time; for ``higher_is_better``, candidate / baseline rate."""
        if self.higher_is_better:
            return self.baseline_ns / self.candidate_ns
        return self.candidate_ns / self.baseline_ns

    @property
    def passed(self) -> bool:
        within = self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target
        return within and self.clean

    def round_ratio_quartiles(self) -> tuple[float, float, float]:
        """25th, 50th and 75th percentile of the per-round ratios."""
        if len(self.round_ratios) < 2:
            only = self.round_ratios[0]
            return only, only, only
        q1, q2, q3 = statistics.quantiles(self.round_ratios, n=4, method="inclusive")
        return q1, q2, q3


@dataclass
class Sides:
    """The sides of one lineup, ready to run, and how to clean up after them."""

    baseline: Timed
    candidates: dict[str, Timed]
    """By label, in the order of the report's columns."""
    close: Callable[[], None] = field(default=lambda: None)
    note: str = ""
    """Printed under the lineup's table (the versions of the libraries compared, say)."""


@dataclass(frozen=True)
class Lineup:
    """Several candidates measured against one baseline, for a report: no target."""

    name: str
    baseline_label: str
    prepare: Callable[[], Sides]
    """Builds fresh sides (called once per run)."""


@dataclass(frozen=True)
class LineupResult:
    """What one lineup measured."""

    name: str
    labels: tuple[str, ...]
    """The baseline's label, then the candidates'."""
    medians_ns: tuple[float, ...]
    """Median time per operation of each side, in the order of ``labels``."""
    rounds: int
    loops: int
    note: str = ""

    def ratio(self, index: int) -> float:
        """Side ``index``'s median over the baseline's."""
        return self.medians_ns[index] / self.medians_ns[0]


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
    try:
        if pair.measure is not None:
            baseline_times, candidate_times = _self_timed(pair, pair.measure, settings)
            loops = pair.loops
        else:
            (baseline_times, candidate_times), loops = _interleave(
                [pair.baseline, pair.candidate], settings
            )
        detail, clean = pair.summary() if pair.summary is not None else ("", True)
    finally:
        pair.close()
    return _summarise(benchmark, baseline_times, candidate_times, loops, detail, clean)


def measure_lineup(lineup: Lineup, settings: Settings) -> LineupResult:
    """Run every side of ``lineup`` in rotating rounds and take each one's median."""
    sides = lineup.prepare()
    try:
        labels = (lineup.baseline_label, *sides.candidates)
        times, loops = _interleave([sides.baseline, *sides.candidates.values()], settings)
    finally:
        sides.close()
    return LineupResult(
        name=lineup.name,
        labels=labels,
        medians_ns=tuple(statistics.median(side_times) for side_times in times),
        rounds=settings.rounds,
        loops=loops,
        note=sides.note,
    )


def _interleave(sides: list[Timed], settings: Settings) -> tuple[list[list[float]], int]:
    """Per side, the time per operation of each round; and the operations per timed block.

    Round ``i`` starts with side ``i`` (modulo the number of sides) and goes on
    in order, so every side runs in every position equally often; with two
    sides, that is baseline first, then candidate first, and so on.
    """
    # Alternate during warm-up too, so every side reaches a steady state.
    for _ in range(2):
        for side in sides:
            warm_up(side, settings.warmup_seconds / 4)
    # One operation count for every side, sized on the slowest one.
    loops = min(calibrate(side, settings.block_seconds) for side in sides)
    times: list[list[float]] = [[] for _ in sides]
    for index in range(settings.rounds):
        for offset in range(len(sides)):
            position = (index + offset) % len(sides)
            times[position].append(time_block(sides[position], loops))
    return times, loops


def _self_timed(
    pair: Pair, measure: Callable[[bool], float], settings: Settings
) -> tuple[list[float], list[float]]:
    if pair.slow:
        rounds = settings.slow_rounds
    else:
        rounds = min(settings.rounds, pair.max_rounds or settings.rounds)
    baseline_times: list[float] = []
    candidate_times: list[float] = []
    measure(False)
    measure(True)  # warm the OS file cache (or the receiver) for both sides
    for index in range(rounds):
        order = (False, True) if index % 2 == 0 else (True, False)
        for is_candidate in order:
            (candidate_times if is_candidate else baseline_times).append(measure(is_candidate))
    return baseline_times, candidate_times


def _summarise(
    benchmark: Benchmark,
    baseline_times: list[float],
    candidate_times: list[float],
    loops: int,
    detail: str = "",
    clean: bool = True,
) -> Comparison:
    pairs = zip(baseline_times, candidate_times, strict=True)
    if benchmark.higher_is_better:
        round_ratios = tuple(b / c for b, c in pairs)
    else:
        round_ratios = tuple(c / b for b, c in pairs)
    return Comparison(
        name=benchmark.name,
        target=benchmark.target,
        baseline_ns=statistics.median(baseline_times),
        candidate_ns=statistics.median(candidate_times),
        round_ratios=round_ratios,
        rounds=len(baseline_times),
        loops=loops,
        higher_is_better=benchmark.higher_is_better,
        unit=benchmark.unit,
        detail=detail,
        clean=clean,
    )
