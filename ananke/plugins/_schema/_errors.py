"""The error raised when a schema (or part of it) cannot be enforced exactly."""

from __future__ import annotations

__all__ = ["SchemaUnsupported"]


class SchemaUnsupported(Exception):
    """A keyword, format or feature that cannot be enforced exactly.

    ``pointer`` is a JSON Pointer into the schema (``""`` is the root), ``keyword`` the offending
    keyword (or ``None``), ``message`` a human-readable reason.
    """

    def __init__(self, pointer: str, message: str, keyword: str | None = None):
        self.pointer = pointer
        self.message = message
        self.keyword = keyword
        super().__init__(f"{pointer or '/'}: {message}")
