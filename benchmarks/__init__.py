"""ragtel's benchmarks: ``python -m benchmarks`` runs them all.

Each ``bench_*.py`` module in this package defines ``BENCHMARKS``, a sequence
of :class:`benchmarks._timing.Benchmark`: an A/B comparison of a baseline
(usually the plain OpenTelemetry SDK) and a candidate (ragtel doing the same
job), with a ceiling on the ratio of their median times. New modules are
picked up automatically.
"""
