"""Ananke's exceptions.

Every error a user can cause is an :class:`AnankeError`; foreign errors (pydantic,
llguidance, lark, jsonschema) are translated at one boundary with ``raise ... from exc``::

    AnankeError
     ├── ConstraintError            a constraint is malformed, unknown or unsupported
     │    ├── UnknownKindError      a node ``kind`` / input format nobody provides
     │    ├── UnsupportedFeatureError   valid input the engine cannot enforce exactly
     │    └── ConstraintLimitError  too large or too complex to compile safely
     ├── RequestError               a generation request is out of bounds (max_tokens, temperature, ...)
     ├── EngineError                the model engine failed or refused a request
     └── UsageError                 bad command-line arguments or unreadable input (CLI exit code 2)
          └── ConfigError           a setting, config file or environment variable that cannot be used
               └── RegistryError    an engine or constraint kind that is unknown or registered twice

``ConfigError`` is also a ``ValueError`` (as it was before it joined the tree).

A :class:`ConstraintError` carries :class:`Diagnostic` objects: message, JSON Pointer into
the input, and for grammar text a line, column and caret snippet, plus the allowed values
where a closed set applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "AnankeError",
    "ConfigError",
    "ConstraintError",
    "ConstraintLimitError",
    "Diagnostic",
    "EngineError",
    "RegistryError",
    "RequestError",
    "UnknownKindError",
    "UnsupportedFeatureError",
    "UsageError",
    "caret_snippet",
]


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a constraint, located as precisely as the input allows."""

    message: str
    pointer: str = ""
    line: int | None = None
    column: int | None = None
    snippet: str | None = None
    allowed: tuple[str, ...] | None = None
    severity: str = "error"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.allowed is not None:
            data["allowed"] = list(self.allowed)
        return data

    def render(self) -> str:
        where = self.pointer or "/"
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})"
        text = f"{self.severity}: {where}: {self.message}"
        if self.allowed:
            text += f" (allowed: {', '.join(self.allowed)})"
        if self.snippet:
            text += "\n" + self.snippet
        return text


def caret_snippet(text: str, line: int, column: int, context: int = 1) -> str:
    """Return the lines around ``line`` (1-based) with a caret under ``column`` (1-based)."""
    lines = text.splitlines() or [""]
    line = max(1, min(line, len(lines)))
    first = max(1, line - context)
    width = len(str(line))
    out = [f"{n:>{width}} | {lines[n - 1]}" for n in range(first, line + 1)]
    out.append(" " * (width + 3 + max(column - 1, 0)) + "^")
    return "\n".join(out)


class AnankeError(Exception):
    """Base class of every error Ananke raises on purpose."""


class ConstraintError(AnankeError):
    """A constraint that cannot be compiled; ``diagnostics`` says what and where."""

    def __init__(self, diagnostics: Diagnostic | str | Iterable[Diagnostic], *, pointer: str = "", **kw: Any):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(diagnostics, pointer=pointer, **kw)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("; ".join(d.render().splitlines()[0] for d in self.diagnostics))

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "errors": [d.to_dict() for d in self.diagnostics]}


class UnknownKindError(ConstraintError):
    """No plugin provides the requested node kind or input format."""


class UnsupportedFeatureError(ConstraintError):
    """Valid input whose semantics the token-level engine cannot enforce exactly."""


class ConstraintLimitError(ConstraintError):
    """Input larger or more complex than the configured limits allow."""


class RequestError(AnankeError):
    """A generation request with a field out of bounds."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


class EngineError(AnankeError):
    """The model engine failed or refused a request."""


class UsageError(AnankeError):
    """Bad command-line arguments or unreadable input; the CLI exits with code 2."""


class ConfigError(UsageError, ValueError):
    """A configuration file, environment variable or setting that cannot be used."""


class RegistryError(ConfigError):
    """An engine or constraint kind that no entry point provides, or that two provide."""
