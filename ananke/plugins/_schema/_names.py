"""``propertyNames`` folded into ``properties``/``patternProperties``/``additionalProperties``.

* names from a finite set (``enum``/``const``): listed properties outside the set become ``false``,
  set members not listed get the ``additionalProperties`` schema under ``patternProperties`` (one
  anchored literal union), and ``additionalProperties`` becomes ``false``. As ``patternProperties``
  they stay a map the engine accepts in any key order (as ``properties``, pinned to the enum's order,
  only next to listed properties and ``min/maxProperties``, which the engine bounds only that way);
* names by ``pattern`` (or length bounds): listed properties whose name fails become ``false``, and the
  ``additionalProperties`` schema moves under ``patternProperties`` with that regex.

Objects with their own ``patternProperties`` are refused (the two regexes would need intersecting).
"""

from __future__ import annotations

from ._algebra import ANNOTATIONS, CannotNegate, Ctx, _valid, _values
from ._errors import SchemaUnsupported
from ._regex import literal_union

__all__ = ["rewrite_property_names"]

_ALLOWED = {"type", "enum", "const", "pattern", "minLength", "maxLength"}


def _length_regex(node: dict) -> str | None:
    lo, hi = node.get("minLength", 0), node.get("maxLength")
    if lo == 0 and hi is None:
        return None
    return f"^(?s:.){{{lo},{'' if hi is None else hi}}}$"


def rewrite_property_names(node: dict, ctx: Ctx, ptr: str) -> dict:
    if "propertyNames" not in node:
        return node
    out = dict(node)
    try:
        names = ctx.deref(out.pop("propertyNames"))
    except CannotNegate:
        names = None
    if names is True or names == {}:
        return out
    fail = SchemaUnsupported(
        ptr + "/propertyNames",
        "`propertyNames` is enforceable only as a pattern, length bound or enum on objects without `patternProperties`",
        "propertyNames",
    )
    if names is False:
        names = {"enum": []}
    if not isinstance(names, dict) or out.get("patternProperties"):
        raise fail
    keys = {k for k in names if k not in ANNOTATIONS}
    if not keys <= _ALLOWED or names.get("type", "string") not in ("string", ["string"]):
        raise fail
    props = dict(out.get("properties") or {})
    extra = out.get("additionalProperties", True)
    ok = {k: _valid(names, k, ctx) for k in props}
    if any(v is None for v in ok.values()):
        raise fail
    new_props = {k: (s if ok[k] else False) for k, s in props.items()}
    vals = _values(names)
    if vals is not None:
        members = [k for k in vals if isinstance(k, str) and k not in new_props and _valid(names, k, ctx)]
        if members and extra is not False:
            if new_props and ("minProperties" in out or "maxProperties" in out):
                # the engine bounds the size of such objects only without patternProperties
                new_props.update({k: extra for k in members})
            else:
                out["patternProperties"] = {literal_union(members): extra}
        out["properties"] = new_props
        out["additionalProperties"] = False
        return out
    regexes = [r for r in (names.get("pattern"), _length_regex(names)) if r is not None]
    if len(regexes) != 1:
        raise fail
    if extra not in (True, {}) and any(ok.values()):
        raise fail  # listed names would also pick up the moved schema under patternProperties
    out["properties"] = new_props
    if extra is not False:
        out["patternProperties"] = {regexes[0]: extra}
    out["additionalProperties"] = False
    return out
