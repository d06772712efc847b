"""The compiler: normalize → parse → lower (plugins) → assemble Lark → validate (llguidance)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field

from ananke._version import __version__
from ananke.core._guard import check_deadline, check_input
from ananke.core._host import PluginHost, get_host
from ananke.core._ir import ConstraintIR, NodeModel, canonical_json
from ananke.core._llg import check_grammar, lark_accepts, validate_lark
from ananke.core._lowering import Fragment, Lowered, LoweringContext, VerifyContext, deferring_engine_checks
from ananke.core._normalize import load_with_pointer
from ananke.errors import ConstraintError, ConstraintLimitError, Diagnostic

__all__ = [
    "MAX_CONSTRAINT_BYTES",
    "MAX_NESTING",
    "CompiledConstraint",
    "TokenMask",
    "ValidationReport",
    "Verification",
    "compile_constraint",
    "compile_with_matchers",
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
    return _fingerprint(canonical_json(ir.constraint.to_json()), lenient)


# canonical_json({"compiler": ..., "lenient": ..., "node": NODE}) up to NODE: keys sort in this order
_FINGERPRINT_HEAD = {
    lenient: canonical_json({"compiler": __version__, "lenient": lenient})[:-1] + ',"node":'
    for lenient in (False, True)
}


def _fingerprint(node_text: str, lenient: bool) -> str:
    payload = f"{_FINGERPRINT_HEAD[bool(lenient)]}{node_text}}}"
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


def _check_size(ir: ConstraintIR, node_text: str, root_pointer: str = "") -> None:
    size = len(node_text)
    if size > MAX_CONSTRAINT_BYTES:
        raise ConstraintLimitError(f"constraint is {size} bytes; the limit is {MAX_CONSTRAINT_BYTES}")

    def depth(value: Any, level: int, pointer: str) -> None:
        if level > MAX_NESTING:
            raise ConstraintLimitError(f"constraint nests deeper than {MAX_NESTING} levels", pointer=pointer)
        if isinstance(value, NodeModel):
            for name in type(value).model_fields:
                depth(getattr(value, name), level + 1, f"{pointer}/{name}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                depth(item, level, f"{pointer}/{index}")

    depth(ir.constraint, 0, root_pointer)


def assemble_grammar(fragment: Fragment) -> str:
    lines = [f"start: {fragment.expr}"]
    lines.extend(fragment.definitions)
    return "\n".join(lines) + "\n"


def _token_mask(lowered: Lowered) -> TokenMask | None:
    if not lowered.has_token_set:
        return None
    allowed = sorted(lowered.allowed_tokens) if lowered.allowed_tokens is not None else None
    return TokenMask(allowed=allowed, forbidden=sorted(lowered.forbidden_tokens))


def compile_constraint(
    source: Any,
    *,
    lenient: bool = False,
    tokenizer: Any = None,
    kind: str | None = None,
    host: PluginHost | None = None,
) -> CompiledConstraint:
    """Compile any accepted constraint input; raises :class:`ConstraintError` with diagnostics."""
    return compile_with_matchers(source, lenient=lenient, tokenizer=tokenizer, kind=kind, host=host, build=False)[0]


def compile_with_matchers(
    source: Any,
    *,
    lenient: bool = False,
    tokenizer: Any = None,
    kind: str | None = None,
    host: PluginHost | None = None,
    build: bool = True,
) -> tuple[CompiledConstraint, list[Any] | None]:
    """:func:`compile_constraint`, plus the ready ``LLMatcher`` per grammar for ``tokenizer``.

    With ``build`` and a tokenizer, validating a grammar *is* building its matcher, so llguidance
    compiles each grammar once (plugins defer their standalone checks to this one); the matchers
    are None otherwise.
    """
    started = time.perf_counter()
    host = host or get_host()
    check_input(source)  # depth and lone surrogates, before anything recursive reads it
    ir, root_pointer = load_with_pointer(source, kind=kind, host=host)
    check_deadline("after normalizing")
    node_text = canonical_json(ir.constraint.to_json())
    _check_size(ir, node_text, root_pointer)
    # everything that needs no llguidance runs before its build, which evicts the CPU caches
    fingerprint, kinds = _fingerprint(node_text, lenient), node_kinds(ir.constraint)
    build = build and tokenizer is not None
    try:
        lowered, grammars, grammar_warnings, matchers = _lower_checked(
            host, ir, lenient, tokenizer, root_pointer, build
        )
    except ConstraintError as exc:
        raise _pointing_into_plain_schema(exc, ir) from exc
    mask = _token_mask(lowered)
    if mask is not None and tokenizer is not None:
        _check_token_ids(mask, tokenizer.vocab_size, root_pointer)
    compiled = CompiledConstraint(
        fingerprint=fingerprint,
        grammars=grammars,
        token_mask=mask,
        warnings=[*lowered.warnings, *grammar_warnings],
        kinds=kinds,
        exact=lowered.exact,
        lenient=lenient,
        compile_ms=(time.perf_counter() - started) * 1000,
        ir=ir,
    )
    return compiled, matchers if build else None


def _pointing_into_plain_schema(exc: ConstraintError, ir: ConstraintIR) -> ConstraintError:
    """A plain JSON Schema input *is* the node's ``schema``: its diagnostics point into the file itself."""
    if ir.metadata.get("format") != "json_schema" or not all(
        d.pointer == "/schema" or d.pointer.startswith("/schema/") for d in exc.diagnostics
    ):
        return exc
    rebased = [dataclasses.replace(d, pointer=d.pointer[len("/schema") :] or "/") for d in exc.diagnostics]
    try:
        return type(exc)(rebased)
    except TypeError:  # a subclass with its own constructor: keep it as it is
        return exc


