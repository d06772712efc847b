"""``json_schema``: the text is a JSON document valid under ``schema``.

Strict by default: a keyword or format the engine cannot enforce is an error naming its JSON
Pointer. Lenient mode (``strict: false`` or a lenient request) drops what cannot be enforced,
warns, and relies on verification of the output with ``jsonschema``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from ananke.core._ir import KindInfo, NodeModel
from ananke.core._lowering import Fragment, Lowered
from ananke.core.hookspecs import hookimpl

__all__ = ["JsonSchemaNode"]


class JsonSchemaNode(NodeModel):
    kind: Literal["json_schema"] = "json_schema"
    schema_: dict[str, Any] | bool = Field(alias="schema")
    whitespace: Literal["compact", "flexible"] = "compact"
    strict: bool = True

    model_config = {**NodeModel.model_config, "populate_by_name": True}


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
        ctx.error(f"the schema admits no finite document: {ref} refers back to itself with no base case "
                  "(make the recursive property optional, or give the cycle a non-recursive alternative)",
                  suffix="/schema" + _ref_pointer(ref))
    ctx.error("the schema admits no finite document", suffix="/schema")


def _ref_pointer(ref: str) -> str:
    return ref[1:] if ref.startswith("#/") else ""


@hookimpl
def ananke_lower_node(node, ctx):
    if not isinstance(node, JsonSchemaNode):
        return None
    from ananke.plugins._schema import SchemaUnsupported, prepare_schema

    strict = node.strict and not ctx.lenient
    if isinstance(node.schema_, dict) and "x-guidance" in node.schema_:
        ctx.error("x-guidance is reserved: Ananke sets engine options itself (use `whitespace`)",
                  suffix="/schema/x-guidance")
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
    if not isinstance(node, JsonSchemaNode):
        return None
    from ananke.plugins._schema import verify_instance

    try:
        instance = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"not a JSON document: {exc.msg} at line {exc.lineno} column {exc.colno}"]
    return list(verify_instance(node.schema_, instance))
