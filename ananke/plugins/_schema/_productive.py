"""Does a schema admit any finite document? ``$ref`` cycles with no base case do not.

``{"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`` or an object whose required
property is, again, the same object describe no finite JSON document: llguidance compiles them
and generation can only fail. A node is *productive* when some finite instance satisfies it; the
check is conservative (it answers "productive" whenever it is unsure) and only proves emptiness
through ``$ref`` cycles, ``false``, ``allOf``/``anyOf``/``oneOf``, required properties and
required array items.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unproductive_ref"]

_BUDGET = 20_000  # nodes visited before giving up (and answering "productive")


class _Unsure(Exception):
    pass


def _resolve(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        raise _Unsure
    node = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _Unsure
    return node


class _Checker:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.steps = 0
        self.known: set[str] = set()  # refs proven productive
        self.failed_ref: str | None = None

    def productive(self, node: Any, stack: tuple[str, ...]) -> bool:
        self.steps += 1
        if self.steps > _BUDGET:
            raise _Unsure
        if node is False:
            return False
        if not isinstance(node, dict):
            return True
        return all(check(node, stack) for check in (self._ref, self._combinators, self._required, self._items))

    def _ref(self, node: dict, stack: tuple[str, ...]) -> bool:
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref in self.known:
            return True
        if ref in stack:
            self.failed_ref = self.failed_ref or ref
            return False
        ok = self.productive(_resolve(self.root, ref), (*stack, ref))
        if ok:
            self.known.add(ref)
        return ok

    def _combinators(self, node: dict, stack: tuple[str, ...]) -> bool:
        all_of = node.get("allOf")
        if isinstance(all_of, list) and not all(self.productive(p, stack) for p in all_of):
            return False
        for key in ("anyOf", "oneOf"):
            parts = node.get(key)
            if isinstance(parts, list) and parts and not any(self.productive(p, stack) for p in parts):
                return False
        return True

    def _required(self, node: dict, stack: tuple[str, ...]) -> bool:
        required, props = node.get("required"), node.get("properties")
        if not isinstance(required, list) or not isinstance(props, dict):
            return True
        return all(self.productive(props[name], stack) for name in required if isinstance(name, str) and name in props)

    def _items(self, node: dict, stack: tuple[str, ...]) -> bool:
        min_items = node.get("minItems", 0)
        if not isinstance(min_items, int) or min_items < 1:
            return True
        prefix = node.get("prefixItems")
        if isinstance(prefix, list):
            return all(self.productive(p, stack) for p in prefix[:min_items])
        items = node.get("items")
        return not isinstance(items, (dict, bool)) or self.productive(items, stack)


def unproductive_ref(schema: Any) -> str | None:
    """The ``$ref`` of a cycle with no base case when ``schema`` admits no finite document, else None
    (``""`` when it is empty for another reason, such as a required ``false``)."""
    checker = _Checker(schema)
    try:
        if checker.productive(schema, ()):
            return None
    except (_Unsure, RecursionError):
        return None
    return checker.failed_ref or ""
