"""Generate ``python.lark``: Python 3 with indentation enforced by a context-free grammar.

Run ``python -m ananke.grammars._python_gen`` to rewrite ``python.lark`` next to this module
(a test checks the committed file is up to date).

Two context-sensitive parts of Python's syntax are made context-free:

* **Indentation.** Blocks nest at most :data:`MAX_DEPTH` levels deep, each indented by exactly
  four more spaces. The line break after a simple statement is the terminal ``NL_j`` = end of
  line, blank or comment-only lines, a newline and exactly ``4*j`` spaces, where ``j`` is the
  level of the *next* statement. ``NL_j`` keeps extending over spaces (they may start a blank
  line), so a line indented by any other amount leaves the lexer without an accepting lexeme and
  is rejected. Each statement rule ``s<k>_<j>`` carries its own level ``k`` and the level ``j`` of
  the line that follows it (``e``: end of file, ``x``: end of an entry rule); a block at level
  ``m`` is ``s<m>_<m>* s<m>_<j>`` with ``j < m``. The line break thus belongs to the statement it
  ends: a statement is complete only once its ``NL_j`` has been read. (When the line break
  belonged to the next statement, every operand could end the statement and the Earley parser
  completed all enclosing blocks after each one: a quarter of a row's items two blocks deep.)
* **Implicit line joining.** Inside ``()``, ``[]`` and ``{}`` newlines and comments are
  whitespace. Expression rules exist twice: as written (line mode, where only spaces, tabs and
  backslash continuations are skipped) and with a ``_b`` suffix (bracket mode), whose terminals
  all accept a prefix of newlines and comments.

Mask time (``compute_bitmask`` per token) is the cost of the token-trie walk plus the Earley
items of every lexeme that ends inside a token, so the rules are shaped for few items per row:

* one operator level: binary, comparison and boolean operators form one terminal ``BINOP`` and
  trailers share its loop (``disj``); ``+ - ~ not await`` form one prefix terminal ``PREFIX`` (a
  run of unary operators is one lexeme, not one Earley row per ``-``); names, numbers,
  ``None``/``True``/``False`` and ``...`` form one ``ATOM`` terminal;
* lists whose elements are completed often (``tests``, ``arguments``, ``simple_stmts``) are
  left-recursive with explicit alternatives: each ``x*`` or ``x?`` adds nullable helper items to
  every row that completes an element; lists that are mostly predicted keep the EBNF form, which
  predicts fewer items;
* ``;`` may begin a line break (``NL_j``, ``TRAIL``, ``END``), so a token ending in ``;`` does not
  end a lexeme.

The flat operator level accepts a few misplaced prefixes (``a + not b``, ``-not b``,
``await -x``); everything Python accepts stays accepted.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["MAX_DEPTH", "generate"]

MAX_DEPTH = 12  # deepest block level (level 0 = module); the deepest level holds no compound statement

KEYWORDS = [
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
]

_BRACKET_PREFIX = r"(?:[ \t\f\r\n]|\\\r?\n|#[^\n]*)*"
_BRACKETABLE_TERMINALS = ("ATOM", "NAME", "STRING", "BYTES", "BINOP", "PREFIX")
_ENDS = ("e", "x")  # e: end of file (trailing comments allowed), x: end of an entry rule

# Expression rules used in both modes (line mode as written; `_b` copy in bracket mode).
# `disj` is the whole operator chain: every precedence level, and trailers, in one loop.
_DUAL = r"""
namedexpr: NAME ":=" test | test
test: disj ("if" disj "else" test)? | lambdef
lambdef: "lambda" lambda_params? ":" test
lambda_params: lambda_positional ("," lambda_star)? ","? | lambda_star ","?
lambda_positional: lambda_names ("," lambda_defaults)? | lambda_names "," "/" ("," NAME)* ("," lambda_defaults)?
                 | lambda_names "," lambda_defaults "," "/" ("," lambda_default)* | lambda_defaults ("," "/" ("," lambda_default)*)?
lambda_names: NAME ("," NAME)*
lambda_defaults: lambda_default ("," lambda_default)*
lambda_default: NAME "=" test
lambda_star: "*" NAME ("," lambda_kwonly)* ("," "**" NAME)? | "*" ("," lambda_kwonly)+ ("," "**" NAME)? | "**" NAME
lambda_kwonly: NAME ("=" test)?
disj: factor (BINOP factor | trailer)*
factor: atom | PREFIX factor
trailer: "(" arglist_b? RPAR | "[" subscripts_b RSQB | "." NAME
atom: "(" (yield_expr_b | testlist_comp_b)? RPAR
    | "[" testlist_comp_b? RSQB
    | "{" dictorsetmaker_b? RBRACE
    | ATOM | STRING+ | BYTES+
