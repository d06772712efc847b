"""``grammar``: the start rule derives the text.

Sources: ``lark`` (llguidance's Lark dialect), ``gbnf`` (llama.cpp), ``builtin`` (languages in
``ananke.grammars``) or Braid's ``rules`` + ``start_symbol`` with UPPERCASE token names mapped
through a built-in table that ``terminals`` may override or extend. Every grammar's names are
prefixed so that several grammars compose without collisions.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ananke.core._ir import KindInfo, NodeModel
from ananke.core._lark_text import defined_names, escape_lark_string, rename_names
from ananke.core._llg import lark_accepts, validate_lark
from ananke.core._lowering import Fragment, Lowered, LoweringContext
from ananke.core.hookspecs import hookimpl
from ananke.errors import ConstraintError, Diagnostic

__all__ = ["BRAID_TOKENS", "BraidRule", "GrammarNode"]

MAX_GRAMMAR_CHARS = 1_000_000
_WS = "/[ \\t\\r\\n]+/"

# Braid's token names → Lark terminal bodies (whitespace is allowed between tokens).
BRAID_TOKENS: dict[str, str] = {
    **{
        kw: escape_lark_string(kw.lower())
        for kw in (
            "FUNCTION",
            "ASYNC",
            "RETURN",
            "IF",
            "ELSE",
            "FOR",
            "WHILE",
            "SWITCH",
            "CASE",
            "TRY",
            "CATCH",
            "CLASS",
        )
    },
    **{kw: escape_lark_string(kw) + "i" for kw in ("SELECT", "INSERT", "UPDATE", "DELETE", "DROP", "UNION")},
    "LBRACE": '"{"',
    "RBRACE": '"}"',
    "LPAREN": '"("',
    "RPAREN": '")"',
    "SEMICOLON": '";"',
    "COMMA": '","',
    "COLON": '":"',
    "ARROW": '"=>" | "->"',
    "EQUALS": '"="',
    "PLUS": '"+"',
    "MINUS": '"-"',
    "STAR": '"*"',
    "SLASH": '"/"',
    "IDENTIFIER": r"/[A-Za-z_$][A-Za-z0-9_$]*/",
    "NUMBER": r"/-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/",
    "STRING": r'/"([^"\\\n]|\\.)*"' + r"|'([^'\\\n]|\\.)*'/",
    "BOOLEAN": '"true" | "false"',
    "UUID": r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/",
    "URL": r"/https?:\/\/[A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]+/",
}


class BraidRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lhs: str = Field(min_length=1)
    rhs: list[str] = Field(default_factory=list)


class GrammarNode(NodeModel):
    kind: Literal["grammar"] = "grammar"
    lark: str | None = None
    gbnf: str | None = None
    builtin: str | None = None
    rules: list[BraidRule] | None = None
    start_symbol: str | None = None
    terminals: dict[str, str] | None = None
    language: str | None = None
    start: str | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self):
        sources = [name for name in ("lark", "gbnf", "builtin", "rules") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ValueError(f"exactly one of lark, gbnf, builtin, rules is required (got {sources or 'none'})")
        if self.rules is not None and not self.start_symbol:
            raise ValueError("rules need start_symbol")
        if self.rules is None and (self.start_symbol or self.terminals or self.language):
            raise ValueError("start_symbol, terminals and language only apply to rules")
        text = self.lark or self.gbnf or ""
        if len(text) > MAX_GRAMMAR_CHARS:
            raise ValueError(f"grammar text is {len(text)} characters; the limit is {MAX_GRAMMAR_CHARS}")
        return self


@hookimpl
def ananke_constraint_kinds():
    return [
        KindInfo(name="grammar", model=GrammarNode, description="Lark / GBNF / builtin language grammar / Braid rules")
    ]


# -- lowering ------------------------------------------------------------------------------
def _prefixed(prefix: str, name: str) -> str:
    return f"{prefix.upper()}__{name}" if name.lstrip("_")[:1].isupper() else f"{prefix}__{name}"


def _embed(text: str, entry: str, ctx: LoweringContext) -> Fragment:
    prefix = ctx.fresh_name("g")
    mapping = {name: _prefixed(prefix, name) for name in defined_names(text)}
    return Fragment(mapping[entry], (rename_names(text, mapping).strip(),))


def _check_entry(text: str, entry: str, ctx: LoweringContext, suffix: str) -> None:
    names = defined_names(text)
    if entry not in names:
        rules = tuple(n for n in names if not n.lstrip("_")[:1].isupper())
        ctx.error(
            f"start rule {entry!r} is not defined", suffix="/start" if entry != "start" else suffix, allowed=rules
        )


def _starting_at(text: str, entry: str) -> str:
    """The grammar ``text`` with ``start`` deriving ``entry`` (a ``start`` it defines is renamed)."""
    if entry == "start":
        return text
    if "start" in defined_names(text):
        text = rename_names(text, {"start": "_ananke_own_start"})
    return f"{text}\nstart: {entry}\n"


def _validate_user_lark(text: str, entry: str, ctx: LoweringContext, suffix: str) -> None:
    error, _ = validate_lark(_starting_at(text, entry), pointer=ctx.pointer + suffix, source=text)
    if error is not None:
        raise ConstraintError(error)


def _lower_lark(text: str, entry: str, ctx: LoweringContext, suffix: str) -> Lowered:
    _check_entry(text, entry, ctx, suffix)
    _validate_user_lark(text, entry, ctx, suffix)
    return Lowered([_embed(text, entry, ctx)])


def gbnf_to_lark(text: str) -> str:
    from llguidance.gbnf_to_lark import any_to_lark

    return any_to_lark(text)


def _lower_gbnf(gbnf: str, start: str | None, ctx: LoweringContext) -> Lowered:
    try:
        text = gbnf_to_lark(gbnf)
    except Exception as exc:  # the converter raises assorted errors for bad GBNF
        ctx.error(f"invalid GBNF: {exc}", suffix="/gbnf")
    entry = start or ("root" if "root" in defined_names(text) else "start")
    return _lower_lark(text, entry, ctx, "/gbnf")


def _lower_builtin(node: GrammarNode, ctx: LoweringContext) -> Lowered:
    from ananke import grammars

    if node.builtin not in grammars.BUILTIN_LANGUAGES:
        ctx.error(
            f"unknown builtin grammar {node.builtin!r}", suffix="/builtin", allowed=tuple(grammars.BUILTIN_LANGUAGES)
        )
    entry = node.start or "start"
    entries = grammars.entry_rules(node.builtin)
    if entry not in entries:
        ctx.error(f"{node.builtin} has no entry rule {entry!r}", suffix="/start", allowed=tuple(entries))
    return Lowered([_embed(grammars.grammar_text(node.builtin), entry, ctx)])


def braid_to_lark(node: GrammarNode, pointer: str = "") -> tuple[str, str]:
    """Braid's rule list as a standalone Lark grammar; returns (text, entry rule name).

    Names the rules use but do not define resolve against the built-in grammar of ``language``
    (whose text is then appended, its names prefixed); any still undefined make one diagnostic.
    """
    nonterminals: dict[str, str] = {}
    for rule in node.rules or []:
        nonterminals.setdefault(rule.lhs, "r_" + re.sub(r"[^a-z0-9_]", "_", rule.lhs.lower()) + f"_{len(nonterminals)}")
    table = {**BRAID_TOKENS, **{name: _terminal_body(body) for name, body in (node.terminals or {}).items()}}
    external, builtin_text = _language_rules(node.language)
    used: dict[str, str] = {}
    used_external: set[str] = set()
    resolved_rules: list[tuple[str, list[str]]] = []
    undefined: dict[str, str] = {}
    for i, rule in enumerate(node.rules or []):
        symbols = []
        for j, symbol in enumerate(rule.rhs):
            resolved = _braid_symbol(symbol, nonterminals, table, used)
            if resolved is None and symbol in external:
                resolved = external[symbol]
                used_external.add(symbol)
            if resolved is None:
                undefined.setdefault(symbol, f"{pointer}/rules/{i}/rhs/{j}")
            else:
                symbols.append(resolved)
        resolved_rules.append((nonterminals[rule.lhs], symbols))
    problems = []
    if undefined:
        problems.append(_undefined_names(undefined, node.language, tuple(nonterminals)))
    start = node.start_symbol or ""  # GrammarNode requires it with rules
    if start not in nonterminals:
        problems.append(
            Diagnostic(
                f"start_symbol {node.start_symbol!r} is not the lhs of any rule",
                pointer=f"{pointer}/start_symbol",
                allowed=tuple(nonterminals),
            )
        )
    if problems:
        raise ConstraintError(problems)
    # with a built-in grammar in, a Braid token spelled like one of its keyword or punctuation
    # terminals is that terminal: two terminals for one string make its lexer keep the longer
    # lexeme (the built-in's takes trailing whitespace), which loses texts both grammars derive
    shared = _shared_terminals(node.language, {t: table[n] for n, t in used.items()}) if used_external else {}
    bodies: dict[str, list[str]] = {}
    for name, symbols in resolved_rules:
        symbols = [shared.get(symbol, symbol) for symbol in symbols]
        bodies.setdefault(name, []).append(" ".join(symbols) if symbols else '""')
    lines = [f"{name}: {' | '.join(alternatives)}" for name, alternatives in bodies.items()]
    own = {name: terminal for name, terminal in used.items() if terminal not in shared}
    lines += [
        f"{terminal}: {_trailing_space(table[name]) if used_external else table[name]}"
        for name, terminal in own.items()
    ]
    lines.append(f"%ignore {_WS}")
    if used_external:
        lines.append(builtin_text)
    return "\n".join(lines) + "\n", nonterminals[start]


# Braid's names for rules that the built-in grammars call otherwise.
_BRAID_RULE_ALIASES = {"identifier": "NAME"}


def _language_rules(language: str | None) -> tuple[dict[str, str], str]:
    """``{name: prefixed name}`` for the rules of built-in grammar ``language``, and its prefixed text."""
    if language is None:
        return {}, ""
    from ananke import grammars

    if language not in grammars.BUILTIN_LANGUAGES:
        raise ConstraintError(
            Diagnostic(
                f"no built-in grammar for language {language!r}",
                pointer="/language",
                allowed=tuple(grammars.BUILTIN_LANGUAGES),
            )
        )
    text = grammars.grammar_text(language)
    mapping = {
        name: f"{language}__{name}" if name[:1].islower() else f"{language.upper()}__{name}"
        for name in defined_names(text)
    }
    external = {name: prefixed for name, prefixed in mapping.items() if name[:1].islower()}
    external.update(
        {
            alias: mapping[target]
            for alias, target in _BRAID_RULE_ALIASES.items()
            if target in mapping and alias not in external
        }
    )
    return external, rename_names(text, mapping).strip()


_TERMINAL_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)\s*:\s*(.+?)\s*$", re.MULTILINE)
_ONE_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')  # one Lark string, no alternatives
# what a built-in terminal may carry around a keyword or punctuation besides it: comments (these
# atoms) and whitespace (what is left must be regex syntax and whitespace escapes only)
_COMMENT_ATOMS = ("//[^\\n]*", "#[^\\n]*", "/\\*(?:[^*]|\\*+[^*/])*\\*+/", "\\\\\\r?\\n")
_TRIVIA_CHARS = re.compile(r"(?:[()?:*+|\[\] \t]|\\[trnf])*")


def _string_literal(body: str) -> str | None:
    """The text of a terminal body that is one Lark string (``"..."``), else None."""
    return json.loads(body) if _ONE_STRING.match(body) else None


@lru_cache(maxsize=16)
def _literal_terminals(language: str) -> tuple[tuple[str, str], ...]:
    """(name, regex source) of the terminals of built-in grammar ``language`` that are one regex or string."""
    from ananke import grammars

    found = []
    for name, body in _TERMINAL_LINE.findall(grammars.grammar_text(language)):
        literal = _string_literal(body)
        if literal is not None:
            found.append((name, re.escape(literal)))
        elif len(body) >= 2 and body[0] == body[-1] == "/":
            found.append((name, body[1:-1].replace("\\/", "/")))
    return tuple(found)


def _is_trivia(fragment: str) -> bool:
    """Is ``fragment`` a whole regex that matches only whitespace and comments (or nothing)?"""
    try:
        re.compile(fragment)
    except re.error:
        return False
    for atom in _COMMENT_ATOMS:
        fragment = fragment.replace(atom, "")
    depth = 0
    for char in fragment:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            return False  # an alternative to the literal, not around it
    return _TRIVIA_CHARS.fullmatch(fragment) is not None


def _is_exactly(source: str, literal: str) -> bool:
    """Is regex ``source`` the literal with at most whitespace and comments around it? Decided on the
    regex's text, so a terminal that also takes other words or operators is never taken."""
    if re.fullmatch(source, literal) is None:
        return False
    for spelled in {literal, re.escape(literal)} if re.escape(literal) == literal else {re.escape(literal)}:
        at = source.find(spelled)
        while at >= 0:
            if _is_trivia(source[:at]) and _is_trivia(source[at + len(spelled) :]):
                return True
            at = source.find(spelled, at + 1)
    return False


