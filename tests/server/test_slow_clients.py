"""Slow and vanishing clients, and shutdown with queued work, against real uvicorn servers."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from ananke.server._live import LiveServer

pytestmark = pytest.mark.model

KEY = "slow-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _server(service, body_timeout_s: float | None = None, **settings) -> LiveServer:
    from ananke._config import load_config
    from ananke.server import create_app

    config = load_config(env={}, overrides={"auth.api_key": KEY, **settings})
    app = create_app(service, config)
    if body_timeout_s is not None:
        app.state.ananke.body_timeout_s = body_timeout_s
    return LiveServer(app).start()


def _open_partial(server: LiveServer, path: str = "/generate_api") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prompt": '.encode()
    )
    return sock


def test_bodies_that_never_finish_time_out(service):
    server = _server(service, body_timeout_s=1.0)
    try:
        socks = [_open_partial(server) for _ in range(16)]
        started = time.perf_counter()
        answers = []
        for sock in socks:
            data = b""
            while chunk := sock.recv(65536):  # the server answers, then closes the connection
                data += chunk
            answers.append(data)
            sock.close()
        elapsed = time.perf_counter() - started
        assert all(a.startswith(b"HTTP/1.1 408") and b"request_timeout" in a for a in answers), answers[0][:300]
        assert elapsed < 10.0
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        server.stop()


def test_abandoned_request_stops_its_generation(service):
    server = _server(service)
    try:
        sock = socket.create_connection((server.host, server.port), timeout=10)
        body = b'{"prompt": "Write a very long story about the sea.", "max_tokens": 1500, "temperature": 0}'
        sock.sendall(
            b"POST /generate_api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        time.sleep(1.0)
        sock.close()  # the client goes away: its 1500 tokens must not be generated
        started = time.perf_counter()
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=120) as client:
            r = client.post("/generate_api", json={"prompt": "hi", "max_tokens": 2})
            waited = time.perf_counter() - started
            assert r.status_code == 200
            metrics = client.get("/metrics").text
        assert 'ananke_rejected_total{reason="client_disconnected"} 1.0' in metrics
        assert waited < 60.0, f"the next request waited {waited:.1f} s behind an abandoned generation"
    finally:
        server.stop()


def test_shutdown_answers_queued_work_with_503(service):
    server = _server(service, **{"limits.shutdown_grace_s": 1})
    results: list[httpx.Response | Exception] = []

    def request() -> None:
        try:
            with httpx.Client(base_url=server.url, headers=AUTH, timeout=120) as client:
                results.append(client.post("/generate_api", json={"prompt": "Tell a long story.", "max_tokens": 1500}))
        except Exception as exc:  # recorded and asserted on
            results.append(exc)

    workers = [threading.Thread(target=request) for _ in range(3)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    started = time.perf_counter()
    server.stop()
    for worker in workers:
        worker.join()
    assert time.perf_counter() - started < 30.0
    assert len(results) == 3 and all(isinstance(r, httpx.Response) for r in results), results
    assert all(r.status_code == 503 for r in results), [r.text[:300] for r in results]
    kinds = sorted(r.json()["metadata"]["error_type"] for r in results)  # JSON, never a bare 500
    # the one the engine was generating is interrupted; the two queued behind it never started
    assert kinds == ["interrupted", "shutting_down", "shutting_down"], kinds
    assert all(("retry-after" in r.headers) == (r.json()["metadata"]["error_type"] == "shutting_down") for r in results)


def test_shutdown_answers_a_request_still_compiling_with_503(service):
    """A request whose constraint is still compiling when the grace runs out never reached the
    engine: it gets the JSON 503 ``shutting_down`` (safe to retry), not a cancelled bare 500."""
    server = _server(service, **{"limits.shutdown_grace_s": 1, "limits.compile_timeout_s": 60})
    state = server.app.state.ananke
    busy = [state.compile_pool.submit(time.sleep, 12) for _ in range(2)]  # the pool's two threads
    results: list[httpx.Response | Exception] = []
    body = {
        "prompt": "Digits.",
        "max_tokens": 4,
        "constraint": {"kind": "regex", "pattern": "[0-9]{3}-still-compiling"},
    }

    def request() -> None:
        try:
            with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client:
                results.append(client.post("/generate_api", json=body))
        except Exception as exc:  # recorded and asserted on
            results.append(exc)

    worker = threading.Thread(target=request)
    worker.start()
    time.sleep(1.0)
    server.stop()
    worker.join()
    assert len(results) == 1 and isinstance(results[0], httpx.Response), results
    r = results[0]
    assert r.status_code == 503, r.text[:300]
    assert r.json()["metadata"]["error_type"] == "shutting_down" and "retry-after" in r.headers
    for job in busy:
        job.cancel()


def test_compile_budget_does_not_count_waiting_behind_other_compiles(service):
    """Two compiles hold the pool for longer than the limit; a trivial validation queued behind
    them still succeeds, because the limit budgets each compile from its own start."""
    server = _server(service, **{"limits.compile_timeout_s": 1})
    state = server.app.state.ananke
    try:
        busy = [state.compile_pool.submit(time.sleep, 2.5) for _ in range(2)]  # the pool's two threads
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
            started = time.perf_counter()
            r = client.post("/v1/constraints/validate", json={"constraint": {"kind": "regex", "pattern": "[0-9]{3}"}})
            waited = time.perf_counter() - started
        assert r.status_code == 200 and r.json()["valid"] is True, r.text
        assert waited >= 2.0  # it did wait behind the pool, past the 1 s limit
        for job in busy:
            job.result()
    finally:
        server.stop()


def test_a_spent_compile_budget_stops_the_compile():
    import ananke
    from ananke.core._guard import compile_deadline
    from ananke.errors import ConstraintLimitError

    with compile_deadline(0.0), pytest.raises(ConstraintLimitError, match="took longer than"):
        ananke.compile({"kind": "json_schema", "schema": {"type": "object"}})
    assert ananke.compile({"kind": "json_schema", "schema": {"type": "object"}}).grammars
