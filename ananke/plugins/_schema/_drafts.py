"""Draft-04/06/07/2019-09 keyword forms rewritten to their draft 2020-12 equivalents.

Applied per schema object (the bundler calls it on every node with that node's dialect):

* boolean ``exclusiveMinimum``/``exclusiveMaximum`` (draft-04) → numeric form;
* ``items: [...]`` + ``additionalItems`` → ``prefixItems`` + ``items``;
* ``dependencies`` → ``dependentRequired`` (array values) / ``dependentSchemas`` (schema values).

Forms that are unambiguous legacy syntax are rewritten even without a ``$schema``: under 2020-12 they
are either invalid or ignored, so enforcing the legacy meaning never accepts more.
(``id`` and ``definitions`` are handled by the bundler, which resolves references per dialect.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["normalize_legacy"]


def _exclusive(node: dict, excl: str, bound: str) -> None:
    flag = node.get(excl)
    if not isinstance(flag, bool):
        return
    del node[excl]
    if flag and isinstance(node.get(bound), (int, float)) and not isinstance(node.get(bound), bool):
        node[excl] = node.pop(bound)


def _items(node: dict) -> None:
    items = node.get("items")
    if not isinstance(items, list):
        node.pop("additionalItems", None)  # ignored unless ``items`` is an array
        return
    prefix = node.pop("items")
    node["prefixItems"] = prefix
    if "additionalItems" in node:
        node["items"] = node.pop("additionalItems")


def _dependencies(node: dict) -> None:
    deps = node.get("dependencies")
    if not isinstance(deps, dict):
        return
    del node["dependencies"]
    required = {k: v for k, v in deps.items() if isinstance(v, list)}
    schemas = {k: v for k, v in deps.items() if not isinstance(v, list)}
    if required:
        node["dependentRequired"] = (
            {**node.get("dependentRequired", {}), **required}
            if isinstance(node.get("dependentRequired"), dict)
            else required
        )
    if schemas:
        node["dependentSchemas"] = (
            {**node.get("dependentSchemas", {}), **schemas}
            if isinstance(node.get("dependentSchemas"), dict)
            else schemas
        )


def normalize_legacy(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = dict(node)
    _exclusive(node, "exclusiveMinimum", "minimum")
    _exclusive(node, "exclusiveMaximum", "maximum")
    _items(node)
    _dependencies(node)
    return node
