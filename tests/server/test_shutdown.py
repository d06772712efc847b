"""SIGTERM with work in flight: requests that never started get 503 ``shutting_down`` (safe to
retry, ``Retry-After``); a request stopped mid-generation gets 503 ``interrupted`` (no
``Retry-After``: a retry may run it twice); a stream stopped mid-generation ends with an
``interrupted`` error event, then ``[DONE]``. A real ``ananke serve`` process and a real signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ananke.server._live import LiveServer

pytestmark = pytest.mark.model

ROOT = Path(__file__).parents[2]
LONG = {"prompt": "Write a very long story about the sea.", "max_tokens": 1500, "temperature": 0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


def _health(url: str) -> dict | None:
    try:
        r = httpx.get(url + "/health", timeout=5)
    except httpx.TransportError:
        return None
    return r.json() if r.status_code == 200 else None


@pytest.fixture
def serve_process():
    port = _free_port()
    env = {**os.environ, "ANANKE_SHUTDOWN_GRACE": "2", "ANANKE_LOG_LEVEL": "WARNING"}
    env.pop("ANANKE_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ananke", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _health(url) is not None or proc.poll() is not None, 300, "the server did not start")
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def _post(url: str, path: str, body: dict, into: dict, key: str) -> None:
    try:
        into[key] = httpx.post(url + path, json=body, timeout=120)
    except Exception as exc:  # recorded and asserted on
        into[key] = exc


def test_sigterm_tells_interrupted_from_never_started(serve_process):
    proc, url = serve_process
    answers: dict = {}
    requests = [
        ("running", "/generate_api", LONG),
        ("queued_seed", "/generate_api", LONG),
        ("queued_openai", "/v1/completions", {"prompt": "Once", "max_tokens": 1500}),
        ("queued_stream", "/generate/stream", {"prompt": "Once", "max_tokens": 1500}),
    ]
    threads = []
    for i, (key, path, body) in enumerate(requests):
        threads.append(threading.Thread(target=_post, args=(url, path, body, answers, key)))
        threads[-1].start()
        # the first one is taken by the engine before the others queue behind it
        _wait_for(lambda n=i + 1: (_health(url) or {}).get("queue", {}).get("in_flight") == n, 30, "not in flight")
        if i == 0:
            time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done

    running = answers["running"]
    assert running.status_code == 503, running.text[:300]
    assert running.json()["metadata"]["error_type"] == "interrupted"
    assert "retry-after" not in running.headers
    seed = answers["queued_seed"]
    assert seed.status_code == 503 and seed.json()["metadata"]["error_type"] == "shutting_down", seed.text[:300]
    assert seed.headers["retry-after"]
    for key in ("queued_openai", "queued_stream"):  # a stream that never started: JSON before any event
        r = answers[key]
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/json"), r.text[:300]
        assert r.json()["error"]["type"] == "shutting_down" and r.headers["retry-after"]


def _stream_events(server: LiveServer, path: str, body: dict, events: list, first: threading.Event) -> None:
    with httpx.stream("POST", server.url + path, json=body, headers={"Authorization": "Bearer k"}, timeout=120) as r:
        events.append(r.status_code)
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
                first.set()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": LONG["prompt"]}], "stream": True}),
        ("/generate/stream", {"prompt": LONG["prompt"]}),
    ],
)
def test_a_stream_interrupted_by_shutdown_ends_with_an_error_event(service, path, body):
    from ananke._config import load_config
    from ananke.server import create_app

    config = load_config(env={}, overrides={"auth.api_key": "k", "limits.shutdown_grace_s": 1})
    server = LiveServer(create_app(service, config)).start()
    events: list = []
    first = threading.Event()
    reader = threading.Thread(
        target=_stream_events, args=(server, path, {**body, "max_tokens": 1500, "temperature": 0}, events, first)
    )
    reader.start()
    assert first.wait(60), events
    server.stop()  # the same shutdown path as SIGTERM (make_server)
    reader.join(timeout=60)

    assert events[0] == 200 and events[-1] == "[DONE]", events[-3:]
    last = json.loads(events[-2])
    error_type = last["error"]["type"] if path.startswith("/v1") else last["error_type"]
    assert error_type == "interrupted", last
    assert len(events) > 3  # pieces were streamed before the error
    metrics = server.app.state.ananke.metrics.render()[0].decode()
    assert 'ananke_rejected_total{reason="interrupted"} 1.0' in metrics
