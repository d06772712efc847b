"""Independent verification of an instance with the ``jsonschema`` package.

``pattern``, ``patternProperties`` and ``additionalProperties`` match with
:func:`ananke.core._linear_re.bounded_search` instead of Python's backtracking ``re``: the
instance is untrusted model output, and ``(a+)+b`` against a run of ``a`` would take exponential time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from ananke.core._linear_re import bounded_search

from ._formats import FORMAT_REGEXES, FORMATS_NATIVE
from ._walk import iter_children

__all__ = ["metaschema_error", "validator_class", "verify_instance"]


def _legacy_style(node: Any) -> str | None:
    """'draft4'/'draft7' when a schema without ``$schema`` uses syntax only older drafts define."""
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("exclusiveMinimum"), bool) or isinstance(node.get("exclusiveMaximum"), bool):
        return "draft4"
    found = (
        "draft7"
        if (isinstance(node.get("items"), list) or "dependencies" in node or "additionalItems" in node)
        else None
    )
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
    legacy = {"draft4": jsonschema.Draft4Validator, "draft7": jsonschema.Draft7Validator}
    style = _legacy_style(schema)
    return legacy[style] if style else jsonschema.Draft202012Validator


def _search(pattern: str, text: str) -> bool:
    found = bounded_search(pattern, text)
    if found is None:
        raise _Undecided(pattern)
    return found


class _Undecided(Exception):
    """A pattern the bounded search could not decide in time."""


def _short(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _pattern(validator, patrn, instance, schema):
    from jsonschema import ValidationError

    if validator.is_type(instance, "string"):
        try:
            if not _search(patrn, instance):
                yield ValidationError(f"{_short(instance)} does not match {patrn!r}")
        except _Undecided:
            yield ValidationError(f"could not check {_short(instance)} against {patrn!r} in time")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in patterns.items():
        for key, value in instance.items():
            if _matches_or_error(validator, patrn, key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def _matches_or_error(validator, patrn: str, key: str) -> bool:
    try:
        return _search(patrn, key)
    except _Undecided:
        return True  # descend: the subschema decides, and an undecided key never passes silently


def _additional_properties(validator, ap, instance, schema):
    from jsonschema import ValidationError

    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = []
    for key in instance:
        if key in properties:
            continue
        try:
            if any(_search(p, key) for p in patterns):
                continue
        except _Undecided:
            yield ValidationError(f"could not check property {_short(key)} against patternProperties in time")
            continue
        extras.append(key)
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif ap is False and extras:
        listed = ", ".join(_short(k) for k in sorted(extras)[:10])
        yield ValidationError(f"Additional properties are not allowed ({listed} unexpected)")


@cache  # one class per draft: building it (attrs, compile) cost more than validating an output
def _linear(cls):
    """``cls`` with the regex keywords matched in bounded time."""
    from jsonschema.validators import extend

    return extend(
        cls,
        {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties},
    )


@cache  # one checker per draft, read-only once built
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
        registry = registry.with_resource(
            uri,
            rj.specification_with(
                doc.get("$schema", "") if isinstance(doc, dict) else "", default=rj.DRAFT202012
            ).create_resource(doc),
        )
    validator = _linear(cls)(original_schema, format_checker=_format_checker(cls), registry=registry)
    errors = []
    for err in validator.iter_errors(instance):
        path = "".join(f"/{p}" for p in err.absolute_path)
        errors.append(f"{path or '/'}: {err.message}")
    return errors


def metaschema_error(schema: Any) -> tuple[str, str] | None:
    """``(JSON Pointer, message)`` of the most relevant way ``schema`` breaks its draft's
    metaschema (``properties: 5``), or None when it conforms."""
    from jsonschema.exceptions import best_match

    cls = validator_class(schema)
    try:
        error = best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    except Exception:  # a metaschema that cannot run is no diagnosis
        return None
    if error is None:
        return None
    return "".join(f"/{p}" for p in error.absolute_path), error.message
