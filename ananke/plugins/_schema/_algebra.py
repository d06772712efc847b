"""Schema algebra on bundled schemas: possible types, provable disjointness, exact negation.

All functions are *sound*: ``disjoint`` answers True only when no instance satisfies both schemas,
and ``negate`` returns a schema (in the subset llguidance enforces) accepting exactly the instances
the input rejects, or raises :class:`CannotNegate`.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Any

from ._regex import ESCAPED_LITERALS, class_complement, literal_complement

__all__ = [
    "ATOMS",
    "CannotNegate",
    "Ctx",
    "all_of",
    "any_of",
    "conjunct",
    "disjoint",
    "literal_prefix",
    "negate",
    "type_schema",
    "types_of",
]

ATOMS = frozenset({"null", "boolean", "object", "array", "string", "int", "frac"})
_OF_TYPE = {
    "null": {"null"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
    "string": {"string"},
    "integer": {"int"},
    "number": {"int", "frac"},
}
ANNOTATIONS = {
    "title",
    "description",
    "default",
    "examples",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "$schema",
    "$id",
    "$anchor",
    "$defs",
    "definitions",
    "markdownDescription",
    "x-intellij-html-description",
    "format_hint",
}
_DEPTH = 40
ASSERTIONS = {
    "type",
    "const",
    "enum",
    "required",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "pattern",
    "format",
    "properties",
    "additionalProperties",
    "patternProperties",
    "items",
    "prefixItems",
    "additionalItems",
    "contains",
    "minContains",
    "maxContains",
    "uniqueItems",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "anyOf",
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "$ref",
    "$dynamicRef",
    "unevaluatedItems",
    "unevaluatedProperties",
}


class CannotNegate(Exception):
    """The negation has no exact form in the supported subset."""


class Ctx:
    """Reference resolution over the bundle's ``$defs`` (all references are ``#/$defs/_aN``)."""

    def __init__(self, defs: dict[str, Any] | None):
        self.defs = defs or {}
        self.assertive_formats = True  # may OpenAPI formats be enforced (nothing in the schema negates)?
        self.notes: list[tuple[str, str]] = []  # (pointer, message): exact rewrites worth telling the user

    def deref(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and len(node) == 1:
            name = node["$ref"].rsplit("/", 1)[-1]
            if not node["$ref"].startswith("#/$defs/") or name not in self.defs or seen > _DEPTH:
                raise CannotNegate("unresolved reference")
            node, seen = self.defs[name], seen + 1
        return node

    def target(self, ref: str) -> Any:
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#/$defs/") or name not in self.defs:
            raise CannotNegate("unresolved reference")
        return self.defs[name]


def atom_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "int" if value.is_integer() else "frac"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def types_of(node: Any, ctx: Ctx, depth: int = 0) -> frozenset:
    """Over-approximation of the JSON types an instance of ``node`` can have."""
    if node is True or node == {}:
        return ATOMS
    if node is False or not isinstance(node, dict) or depth > _DEPTH:
        return frozenset() if node is False else ATOMS
    out = set(ATOMS)
    t = node.get("type")
    if isinstance(t, str):
        t = [t]
    if isinstance(t, list):
        out &= set().union(*(_OF_TYPE.get(x, set()) for x in t)) if t else set()
    if "const" in node:
        out &= {atom_of(node["const"])}
    if isinstance(node.get("enum"), list):
        out &= {atom_of(v) for v in node["enum"]}
    if isinstance(node.get("$ref"), str):
        with contextlib.suppress(CannotNegate):
            out &= types_of(ctx.target(node["$ref"]), ctx, depth + 1)
    for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
        out &= types_of(sub, ctx, depth + 1)
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            out &= set().union(*(types_of(s, ctx, depth + 1) for s in node[key])) if node[key] else set()
    return frozenset(out)


# ---------------------------------------------------------------- construction helpers


def type_schema(atoms) -> Any:
    atoms = set(atoms)
    if not atoms:
        return False
    if atoms == set(ATOMS):
        return True
    names = [n for n in ("null", "boolean", "object", "array", "string") if n in atoms]
    if {"int", "frac"} <= atoms:
        names.append("number")
    elif "int" in atoms:
        names.append("integer")
    elif "frac" in atoms:
        raise CannotNegate("non-integer numbers have no type of their own")
    return {"type": names[0] if len(names) == 1 else names}


def any_of(parts: list) -> Any:
    flat = []
    for p in parts:
        if p is True or p == {}:
            return True
        if p is False:
            continue
        if isinstance(p, dict) and set(p) == {"anyOf"}:
            flat.extend(p["anyOf"])
        else:
            flat.append(p)
    if not flat:
        return False
    return flat[0] if len(flat) == 1 else {"anyOf": flat}


def all_of(parts: list) -> Any:
    flat = []
    for p in parts:
        if p is False:
            return False
        if p is True or p == {}:
            continue
        if isinstance(p, dict) and set(p) == {"allOf"}:
            flat.extend(p["allOf"])
        else:
            flat.append(p)
    if not flat:
        return True
    return flat[0] if len(flat) == 1 else {"allOf": flat}


# ---------------------------------------------------------------- disjointness


def _valid(schema: Any, value: Any, ctx: Ctx) -> bool | None:
    import jsonschema

    try:
        root = {"$defs": ctx.defs, "allOf": [schema]}
        return jsonschema.Draft202012Validator(root).is_valid(value)
    except Exception:  # any failure means "don't know"
        return None


def _values(node: Any) -> list | None:
    if isinstance(node, dict):
        if "const" in node:
            return [node["const"]]
        if isinstance(node.get("enum"), list):
            return list(node["enum"])
    return None


def _num_range(node: dict) -> tuple[float, bool, float, bool]:
    lo, lo_x, hi, hi_x = -math.inf, False, math.inf, False
    for key, excl in (("minimum", False), ("exclusiveMinimum", True)):
        v = node.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (v > lo or (v == lo and excl)):
            lo, lo_x = v, excl
    for key, excl in (("maximum", False), ("exclusiveMaximum", True)):
        v = node.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (v < hi or (v == hi and excl)):
            hi, hi_x = v, excl
    return lo, lo_x, hi, hi_x


def _ranges_disjoint(a, b) -> bool:
    lo = max((a[0], a[1]), (b[0], b[1]))
    hi = min((a[2], not a[3]), (b[2], not b[3]))
    if lo[0] > hi[0]:
        return True
    return lo[0] == hi[0] and (lo[1] or not hi[1])


def _int_range(node: dict, lo_key: str, hi_key: str) -> tuple[float, bool, float, bool]:
    lo = node.get(lo_key, 0)
    hi = node.get(hi_key, math.inf)
    lo = lo if isinstance(lo, (int, float)) and not isinstance(lo, bool) else 0
    hi = hi if isinstance(hi, (int, float)) and not isinstance(hi, bool) else math.inf
    return lo, False, hi, False


def _prop(node: dict, key: str, ctx: Ctx) -> Any:
    """The schema a present property ``key`` must satisfy (None: unknown because of patternProperties)."""
    props = node.get("properties")
    if isinstance(props, dict) and key in props:
        return ctx.deref(props[key]) if isinstance(props[key], dict) else props[key]
    patterns = node.get("patternProperties")
    if patterns:
        import re

        try:
            if any(re.search(p, key) for p in patterns):
                return None
        except (re.error, TypeError):
            return None
    return node.get("additionalProperties", True)


def _required(node: dict) -> set:
    req = node.get("required")
    return set(req) if isinstance(req, list) else set()


def _objects_disjoint(a: dict, b: dict, ctx: Ctx, depth: int) -> bool:
    for x, y in ((a, b), (b, a)):
        for key in _required(x):
            py = _prop(y, key, ctx)
            if py is False:
                return True
            if key in _required(y):
                px = _prop(x, key, ctx)
                if px is not None and py is not None and disjoint(px, py, ctx, depth + 1):
                    return True
    return _ranges_disjoint(
        _int_range(a, "minProperties", "maxProperties"), _int_range(b, "minProperties", "maxProperties")
    )


def _arrays_disjoint(a: dict, b: dict, ctx: Ctx, depth: int) -> bool:
    if _ranges_disjoint(_int_range(a, "minItems", "maxItems"), _int_range(b, "minItems", "maxItems")):
        return True
    if (
        min(
            a.get("minItems", 0) if isinstance(a.get("minItems"), int) else 0,
            b.get("minItems", 0) if isinstance(b.get("minItems"), int) else 0,
        )
        >= 1
    ):
        fa = (a.get("prefixItems") or [a.get("items", True)])[0]
        fb = (b.get("prefixItems") or [b.get("items", True)])[0]
        return disjoint(fa, fb, ctx, depth + 1)
    return False


_QUANTIFIERS = set("?*+{")
_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-:/@#%=,;<>'\"!&~`")


def _top_level_bar(pattern: str) -> bool:
    """Is there an alternation ``|`` outside every group and character class?"""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


def literal_prefix(pattern: Any) -> str | None:
    """The literal text every string matching ``^...`` starts with (None: unanchored or alternation)."""
    if not isinstance(pattern, str) or not pattern.startswith("^") or _top_level_bar(pattern):
        return None
    out, i = [], 1
    while i < len(pattern):
        ch = pattern[i]
        if ch in _PLAIN:
            atom, width = ch, 1
        elif ch == "\\" and pattern[i + 1 : i + 2] in ESCAPED_LITERALS:
            atom, width = pattern[i + 1], 2
        else:
            break
        if pattern[i + width : i + width + 1] in _QUANTIFIERS and pattern[i + width : i + width + 1]:
            break  # the atom may repeat or vanish
        out.append(atom)
        i += width
    return "".join(out)


def _prefixes_disjoint(p: Any, q: Any) -> bool:
    a, b = literal_prefix(p), literal_prefix(q)
    if a is None or b is None:
        return False
    n = min(len(a), len(b))
    return a[:n] != b[:n]


def _on_atom(atom: str, a: dict, b: dict, ctx: Ctx, depth: int) -> bool:
    if atom == "object":
        return _objects_disjoint(a, b, ctx, depth)
    if atom == "array":
        return _arrays_disjoint(a, b, ctx, depth)
    if atom == "string":
        if _prefixes_disjoint(a.get("pattern"), b.get("pattern")):
            return True
        return _ranges_disjoint(_int_range(a, "minLength", "maxLength"), _int_range(b, "minLength", "maxLength"))
    if atom in ("int", "frac"):
        return _ranges_disjoint(_num_range(a), _num_range(b))
    return False


def disjoint(a: Any, b: Any, ctx: Ctx, depth: int = 0, within: frozenset = ATOMS) -> bool:
    """True only if no JSON value whose type is in ``within`` is valid under both ``a`` and ``b``."""
    if depth > _DEPTH:
        return False
    try:
        a, b = ctx.deref(a), ctx.deref(b)
    except CannotNegate:
        return False
    if a is False or b is False:
        return True
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    shared = types_of(a, ctx) & types_of(b, ctx) & within
    if not shared:
        return True
    for x, y in ((a, b), (b, a)):
        if "not" in x and conjunct(y, x["not"], ctx):
            return True
        vals = _values(x)
        if vals is not None and all(_valid(y, v, ctx) is False for v in vals):
            return True
        for key, comb in (("allOf", any), ("anyOf", all), ("oneOf", all)):
            subs = x.get(key)
            if isinstance(subs, list) and subs and comb(disjoint(s, y, ctx, depth + 1) for s in subs):
                return True
        if isinstance(x.get("$ref"), str):
            try:
                if disjoint(ctx.target(x["$ref"]), y, ctx, depth + 1):
                    return True
            except CannotNegate:
                pass
    return all(_on_atom(t, a, b, ctx, depth) for t in shared)


def conjunct(node: Any, part: Any, ctx: Ctx, depth: int = 0) -> bool:
    """Structurally, does ``node`` require ``part`` (itself, an ``allOf`` member, the same ``$ref``)?"""
    if part is True or part == {} or node == part:
        return True
    if depth > _DEPTH or not isinstance(node, dict):
        return False
    if isinstance(part, dict) and set(part) == {"$ref"}:
        if node.get("$ref") == part["$ref"]:
            return True
        with contextlib.suppress(CannotNegate):
            if node == ctx.deref(part):
                return True
    members = node.get("allOf")
    return isinstance(members, list) and any(conjunct(m, part, ctx, depth + 1) for m in members)


# ---------------------------------------------------------------- negation


def _not_values(values: list, within: frozenset = ATOMS) -> Any:
    atoms = {atom_of(v) for v in values}
    values = [v for v in values if atom_of(v) in within or (atom_of(v) in ("int", "frac") and within & {"int", "frac"})]
    compounds = [v for v in values if isinstance(v, (list, dict))]
    if compounds:
        scalars = [v for v in values if not isinstance(v, (list, dict))]
        return all_of([*([_not_values(scalars, within)] if scalars else []), *(_not_compound(v) for v in compounds)])
    parts = []
    free = set(ATOMS - atoms - {"int", "frac"})
    if free:
        parts.append(type_schema(free))
    if "boolean" in atoms:
        bools = {v for v in values if isinstance(v, bool)}
        if len(bools) == 1:
            parts.append({"const": not next(iter(bools))})
    nums = sorted({float(v) for v in values if atom_of(v) in ("int", "frac")})
    if nums:
        if len(nums) > 64:
            raise CannotNegate("too many numbers to exclude")
        parts.append({"type": "number", "exclusiveMaximum": _num(nums[0])})
        for lo, hi in itertools.pairwise(nums):
            edge = _engine_range_leak(lo, hi)
            if edge is not None:
                raise CannotNegate(f"the engine's range ({_num(lo)}, {_num(hi)}) would accept {_num(edge)}")
            parts.append({"type": "number", "exclusiveMinimum": _num(lo), "exclusiveMaximum": _num(hi)})
        parts.append({"type": "number", "exclusiveMinimum": _num(nums[-1])})
    else:
        parts.append({"type": "number"})
    strings = [v for v in values if isinstance(v, str)]
    if strings:
        parts.append({"type": "string", "pattern": literal_complement(strings)})
    return any_of(parts)


def _engine_range_leak(lo: float, hi: float) -> float | None:
    """The excluded integer endpoint llguidance 1.9.1 accepts for the open range (lo, hi), if any: an
    integer ``lo >= 0`` with ``hi < lo + 1`` (0 in (0, 0.5)), or an integer ``hi < 0`` with ``lo > hi - 1``."""
    if lo.is_integer() and lo >= 0 and hi < lo + 1:
        return lo
    if hi.is_integer() and hi < 0 and lo > hi - 1:
        return hi
    return None


def _not_compound(value: list | dict) -> Any:
    """Everything but one array or object: another type, another size, a key missing, or one member differing."""
    if isinstance(value, list):
        parts = [type_schema(ATOMS - {"array"}), {"type": "array", "minItems": len(value) + 1}]
        if value:
            parts.append({"type": "array", "maxItems": len(value) - 1})
        for i, item in enumerate(value):
            prefix = [True] * i + [_not_values([item])]
            parts.append({"type": "array", "minItems": i + 1, "prefixItems": prefix})
        return any_of(parts)
    keys = list(value)
    more = {"type": "object", "minProperties": len(keys) + 1, **({"required": keys} if keys else {})}
    parts = [type_schema(ATOMS - {"object"}), more]
    for k in keys:
        parts.append({"type": "object", "properties": {k: False}})
        parts.append({"type": "object", "required": [k], "properties": {k: _not_values([value[k]])}})
    return any_of(parts)


def _num(x: float) -> int | float:
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


_SCALAR_NEGATIONS = {
    "minLength": ("string", "maxLength", -1),
    "maxLength": ("string", "minLength", 1),
    "minItems": ("array", "maxItems", -1),
    "maxItems": ("array", "minItems", 1),
    "minProperties": ("object", "maxProperties", -1),
    "maxProperties": ("object", "minProperties", 1),
}
_BOUND_NEGATIONS = {
    "minimum": "exclusiveMaximum",
    "maximum": "exclusiveMinimum",
    "exclusiveMinimum": "maximum",
    "exclusiveMaximum": "minimum",
}


def _negate_keyword(key: str, value: Any, node: dict, ctx: Ctx, depth: int, within: frozenset) -> Any:
    if key == "type":
        names = [value] if isinstance(value, str) else value
        atoms = ATOMS - set().union(*(_OF_TYPE.get(n, set()) for n in names))
        if "frac" in atoms and "int" not in atoms and "frac" not in within:
            atoms -= {"frac"}  # the context already rejects numbers
        return type_schema(atoms)
    if key == "const":
        return _not_values([value], within)
    if key == "enum":
        return _not_values(list(value), within)
    if key == "required":
        return any_of([{"type": "object", "properties": {k: False}} for k in value])
    if key in _SCALAR_NEGATIONS:
        t, other, delta = _SCALAR_NEGATIONS[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise CannotNegate(key)
        bound = value + delta
        return False if bound < 0 else {"type": t, other: bound}
    if key in _BOUND_NEGATIONS:
        return {"type": "number", _BOUND_NEGATIONS[key]: value}
    if key == "properties":
        if node.get("patternProperties") or "additionalProperties" in node:
            raise CannotNegate("properties with patternProperties/additionalProperties")
        return any_of(
            [
                {"type": "object", "required": [k], "properties": {k: negate(s, ctx, depth + 1)}}
                for k, s in value.items()
            ]
        )
    if key == "items" and not node.get("prefixItems"):
        raise CannotNegate("items")
    if key == "anyOf":
        return all_of([negate(s, ctx, depth + 1, within) for s in value])
    if key == "allOf":
        return any_of([negate(s, ctx, depth + 1, within) for s in value])
    if key == "oneOf":
        if all(disjoint(x, y, ctx, within=within) for i, x in enumerate(value) for y in value[i + 1 :]):
            return all_of([negate(s, ctx, depth + 1, within) for s in value])
        raise CannotNegate("oneOf with overlapping branches")
    if key == "not":
        return value
    if key == "$ref":
        return negate(ctx.target(value), ctx, depth + 1, within)
    if key == "pattern":
        return {"type": "string", "pattern": _pattern_complement(value)}
    raise CannotNegate(key)


def _pattern_complement(pattern: Any) -> str:
    if not isinstance(pattern, str):
        raise CannotNegate("pattern")
    with contextlib.suppress(CannotNegate):
        return literal_complement(_pattern_literals(pattern))
    other = class_complement(pattern)
    if other is None:
        raise CannotNegate("pattern")
    return other


def _pattern_literals(pattern: str) -> list[str]:
    """``^(a|b|c)$``-style patterns: the finite set they match, or CannotNegate."""
    import re

    m = re.fullmatch(r"\^\(?((?:[A-Za-z0-9_ \-]+\|)*[A-Za-z0-9_ \-]+)\)?\$", pattern)
    if not m:
        raise CannotNegate("pattern")
    words = m.group(1).split("|")
    return words + [w + "\n" for w in words]  # Python's ``$`` also matches before a final newline


_GROUPED = {
    "additionalProperties",
    "patternProperties",
    "prefixItems",
    "then",
    "else",
    "if",
    "minContains",
    "maxContains",
    "unevaluatedProperties",
    "unevaluatedItems",
}


def negate(node: Any, ctx: Ctx, depth: int = 0, within: frozenset = ATOMS) -> Any:
    """A schema accepting exactly the instances ``node`` rejects (raises CannotNegate).

    With ``within``, exact only for instances whose type is in ``within`` (the caller's context rejects
    every other type).
    """
    if depth > _DEPTH:
        raise CannotNegate("too deep")
    if node is True:
        return False
    if node is False:
        return True
    if not isinstance(node, dict):
        raise CannotNegate("not a schema")
    parts = []
    for key, value in node.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key in ("additionalProperties", "patternProperties") and "properties" not in node:
            if key == "additionalProperties" and value is False and not node.get("patternProperties"):
                parts.append({"type": "object", "minProperties": 1})
                continue
            raise CannotNegate(key)
        if key in _GROUPED:
            if key in ("additionalProperties", "patternProperties"):
                continue  # handled (and refused) together with ``properties``
            raise CannotNegate(key)
        if key == "uniqueItems" and value is False:
            continue
        if key == "format":
            raise CannotNegate("format")
        if key not in ASSERTIONS:
            continue  # unknown keywords are annotations
        parts.append(_negate_keyword(key, value, node, ctx, depth, within))
    return any_of(parts)
