"""What plugins produce when they lower a node, and the context they lower it in."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from ananke.errors import ConstraintError, Diagnostic, UnsupportedFeatureError

if TYPE_CHECKING:
    from ananke.core._host import PluginHost
    from ananke.core._ir import NodeModel

__all__ = ["Fragment", "Lowered", "LoweringContext", "VerifyContext", "defer_engine_check", "deferring_engine_checks"]


@dataclass(frozen=True)
class Fragment:
    """A Lark expression plus the rule/terminal definitions it references.

    ``regex`` is set when the whole fragment is one regular expression (Rust syntax), so that
    intersections of regexes can fold into a single terminal. ``validated`` says llguidance
    already accepted an equivalent standalone grammar, so the compiler need not check it again
    (unless a plugin deferred its check: see :func:`defer_engine_check`).
    """

    expr: str
    definitions: tuple[str, ...] = ()
    regex: str | None = None
    validated: bool = False


@dataclass
class Lowered:
    """A lowered node: fragments whose languages are intersected, plus a static token set.

    No fragments means "any text" (only the token set, if any, constrains the output).
    """

    fragments: list[Fragment] = field(default_factory=list)
    allowed_tokens: frozenset[int] | None = None
    forbidden_tokens: frozenset[int] = frozenset()
    warnings: list[str] = field(default_factory=list)
    exact: bool = True

    @property
    def has_token_set(self) -> bool:
        return self.allowed_tokens is not None or bool(self.forbidden_tokens)


class LoweringContext:
    """Handed to ``ananke_lower_node``: names, recursion, diagnostics and options."""

    def __init__(
        self,
        host: PluginHost,
        *,
        lenient: bool = False,
        tokenizer: Any = None,
        pointer: str = "",
        _counter: itertools.count | None = None,
    ):
        self.host = host
        self.lenient = lenient
        self.tokenizer = tokenizer
        self.pointer = pointer
        self._counter = _counter or itertools.count(1)

    def fresh_name(self, prefix: str = "r", *, terminal: bool = False) -> str:
        """A rule (lowercase) or terminal (UPPERCASE) name unique within this compilation."""
        name = f"{prefix}_{next(self._counter)}"
        name = name.upper() if terminal else name.lower()
        return name.replace("-", "_")

    def at(self, pointer: str) -> LoweringContext:
        return LoweringContext(
            self.host, lenient=self.lenient, tokenizer=self.tokenizer, pointer=pointer, _counter=self._counter
        )

    def lower(self, node: NodeModel, pointer: str) -> Lowered:
        return self.host.lower(node, self.at(pointer))

    def error(self, message: str, *, suffix: str = "", unsupported: bool = False, **kw: Any) -> NoReturn:
        cls = UnsupportedFeatureError if unsupported else ConstraintError
        raise cls(Diagnostic(message, pointer=self.pointer + suffix, **kw))


class VerifyContext:
    """Handed to ``ananke_verify_node``: token ids when known and recursion."""

    def __init__(self, host: PluginHost, *, token_ids: list[int] | None = None, lenient: bool = False):
        self.host = host
        self.token_ids = token_ids
        self.lenient = lenient

    def verify(self, node: NodeModel, text: str) -> list[str]:
        return self.host.verify(node, text, self)


# The compiler validates (and, given a tokenizer, builds) every final grammar with llguidance
# anyway; a plugin's standalone llguidance check of the same text only repeats that work.
_DEFERRED: ContextVar[list[int] | None] = ContextVar("ananke_deferred_engine_checks", default=None)


@contextmanager
def deferring_engine_checks() -> Iterator[list[int]]:
    """Within this block plugins may skip their standalone llguidance checks.

    The caller promises to validate every final grammar with llguidance and, when one is
    rejected, to lower again outside this block so that plugins report their own diagnostics
    (JSON Pointers) or, in lenient mode, weaken what the engine cannot enforce.  The yielded
    list holds one entry per skipped check.
    """
    skipped: list[int] = []
    token = _DEFERRED.set(skipped)
    try:
        yield skipped
    finally:
        _DEFERRED.reset(token)


def defer_engine_check() -> bool:
    """True (and recorded) when a plugin may skip a standalone llguidance check whose failure
    would only send it down a slower path; False outside :func:`deferring_engine_checks`."""
    skipped = _DEFERRED.get()
    if skipped is None:
        return False
    skipped.append(1)
    return True