def _trailing_space(body: str) -> str:
    """A string terminal that also takes the whitespace after it, as the built-in grammars' terminals
    do: otherwise where both may come (Braid's ``;`` and TypeScript's ``;``-or-newline terminator)
    the built-in's longer lexeme wins. The language is unchanged: that whitespace is ignored anyway."""
    literal = _string_literal(body)
    if literal is None:
        return body
    return "/" + re.escape(literal).replace("/", "\\/") + "[ \\t\\r\\n]*/"


def _shared_terminals(language: str | None, bodies: dict[str, str]) -> dict[str, str]:
    """``{braid terminal: prefixed built-in terminal}`` for Braid tokens whose body is one string
    that a keyword/punctuation terminal of ``language`` lexes exactly (up to whitespace and comments)."""
    if language is None:
        return {}
    shared: dict[str, str] = {}
    terminals = _literal_terminals(language)
    for braid_name, body in bodies.items():
        literal = _string_literal(body)
        if not literal:
            continue  # regexes, case-insensitive strings and alternatives keep their own terminal
        for name, source in terminals:
            if _is_exactly(source, literal):
                shared[braid_name] = f"{language.upper()}__{name}"
                break
    return shared


def _undefined_names(undefined: dict[str, str], language: str | None, defined: tuple[str, ...]) -> Diagnostic:
    names = ", ".join(undefined)
    if language is not None:
        hint = f"neither the rules nor the built-in {language} grammar define them"
    else:
        from ananke import grammars

        hint = (
            "define them, or send the rules in an export document whose `language` has a built-in grammar "
            f"({', '.join(grammars.BUILTIN_LANGUAGES)})"
        )
    return Diagnostic(
        f"the rules use {len(undefined)} undefined name(s): {names}; {hint}",
        pointer=next(iter(undefined.values())),
        allowed=defined or None,
    )


