"""``dependentRequired`` / ``dependentSchemas`` by bounded case expansion.

``dependentRequired: {a: [b, c]}`` → ``anyOf[{properties: {a: false}}, {required: [a, b, c]}]`` and
``dependentSchemas: {a: S}`` → ``anyOf[{properties: {a: false}}, allOf[{required: [a]}, S]]`` (both hold
trivially for non-objects, like the originals). Each dependency is one two-way case; more than
``MAX_CASES`` dependencies on one object would expand too far and are refused.
"""

from __future__ import annotations

from ._algebra import Ctx, all_of, any_of
from ._errors import SchemaUnsupported
from ._logic import conjoin

__all__ = ["MAX_CASES", "rewrite_dependent"]

MAX_CASES = 8


def _absent(key: str) -> dict:
    return {"properties": {key: False}}


def rewrite_dependent(node: dict, ctx: Ctx, ptr: str) -> dict:
    req = node.get("dependentRequired")
    sch = node.get("dependentSchemas")
    if req is None and sch is None:
        return node
    out = dict(node)
    out.pop("dependentRequired", None)
    out.pop("dependentSchemas", None)
    cases = []
    for key, names in (req or {}).items():
        if names:
            cases.append(any_of([_absent(key), {"required": list(dict.fromkeys([key, *names]))}]))
    for key, sub in (sch or {}).items():
        if sub not in (True, {}):
            cases.append(any_of([_absent(key), all_of([{"required": [key]}, sub])]))
    if len(cases) > MAX_CASES:
        kw = "dependentRequired" if req else "dependentSchemas"
        raise SchemaUnsupported(f"{ptr}/{kw}", f"more than {MAX_CASES} dependencies on one object", kw)
    for case in cases:
        out = conjoin(out, case)
    return out
