"""``uniqueItems`` and ``contains`` where the arrays involved are small enough to enumerate.

* ``uniqueItems: true`` is dropped when ``maxItems <= 1``; over a finite item set (``enum``/``const``/
  boolean/null items) it becomes the list of all duplicate-free sequences (at most ``MAX_CASES``).
* ``contains`` (with ``minContains``/``maxContains``): ``contains: true`` is a length bound,
  ``contains: false`` forbids arrays (unless ``minContains: 0``); otherwise, when ``maxItems`` bounds the
  array, every placement of matching/non-matching items is enumerated (at most ``MAX_CASES``).
"""

from __future__ import annotations

import itertools
import json
from math import comb, perm
from typing import Any

from ._algebra import ATOMS, CannotNegate, Ctx, _valid, _values, any_of, negate, type_schema
from ._errors import SchemaUnsupported

__all__ = ["MAX_CASES", "rewrite_contains", "rewrite_unique"]

MAX_CASES = 64
_NOT_ARRAY = ATOMS - {"array"}


def _int(node: dict, key: str, default):
    v = node.get(key, default)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _key(value) -> str:
    def norm(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        return {k: norm(x) for k, x in v.items()}

    return json.dumps(norm(value), sort_keys=True)


def _finite_items(items, ctx: Ctx) -> list | None:
    items = ctx.deref(items)
    vals = _values(items)
    if vals is None and isinstance(items, dict):
        t = items.get("type")
        finite: dict[str, list[Any]] = {"boolean": [True, False], "null": [None]}
        vals = finite.get(t) if isinstance(t, str) else None
    if vals is None:
        return None
    uniq: dict[str, Any] = {}
    for v in vals:
        if _valid(items, v, ctx) is not False:
            uniq.setdefault(_key(v), v)
    return list(uniq.values())


def _with_arrays(branches: list) -> object:
    return any_of([type_schema(_NOT_ARRAY), *branches])


def rewrite_unique(node: dict, ctx: Ctx, ptr: str) -> dict:
    if "uniqueItems" not in node:
        return node
    out = dict(node)
    if out.pop("uniqueItems") is not True:
        return out
    hi = _int(node, "maxItems", None)
    if hi is not None and hi <= 1:
        return out
    fail = SchemaUnsupported(
        ptr + "/uniqueItems",
        "`uniqueItems` over unbounded or non-enumerable items cannot be enforced exactly",
        "uniqueItems",
    )
    if node.get("prefixItems"):
        raise fail
    try:
        vals = _finite_items(node.get("items", True), ctx)
    except CannotNegate:
        vals = None
    if vals is None:
        raise fail
    lo = _int(node, "minItems", 0)
    top = len(vals) if hi is None else min(hi, len(vals))
    if sum(perm(len(vals), n) for n in range(lo, top + 1)) > MAX_CASES:
        raise fail
    branches = []
    for n in range(lo, top + 1):
        for seq in itertools.permutations(vals, n):
            branch = {"type": "array", "minItems": n, "maxItems": n}
            if n:
                branch["prefixItems"] = [{"const": v} for v in seq]
            branches.append(branch)
    from ._logic import conjoin

    return conjoin(out, _with_arrays(branches))


def rewrite_contains(node: dict, ctx: Ctx, ptr: str) -> dict:
    if not any(k in node for k in ("contains", "minContains", "maxContains")):
        return node
    out = dict(node)
    cond = out.pop("contains", None)
    lo = _int(out, "minContains", 1)
    hi = _int(out, "maxContains", None)
    out.pop("minContains", None)
    out.pop("maxContains", None)
    if cond is None or (lo == 0 and hi is None):
        return out
    from ._logic import conjoin

    cond = ctx.deref(cond) if isinstance(cond, dict) else cond
    if cond is True or cond == {}:
        bounds = {"type": "array", "minItems": lo}
        if hi is not None:
            bounds["maxItems"] = hi
        return conjoin(out, _with_arrays([bounds]))
    if cond is False:
        return conjoin(out, _with_arrays([]) if lo > 0 else True)
    return conjoin(out, _with_arrays(_placements(node, cond, lo, hi, ctx, ptr)))


def _placements(node: dict, cond, lo: int, hi: int | None, ctx: Ctx, ptr: str) -> list:
    fail = SchemaUnsupported(
        ptr + "/contains", "`contains` over arrays without a small `maxItems` cannot be enforced exactly", "contains"
    )
    n_max = _int(node, "maxItems", None)
    if n_max is None:
        raise fail
    n_min = max(_int(node, "minItems", 0), lo)
    if hi is None:
        total = sum(comb(n, lo) for n in range(n_min, n_max + 1))
    else:
        total = sum(comb(n, k) for n in range(n_min, n_max + 1) for k in range(lo, min(hi, n) + 1))
    if total > MAX_CASES:
        raise fail
    neg = None
    if hi is not None:
        try:
            neg = negate(cond, ctx)
        except CannotNegate as exc:
            raise SchemaUnsupported(
                ptr + "/maxContains", f"`maxContains` needs the negation of `contains` ({exc})", "maxContains"
            ) from None
    branches = []
    for n in range(n_min, n_max + 1):
        sizes = [lo] if hi is None else range(lo, min(hi, n) + 1)
        for k in sizes:
            for chosen in itertools.combinations(range(n), k):
                prefix = [cond if i in chosen else (True if neg is None else neg) for i in range(n)]
                branch = {"type": "array", "minItems": n, "maxItems": n}
                if n:
                    branch["prefixItems"] = prefix
                branches.append(branch)
    return branches