def _terminal_body(body: str) -> str:
    if len(body) >= 2 and body.startswith("/") and body.endswith("/"):
        return body
    return escape_lark_string(body)


def _braid_symbol(symbol: str, nonterminals: dict[str, str], table: dict[str, str], used: dict[str, str]) -> str | None:
    if symbol in nonterminals:
        return nonterminals[symbol]
    if len(symbol) >= 2 and symbol[0] == symbol[-1] and symbol[0] in "'\"":
        return escape_lark_string(symbol[1:-1])
    if symbol in table:
        used.setdefault(symbol, "T_" + re.sub(r"[^A-Z0-9_]", "_", symbol.upper()))
        return used[symbol]
    return None


def _lower_rules(node: GrammarNode, ctx: LoweringContext) -> Lowered:
    text, entry = braid_to_lark(node, ctx.pointer)
    error, _ = validate_lark(_starting_at(text, entry), pointer=ctx.pointer)
    if error is not None:
        ctx.error(f"Braid rules do not form a valid grammar: {error.message}")
    return Lowered([_embed(text, entry, ctx)])


@hookimpl
def ananke_lower_node(node: GrammarNode, ctx: LoweringContext) -> Lowered:
    if node.lark is not None:
        return _lower_lark(node.lark, node.start or "start", ctx, "/lark")
    if node.gbnf is not None:
        return _lower_gbnf(node.gbnf, node.start, ctx)
    if node.builtin is not None:
        return _lower_builtin(node, ctx)
    return _lower_rules(node, ctx)


