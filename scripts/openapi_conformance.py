"""Does the server answer as its own OpenAPI document says? schemathesis, every check, every route.

Starts a real server (uvicorn on 127.0.0.1, the embedded model, small limits so that a fuzzed
generation costs milliseconds), generates valid and invalid requests for every operation from
``/openapi.json`` and runs every schemathesis check on each answer; prints one row per check:

    PYTHONPATH=. python scripts/openapi_conformance.py [--examples 25] [--budget 240]

``tests/server/test_fuzz.py`` runs the same loop, shorter, and asserts the conformance checks.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FUZZ_LIMITS", "Report", "all_checks", "fuzz"]

#: the fuzzed server's configuration: generation capped at a few tokens, bodies at 64 KiB
FUZZ_LIMITS: dict[str, Any] = {
    "auth.api_key": "fuzz-key",
    "limits.max_tokens_cap": 4,
    "generation.max_tokens": 2,
    "limits.max_prompt_chars": 400,  # far below the body limit: a longer prompt is a 422, not a 413
    "limits.compile_timeout_s": 5.0,
    "limits.max_body_bytes": 65536,
}
AUTH = {"Authorization": "Bearer fuzz-key"}


@dataclass
class Report:
    calls: int = 0
    server_errors: int = 0
    failures: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))
    operations: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: collections.defaultdict(float))
    slowest: tuple[float, str] = (0.0, "")

    def count(self, check: str) -> int:
        return len(self.failures.get(check, []))


def all_checks() -> list[Any]:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return CHECKS.get_all()


def _label(failure: Any) -> str:
    return f"{failure.code} {failure.title}"


def _where(case: Any, response: Any, failure: Any) -> str:
    return (
        f"{case.method} {case.path} -> {response.status_code} {response.text[:200]!r}: "
        f"{getattr(failure, 'message', failure)!s:.200} body={str(case.body)[:200]!r}"
    )


def _call(case: Any, url: str, checks: list[Any], report: Report) -> None:
    from schemathesis.core.failures import FailureGroup

    started = time.perf_counter()
    response = case.call(base_url=url, headers=AUTH, timeout=60)
    took = time.perf_counter() - started
    report.seconds[f"{case.method} {case.path}"] += took
    report.slowest = max(report.slowest, (took, f"{case.method} {case.path} {str(case.body)[:300]!r}"))
    report.calls += 1
    # a streamed failure arrives after a 200: it counts as a server error too
    report.server_errors += response.status_code >= 500 or "internal_error" in response.text
    try:
        case.validate_response(response, checks=checks, headers=AUTH)
    except FailureGroup as group:
        for failure in group.exceptions:
            report.failures[_label(failure)].append(_where(case, response, failure))
    except AssertionError as failure:  # a single check's failure
        report.failures[_label(failure)].append(_where(case, response, failure))


def _run(operation: Any, mode: str, count: int, deadline: float, call: Any) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    def run(case: Any) -> None:
        if time.monotonic() < deadline:
            call(case)

    with contextlib.suppress(Unsatisfiable):  # e.g. no invalid request exists for GET /health
        run()


def fuzz(url: str, checks: Iterable[Any], examples: dict[str, int], budget_s: float) -> Report:
    """Run ``checks`` on answers to generated requests (``examples`` per mode per operation)."""
    import schemathesis

    checks = list(checks)
    schema = schemathesis.openapi.from_url(url + "/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    report = Report(operations=len(operations))
    end = time.monotonic() + budget_s
    slices = [(operation, mode) for operation in operations for mode in examples]
    for done, (operation, mode) in enumerate(slices):
        # a fair share of the time left, so that one slow route cannot starve the others
        deadline = time.monotonic() + (end - time.monotonic()) / (len(slices) - done)
        _run(operation, mode, examples[mode], deadline, lambda case: _call(case, url, checks, report))
    return report


def _table(report: Report, checks: list[Any]) -> str:
    lines = [
        f"{report.calls} requests over {report.operations} operations, {report.server_errors} answered 5xx",
        "",
        "| check | failures |",
        "|---|---|",
    ]
    lines += [f"| {label} | {len(found)} |" for label, found in sorted(report.failures.items())]
    lines.append(f"| every other check ({len(checks)} run) | 0 |")
    return "\n".join(lines)


# why a schema-valid request was refused: what JSON Schema cannot say about a request
_REASONS = (
    ("give at most one of", "two constraint fields at once (422)"),
    ("constraint_error", "a string or object that is not a valid constraint (400)"),
    ("compile_timeout", "a constraint that does not compile in time (400)"),
    ("characters; the limit", "prompt + context over limits.max_prompt_chars together (422)"),
)


def reasons(found: list[str]) -> collections.Counter[str]:
    """The failures of positive_data_acceptance by cause."""
    counts: collections.Counter[str] = collections.Counter()
    for where in found:
        counts[next((why for key, why in _REASONS if key in where), "other: " + where[:160])] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="generated requests per mode per operation")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds")
    parser.add_argument("--show", type=int, default=3, help="examples printed per failing check")
    args = parser.parse_args()

    from ananke._config import load_config
    from ananke.runtime import GenerationService
    from ananke.server import create_app
    from ananke.server._live import LiveServer

    config = load_config(env={}, overrides=FUZZ_LIMITS)
    checks = all_checks()
    with LiveServer(create_app(GenerationService.from_model(), config)) as server:
        started = time.monotonic()
        report = fuzz(server.url, checks, {"positive": args.examples, "negative": args.examples}, args.budget)
        took = time.monotonic() - started
    print(_table(report, checks))
    print(f"\n({took:.0f} s; per route: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()) + ")")
    print(f"slowest request: {report.slowest[0]:.1f} s {report.slowest[1]}")
    for label, found in sorted(report.failures.items()):
        if label.startswith("ST202"):
            for why, n in reasons(found).most_common():
                print(f"  {label}: {n} x {why}")
        print(f"\n{label}:")
        for where in found[: args.show]:
            print("  " + where.replace("\n", " ")[:400])


if __name__ == "__main__":
    main()
