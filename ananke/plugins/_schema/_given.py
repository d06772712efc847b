"""Negation relative to what is already known: ``negate_given(S, G)`` is a schema ``N`` with
``G ∧ N ≡ G ∧ ¬S``.

``oneOf`` needs ``Bi ∧ ¬Bj`` and ``not`` needs ``rest ∧ ¬S``; the plain complement of ``Bj`` often has no
exact form (an object with a key outside ``properties``, an array with some item outside ``items``, a
non-integer number), yet within ``Bi`` it does:

* a keyword of ``S`` that ``G`` already implies (same value, tighter bound, a subset of types or required
  keys) contributes nothing;
* a finite ``G`` (``const``/``enum``) leaves exactly its values that ``S`` rejects;
* objects: when ``G`` is closed (``additionalProperties: false``, no ``patternProperties``) every key an
  instance can have is listed, so "some key violates ``S``" is a finite disjunction over ``G``'s keys,
  each value negated relative to ``G``'s own subschema for it;
* arrays: when ``G``'s items are disjoint from ``S``'s, every non-empty array violates ``S``.

Anything else falls back to the plain :func:`negate` (which raises :class:`CannotNegate`).
"""

from __future__ import annotations

import json
from typing import Any

from ._algebra import (
    _DEPTH,
    _OF_TYPE,
    ANNOTATIONS,
    ASSERTIONS,
    ATOMS,
    CannotNegate,
    Ctx,
    _valid,
    _values,
    all_of,
    any_of,
    conjunct,
    disjoint,
    negate,
    types_of,
)

__all__ = ["negate_given"]

_OBJECT = ("properties", "additionalProperties", "patternProperties")
_LOWER = ("minLength", "minItems", "minProperties")
_UPPER = ("maxLength", "maxItems", "maxProperties")
# Keywords whose meaning depends on a sibling: equal values alone do not make them implied.
_CONTEXTUAL = frozenset(
    {"additionalItems", "contains", "minContains", "maxContains", "if", "then", "else", "unevaluatedItems"}
    | {"unevaluatedProperties"}
)


def negate_given(node: Any, given: Any, ctx: Ctx, within: frozenset = ATOMS, depth: int = 0) -> Any:
    """A schema accepting, among instances of ``given`` whose type is in ``within``, exactly those
    ``node`` rejects (raises :class:`CannotNegate`)."""
    try:
        return _relative(node, given, ctx, within, depth)
    except CannotNegate:
        return negate(node, ctx, depth, within)


def _relative(node: Any, given: Any, ctx: Ctx, within: frozenset, depth: int) -> Any:
    if depth > _DEPTH:
        raise CannotNegate("too deep")
    node, given = ctx.deref(node), ctx.deref(given)
    if not isinstance(node, dict) or not isinstance(given, dict):
        raise CannotNegate("not a schema")
    within = within & types_of(given, ctx)
    if not within or disjoint(node, given, ctx, within=within):
        return bool(within)
    if conjunct(given, node, ctx):
        return False
    finite = _finite_rest(node, given, ctx)
    if finite is not None:
        return finite
    parts = []
    for key, value in node.items():
        if key in ANNOTATIONS or key.startswith("x-") or key not in ASSERTIONS or key in _OBJECT:
            continue
        if not _keyword_implied(key, value, given, within):
            parts.append(_negate_keyword(key, value, node, given, ctx, within, depth))
    if any(k in node for k in _OBJECT):
        parts.append(_negate_object(node, given, ctx, depth))
    return any_of(parts)


def _finite_rest(node: dict, given: dict, ctx: Ctx) -> Any:
    """``given`` lists its values: keep those ``node`` rejects (None where ``jsonschema`` cannot decide)."""
    vals = _values(given)
    text = json.dumps(node)
    if vals is None or '"format"' in text or '"$ref"' in text:
        return None  # ``jsonschema`` does not assert formats (the engine does), nor look into references here
    verdicts = [_valid(node, v, ctx) for v in vals]
    if any(v is None for v in verdicts):
        return None
    kept = [v for v, ok in zip(vals, verdicts, strict=True) if not ok]
    return {"enum": kept} if kept else False


def _keyword_implied(key: str, value: Any, given: dict, within: frozenset) -> bool:
    if key == "type":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list):
            return False
        allowed = set().union(*(_OF_TYPE.get(n, set()) for n in names)) if names else set()
        return within <= allowed
    if key == "required":
        return isinstance(value, list) and set(value) <= set(given.get("required") or [])
    if key in _LOWER + _UPPER and _is_int(value) and _is_int(given.get(key)):
        return given[key] >= value if key in _LOWER else given[key] <= value
    if key == "items":
        return given.get(key) == value and not given.get("prefixItems")
    return key in given and given[key] == value and key not in _CONTEXTUAL


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _negate_keyword(key: str, value: Any, node: dict, given: dict, ctx: Ctx, within: frozenset, depth: int) -> Any:
    if key == "items":
        return _negate_items(node, given, ctx, within)
    if key == "allOf" and isinstance(value, list):
        return any_of([negate_given(s, given, ctx, within, depth + 1) for s in value])
    if key == "anyOf" and isinstance(value, list):
        return all_of([negate_given(s, given, ctx, within, depth + 1) for s in value])
    if key == "$ref" and isinstance(value, str):
        return negate_given(ctx.target(value), given, ctx, within, depth + 1)
    return negate({key: value}, ctx, depth + 1, within)


def _negate_items(node: dict, given: dict, ctx: Ctx, within: frozenset) -> Any:
    if "prefixItems" in node or given.get("prefixItems"):
        raise CannotNegate("items after prefixItems")
    if "array" not in within:
        return False
    mine, theirs = node["items"], given.get("items", True)
    if isinstance(theirs, dict) and conjunct(ctx.deref(theirs), mine, ctx):
        return False
    if disjoint(mine, theirs, ctx):
        return {"type": "array", "minItems": 1}  # every item of ``given`` violates ``items``
    raise CannotNegate("items")


def _negate_object(node: dict, given: dict, ctx: Ctx, depth: int) -> Any:
    """Some present key violates ``node``'s properties/additionalProperties (given ``given``)."""
    if all(node.get(k) == given.get(k) for k in _OBJECT):
        return False
    if node.get("patternProperties"):
        raise CannotNegate("patternProperties")
    props = node.get("properties") or {}
    extra = node.get("additionalProperties", True)
    known = given.get("properties") or {}
    if given.get("additionalProperties") is False and not given.get("patternProperties"):
        keys = list(known)  # every key an instance of ``given`` can have
    elif extra is True or extra == {}:
        keys = list(props)
    else:
        raise CannotNegate("additionalProperties")
    terms = []
    for k in keys:
        sub = props.get(k, extra)
        known_k = known.get(k, True)
        if sub is True or sub == {} or known_k is False or conjunct(ctx.deref(known_k), sub, ctx):
            continue
        neg = negate_given(sub, known_k, ctx, depth=depth + 1)
        if neg is not False:
            terms.append({"type": "object", "required": [k], "properties": {k: neg}})
    return any_of(terms)
