"""Run an app with uvicorn on a socket we bind ourselves, with ``TCP_NODELAY``.

uvicorn's pure-Python HTTP protocol (h11, used when ``httptools`` is not installed) writes a
response's headers and body separately; with Nagle's algorithm on, the body then waits for the
client's delayed ACK — about 40 ms per request. Accepted sockets inherit ``TCP_NODELAY`` from
the listening socket on Linux, so we set it there.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["bind_socket", "serve"]


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000, **uvicorn_kw: Any) -> None:
    """Blocking: serve ``app`` until SIGINT/SIGTERM (graceful shutdown)."""
    import uvicorn  # noqa: PLC0415

    sock = bind_socket(host, port)
    config = uvicorn.Config(app, host=host, port=port, **uvicorn_kw)
    uvicorn.Server(config).run(sockets=[sock])
