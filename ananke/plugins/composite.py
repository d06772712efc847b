"""``composite``: ``sequence`` (parts in order), ``choice`` (any part), ``all_of`` (every part).

``all_of`` keeps each part's grammar separate (their languages are intersected at run time)
and intersects static token sets; intersections of plain regexes fold into one terminal.
Inside ``sequence``/``choice`` every part must be expressible as one grammar.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, SerializeAsAny, ValidationInfo, field_validator

from ananke.core._ir import KindInfo, NodeModel, parse_children
from ananke.core._lowering import Fragment, Lowered, LoweringContext
from ananke.core.hookspecs import hookimpl

__all__ = ["MAX_SEQUENCE_SPLITS", "CompositeNode"]

MAX_SEQUENCE_SPLITS = 20_000


class CompositeNode(NodeModel):
    kind: Literal["composite"] = "composite"
    op: Literal["sequence", "choice", "all_of"]
    parts: list[SerializeAsAny[NodeModel]] = Field(min_length=1)

    @field_validator("parts", mode="before")
    @classmethod
    def _parse_parts(cls, value, info: ValidationInfo):
        if not isinstance(value, list):
            raise ValueError("parts must be a list of constraint nodes")
        return parse_children(value, info, "parts")


@hookimpl
def ananke_constraint_kinds():
    return [KindInfo(name="composite", model=CompositeNode, description="sequence / choice / all_of of nested nodes")]


def _regexes(fragments: list[Fragment]) -> list[str] | None:
    """The fragments' regexes when every fragment is exactly one regex."""
    regexes = [f.regex for f in fragments if f.regex is not None]
    return regexes if len(regexes) == len(fragments) else None


def _fold_regexes(regexes: list[str], ctx: LoweringContext) -> Fragment:
    name = ctx.fresh_name("all", terminal=True)
    from ananke.plugins.regex import lark_regex_literal

    body = " & ".join(lark_regex_literal(regex) for regex in regexes)
    return Fragment(name, (f"{name}: {body}",))


def _lower_all_of(node: CompositeNode, ctx: LoweringContext) -> Lowered:
    result = Lowered()
    allowed = None
    for i, part in enumerate(node.parts):
        lowered = ctx.lower(part, f"{ctx.pointer}/parts/{i}")
        result.fragments.extend(lowered.fragments)
        result.warnings.extend(lowered.warnings)
        result.exact &= lowered.exact
        if lowered.allowed_tokens is not None:
            allowed = lowered.allowed_tokens if allowed is None else allowed & lowered.allowed_tokens
        result.forbidden_tokens |= lowered.forbidden_tokens
    if allowed is not None and not (allowed - result.forbidden_tokens):
        ctx.error("the token masks of all_of leave no token allowed")
    result.allowed_tokens = allowed
    regexes = _regexes(result.fragments)
    if len(result.fragments) > 1 and regexes is not None:
        result.fragments = [_fold_regexes(regexes, ctx)]
    return result


def _single_fragment(lowered: Lowered, ctx: LoweringContext, pointer: str, op: str) -> Fragment:
    if lowered.has_token_set:
        ctx.at(pointer).error(
            f"token_mask cannot appear inside {op}: token masks apply to the whole output; "
            "combine them with all_of at the top",
            unsupported=True,
        )
    if not lowered.fragments:
        ctx.at(pointer).error(f"a part of {op} must constrain the text", unsupported=True)
    if len(lowered.fragments) == 1:
        return lowered.fragments[0]
    regexes = _regexes(lowered.fragments)
    if regexes is not None:
        return _fold_regexes(regexes, ctx)
    ctx.at(pointer).error(
        f"all_of of grammars cannot be nested inside {op} (only intersections of regexes can); move all_of to the top",
        unsupported=True,
    )


def _regex_terminal(regex: str, ctx: LoweringContext) -> Fragment:
    from ananke.plugins.regex import lark_regex_literal

    name = ctx.fresh_name("re", terminal=True)
    return Fragment(name, (f"{name}: {lark_regex_literal(regex)}",), regex=regex)


