"""``$ref`` resolution and bundling.

Every ``$ref`` (and statically resolvable ``$dynamicRef``) is resolved with the ``referencing`` library
— honouring ``$id``/``id`` base URIs, anchors, relative references, embedded (bundled) resources and
caller-supplied remote documents — and rewritten to ``#/$defs/_aN``, where ``_aN`` holds a copy of
the target with its own references rewritten the same way. Identifiers, anchors and the original
definition containers are dropped: after bundling the schema is self-contained, position-independent
and every subschema can be rewritten in place without breaking references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import referencing
import referencing.exceptions
import referencing.jsonschema as rj

from ._drafts import normalize_legacy
from ._errors import SchemaUnsupported
from ._walk import iter_children, map_children

__all__ = ["LEGACY", "bundle", "legacy_ref_siblings", "spec_of"]

_DEFAULT = rj.DRAFT202012
LEGACY = (rj.DRAFT3, rj.DRAFT4, rj.DRAFT6, rj.DRAFT7)
_DROP = {
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$recursiveAnchor",
    "$defs",
    "definitions",
    "$schema",
    "$comment",
    "$ref",
    "$dynamicRef",
    "$vocabulary",
}


def spec_of(node: Any, default=_DEFAULT):
    if isinstance(node, dict) and isinstance(node.get("$schema"), str):
        return (
            rj.specification_with(node["$schema"].rstrip("#") or "", default=default)
            if _known(node["$schema"])
            else default
        )
    return default


_INERT = {
    "title",
    "description",
    "default",
    "examples",
    "$comment",
    "$schema",
    "$id",
    "id",
    "definitions",
    "$defs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "markdownDescription",
}


def legacy_ref_siblings(node: Any, spec=None) -> bool:
    """Does a draft-03..07 ``$ref`` have sibling keywords? Those drafts ignore them; llguidance
    intersects them with the target (stricter than the document), so such a schema needs bundling."""
    if not isinstance(node, dict):
        return False
    spec = spec_of(node, spec or _DEFAULT)
    if (
        spec in LEGACY
        and isinstance(node.get("$ref"), str)
        and any(k != "$ref" and k not in _INERT and not k.startswith("x-") for k in node)
    ):
        return True
    return any(legacy_ref_siblings(child, spec) for _, child in iter_children(node))


def _known(uri: str) -> bool:
    try:
        rj.specification_with(uri)
        return True
    except rj.UnknownDialect:
        try:
            rj.specification_with(uri.rstrip("#"))
            return True
        except rj.UnknownDialect:
            return False


def _pointers(node: Any, ptr: str, out: dict[int, str]) -> None:
    if isinstance(node, dict):
        out.setdefault(id(node), ptr)
        for rel, child in iter_children(node):
            _pointers(child, ptr + rel, out)


def _count_dynamic_anchors(node: Any, name: str) -> int:
    if isinstance(node, dict):
        n = int(node.get("$dynamicAnchor") == name)
        return n + sum(_count_dynamic_anchors(c, name) for _, c in iter_children(node))
    return 0


class _Bundler:
    def __init__(self, root: dict, remotes: Mapping[str, Any]):
        self.root = root
        self.remotes = remotes
        self.names: dict[int, str] = {}
        self.defs: dict[str, Any] = {}
        self.origin: dict[str, str] = {}
        self.queue: list[tuple[str, Any, Any, Any]] = []
        self.where: dict[int, str] = {}
        _pointers(root, "", self.where)
        for uri, doc in remotes.items():
            _pointers(doc, f"{uri}#", self.where)

    def resolve(self, ref: str, resolver, spec, ptr: str, dynamic: bool = False) -> str:
        try:
            resolved = resolver.lookup(ref)
        except (
            referencing.exceptions.Unresolvable,
            referencing.exceptions.PointerToNowhere,
            KeyError,
            ValueError,
        ) as exc:
            kw = "$dynamicRef" if dynamic else "$ref"
            raise SchemaUnsupported(ptr, f"cannot resolve {kw} {ref!r}: {type(exc).__name__}", kw) from None
        target = resolved.contents
        if dynamic and isinstance(target, dict) and "$dynamicAnchor" in target:
            name = target["$dynamicAnchor"]
            total = _count_dynamic_anchors(self.root, name) + sum(
                _count_dynamic_anchors(d, name) for d in self.remotes.values()
            )
            if total > 1:
                raise SchemaUnsupported(ptr, f"$dynamicRef {ref!r} depends on the dynamic scope", "$dynamicRef")
        key = id(target)
        if key not in self.names:
            name = f"_a{len(self.names)}"
            self.names[key] = name
            self.origin[name] = self.where.get(key, ptr)
            self.queue.append((name, target, resolved.resolver, spec_of(target, spec)))
        return "#/$defs/" + self.names[key]

    def node(self, node: Any, resolver, spec, ptr: str) -> Any:
        if not isinstance(node, dict):
            return node
        spec = spec_of(node, spec)
        resource = spec.create_resource(node)
        if resource.id() is not None:
            resolver = resolver.in_subresource(resource)
        legacy = spec in LEGACY
        ref = self.resolve(node["$ref"], resolver, spec, ptr + "/$ref") if isinstance(node.get("$ref"), str) else None
        if legacy and ref is not None:
            return {"$ref": ref}
        out = {k: v for k, v in node.items() if k not in _DROP and not (k == "id" and legacy and isinstance(v, str))}
        out = normalize_legacy(map_children(out, lambda child, p: self.node(child, resolver, spec, p), ptr))
        if ref is not None:
            out["$ref"] = ref
        if isinstance(node.get("$dynamicRef"), str):
            dyn = self.resolve(node["$dynamicRef"], resolver, spec, ptr + "/$dynamicRef", dynamic=True)
            if "$ref" in out:
                out = {"allOf": [{"$ref": out.pop("$ref")}, {"$ref": dyn}], **out}
            else:
                out["$ref"] = dyn
        return out

    def run(self) -> Any:
        spec = spec_of(self.root)
        registry = referencing.Registry()
        for uri, doc in self.remotes.items():
            doc_spec = spec_of(doc, spec) if isinstance(doc, dict) else _DEFAULT
            registry = registry.with_resource(uri, doc_spec.create_resource(doc))
        resource = spec.create_resource(self.root)
        base = resource.id() or ""
        registry = registry.with_resource(base, resource).crawl()
        resolver = registry.resolver(base_uri=base)
        top = self.node(self.root, resolver, spec, "")
        while self.queue:
            name, target, res, tspec = self.queue.pop(0)
            self.defs[name] = self.node(target, res, tspec, self.origin[name])
        if self.defs:
            top = {**top, "$defs": self.defs} if isinstance(top, dict) else top
        return top


def bundle(schema: Any, remotes: Mapping[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
    """Return ``(bundled schema, {def name: original pointer})``."""
    if not isinstance(schema, dict):
        return schema, {}
    b = _Bundler(schema, dict(remotes or {}))
    try:
        out = b.run()
    except RecursionError:
        raise SchemaUnsupported("", "schema nesting too deep", None) from None
    except (AttributeError, TypeError) as exc:  # e.g. a non-string ``id``, a list where a schema belongs
        from ._verify import metaschema_error

        located = metaschema_error(schema)
        if located is not None:
            raise SchemaUnsupported(located[0], f"malformed schema: {located[1]}", None) from None
        raise SchemaUnsupported("", f"malformed schema: {exc}", None) from None
    return out, b.origin