star_expr: "*" disj
exprlist: (disj | star_expr) ("," (disj | star_expr))* ","?
testlist_star: tests | tests ","
tests: test_item | tests "," test_item
test_item: test | star_expr
yield_expr: "yield" ("from" test | testlist_star)?
comp_for: ("async"? "for" exprlist "in" disj ("if" disj)*)+
"""

# Rules that only occur inside brackets (written in line notation; emitted in bracket mode).
# (`testlist_star`/`tests` above and `arguments` below are left-recursive on purpose, see the docstring.)
_BRACKET_ONLY = r"""
testlist_comp_b: (namedexpr | star_expr) (comp_for | ("," (namedexpr | star_expr))* ","?)
arglist_b: arguments | arguments ","
arguments: argument | arguments "," argument
argument: namedexpr comp_for? | NAME "=" test | "*" test | "**" test
subscripts_b: subscript ("," subscript)* ","?
subscript: test | test? ":" test? (":" test?)? | star_expr
dictorsetmaker_b: dictitem (comp_for | ("," dictitem)* ","?) | setitem (comp_for | ("," setitem)* ","?)
dictitem: test ":" test | "**" disj
setitem: namedexpr | star_expr
params_b: params_positional ("," params_star)? ","? | params_star ","?
params_positional: params_plain ("," params_default)? | params_plain "," "/" ("," param_plain)* ("," params_default)?
                 | params_plain "," params_default "," "/" ("," param_default)* | params_default ("," "/" ("," param_default)*)?
params_plain: param_plain ("," param_plain)*
params_default: param_default ("," param_default)*
param_plain: NAME (":" test)?
param_default: NAME (":" test)? "=" test
params_star: "*" param_plain ("," param_kwonly)* ("," param_kwargs)? | "*" ("," param_kwonly)+ ("," param_kwargs)? | param_kwargs
param_kwonly: NAME (":" test)? ("=" test)?
param_kwargs: "**" param_plain
import_names_b: import_as_name ("," import_as_name)* ","?
import_as_name: NAME ("as" NAME)?
with_items_b: with_item ("," with_item)* ","?
with_item: test ("as" disj)?
"""
_BRACKET_ONLY_HELPERS = (
    "arguments",
    "argument",
    "subscript",
    "dictitem",
    "setitem",
    "params_positional",
    "params_plain",
    "params_default",
    "param_plain",
    "param_default",
    "params_star",
    "param_kwonly",
    "param_kwargs",
    "import_as_name",
    "with_item",
)

# Level-independent statement parts (line mode).
_SIMPLE = r"""
simple_stmts: small_stmt | simple_stmts SEMI small_stmt
small_stmt: expr_stmt | del_stmt | pass_stmt | flow_stmt | import_stmt | global_stmt | assert_stmt
expr_stmt: testlist_star | testlist_star ":" test | testlist_star ":" test "=" rhs | testlist_star AUGASSIGN rhs
         | targets rhs
targets: testlist_star "=" | targets testlist_star "="
rhs: yield_expr | testlist_star
del_stmt: "del" exprlist
pass_stmt: "pass"
flow_stmt: "break" | "continue" | "return" testlist_star? | "raise" (test ("from" test)?)? | yield_expr
import_stmt: "import" dotted_as_name ("," dotted_as_name)*
           | "from" (DOTS? dotted_name | DOTS) "import" ("*" | "(" import_names_b RPAR | import_as_name ("," import_as_name)*)
