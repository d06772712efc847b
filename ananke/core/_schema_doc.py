"""The JSON Schema of ConstraintIR v1, built from the kinds the loaded plugins provide."""

from __future__ import annotations

from typing import Any

from ananke.core._host import PluginHost, get_host

__all__ = ["ir_json_schema"]


def _point_nested_nodes_at_node_union(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("$ref") == "#/$defs/NodeModel":
            return {"$ref": "#/$defs/Node"}
        return {key: _point_nested_nodes_at_node_union(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_point_nested_nodes_at_node_union(item) for item in value]
    return value


def ir_json_schema(host: PluginHost | None = None) -> dict[str, Any]:
    host = host or get_host()
    defs: dict[str, Any] = {}
    refs = []
    for _name, info in sorted(host.kinds.items()):
        schema = info.model.model_json_schema(ref_template="#/$defs/{model}", by_alias=True)
        defs.update(schema.pop("$defs", {}))
        if info.description:
            schema["description"] = info.description
        defs[info.model.__name__] = schema
        refs.append({"$ref": f"#/$defs/{info.model.__name__}"})
    defs.pop("NodeModel", None)
    defs["Node"] = {"oneOf": refs, "description": "a constraint node, selected by `kind`"}
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ananke.dev/schemas/constraint-ir-v1.json",
        "title": "ConstraintIR v1",
        "type": "object",
        "additionalProperties": False,
        "required": ["constraint"],
        "properties": {
            "ir_version": {"const": "1", "default": "1"},
            "name": {"type": ["string", "null"]},
            "constraint": {"$ref": "#/$defs/Node"},
            "metadata": {"type": "object"},
        },
        "$defs": defs,
    }
    return _point_nested_nodes_at_node_union(document)
