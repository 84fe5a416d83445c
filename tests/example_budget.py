"""How many examples a Hypothesis test draws: all it names in CI, two in five elsewhere.

Under ``CI=true`` (``.ci/run``), or with ``RAGTEL_ALL_EXAMPLES=1``, a test
draws the count it names. Elsewhere it draws two in five of them (at least
ten), so the quick run (``pytest -m "not integration"``) stays under a
minute. No test is derandomized and the example database is off: each run
draws new examples, so local runs add up rather than repeat each other.
"""

from __future__ import annotations

import os

ALL_EXAMPLES = os.environ.get("CI") == "true" or os.environ.get("RAGTEL_ALL_EXAMPLES") == "1"


def examples(count: int) -> int:
    """``count`` in CI, two fifths of it (at least 10) elsewhere."""
    return count if ALL_EXAMPLES else max(10, count * 2 // 5)
