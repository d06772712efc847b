"""``minProperties``/``maxProperties`` next to optional ``properties``, which llguidance refuses ("only
supported when all keys listed in properties are required"), rewritten as the cases of which optional
keys are present.

* Closed objects (``additionalProperties: false``, no ``patternProperties``): every key is listed, so
  "between ``lo`` and ``hi`` keys" is: some ``lo - r`` optional keys required and some
  ``|optional| - (hi - r)`` of the others forbidden (``r`` = required listed keys), at most ``MAX_CASES``.
* Open objects with only a lower bound of one more than the required keys: one optional key is present,
  or none is and ``minProperties`` counts the unlisted ones (a form llguidance enforces).

Other forms are left alone (llguidance refuses them and strict mode reports it).
"""

from __future__ import annotations

import itertools
from math import comb

from ._algebra import ATOMS, Ctx, any_of, type_schema

__all__ = ["rewrite_property_counts"]

MAX_CASES = 64
_BOUNDS = ("minProperties", "maxProperties")


def _count(node: dict, key: str) -> int | None:
    v = node.get(key)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def rewrite_property_counts(node: dict, ctx: Ctx, ptr: str) -> dict:
    props = node.get("properties")
    lo, hi = _count(node, "minProperties"), _count(node, "maxProperties")
    if not isinstance(props, dict) or (lo is None and hi is None) or node.get("patternProperties"):
        return node
    required = set(node.get("required") or [])
    optional = [k for k in props if k not in required and props[k] is not False]
    if not optional:
        return node
    r = sum(1 for k in props if k in required)
    if node.get("additionalProperties") is False:
        cases = _closed_cases(optional, max(0, (lo or 0) - r), None if hi is None else hi - r)
    elif hi is None and lo is not None and lo <= len(required):
        cases = [{}]  # implied by the required keys
    elif hi is None and lo == len(required) + 1:
        cases = [{"required": [k]} for k in optional]
        cases.append({"properties": dict.fromkeys(optional, False), "minProperties": lo})
    else:
        return node
    if cases is None:
        return node
    out = {k: v for k, v in node.items() if k not in _BOUNDS}
    from ._logic import conjoin

    objects = [{"type": "object", **case} for case in cases]
    return conjoin(out, any_of([type_schema(ATOMS - {"object"}), *objects]))


def _closed_cases(optional: list, need: int, room: int | None) -> list | None:
    """Required/forbidden key sets: at least ``need`` and at most ``room`` optional keys present."""
    n = len(optional)
    room = n if room is None else min(room, n)
    if need > room:
        return []
    forbid = n - room
    if comb(n, need) * comb(n - need, forbid) > MAX_CASES:
        return None
    cases = []
    for present in itertools.combinations(optional, need):
        rest = [k for k in optional if k not in present]
        for absent in itertools.combinations(rest, forbid):
            case: dict = {}
            if present:
                case["required"] = list(present)
            if absent:
                case["properties"] = dict.fromkeys(absent, False)
            cases.append(case)
    return cases
