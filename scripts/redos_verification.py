"""Time to verify a cut-off ``(a+)+b`` output: Python's backtracking ``re`` versus Ananke's
linear-time verification (RE2, or llguidance's byte matcher).

    python scripts/redos_verification.py
"""

from __future__ import annotations

import re
import time

import ananke
from ananke.plugins.regex import fullmatch_linear


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    pattern = "(a+)+b"
    for n in (18, 20, 22):
        text = "a" * n
        print(f"python re.fullmatch  n={n:>7}: {_time(lambda: re.fullmatch(pattern, text)):9.3f} s")
    compiled = ananke.compile({"kind": "regex", "pattern": pattern})
    for n in (22, 1_000, 200_000):
        text = "a" * n
        print(f"linear (RE2)         n={n:>7}: {_time(lambda: fullmatch_linear(pattern, text)):9.6f} s")
        print(f"CompiledConstraint.verify n={n:>7}: {_time(lambda: compiled.verify(text)):9.6f} s")
    text, fallback = "a" * 200_000, r"(\w+)+b"  # \w: RE2 reads it as ASCII, so llguidance decides
    print(f"llguidance fallback  n= 200000: {_time(lambda: fullmatch_linear(fallback, text)):9.6f} s")


if __name__ == "__main__":
    main()
