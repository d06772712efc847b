"""Structured logs: one JSON object per line, with the request id of the request being served.

``request_id_var`` holds the id while a request runs; :class:`JsonFormatter` adds it (and any
``extra={...}`` fields) to every record of the ``ananke`` loggers.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "request_id_var"]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("ananke_request_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", "request_id", ...extra}``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            data["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in data and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None) or request_id_var.get()
        return f"{text} [{rid}]" if rid else text


def configure_logging(level: str = "INFO", json_lines: bool = True, stream: Any = None) -> None:
    """Send the ``ananke`` loggers (and uvicorn's) to ``stream`` (stderr) in the chosen format. Idempotent."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else _PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler._ananke = True  # type: ignore[attr-defined]
    for name in ("ananke", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "_ananke", False)] + [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
