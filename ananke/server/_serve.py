"""Run an app with uvicorn on a socket we bind ourselves, with ``TCP_NODELAY``.

uvicorn's pure-Python HTTP protocol (h11, used when ``httptools`` is not installed) writes a
response's headers and body separately; with Nagle's algorithm on, the body then waits for the
client's delayed ACK — about 40 ms per request. Accepted sockets inherit ``TCP_NODELAY`` from
the listening socket on Linux, so we set it there.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["bind_socket", "make_server", "serve"]


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _ananke_state(app: Any) -> Any:
    return getattr(getattr(app, "state", None), "ananke", None)


def make_server(app: Any, **uvicorn_kw: Any) -> Any:
    """A ``uvicorn.Server`` whose shutdown starts the app's drain first.

    uvicorn, on SIGTERM, stops accepting, waits ``timeout_graceful_shutdown`` for requests, then
    cancels them (a bare ``CancelledError``: no JSON answer) and only then runs the app's lifespan
    shutdown. Here the app learns of the shutdown at once: new generation gets 503, and when
    ``limits.shutdown_grace_s`` runs out the requests still queued or generating are stopped and
    answered 503 ``shutting_down`` — before uvicorn's own timeout, which is set a few seconds later.
    """
    import uvicorn

    state = _ananke_state(app)
    grace = float(state.config["limits.shutdown_grace_s"]) if state is not None else None
    if grace is not None and uvicorn_kw.get("timeout_graceful_shutdown") is None:
        uvicorn_kw["timeout_graceful_shutdown"] = grace + 5.0

    class AnankeServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            if state is not None:
                state.begin_shutdown(grace)
            await super().shutdown(sockets)

    return AnankeServer(uvicorn.Config(app, **uvicorn_kw))


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, **uvicorn_kw: Any) -> None:
    """Blocking: serve ``app`` until SIGINT/SIGTERM (graceful shutdown, see :func:`make_server`)."""
    sock = bind_socket(host, port)
    make_server(app, host=host, port=port, **uvicorn_kw).run(sockets=[sock])