# -- verification ---------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _lark_parser(text: str, start: str) -> Any:
    """An Earley parser from the `lark` package, or None where the text is llguidance-only."""
    import lark

    try:
        return lark.Lark(text, start=start, parser="earley", lexer="dynamic")
    except Exception:
        return None


def _source_of(node: GrammarNode) -> tuple[str, str]:
    if node.lark is not None:
        return node.lark, node.start or "start"
    if node.gbnf is not None:
        text = gbnf_to_lark(node.gbnf)
        return text, node.start or ("root" if "root" in defined_names(text) else "start")
    if node.builtin is not None:
        from ananke import grammars

        return grammars.grammar_text(node.builtin), node.start or "start"
    return braid_to_lark(node)


def _verify_with_lark(text: str, entry: str, output: str) -> list[str] | None:
    parser = _lark_parser(text, entry)
    if parser is None:
        return None
    try:
        parser.parse(output)
    except Exception as exc:
        return [f"grammar does not derive the text: {str(exc).splitlines()[0]}"]
    return []


@hookimpl
def ananke_verify_node(node, text, ctx):
    if node.builtin is not None:
        from ananke import grammars

        start = node.start or "start"
        verdict = grammars.verify_with_parser(node.builtin, start, text)  # ast / tree-sitter, in-process
        if verdict is not None:
            return [] if verdict else [f"{grammars.parser_name(node.builtin)} rejects the text"]
        native = grammars.verify_with_native_parser(node.builtin, start, text)
        if native is not None:
            return [] if native else [f"{node.builtin}'s own parser rejects the text"]
    source, entry = _source_of(node)
    problems = _verify_with_lark(source, entry, text)
    if problems is not None:
        return problems
    # llguidance-only syntax: no independent parser exists, so match the grammar byte by byte.
    ok, why = lark_accepts(_starting_at(source, entry), text)
    return [] if ok else [why]
