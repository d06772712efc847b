"""``regex``: the whole text matches ``pattern`` (Python syntax, full-match semantics).

Patterns are checked with Python's own parser first, so errors carry a column, and the
constructs a token-level automaton cannot enforce (lookaround, backreferences, conditionals,
atomic groups, anchors inside the pattern) are refused by name instead of being dropped.

Outputs are verified in linear time, never with a backtracking engine (``(a+)+b`` on a run of
``a`` would take exponential time): with RE2 (``google-re2``) where RE2 reads the pattern as
Python does, otherwise with llguidance's byte-level matcher of the pattern alone.
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import Literal

from ananke.core._ir import KindInfo, NodeModel
from ananke.core._linear_re import re2_compile
from ananke.core._llg import lark_accepts, validate_lark
from ananke.core._lowering import Fragment, Lowered, LoweringContext
from ananke.core.hookspecs import hookimpl
from ananke.errors import ConstraintLimitError, caret_snippet

if sys.version_info >= (3, 11):
    from re import _constants as sre_constants
    from re import _parser as sre_parse
else:  # pragma: no cover
    import sre_constants
    import sre_parse

__all__ = ["RegexNode", "check_pattern", "fullmatch_linear", "to_engine_regex"]

MAX_PATTERN_LENGTH = 20_000
#: positions of the pattern once bounded repetitions are unrolled (``a{1000000}`` is a million):
#: the engine's lexer builds states for them while generating, so larger patterns are refused
MAX_EXPANDED_SIZE = 100_000

_UNSUPPORTED = {
    sre_constants.ASSERT: "lookahead/lookbehind",
    sre_constants.ASSERT_NOT: "negative lookahead/lookbehind",
    sre_constants.GROUPREF: "backreferences",
    sre_constants.GROUPREF_EXISTS: "conditional groups",
}
for _name, _what in (("ATOMIC_GROUP", "atomic groups"), ("POSSESSIVE_REPEAT", "possessive quantifiers")):
    if hasattr(sre_constants, _name):
        _UNSUPPORTED[getattr(sre_constants, _name)] = _what
_ANCHORS_START = {sre_constants.AT_BEGINNING, sre_constants.AT_BEGINNING_STRING}
_ANCHORS_END = {sre_constants.AT_END, sre_constants.AT_END_STRING}


class RegexNode(NodeModel):
    kind: Literal["regex"] = "regex"
    pattern: str


class PatternProblem(ValueError):
    def __init__(self, message: str, column: int | None = None, *, unsupported: bool = True, limit: bool = False):
        super().__init__(message)
        self.column = column
        self.unsupported = unsupported
        self.limit = limit


def _walk(items, top: bool):
    """Yield (opcode, argument, is_top_level_position) for every item of a parsed pattern."""
    for index, (op, arg) in enumerate(items):
        yield op, arg, (top, index, len(items))
        children = []
        if op in (sre_constants.SUBPATTERN,):
            children = [arg[-1]]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) or op.name == "POSSESSIVE_REPEAT":
            children = [arg[2]]
        elif op == sre_constants.BRANCH:
            children = arg[1]
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            children = [arg[1]]
        elif op.name == "ATOMIC_GROUP":
            children = [arg]
        elif op == sre_constants.GROUPREF_EXISTS:
            children = [branch for branch in arg[1:] if branch is not None]
        for child in children:
            yield from _walk(child, False)


def expanded_size(items, cap: int = MAX_EXPANDED_SIZE + 1) -> int:
    """Positions of a parsed pattern with bounded repetitions unrolled (stops counting past ``cap``)."""
    total = 0
    for op, arg in items:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) or op.name == "POSSESSIVE_REPEAT":
            low, high, child = arg
            copies = max(low, 1) if high == sre_constants.MAXREPEAT else max(high, 1)
            total += copies * expanded_size(child, cap)
        elif op == sre_constants.SUBPATTERN:
            total += expanded_size(arg[-1], cap)
        elif op == sre_constants.BRANCH:
            total += sum(expanded_size(branch, cap) for branch in arg[1])
        else:
            total += 1
        if total >= cap:
            return cap
    return total


def check_pattern(pattern: str) -> tuple[bool, bool]:
    """Validate a Python pattern; return whether it starts/ends with a strippable anchor."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternProblem(
            f"pattern is {len(pattern)} characters; the limit is {MAX_PATTERN_LENGTH}", unsupported=False
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise PatternProblem(f"invalid regex: {exc.msg}", exc.pos, unsupported=False) from exc
    if expanded_size(list(parsed.data)) > MAX_EXPANDED_SIZE:
        raise PatternProblem(
            f"the pattern's repetitions unroll to more than {MAX_EXPANDED_SIZE} positions "
            "(e.g. a{1000000}); use an unbounded repetition (+, *) or a smaller count",
            unsupported=False,
            limit=True,
        )
    leading = trailing = False
    for op, arg, (top, index, count) in _walk(list(parsed.data), True):
        if op in _UNSUPPORTED:
            raise PatternProblem(
                f"{_UNSUPPORTED[op]} cannot be enforced token by token; rewrite the pattern without them"
            )
        if op == sre_constants.AT:
            if top and index == 0 and arg in _ANCHORS_START:
                leading = True
            elif top and index == count - 1 and arg in _ANCHORS_END:
                trailing = True
            elif arg in (sre_constants.AT_BOUNDARY, sre_constants.AT_NON_BOUNDARY):
                raise PatternProblem("word boundaries (\\b, \\B) cannot be enforced token by token")
            else:
                raise PatternProblem(
                    "anchors (^, $, \\A, \\Z) are only supported at the very start and end of the pattern"
                )
    if re.search(r"\[[^\]]*\[:", pattern):
        raise PatternProblem("POSIX classes like [[:alpha:]] differ between Python and the engine; spell the class out")
    return leading, trailing


