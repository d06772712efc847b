"""``token_mask``: every generated token is in ``allowed_tokens`` (if given) and not in ``forbidden_tokens``.

Token ids are tokenizer-specific, so the set is static: it is applied at every decoding step
beside the grammars, and checked against the generated token ids when they are known.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ananke.core._ir import KindInfo, NodeModel
from ananke.core._lowering import Lowered, LoweringContext
from ananke.core.hookspecs import hookimpl

__all__ = ["TokenMaskNode"]

TokenId = int


class TokenMaskNode(NodeModel):
    kind: Literal["token_mask"] = "token_mask"
    allowed_tokens: list[int] | None = Field(default=None)
    forbidden_tokens: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self):
        if self.allowed_tokens is None and not self.forbidden_tokens:
            raise ValueError("token_mask needs allowed_tokens and/or forbidden_tokens")
        if self.allowed_tokens is not None and not self.allowed_tokens:
            raise ValueError("allowed_tokens is empty: no token could ever be generated")
        negative = [t for t in (self.allowed_tokens or []) + self.forbidden_tokens if t < 0]
        if negative:
            raise ValueError(f"token ids must be >= 0, got {negative[:5]}")
        if self.allowed_tokens is not None and set(self.allowed_tokens) <= set(self.forbidden_tokens):
            raise ValueError("every allowed token is also forbidden: no token could ever be generated")
        return self


@hookimpl
def ananke_constraint_kinds():
    return [
        KindInfo(
            name="token_mask",
            model=TokenMaskNode,
            description="static allowed/forbidden token ids (tokenizer-specific)",
        )
    ]


@hookimpl
def ananke_lower_node(node: TokenMaskNode, ctx: LoweringContext) -> Lowered:
    allowed = frozenset(node.allowed_tokens) if node.allowed_tokens is not None else None
    return Lowered(allowed_tokens=allowed, forbidden_tokens=frozenset(node.forbidden_tokens))


@hookimpl
def ananke_verify_node(node, text, ctx):
    if ctx.token_ids is None:
        return []  # a text alone doesn't say which tokens produced it
    allowed = set(node.allowed_tokens) if node.allowed_tokens is not None else None
    forbidden = set(node.forbidden_tokens)
    bad = [t for t in ctx.token_ids if t in forbidden or (allowed is not None and t not in allowed)]
    return [f"generated tokens outside the token mask: {bad[:10]}"] if bad else []
