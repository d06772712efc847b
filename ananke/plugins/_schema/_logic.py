"""``not``, ``oneOf`` and ``if``/``then``/``else`` rewritten into ``anyOf``/``allOf`` exactly.

* ``not: S`` → the exact complement of ``S`` (const, enum, type, required, bounds, simple properties, and
  boolean combinations of those), conjoined with the node.
* ``oneOf: [B1..Bn]`` → ``anyOf`` when the branches are provably pairwise disjoint; otherwise each branch
  is conjoined with the negation of every branch it may overlap: ``anyOf_i allOf[Bi, not Bj ...]``, where
  ``not Bj`` only has to be exact within ``Bi`` (or within the rest of the node): see ``_given.py``.
* ``if: I, then: T, else: E`` → ``anyOf[allOf[I, T], allOf[not I, E]]`` (needs ``not I`` exactly).
"""

from __future__ import annotations

from ._algebra import CannotNegate, Ctx, all_of, any_of, disjoint, types_of
from ._errors import SchemaUnsupported
from ._given import negate_given

__all__ = ["collapse_double_not", "conjoin", "rewrite_if", "rewrite_not", "rewrite_one_of"]


def conjoin(node: dict, extra) -> dict:
    """``node`` AND ``extra`` (appended to ``allOf``)."""
    if extra is True or extra == {}:
        return node
    out = dict(node)
    out["allOf"] = [*list(out.get("allOf", [])), extra]
    return out


def collapse_double_not(node: dict) -> dict:
    """``not: {not: S}`` → ``allOf: [S]`` (applied before the children are rewritten)."""
    inner = node.get("not")
    while isinstance(inner, dict) and set(inner) == {"not"}:
        out = dict(node)
        del out["not"]
        node = conjoin(out, inner["not"])
        inner = node.get("not")
    return node


def rewrite_not(node: dict, ctx: Ctx, ptr: str) -> dict:
    if "not" not in node:
        return node
    out = dict(node)
    sub = out.pop("not")
    try:
        return conjoin(out, negate_given(sub, out, ctx, within=types_of(out, ctx)))
    except CannotNegate as exc:
        raise SchemaUnsupported(ptr + "/not", f"`not` has no exact enforceable form here ({exc})", "not") from None


def rewrite_one_of(node: dict, ctx: Ctx, ptr: str) -> dict:
    branches = node.get("oneOf")
    if not isinstance(branches, list):
        return node
    out = dict(node)
    del out["oneOf"]
    within = types_of(out, ctx)  # overlaps on types the rest of the node rejects do not matter
    alts = []
    for i, b in enumerate(branches):
        parts = [b]
        for j, other in enumerate(branches):
            if j == i or disjoint(b, other, ctx, within=within):
                continue
            try:
                parts.append(_negate_other(other, b, out, ctx, within))
            except CannotNegate as exc:
                raise SchemaUnsupported(
                    f"{ptr}/oneOf/{j}",
                    f"`oneOf` branches {i} and {j} may overlap and branch {j} cannot be negated exactly ({exc})",
                    "oneOf",
                ) from None
        alts.append(all_of(parts))
    return conjoin(out, any_of(alts) if alts else False)


def _negate_other(other, branch, rest: dict, ctx: Ctx, within: frozenset):
    """``¬other`` where ``branch`` (or else the rest of the node) holds: exact in ``branch ∧ rest``."""
    try:
        return negate_given(other, branch, ctx, within=within)
    except CannotNegate:
        return negate_given(other, rest, ctx, within=within)


def rewrite_if(node: dict, ctx: Ctx, ptr: str) -> dict:
    if not any(k in node for k in ("if", "then", "else")):
        return node
    out = dict(node)
    cond = out.pop("if", None)
    then, other = out.pop("then", True), out.pop("else", True)
    if cond is None or (then in (True, {}) and other in (True, {})):
        return out
    try:
        neg = negate_given(cond, out, ctx, within=types_of(out, ctx))
    except CannotNegate as exc:
        raise SchemaUnsupported(ptr + "/if", f"the `if` condition cannot be decided exactly ({exc})", "if") from None
    return conjoin(out, any_of([all_of([cond, then]), all_of([neg, other])]))
