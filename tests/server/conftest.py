"""One real server (uvicorn on 127.0.0.1, embedded model) shared by every HTTP test of the session."""

from __future__ import annotations

import httpx
import pytest

API_KEY = "ananke-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def live():
    from ananke.server._live import shared_embedded_server

    return shared_embedded_server(api_key=API_KEY)


@pytest.fixture(scope="session")
def service(live):
    """The loaded GenerationService behind the shared server (for extra apps over the same model)."""
    return live.app.state.ananke.service


@pytest.fixture
def http(live):
    with httpx.Client(base_url=live.url, headers=AUTH, timeout=120.0) as client:
        yield client
