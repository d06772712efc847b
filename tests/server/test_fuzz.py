"""Property-based fuzzing of every route from the server's own OpenAPI schema (schemathesis + hypothesis).

Valid and invalid bodies, on a real server over the embedded model; the server's limits are set
small (``max_tokens_cap`` 4, short prompts) so that a fuzzed request costs milliseconds. Property:
no 5xx, and no streamed ``internal_error``. Bounded to about a minute.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from ananke.server._live import LiveServer

pytestmark = pytest.mark.model

BUDGET_S = 50.0
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 12, schemathesis.GenerationMode.NEGATIVE: 8}


@pytest.fixture(scope="module")
def fuzz_server(service):
    from ananke._config import load_config
    from ananke.server import create_app

    config = load_config(
        env={},
        overrides={
            "auth.api_key": "fuzz-key",
            "limits.max_tokens_cap": 4,
            "generation.max_tokens": 2,
            "limits.max_prompt_chars": 400,
            "limits.compile_timeout_s": 5.0,
            "limits.max_body_bytes": 65536,
        },
    )
    server = LiveServer(create_app(service, config)).start()
    yield server
    server.stop()


def test_no_server_errors(fuzz_server):
    auth = {"Authorization": "Bearer fuzz-key"}
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", headers=auth)
    deadline = time.monotonic() + BUDGET_S
    failures: list[str] = []
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 11  # every route of the app
    for mode, examples in EXAMPLES.items():
        for operation in operations:
            if time.monotonic() > deadline:
                break

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal calls
                if time.monotonic() > deadline:
                    return
                response = case.call(base_url=fuzz_server.url, headers=auth, timeout=60)
                calls += 1
                text = response.text
                if response.status_code >= 500 or "internal_error" in text:
                    failures.append(
                        f"{case.method} {case.path} {response.status_code}: "
                        f"body={str(case.body)[:300]!r} -> {text[:300]!r}"
                    )

            try:
                run()
            except Unsatisfiable:  # e.g. no invalid request exists for GET /health
                continue
    assert calls >= 40, f"only {calls} fuzzed calls ran"
    assert not failures, "\n".join(failures[:10])
