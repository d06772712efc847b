"""Built-in grammars (llguidance Lark dialect) for Python, TypeScript, Rust, Go and Zig.

Each ``<language>.lark`` file defines every rule and terminal it uses (no ``%import``), so the
``grammar`` plugin can embed it under a name prefix and reference any entry rule. ``start``
derives a whole source file; :func:`entry_rules` lists the other entry points.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

__all__ = [
    "BUILTIN_LANGUAGES",
    "entry_rules",
    "grammar_text",
    "parser_name",
    "verify_with_native_parser",
    "verify_with_parser",
]

BUILTIN_LANGUAGES: tuple[str, ...] = ("python", "typescript", "rust", "go", "zig")


_COMMON = {
    "start": "a whole source file",
    "function_def": "one function definition",
    "statement": "one statement",
    "expression": "one expression",
}

_ENTRY_RULES: dict[str, dict[str, str]] = {
    "python": {
        **_COMMON,
        "function_def": "one top-level function definition (def/async def), decorators allowed",
        "class_def": "one top-level class definition, decorators allowed",
        "statement": "one top-level statement (simple or compound)",
        "simple_statement": "one line of simple statements separated by ';'",
        "expression": "an expression list, e.g. `a + b` or `x, *rest`",
        "import_stmt_entry": "one import or from-import statement",
    },
    "typescript": {
        **_COMMON,
        "function_def": "one function declaration (optionally exported/async/generator)",
        "class_def": "one class declaration (optionally exported/abstract)",
        "type_def": "one interface or type alias declaration",
        "statement": "one statement or declaration",
    },
    "rust": {
        **_COMMON,
        "function_def": "one function item (attributes and visibility allowed)",
        "struct_def": "one struct, enum or union item",
        "type_def": "one struct, enum, union, trait, type alias or impl item",
        "statement": "one statement inside a block (item, let, or expression statement)",
    },
    "go": {
        **_COMMON,
        "function_def": "one function or method declaration",
        "type_def": "one type declaration (struct, interface, alias, ...)",
        "struct_def": "one type declaration (alias of type_def)",
        "statement": "one statement inside a function body",
    },
    "zig": {
        **_COMMON,
        "function_def": "one function declaration (pub/export/extern/inline allowed)",
        "type_def": "one container declaration `const Name = struct/enum/union/opaque {...};`",
        "struct_def": "one container declaration (alias of type_def)",
        "statement": "one statement inside a block",
    },
}


def _check(language: str) -> str:
    if language not in BUILTIN_LANGUAGES:
        raise ValueError(f"unknown builtin grammar {language!r}; allowed: {', '.join(BUILTIN_LANGUAGES)}")
    return language


@cache
def grammar_text(language: str) -> str:
    """The grammar of ``language`` as llguidance Lark text (rule ``start`` = whole source file)."""
    from importlib.resources import files

    return files(__name__).joinpath(f"{_check(language)}.lark").read_text(encoding="utf-8")


def entry_rules(language: str) -> dict[str, str]:
    """Entry rule name -> one-line description (always includes ``start``)."""
    return dict(_ENTRY_RULES[_check(language)])


# -- independent verification ---------------------------------------------------------------
def _python_ok(start: str, text: str) -> bool:
    import ast

    try:
        if start == "expression":
            ast.parse(text.strip(), mode="eval")
            return True
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    body = tree.body
    wanted = {
        "function_def": (ast.FunctionDef, ast.AsyncFunctionDef),
        "class_def": (ast.ClassDef,),
        "import_stmt_entry": (ast.Import, ast.ImportFrom),
    }.get(start)
    if wanted is not None:
        return len(body) == 1 and isinstance(body[0], wanted)
    if start == "statement":
        return len(body) == 1
    return True


def _run_stdin(argv: list[str], text: str) -> bool | None:
    try:
        proc = subprocess.run(argv, input=text.encode("utf-8"), capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.returncode == 0


def _run_tool(argv: list[str], text: str, suffix: str) -> bool | None:
    with tempfile.TemporaryDirectory(prefix="ananke-verify-") as tmp:
        path = Path(tmp) / f"snippet{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            proc = subprocess.run([*argv, str(path)], capture_output=True, timeout=60, cwd=tmp)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.returncode == 0


# How a non-file entry is embedded in a file the native parser checks ("{}" is the text);
# the None key covers every other entry rule (items that stand in a file as they are).
_WRAPPERS: dict[str, dict[str | None, str]] = {
    "typescript": {"expression": "_ = (\n{}\n)\n", None: "{}"},
    "python": {"expression": "_ = (\n{}\n)\n", None: "{}"},
    "go": {
        "statement": "package p\nfunc _() {{\n{}\n}}\n",
        "expression": "package p\nvar _ = {}\n",
        None: "package p\n{}\n",
    },
    "zig": {"statement": "fn _f() void {{\n{}\n}}\n", "expression": "const _x = {};\n", None: "{}"},
    "rust": {"statement": "fn _f() {{\n{}\n}}\n", "expression": "const _X: () = {{ let _x = {}; }};\n", None: "{}"},
}


def _wrap(language: str, start: str, text: str) -> str | None:
    """Embed a non-file entry in a file the native parser checks; None when it cannot be wrapped."""
    if start == "start":
        return text
    wrappers = _WRAPPERS.get(language)
    if wrappers is None:
        return None
    return wrappers.get(start, wrappers[None]).format(text)


def _zig_binary() -> str | None:
    found = shutil.which("zig")
    if found:
        return found
    try:
        import ziglang
    except ImportError:
        return None
    candidate = Path(ziglang.__file__).parent / "zig"
    return str(candidate) if candidate.exists() else None


def parser_name(language: str) -> str:
    """The in-process parser :func:`verify_with_parser` uses for ``language``."""
    return "Python's ast" if _check(language) == "python" else f"tree-sitter-{language}"


def verify_with_parser(language: str, start: str, text: str) -> bool | None:
    """Check ``text`` with an in-process parser that is the same on every machine.

    Python uses :mod:`ast`; TypeScript, Rust, Go and Zig use tree-sitter (accepted when the tree
    has no ERROR/MISSING node; entries other than ``start`` are embedded in a file first). None
    when the tree-sitter wheel for the language is not installed. Never llguidance.
    """
    _check(language)
    if language == "python":
        return _python_ok(start, text)
    from ananke.grammars._treesitter import tree_sitter_accepts

    wrapped = _wrap(language, start, text)
    return None if wrapped is None else tree_sitter_accepts(language, wrapped)


def verify_with_native_parser(language: str, start: str, text: str) -> bool | None:
    """Check ``text`` with the language's own parser; None when no parser is installed here.

    Python uses :mod:`ast` (always available). Go uses ``gofmt -e``, Zig ``zig fmt --stdin``
    (syntax only; from PATH or the PyPI ``ziglang`` package), Rust ``rustfmt`` on stdin for
    whole files and items. TypeScript has no syntax-only checker wired in here (returns None).
    """
    _check(language)
    if language == "python":
        return _python_ok(start, text)
    wrapped = _wrap(language, start, text)
    if wrapped is None or language == "typescript":
        return None
    if language == "go" and shutil.which("gofmt"):
        return _run_tool(["gofmt", "-e", "-l"], wrapped, ".go")
    if language == "zig":
        zig = _zig_binary()
        if zig:
            return _run_stdin([zig, "fmt", "--stdin"], wrapped)
    rustfmt = shutil.which("rustfmt") if language == "rust" else None
    if rustfmt:
        return _run_stdin([rustfmt, "--edition", "2021"], wrapped)
    return None