def _merge_regex_runs(fragments: list[Fragment], ctx: LoweringContext) -> list[Fragment]:
    """Fold runs of adjacent regex fragments into one terminal.

    The engine's lexer is greedy, so ``/[a-z]+/ "a"`` as two terminals would reject "aa";
    one terminal for the concatenation keeps the exact semantics of the sequence.
    """
    merged: list[Fragment] = []
    run: list[Fragment] = []
    for fragment in [*fragments, None]:
        if fragment is not None and fragment.regex is not None:
            run.append(fragment)
            continue
        if len(run) == 1:
            merged.append(run[0])
        elif run:
            merged.append(_regex_terminal("".join(f"(?:{f.regex})" for f in run), ctx))
        run = []
        if fragment is not None:
            merged.append(fragment)
    return merged


def _lower_ordered(node: CompositeNode, ctx: LoweringContext) -> Lowered:
    result = Lowered()
    fragments = []
    for i, part in enumerate(node.parts):
        pointer = f"{ctx.pointer}/parts/{i}"
        lowered = ctx.lower(part, pointer)
        fragments.append(_single_fragment(lowered, ctx, pointer, node.op))
        result.warnings.extend(lowered.warnings)
        result.exact &= lowered.exact
    if node.op == "sequence":
        fragments = _merge_regex_runs(fragments, ctx)
    elif all(f.regex is not None for f in fragments):
        fragments = [_regex_terminal("|".join(f"(?:{f.regex})" for f in fragments), ctx)]
    if len(fragments) == 1:
        result.fragments = fragments
        return result
    names, definitions = [], []
    for fragment in fragments:
        name = ctx.fresh_name("part")
        names.append(name)
        definitions.append(f"{name}: {fragment.expr}")
        definitions.extend(fragment.definitions)
    joiner = " " if node.op == "sequence" else " | "
    result.fragments = [Fragment(f"({joiner.join(names)})", tuple(definitions))]
    return result


@hookimpl
def ananke_lower_node(node: CompositeNode, ctx: LoweringContext) -> Lowered:
    return _lower_all_of(node, ctx) if node.op == "all_of" else _lower_ordered(node, ctx)


def _verify_sequence(node: CompositeNode, text: str, ctx) -> list[str]:
    parts = node.parts
    budget = [MAX_SEQUENCE_SPLITS]

    @cache
    def fits(start: int, index: int) -> bool:
        if index == len(parts):
            return start == len(text)
        for end in range(start, len(text) + 1):
            budget[0] -= 1
            if budget[0] < 0:
                raise OverflowError
            if not ctx.verify(parts[index], text[start:end]) and fits(end, index + 1):
                return True
        return False

    try:
        return [] if fits(0, 0) else ["text cannot be split into the sequence's parts"]
    except OverflowError:
        return _verify_by_engine(node, text, ctx)


def _verify_by_engine(node: CompositeNode, text: str, ctx) -> list[str]:
    """Too long to split exhaustively: fall back to the lowered grammar, matched byte by byte."""
    from ananke.core._compiler import assemble_grammar
    from ananke.core._llg import lark_accepts

    lowered = ctx.host.lower(node, LoweringContext(ctx.host, lenient=ctx.lenient))
    problems = []
    for fragment in lowered.fragments:
        ok, why = lark_accepts(assemble_grammar(fragment), text)
        if not ok:
            problems.append(why)
    return problems


@hookimpl
def ananke_verify_node(node, text, ctx):
    if node.op == "all_of":
        return [problem for part in node.parts for problem in ctx.verify(part, text)]
    if node.op == "choice":
        reasons = []
        for part in node.parts:
            problems = ctx.verify(part, text)
            if not problems:
                return []
            reasons.extend(problems)
        return ["no alternative of the choice matches: " + "; ".join(reasons[:3])]
    return _verify_sequence(node, text, ctx)
