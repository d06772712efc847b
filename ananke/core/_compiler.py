"""The compiler: normalize → parse → lower (plugins) → assemble Lark → validate (llguidance)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ananke._version import __version__
from ananke.core._host import PluginHost, get_host
from ananke.core._ir import ConstraintIR, NodeModel, canonical_json
from ananke.core._llg import lark_accepts, validate_lark
from ananke.core._lowering import Fragment, Lowered, LoweringContext, VerifyContext
from ananke.core._normalize import load_with_pointer
from ananke.errors import ConstraintError, ConstraintLimitError, Diagnostic

__all__ = [
    "CompiledConstraint",
    "MAX_CONSTRAINT_BYTES",
    "MAX_NESTING",
    "TokenMask",
    "ValidationReport",
    "Verification",
    "compile_constraint",
    "fingerprint_of",
    "matches",
    "node_kinds",
    "validate",
]

MAX_CONSTRAINT_BYTES = 2_000_000
MAX_NESTING = 64


class TokenMask(BaseModel):
    """A static token set applied at every step: ``allowed`` (None = all) minus ``forbidden``."""

    model_config = ConfigDict(frozen=True)
    allowed: list[int] | None = None
    forbidden: list[int] = Field(default_factory=list)

    def permits(self, token_id: int) -> bool:
        if token_id in self.forbidden:
            return False
        return self.allowed is None or token_id in self.allowed


class Verification(BaseModel):
    satisfied: bool
    errors: list[str] = Field(default_factory=list)


class CompiledConstraint(BaseModel):
    """The runtime seam: Lark texts (languages intersected), a static token set, provenance."""

    model_config = ConfigDict(frozen=True)
    fingerprint: str
    grammars: list[str]
    token_mask: TokenMask | None = None
    warnings: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    exact: bool = True
    lenient: bool = False
    compile_ms: float = 0.0
    ir: ConstraintIR

    def verify(self, text: str, token_ids: list[int] | None = None) -> Verification:
        """Check ``text`` with the plugins' own verifiers (independent of llguidance)."""
        errors: list[str] = []
        if self.token_mask is not None and token_ids is not None:
            bad = [t for t in token_ids if not self.token_mask.permits(t)]
            if bad:
                errors.append(f"tokens outside the static token set: {bad[:10]}")
        ctx = VerifyContext(get_host(), token_ids=token_ids, lenient=self.lenient)
        errors.extend(ctx.verify(self.ir.constraint, text))
        return Verification(satisfied=not errors, errors=errors)

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", serialize_as_any=True)
        data["ir"] = self.ir.to_json()
        return data


class ValidationReport(BaseModel):
    valid: bool
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    fingerprint: str | None = None
    kinds: list[str] = Field(default_factory=list)


def fingerprint_of(ir: ConstraintIR, *, lenient: bool = False) -> str:
    """Stable hash of the canonical IR node, the leniency and the compiler version."""
    payload = canonical_json({"node": ir.constraint.to_json(), "lenient": lenient, "compiler": __version__})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def node_kinds(node: NodeModel) -> list[str]:
    """Every kind in the node tree, in first-seen order."""
    seen: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, NodeModel):
            if value.kind not in seen:
                seen.append(value.kind)
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(node)
    return seen


def _check_size(ir: ConstraintIR) -> None:
    size = len(canonical_json(ir.constraint.to_json()))
    if size > MAX_CONSTRAINT_BYTES:
        raise ConstraintLimitError(f"constraint is {size} bytes; the limit is {MAX_CONSTRAINT_BYTES}")

    def depth(value: Any, level: int) -> None:
        if level > MAX_NESTING:
            raise ConstraintLimitError(f"constraint nests deeper than {MAX_NESTING} levels")
        if isinstance(value, NodeModel):
            for name in type(value).model_fields:
                depth(getattr(value, name), level + 1)
        elif isinstance(value, (list, tuple)):
            for item in value:
                depth(item, level)

    depth(ir.constraint, 0)


def assemble_grammar(fragment: Fragment) -> str:
    lines = [f"start: {fragment.expr}"]
    lines.extend(fragment.definitions)
    return "\n".join(lines) + "\n"


def _token_mask(lowered: Lowered) -> TokenMask | None:
    if not lowered.has_token_set:
        return None
    allowed = sorted(lowered.allowed_tokens) if lowered.allowed_tokens is not None else None
    return TokenMask(allowed=allowed, forbidden=sorted(lowered.forbidden_tokens))


def compile_constraint(source: Any, *, lenient: bool = False, tokenizer: Any = None, kind: str | None = None,
                       host: PluginHost | None = None) -> CompiledConstraint:
    """Compile any accepted constraint input; raises :class:`ConstraintError` with diagnostics."""
    started = time.perf_counter()
    host = host or get_host()
    ir, root_pointer = load_with_pointer(source, kind=kind, host=host)
    _check_size(ir)
    ctx = LoweringContext(host, lenient=lenient, tokenizer=tokenizer, pointer=root_pointer)
    lowered = host.lower(ir.constraint, ctx)
    grammars = [assemble_grammar(fragment) for fragment in lowered.fragments]
    warnings = list(lowered.warnings)
    for fragment, text in zip(lowered.fragments, grammars):
        if fragment.validated:
            continue
        error, grammar_warnings = validate_lark(text, tokenizer=tokenizer, pointer=root_pointer)
        if error is not None:
            raise ConstraintError(Diagnostic(f"lowered grammar rejected by llguidance: {error.message}",
                                             pointer=root_pointer, snippet=error.snippet))
        warnings.extend(grammar_warnings)
    mask = _token_mask(lowered)
    if mask is not None and tokenizer is not None:
        _check_token_ids(mask, tokenizer.vocab_size, root_pointer)
    return CompiledConstraint(
        fingerprint=fingerprint_of(ir, lenient=lenient),
        grammars=grammars,
        token_mask=mask,
        warnings=warnings,
        kinds=node_kinds(ir.constraint),
        exact=lowered.exact,
        lenient=lenient,
        compile_ms=(time.perf_counter() - started) * 1000,
        ir=ir,
    )


def _check_token_ids(mask: TokenMask, vocab_size: int, pointer: str) -> None:
    ids = list(mask.allowed or []) + list(mask.forbidden)
    bad = sorted({t for t in ids if t >= vocab_size})
    if bad:
        raise ConstraintError(f"token ids {bad[:10]} are outside the tokenizer's vocabulary of {vocab_size}",
                              pointer=pointer)


def validate(source: Any, *, lenient: bool = False, tokenizer: Any = None, kind: str | None = None) -> ValidationReport:
    """Compile-only validation: never raises for a bad constraint, reports diagnostics instead."""
    try:
        compiled = compile_constraint(source, lenient=lenient, tokenizer=tokenizer, kind=kind)
    except ConstraintError as exc:
        return ValidationReport(valid=False, errors=[d.to_dict() for d in exc.diagnostics])
    return ValidationReport(valid=True, warnings=compiled.warnings, fingerprint=compiled.fingerprint,
                            kinds=compiled.kinds)


def matches(source: Any, text: str, *, lenient: bool = False) -> bool:
    """Does the constraint accept exactly ``text``? Byte level, tokenizer-independent.

    Static token sets depend on a tokenizer and are not checked here.
    """
    compiled = source if isinstance(source, CompiledConstraint) else compile_constraint(source, lenient=lenient)
    return all(lark_accepts(grammar, text)[0] for grammar in compiled.grammars)
