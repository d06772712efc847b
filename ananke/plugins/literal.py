"""``literal``: the text must equal ``text`` exactly."""

from __future__ import annotations

from typing import Literal

from ananke.core._ir import KindInfo, NodeModel
from ananke.core._lark_text import escape_lark_string
from ananke.core._lowering import Fragment, Lowered, LoweringContext
from ananke.core.hookspecs import hookimpl

__all__ = ["LiteralNode", "rust_regex_escape"]

_RUST_META = set("\\.+*?()|[]{}^$#&-~")


class LiteralNode(NodeModel):
    kind: Literal["literal"] = "literal"
    text: str


def rust_regex_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in _RUST_META:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return "".join(out)


@hookimpl
def ananke_constraint_kinds():
    return [KindInfo(name="literal", model=LiteralNode, description="the text equals `text`")]


@hookimpl
def ananke_lower_node(node: LiteralNode, ctx: LoweringContext) -> Lowered:
    return Lowered([Fragment(escape_lark_string(node.text), regex=rust_regex_escape(node.text))])


@hookimpl
def ananke_verify_node(node, text, ctx):
    return [] if text == node.text else [f"expected exactly {node.text!r}"]