def _lower_checked(
    host: PluginHost, ir: ConstraintIR, lenient: bool, tokenizer: Any, pointer: str, build: bool
) -> tuple[Lowered, list[str], list[str], list[Any]]:
    """Lower, then have llguidance check (or build) every grammar: ``(lowered, grammars, warnings, matchers)``.

    Plugins defer their standalone llguidance checks to this one; when it fails after a deferral,
    lowering runs again with the checks in place, so that the plugin reports its own diagnostic
    (strict) or weakens what the engine cannot enforce (lenient).
    """
    with deferring_engine_checks() as deferred:
        lowered = _lower(host, ir, lenient, tokenizer, pointer)
    check_deadline("after lowering")
    grammars = [assemble_grammar(fragment) for fragment in lowered.fragments]
    checked = _check_grammars(lowered.fragments, grammars, tokenizer, force=bool(deferred), build=build)
    if isinstance(checked, int) and deferred:
        lowered = _lower(host, ir, lenient, tokenizer, pointer)
        grammars = [assemble_grammar(fragment) for fragment in lowered.fragments]
        checked = _check_grammars(lowered.fragments, grammars, tokenizer, force=True, build=build)
    if isinstance(checked, int):
        _raise_rejected(grammars[checked], tokenizer, pointer)
    return lowered, grammars, *checked


def _lower(host: PluginHost, ir: ConstraintIR, lenient: bool, tokenizer: Any, pointer: str) -> Lowered:
    return host.lower(ir.constraint, LoweringContext(host, lenient=lenient, tokenizer=tokenizer, pointer=pointer))


def _check_grammars(
    fragments: list[Fragment], grammars: list[str], tokenizer: Any, *, force: bool, build: bool
) -> tuple[list[str], list[Any]] | int:
    """``(llguidance warnings, matchers)``, or the index of the first grammar llguidance rejects.

    Grammars of fragments a plugin already validated are only checked when ``force`` or ``build``
    says so, and contribute no warnings (their plugin saw them).
    """
    warnings: list[str] = []
    matchers: list[Any] = []
    for index, (fragment, text) in enumerate(zip(fragments, grammars, strict=True)):
        if fragment.validated and not (force or build):
            continue
        check_deadline("before building a matcher")
        accepted, messages, matcher = check_grammar(text, tokenizer, build=build, warnings=not fragment.validated)
        if not accepted:
            return index
        if not fragment.validated:
            warnings.extend(messages)
        if matcher is not None:
            matchers.append(matcher)
    return warnings, matchers


def _raise_rejected(text: str, tokenizer: Any, pointer: str) -> NoReturn:
    error, _ = validate_lark(text, tokenizer=tokenizer, pointer=pointer)  # located; raises limit errors
    message = error.message if error is not None else "llguidance rejected the grammar"
    raise ConstraintError(
        Diagnostic(
            f"lowered grammar rejected by llguidance: {message}",
            pointer=pointer,
            snippet=error.snippet if error is not None else None,
        )
    )


def _check_token_ids(mask: TokenMask, vocab_size: int, pointer: str) -> None:
    ids = list(mask.allowed or []) + list(mask.forbidden)
    bad = sorted({t for t in ids if t >= vocab_size})
    if bad:
        raise ConstraintError(
            f"token ids {bad[:10]} are outside the tokenizer's vocabulary of {vocab_size}", pointer=pointer
        )


def validate(source: Any, *, lenient: bool = False, tokenizer: Any = None, kind: str | None = None) -> ValidationReport:
    """Compile-only validation: never raises for a bad constraint, reports diagnostics instead.

    It checks the grammars with llguidance without building matchers (building them for the
    model's tokenizer costs seconds for some inputs); the limits that make generation fail
    (nesting, regex unroll size, schemas with no finite document) are checked here too.
    """
    try:
        compiled = compile_constraint(source, lenient=lenient, tokenizer=tokenizer, kind=kind)
    except ConstraintError as exc:
        return ValidationReport(valid=False, errors=[d.to_dict() for d in exc.diagnostics])
    return ValidationReport(
        valid=True, warnings=compiled.warnings, fingerprint=compiled.fingerprint, kinds=compiled.kinds
    )


def matches(source: Any, text: str, *, lenient: bool = False) -> bool:
    """Does the constraint accept exactly ``text``? Byte level, tokenizer-independent.

    Static token sets depend on a tokenizer and are not checked here. When the constraint is a
    ``json_schema`` node, a JSON document that spells characters with optional escapes
    (``"\\u00e9"``, ``"\\/"``) is matched as the same document with the characters written out,
    which the engine's JSON grammar requires.
    """
    compiled = source if isinstance(source, CompiledConstraint) else compile_constraint(source, lenient=lenient)
    if all(lark_accepts(grammar, text)[0] for grammar in compiled.grammars):
        return True
    plain = _json_without_escapes(compiled, text)
    return plain is not None and all(lark_accepts(grammar, plain)[0] for grammar in compiled.grammars)


def _json_without_escapes(compiled: CompiledConstraint, text: str) -> str | None:
    """``text`` with optional JSON string escapes written out, for a ``json_schema`` root only."""
    if getattr(compiled.ir.constraint, "kind", None) != "json_schema":
        return None
    from ananke.plugins._schema._escapes import unescape_strings

    return unescape_strings(text)