import_as_name: NAME ("as" NAME)?
dotted_as_name: dotted_name ("as" NAME)?
dotted_name: NAME ("." NAME)*
global_stmt: ("global" | "nonlocal") NAME ("," NAME)*
assert_stmt: "assert" test ("," test)?
decorator: "@" namedexpr
with_item: test ("as" disj)?
pattern_list: pattern ("," pattern)* ","?
pattern: (disj | star_expr) ("as" NAME)?
with_head: "async"? "with" (with_item ("," with_item)* | "(" with_items_b RPAR) ":"
def_head: "async"? "def" NAME "(" params_b? RPAR ("->" test)? ":"
class_head: "class" NAME ("(" arglist_b? RPAR)? ":"
except_head: "except" "*"? (test ("as" NAME)?)? ":"
case_head: "case" pattern_list ("if" namedexpr)? ":"
line_e: simple_stmts TRAIL?
line_x: simple_stmts END?
"""

# Compound statements at level k, up to the ':' whose suite ends the statement; every earlier
# suite of the statement (before elif/else/except/finally/case) ends with a line break to level k.
_HEADS = r"""
head_{k}: if_{k} | while_{k} | for_{k} | try_{k} | with_head | (decorator NL_{k})* (def_head | class_head)
if_{k}: "if" namedexpr ":" (su{k}_{k} "elif" namedexpr ":")* (su{k}_{k} "else" ":")?
while_{k}: "while" namedexpr ":" (su{k}_{k} "else" ":")?
for_{k}: "async"? "for" exprlist "in" testlist_star ":" (su{k}_{k} "else" ":")?
try_{k}: "try" ":" su{k}_{k} (excepts_{k} (su{k}_{k} "else" ":")? | (excepts_{k} su{k}_{k} ("else" ":" su{k}_{k})?)? "finally" ":")
excepts_{k}: except_head (su{k}_{k} except_head)*
match_{k}: "match" testlist_star ":" NL_{n} (case_head su{n}_{n})* case_head
"""

_HEAD = r"""// Python 3 (3.8-3.11 syntax) for llguidance. GENERATED by ananke/grammars/_python_gen.py; do not edit.
// Indentation: 4 spaces per level, at most {depth} nested blocks. s<k>_<j>: statement at level k followed
// by a line at level j (e: end of file, x: end of entry rule). Newlines inside brackets via *_b rules.

