"""llguidance 1.9.1's open-range leak, found where a prepared schema would meet it.

The engine accepts the integer ``n`` itself for ``exclusiveMinimum: n`` (integer ``n >= 0``) when the upper
bound is below ``n + 1`` (``0`` in ``(0, 0.5]``), and ``n`` for ``exclusiveMaximum: n`` (integer ``n < 0``)
when the lower bound is above ``n - 1``. It intersects ``allOf`` bounds and distributes a node's bounds over
its ``anyOf``/``oneOf`` branches, so the bounds are accumulated the same way before checking.
"""

from __future__ import annotations

import math
from typing import Any

from ._algebra import _num_range
from ._walk import iter_children

__all__ = ["range_leaks"]

_FREE = (-math.inf, False, math.inf, False)
_BRANCHES = ("/anyOf/", "/oneOf/", "/allOf/")
_DEPTH = 60


def _meet(a: tuple, b: tuple) -> tuple:
    lo = max((a[0], a[1]), (b[0], b[1]))
    hi = min((a[2], not a[3]), (b[2], not b[3]))
    return lo[0], lo[1], hi[0], not hi[1]


def _leak(b: tuple) -> float | None:
    lo, lo_x, hi, hi_x = b
    if lo_x and math.isfinite(lo) and float(lo).is_integer() and lo >= 0 and hi < lo + 1:
        return lo
    if hi_x and math.isfinite(hi) and float(hi).is_integer() and hi < 0 and lo > hi - 1:
        return hi
    return None


class _Finder:
    def __init__(self, defs: dict):
        self.defs = defs
        self.seen: set[tuple] = set()
        self.found: list[tuple[str, float]] = []

    def target(self, node: dict) -> Any:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return self.defs.get(ref.rsplit("/", 1)[-1])
        return None

    def bounds(self, node: Any, depth: int = 0) -> tuple:
        """The node's own bounds met with those of its ``allOf`` members and ``$ref`` target."""
        if not isinstance(node, dict) or depth > _DEPTH:
            return _FREE
        b = _num_range(node)
        for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
            b = _meet(b, self.bounds(sub, depth + 1))
        return _meet(b, self.bounds(self.target(node), depth + 1))

    def visit(self, node: Any, ptr: str, inherited: tuple, depth: int) -> None:
        if not isinstance(node, dict) or depth > _DEPTH:
            return
        b = _meet(inherited, self.bounds(node))
        edge = _leak(b)
        if edge is not None and _leak(inherited) is None:
            self.found.append((ptr, edge))
        for rel, child in iter_children(node):
            if rel.startswith(("/$defs/", "/definitions/")):
                continue  # reached through ``$ref``
            self.visit(child, ptr + rel, b if rel.startswith(_BRANCHES) else _FREE, depth + 1)
        target = self.target(node)
        key = (node.get("$ref"), b)
        if target is not None and key not in self.seen:
            self.seen.add(key)
            self.visit(target, node["$ref"][1:], b, depth + 1)


def range_leaks(schema: Any) -> list[tuple[str, float]]:
    """(JSON Pointer, the integer the engine would wrongly accept) for each leaking range."""
    if not isinstance(schema, dict):
        return []
    defs = schema.get("$defs")
    finder = _Finder(defs if isinstance(defs, dict) else {})
    finder.visit(schema, "", _FREE, 0)
    return finder.found