def to_engine_regex(pattern: str) -> str:
    """The pattern with its outer anchors removed (full-match is implied), ready for a Lark /…/."""
    leading, trailing = check_pattern(pattern)
    body = pattern
    if leading:
        body = body[2:] if body.startswith("\\A") else body[1:]
    if trailing:
        body = body[:-2] if body.endswith(("\\Z", "\\z")) else body[:-1]
    return body


def lark_regex_literal(body: str) -> str:
    out, escaped = [], False
    for ch in body:
        if ch == "/" and not escaped:
            out.append("\\/")
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
        escaped = ch == "\\" and not escaped
    return "/" + "".join(out) + "/"


def fullmatch_linear(pattern: str, text: str) -> bool:
    """Does ``text`` fully match the (checked) Python ``pattern``? Linear time in ``len(text)``.

    RE2 where it reads the pattern as Python does; otherwise llguidance's byte-level matcher of
    the pattern alone (its lexer runs on a bounded DFA, with llguidance's fuel limits).
    """
    body = to_engine_regex(pattern)
    compiled = re2_compile(body)
    if compiled is not None:
        try:
            return compiled.fullmatch(text) is not None
        except UnicodeEncodeError:
            return False
    accepted, _ = lark_accepts(f"start: {lark_regex_literal(body)}\n", text)
    return accepted


@hookimpl
def ananke_constraint_kinds():
    return [KindInfo(name="regex", model=RegexNode, description="the whole text matches `pattern`")]


@hookimpl
def ananke_lower_node(node: RegexNode, ctx: LoweringContext) -> Lowered:
    try:
        body = to_engine_regex(node.pattern)
    except PatternProblem as exc:
        if exc.limit:
            raise ConstraintLimitError(str(exc), pointer=ctx.pointer + "/pattern") from exc
        column = exc.column + 1 if exc.column is not None else None
        snippet = caret_snippet(node.pattern, 1, column) if column else None
        ctx.error(
            str(exc),
            suffix="/pattern",
            unsupported=exc.unsupported,
            line=1 if column else None,
            column=column,
            snippet=snippet,
        )
    name = ctx.fresh_name("re", terminal=True)
    definition = f"{name}: {lark_regex_literal(body)}"
    error, _ = validate_lark(f"start: {name}\n{definition}\n", pointer=ctx.pointer + "/pattern")
    if error is not None:
        ctx.error(f"the engine cannot compile this regex: {error.message.strip()}", suffix="/pattern", unsupported=True)
    return Lowered([Fragment(name, (definition,), regex=body, validated=True)])


@hookimpl
def ananke_verify_node(node, text, ctx):
    return [] if fullmatch_linear(node.pattern, text) else [f"text does not fully match /{node.pattern}/"]
