"""Property-based fuzzing of every route from the server's own OpenAPI schema (schemathesis + hypothesis).

Valid and invalid bodies, on a real server over the embedded model; the server's limits are set
small (``max_tokens_cap`` 4, short prompts) so that a fuzzed request costs milliseconds. The loop is
``scripts/openapi_conformance.py``'s (which prints the full table, docs/http.md). Properties: no 5xx,
no streamed ``internal_error``, and every answer conforms to the document: status code documented,
content type documented, body and SSE events valid under the response schema, headers, ``Allow``
on 405, auth enforced, and invalid requests refused. Bounded to about a minute.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ananke.server._live import LiveServer

pytestmark = pytest.mark.model

BUDGET_S = 60.0
EXAMPLES = {"positive": 5, "negative": 5}
# Schema-valid requests the server may still refuse: a constraint is a language of its own (a
# random string is not a grammar, a random object not a recognized format), which JSON Schema
# cannot describe; those are answered 400/422 with diagnostics, as documented.
SEMANTIC = "positive_data_acceptance"


def _conformance():
    path = Path(__file__).parents[2] / "scripts" / "openapi_conformance.py"
    spec = importlib.util.spec_from_file_location("openapi_conformance", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def conformance():
    return _conformance()


@pytest.fixture(scope="module")
def fuzz_server(service, conformance):
    from ananke._config import load_config
    from ananke.server import create_app

    server = LiveServer(create_app(service, load_config(env={}, overrides=conformance.FUZZ_LIMITS))).start()
    yield server
    server.stop()


def test_answers_conform_to_the_openapi_document(fuzz_server, conformance):
    checks = [check for check in conformance.all_checks() if check.__name__ != SEMANTIC]
    assert {c.__name__ for c in checks} >= {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
    }
    report = conformance.fuzz(fuzz_server.url, checks, EXAMPLES, BUDGET_S)
    assert report.operations == 11  # every route of the app
    assert report.calls >= 2 * report.operations, f"only {report.calls} fuzzed calls ran"
    assert report.server_errors == 0
    failures = [f"{label}: {where}" for label, found in report.failures.items() for where in found]
    assert not failures, "\n".join(failures[:10])
