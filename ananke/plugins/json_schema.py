"""``json_schema``: the text is a JSON document valid under ``schema``.

The schema is first checked against its draft's meta-schema: an invalid schema is reported as
invalid (JSON Pointer, allowed values), never as something the engine cannot enforce.
Strict by default: a keyword or format the engine cannot enforce is an error naming its JSON
Pointer. Lenient mode (``strict: false`` or a lenient request) drops what cannot be enforced,
warns, and relies on verification of the output with ``jsonschema``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ananke.core._ir import KindInfo, NodeModel
from ananke.core._lowering import Fragment, Lowered, LoweringContext
from ananke.core.hookspecs import hookimpl
from ananke.errors import ConstraintError, Diagnostic

__all__ = ["JsonSchemaNode", "metaschema_diagnostics"]

MAX_METASCHEMA_DIAGNOSTICS = 10
_DRAFT_NAMES = {
    "Draft3Validator": "draft-03",
    "Draft4Validator": "draft-04",
    "Draft6Validator": "draft-06",
    "Draft7Validator": "draft-07",
    "Draft201909Validator": "draft 2019-09",
    "Draft202012Validator": "draft 2020-12",
}


class JsonSchemaNode(NodeModel):
    kind: Literal["json_schema"] = "json_schema"
    schema_: dict[str, Any] | bool = Field(alias="schema")
    whitespace: Literal["compact", "flexible"] = "compact"
    strict: bool = True

    model_config = ConfigDict(**NodeModel.model_config, populate_by_name=True)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _explained(error: Any) -> Any:
    """The most telling error: an ``anyOf`` over ``enum``-or-array (``type``) is reported by its ``enum``."""
    for sub in error.context or ():
        if sub.validator in ("enum", "const") and list(sub.absolute_path) == list(error.absolute_path):
            return sub
    return error


def _metaschema_diagnostic(error: Any, pointer: str, draft: str) -> Diagnostic:
    error = _explained(error)
    allowed = None
    message = error.message
    if error.validator == "enum":
        allowed = tuple(str(v) for v in error.validator_value)
        message = f"{error.instance!r} is not one of {', '.join(repr(v) for v in error.validator_value)}"
    elif error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        allowed = tuple(str(t) for t in types)
    return Diagnostic(
        f"invalid JSON Schema ({draft}): {message}", pointer=pointer + _pointer(error.absolute_path), allowed=allowed
    )


def metaschema_diagnostics(schema: Any, pointer: str = "") -> list[Diagnostic]:
    """Where ``schema`` breaks its draft's meta-schema (``$schema``, else the draft its syntax implies)."""
    from jsonschema.exceptions import best_match

    from ananke.plugins._schema._verify import validator_class

    cls = validator_class(schema)
    draft = _DRAFT_NAMES.get(cls.__name__, cls.__name__)
    errors = list(cls(cls.META_SCHEMA).iter_errors(schema))
    if not errors:
        return []
    first = best_match(errors)
    rest = [e for e in errors if e is not first][: MAX_METASCHEMA_DIAGNOSTICS - 1]
    return [_metaschema_diagnostic(e, pointer, draft) for e in (first, *rest)]


@hookimpl
def ananke_constraint_kinds():
    return [KindInfo(name="json_schema", model=JsonSchemaNode, description="a JSON document valid under `schema`")]


def _check_productive(schema: Any, ctx: Any) -> None:
    """Refuse a schema that admits no finite document (a ``$ref`` cycle with no base case)."""
    from ananke.plugins._schema._productive import unproductive_ref

    ref = unproductive_ref(schema)
    if ref is None:
        return
    if ref:
        ctx.error(
            f"the schema admits no finite document: {ref} refers back to itself with no base case "
            "(make the recursive property optional, or give the cycle a non-recursive alternative)",
            suffix="/schema" + _ref_pointer(ref),
        )
    ctx.error("the schema admits no finite document", suffix="/schema")


def _ref_pointer(ref: str) -> str:
    return ref[1:] if ref.startswith("#/") else ""


@hookimpl
def ananke_lower_node(node: JsonSchemaNode, ctx: LoweringContext) -> Lowered:
    from ananke.plugins._schema import SchemaUnsupported, prepare_schema

    strict = node.strict and not ctx.lenient
    invalid = metaschema_diagnostics(node.schema_, ctx.pointer + "/schema")
    if invalid:
        raise ConstraintError(invalid)
    if isinstance(node.schema_, dict) and "x-guidance" in node.schema_:
        ctx.error(
            "x-guidance is reserved: Ananke sets engine options itself (use `whitespace`)", suffix="/schema/x-guidance"
        )
    _check_productive(node.schema_, ctx)
    try:
        prepared = prepare_schema(node.schema_, strict=strict)
    except SchemaUnsupported as exc:
        ctx.error(exc.message, suffix="/schema" + exc.pointer, unsupported=True)
    schema = prepared.schema
    if schema is False:
        ctx.error("the schema `false` accepts no document", suffix="/schema")
    schema = {} if schema is True else dict(schema)
    schema["x-guidance"] = {"whitespace_flexible": node.whitespace == "flexible"}
    expr = "%json " + json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
    # prepare_schema already validated this schema with llguidance (strictly, standalone).
    return Lowered([Fragment(expr, validated=True)], warnings=list(prepared.warnings), exact=prepared.exact)


@hookimpl
def ananke_verify_node(node, text, ctx):
    from ananke.plugins._schema import verify_instance

    try:
        instance = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"not a JSON document: {exc.msg} at line {exc.lineno} column {exc.colno}"]
    return list(verify_instance(node.schema_, instance))
