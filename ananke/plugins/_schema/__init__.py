"""JSON Schema preparation for the ``json_schema`` plugin: exact rewriting, strictness, verification.

``prepare_schema`` turns a user's schema into one llguidance compiles *exactly* (the same set of
instances): references are bundled, legacy draft forms normalized, and keywords llguidance lacks
(``not``, ``oneOf``, ``if``/``then``/``else``, ``dependentRequired``/``dependentSchemas``,
``uniqueItems``, ``contains``, ``propertyNames``, several formats, ``min/maxProperties`` next to
optional properties) rewritten where an exact form exists. What cannot be made exact raises :class:`SchemaUnsupported` in strict mode (the default); in
lenient mode it is dropped or weakened with a warning naming its JSON Pointer, ``exact`` is False,
and outputs must be checked with :func:`verify_instance`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ananke.core._lowering import defer_engine_check

from ._check import enforce, engine_error
from ._errors import SchemaUnsupported
from ._formats import FORMATS_NATIVE
from ._ranges import range_leaks
from ._refs import bundle, legacy_ref_siblings
from ._rewrite import rewrite
from ._verify import verify_instance
from ._walk import iter_children

__all__ = ["PreparedSchema", "SchemaUnsupported", "prepare_schema", "verify_instance"]


@dataclass
class PreparedSchema:
    schema: Any
    warnings: list[str] = field(default_factory=list)
    exact: bool = True


def _bundle(schema: dict, remotes, strict: bool, warnings: list[str]):
    """Bundle references; lenient mode replaces unresolvable ones with ``true`` (and warns)."""
    for _ in range(100):
        try:
            return bundle(schema, remotes)
        except SchemaUnsupported as exc:
            if strict or not exc.pointer.endswith(("/$ref", "/$dynamicRef")):
                raise
            warnings.append(f"{exc.pointer}: {exc.message}; not enforced, output is verified")
            schema = _drop_at(schema, exc.pointer)
    raise SchemaUnsupported("", "too many unresolvable references", "$ref")


def _drop_at(schema: dict, pointer: str) -> dict:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    import copy

    out = copy.deepcopy(schema)
    node: Any = out
    for key in parts[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node.pop(parts[-1], None)
    return out


def _needs_remotes(schema: dict, remotes: Mapping[str, Any] | None) -> bool:
    return bool(remotes) and '"$ref"' in json.dumps(schema)


def _foreign_format(node: Any) -> bool:
    """Does a subschema name a format llguidance does not enforce (it ignores some, e.g. on integers)?"""
    if not isinstance(node, dict):
        return False
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt not in FORMATS_NATIVE:
        return True
    return any(_foreign_format(child) for _, child in iter_children(node))


def _leaks(schema: Any, strict: bool) -> list[str]:
    """llguidance's open-range leak (``_ranges.py``): an error in strict mode, else warnings (verified)."""
    out = []
    for ptr, edge in range_leaks(schema):
        message = (
            f"llguidance 1.9.1 would accept {int(edge)} here, outside this open number range "
            "(an integer bound within one unit of the other bound)"
        )
        if strict:
            raise SchemaUnsupported(ptr, message, "exclusiveMinimum" if edge >= 0 else "exclusiveMaximum")
        out.append(f"{ptr or '/'}: {message}; output is verified")
    return out


def prepare_schema(
    schema: dict | bool, *, strict: bool = True, remotes: Mapping[str, Any] | None = None
) -> PreparedSchema:
    """Rewrite ``schema`` into a form llguidance enforces exactly; see the module docstring.

    ``remotes`` maps absolute URIs to schema documents that ``$ref`` may point to (nothing is fetched).
    """
    if isinstance(schema, bool):
        return PreparedSchema(schema, [], True)
    if not isinstance(schema, dict):
        raise SchemaUnsupported("", "a JSON Schema must be an object or a boolean", None)
    plain = not _needs_remotes(schema, remotes) and not legacy_ref_siblings(schema) and not _foreign_format(schema)
    if plain and (defer_engine_check() or engine_error(schema) is None):
        # llguidance already enforces it exactly (raw llguidance accepts no invalid instance in the
        # conformance corpora wherever it compiles): skip the rewriting passes, ~1 ms per schema.
        # Not for draft-03..07 ``$ref`` with siblings: llguidance would enforce the ignored siblings.
        # Inside the compiler the check is deferred to the final grammar's build; if llguidance
        # rejects that, the compiler lowers again and this check sends the schema down the passes.
        leaks = _leaks(schema, strict)
        return PreparedSchema(schema, leaks, not leaks)
    warnings: list[str] = []
    bundled, origin = _bundle(schema, remotes, strict, warnings)
    rewritten, more, notes = rewrite(bundled, origin, strict)
    warnings += more
    final, more = enforce(rewritten, origin, strict)
    warnings += more + _leaks(final, strict)
    warnings = list(dict.fromkeys(warnings))
    # Notes (an unknown format ignored) are exact and kept in strict mode too; warnings are not exact.
    return PreparedSchema(final, ([] if strict else warnings) + notes, not warnings)
