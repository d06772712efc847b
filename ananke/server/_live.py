"""A real server on 127.0.0.1 in a background thread (uvicorn), for tests, benchmarks and notebooks.

    with LiveServer(create_app(service)) as server:
        httpx.get(server.url + "/health")

:func:`shared_live_server` keeps one server per process (per key), so that several test files
share one loaded model.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["LiveServer", "shared_embedded_server", "shared_live_server"]


class LiveServer:
    """uvicorn serving ``app`` on ``127.0.0.1:<free port>`` in a daemon thread."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ready_path: str = "/health",
        startup_timeout: float = 300.0,
        shutdown_grace_s: float = 120.0,
    ) -> None:
        self.app = app
        self.shutdown_grace_s = shutdown_grace_s
        self.host = host
        self.port = port
        self.ready_path = ready_path
        self.startup_timeout = startup_timeout
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        import httpx

        from ananke.server._serve import bind_socket, make_server

        sock = bind_socket(self.host, self.port)  # TCP_NODELAY: see _serve.py
        self.port = sock.getsockname()[1]
        self._server = make_server(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=self.shutdown_grace_s,
            log_config=None,
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="ananke-live-server"
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        last = None
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError("the server thread exited during startup")
            try:
                last = httpx.get(self.url + self.ready_path, timeout=5.0)
                if last.status_code == 200:
                    return self
                if last.status_code == 503 and last.json().get("status") == "unhealthy":
                    raise RuntimeError(f"the server failed to start: {last.json().get('error')}")
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the server was not ready within {self.startup_timeout} s (last: {last})")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self.shutdown_grace_s + 10)
        self._server = self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


_SHARED: dict[str, LiveServer] = {}
_LOCK = threading.Lock()


def shared_live_server(key: str, make_app: Callable[[], Any]) -> LiveServer:
    """One started :class:`LiveServer` per ``key`` for the life of the process (stopped at exit)."""
    with _LOCK:
        server = _SHARED.get(key)
        if server is None:
            server = LiveServer(make_app()).start()
            _SHARED[key] = server
            atexit.register(server.stop)
        return server


def shared_embedded_server(api_key: str | None = None, **settings: Any) -> LiveServer:
    """A shared live server over the embedded model (config from code defaults only, plus ``settings``)."""

    def make() -> Any:
        from ananke._config import load_config
        from ananke.runtime import GenerationService
        from ananke.server import create_app

        config = load_config(env={}, overrides={"auth.api_key": api_key, **settings})
        return create_app(lambda: GenerationService.from_model(), config)

    key = f"embedded:{api_key}:{sorted(settings.items())}"
    return shared_live_server(key, make)
