"""Traversal helpers: which keywords hold subschemas, and JSON Pointer escaping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["LISTS", "MAPS", "SINGLE", "escape", "is_schema", "iter_children", "map_children"]

SINGLE = (
    "additionalProperties",
    "additionalItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def is_schema(value: Any) -> bool:
    return isinstance(value, (dict, bool))


def iter_children(node: dict) -> Iterator[tuple[str, Any]]:
    """Yield (relative pointer, subschema) for every direct subschema of ``node``."""
    for key in SINGLE:
        if key in node and is_schema(node[key]):
            yield "/" + key, node[key]
    for key in MAPS:
        if isinstance(node.get(key), dict):
            for name, sub in node[key].items():
                if is_schema(sub):
                    yield f"/{key}/{escape(name)}", sub
    for key in LISTS:
        if isinstance(node.get(key), list):
            for i, sub in enumerate(node[key]):
                if is_schema(sub):
                    yield f"/{key}/{i}", sub
    items = node.get("items")
    if is_schema(items):
        yield "/items", items
    elif isinstance(items, list):
        for i, sub in enumerate(items):
            if is_schema(sub):
                yield f"/items/{i}", sub
    deps = node.get("dependencies")
    if isinstance(deps, dict):
        for name, sub in deps.items():
            if is_schema(sub):
                yield f"/dependencies/{escape(name)}", sub


def map_children(node: dict, fn: Callable[[Any, str], Any], ptr: str = "") -> dict:
    """A shallow copy of ``node`` with ``fn(child, pointer)`` applied to every direct subschema."""
    out = dict(node)
    for key in SINGLE:
        if key in node and is_schema(node[key]):
            out[key] = fn(node[key], f"{ptr}/{key}")
    for key in MAPS:
        if isinstance(node.get(key), dict):
            out[key] = {
                name: (fn(sub, f"{ptr}/{key}/{escape(name)}") if is_schema(sub) else sub)
                for name, sub in node[key].items()
            }
    for key in LISTS:
        if isinstance(node.get(key), list):
            out[key] = [fn(sub, f"{ptr}/{key}/{i}") if is_schema(sub) else sub for i, sub in enumerate(node[key])]
    items = node.get("items")
    if is_schema(items):
        out["items"] = fn(items, f"{ptr}/items")
    elif isinstance(items, list):
        out["items"] = [fn(sub, f"{ptr}/items/{i}") if is_schema(sub) else sub for i, sub in enumerate(items)]
    deps = node.get("dependencies")
    if isinstance(deps, dict):
        out["dependencies"] = {
            name: (fn(sub, f"{ptr}/dependencies/{escape(name)}") if is_schema(sub) else sub)
            for name, sub in deps.items()
        }
    return out
