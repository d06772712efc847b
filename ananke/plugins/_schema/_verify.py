"""Independent verification of an instance with the ``jsonschema`` package."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ._formats import FORMAT_REGEXES, FORMATS_NATIVE
from ._walk import iter_children

__all__ = ["verify_instance", "validator_class"]


def _legacy_style(node: Any) -> str | None:
    """'draft4'/'draft7' when a schema without ``$schema`` uses syntax only older drafts define."""
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("exclusiveMinimum"), bool) or isinstance(node.get("exclusiveMaximum"), bool):
        return "draft4"
    found = "draft7" if (isinstance(node.get("items"), list) or "dependencies" in node
                         or "additionalItems" in node) else None
    for _, child in iter_children(node):
        sub = _legacy_style(child)
        if sub == "draft4":
            return sub
        found = found or sub
    return found


def validator_class(schema: Any):
    import jsonschema
    from jsonschema.validators import validator_for

    if isinstance(schema, dict) and "$schema" in schema:
        return validator_for(schema, default=jsonschema.Draft202012Validator)
    style = _legacy_style(schema)
    return {"draft4": jsonschema.Draft4Validator, "draft7": jsonschema.Draft7Validator}.get(
        style, jsonschema.Draft202012Validator)


def _format_checker(cls):
    import jsonschema

    base = cls.FORMAT_CHECKER
    enforced = (FORMATS_NATIVE | set(FORMAT_REGEXES)) - {"unknown"}
    checker = jsonschema.FormatChecker(formats=[f for f in enforced if f in base.checkers])
    for name, regex in FORMAT_REGEXES.items():
        if name not in checker.checkers:
            compiled = re.compile(regex)
            checker.checks(name)(lambda value, _r=compiled: not isinstance(value, str) or bool(_r.search(value)))
    return checker


def verify_instance(original_schema: Any, instance: Any, *, remotes: Mapping[str, Any] | None = None) -> list[str]:
    """Errors of ``instance`` under ``original_schema`` (empty when valid), with format checks."""
    import referencing
    import referencing.jsonschema as rj

    cls = validator_class(original_schema)
    registry = referencing.Registry()
    for uri, doc in (remotes or {}).items():
        registry = registry.with_resource(uri, rj.specification_with(
            doc.get("$schema", "") if isinstance(doc, dict) else "", default=rj.DRAFT202012).create_resource(doc))
    validator = cls(original_schema, format_checker=_format_checker(cls), registry=registry)
    errors = []
    for err in validator.iter_errors(instance):
        path = "".join(f"/{p}" for p in err.absolute_path)
        errors.append(f"{path or '/'}: {err.message}")
    return errors
