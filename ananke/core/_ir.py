"""ConstraintIR v1: the document model and the base class of every node model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

__all__ = ["ConstraintIR", "KindInfo", "NodeModel", "canonical_json", "parse_children"]


class NodeModel(BaseModel):
    """Base class of node models: closed (unknown fields are errors) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, serialize_as_any=True, by_alias=True)


class KindInfo(BaseModel):
    """What a plugin declares about one node kind it provides.

    ``override=True`` replaces another plugin's kind of the same name (e.g. a built-in) on
    purpose; without it, two plugins providing one kind is an error.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    name: str
    model: type[NodeModel]
    description: str = ""
    override: bool = False


class ConstraintIR(BaseModel):
    """``{"ir_version": "1", "name": ..., "constraint": NODE, "metadata": {...}}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ir_version: Literal["1"] = "1"
    name: str | None = None
    constraint: SerializeAsAny[NodeModel]
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, serialize_as_any=True, by_alias=True)


def canonical_json(value: Any) -> str:
    """Stable JSON text: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_children(values: list[Any], info: Any, field_name: str) -> list[NodeModel]:
    """Parse nested nodes inside a node model's validator, keeping JSON Pointers exact.

    The host passes ``parse_node`` and the node's ``pointer`` through pydantic's
    validation context; outside the host (plain ``model_validate``) children must
    already be node models.
    """
    context = info.context or {}
    parse: Callable[[Any, str], NodeModel] | None = context.get("parse_node")
    pointer = context.get("pointer", "")
    if parse is None:
        if all(isinstance(v, NodeModel) for v in values):
            return list(values)
        raise ValueError("nested nodes need the plugin host: use ananke.load_constraint")
    return [v if isinstance(v, NodeModel) else parse(v, f"{pointer}/{field_name}/{i}") for i, v in enumerate(values)]