start: LEAD? s0_0* s0_e?
function_def: (decorator NL_0)* def_head su0_x
class_def: (decorator NL_0)* class_head su0_x
statement: s0_x
simple_statement: line_x
expression: testlist_star
import_stmt_entry: import_stmt END?
"""

_TERMINALS = r"""
NAME: /{name}/ & ~/({keywords})/
ATOM: /{name}/ & ~/({keywords_not_const})/ | NUMBER | /\.\.\./
NUMBER: /{number}/
STRING: /{string}/
BYTES: /{bytes}/
DOTS: /\.+/
BINOP: /\*\*|\/\/|<<|>>|[-+*\/%@&|^]|[<>]=?|==|!=|and|or|in|is|not(?:[ \t\f]|\\\r?\n)+in/
PREFIX: /[-+~]+|not|await/
SEMI: /;[ \t\f]*/
AUGASSIGN: /(?:\*\*|\/\/|<<|>>|[-+*\/%@&|^])=/
RPAR: /{pfx}\)/
RSQB: /{pfx}\]/
RBRACE: /{pfx}\}}/
LEAD: /(#[^\n]*)?\r?\n([ \t]*(#[^\n]*)?\r?\n)*/
TRAIL: /(?:;[ \t\f]*)?(?:#[^\n]*(\r?\n[ \t]*(#[^\n]*)?)*|(\r?\n[ \t]*(#[^\n]*)?)+)|;[ \t\f]*/
END: /(?:;[ \t\f]*)?(?:#[^\n]*(\r?\n[ \t]*)*|(\r?\n[ \t]*)+)|;[ \t\f]*/
%ignore /[ \t\f]+|\\\r?\n/
"""


def _name_regex() -> str:
    # Identifier characters; the non-ASCII ranges leave out Latin-1 and general punctuation and
    # symbols (typographic quotes, dashes, arrows, box drawing), which Python rejects and which
    # would otherwise let tokens such as '’s' or '—' extend a name.
    other = (
        r"\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u1fff\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff"
        r"\uf900-\ufdcf\ufdf0-\ufffd"
    )
    return rf"[A-Za-z_{other}][A-Za-z0-9_{other}]*"


def _number_regex() -> str:
    digits = r"[0-9](?:_?[0-9])*"
    exponent = rf"[eE][+-]?{digits}"
    point = rf"(?:{digits}\.(?:{digits})?|\.{digits})(?:{exponent})?|{digits}{exponent}"
    integer = r"0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?[0-9])*|0(?:_?0)*"
    return rf"(?:{point}|{digits})[jJ]|{point}|{integer}"


def _string_regex(prefix: str = r"(?:[rRuUfF]|[rR][fF]|[fF][rR])?") -> str:
    """String literals; bytes literals (``prefix`` with b) are another terminal, as Python does not concatenate the two."""
    parts = []
    for q in ("'", '"'):
        ch = rf"(?:[^{q}\\]|\\[\s\S])"
        parts.append(rf"{q}{q}{q}(?:{ch}|{q}{ch}|{q}{q}{ch})*{q}{q}{q}")
        parts.append(rf"{q}(?:[^{q}\\\n]|\\[\s\S])*{q}")
    return prefix + "(?:" + "|".join(parts) + ")"


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\s+|.', re.S)


class _Bracketizer:
    """Rewrites line-mode rule bodies into bracket mode, collecting the terminals it needs."""

    def __init__(self, dual: set[str]):
        self.dual = dual
        self.terminals: dict[str, str] = {}

    def _literal(self, literal: str) -> str:
        text = literal[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if text.isidentifier():
            name = f"B_KW_{text.upper()}"
        else:
            name = f"B_OP_{len([n for n in self.terminals if n.startswith('B_OP_')])}"
            for existing, body in self.terminals.items():
                if body == re.escape(text).replace("/", "\\/"):
                    return existing
        self.terminals.setdefault(name, re.escape(text).replace("/", "\\/"))
        return name

    def body(self, text: str) -> str:
        out = []
        for tok in _TOKEN.findall(text):
            if tok.startswith('"'):
                out.append(self._literal(tok))
            elif tok in _BRACKETABLE_TERMINALS:
                out.append(f"B_{tok}")
            elif tok in self.dual:
                out.append(f"{tok}_b")
            else:
                out.append(tok)
        return "".join(out)

    def definitions(self) -> str:
        lines = [f"B_{name}: BPFX {name}" for name in _BRACKETABLE_TERMINALS]
        lines += [f"{name}: BPFX /{body}/" for name, body in self.terminals.items()]
        return "\n".join([f"BPFX: /{_BRACKET_PREFIX}/", *lines])


def _rules(block: str) -> list[tuple[str, str]]:
    rules: list[tuple[str, str]] = []
    for line in block.strip().splitlines():
        if line[:1].isspace():
            name, body = rules[-1]
            rules[-1] = (name, body + "\n" + line)
        else:
            name, body = line.split(":", 1)
            rules.append((name.strip(), body))
    return rules


def _ends(level: int) -> list[str]:
    """Levels a statement at ``level`` may be followed by (a dedent, the same level, or an end)."""
    return [str(j) for j in range(level + 1)] + list(_ENDS)


def _statements(depth: int) -> list[str]:
    """Statement, suite and block rules for every (level, next level) pair."""
    out = [f"line_{j}: simple_stmts NL_{j}" for j in range(depth + 1)]
    for k in range(depth + 1):
        deepest = k == depth
        for j in _ends(k):
            if deepest:
                out += [f"s{k}_{j}: line_{j}", f"su{k}_{j}: line_{j}"]
            else:
                out.append(f"s{k}_{j}: line_{j} | head_{k} su{k}_{j} | match_{k} su{k + 1}_{j}")
                out.append(f"su{k}_{j}: line_{j} | NL_{k + 1} b{k + 1}_{j}")
        if k > 0:
            out += [f"b{k}_{j}: s{k}_{k}* s{k}_{j}" for j in _ends(k - 1)]
        if not deepest:
            out.append(_HEADS.format(k=k, n=k + 1).strip())
    return out


def generate(depth: int = MAX_DEPTH) -> str:
    dual_rules = _rules(_DUAL)
    dual = {name for name, _ in dual_rules} | set(_BRACKET_ONLY_HELPERS)
    bracket = _Bracketizer(dual)
    parts = [_HEAD.format(depth=depth).strip(), "", "// -- expressions (line mode)"]
    parts += [f"{name}:{body}" for name, body in dual_rules]
    parts += ["", "// -- expressions (bracket mode: newlines and comments are whitespace)"]
    parts += [f"{name}_b:{bracket.body(body)}" for name, body in dual_rules]
    for name, body in _rules(_BRACKET_ONLY):
        parts.append(f"{name if name.endswith('_b') else name + '_b'}:{bracket.body(body)}")
    parts += ["", "// -- simple statements and compound statement heads", _SIMPLE.strip()]
    parts += ["", "// -- statements by (level, level of the next line)", *_statements(depth)]
    parts += ["", "// -- terminals"]
    parts += [
        f"NL_{k}: /(;[ \\t\\f]*)?(#[^\\n]*)?(\\r?\\n[ \\t]*(#[^\\n]*)?)*\\r?\\n{' ' * (4 * k)}/"
        for k in range(depth + 1)
    ]
    keywords_not_const = "|".join(k for k in KEYWORDS if k not in ("None", "True", "False"))
    parts.append(
        _TERMINALS.format(
            name=_name_regex(),
            keywords="|".join(KEYWORDS),
            keywords_not_const=keywords_not_const,
            number=_number_regex(),
            string=_string_regex(),
            bytes=_string_regex(r"(?:[bB]|[rR][bB]|[bB][rR])"),
            pfx=_BRACKET_PREFIX,
        ).strip()
    )
    parts.append(bracket.definitions())
    return "\n".join(parts) + "\n"


def main() -> None:
    target = Path(__file__).with_name("python.lark")
    target.write_text(generate())
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
