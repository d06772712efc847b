"""Comments at the end of a line where a newline ends the statement (semicolon-free code).

A line comment or block comment after a statement's last token must still let the newline end
the statement (TypeScript ASI, Go's automatic semicolons), and a comment followed by a line break
must stay whitespace where a newline is whitespace (after `,`, `(`, `=`, ...). Every case is
checked in both directions: the text with the comment and without it get the same verdict.
"""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.grammars.conftest import accepts

# Statement pairs written without semicolons, each valid TypeScript (issue #15's cases first).
TS_LINES = [
    ("let a = 1", "let b = 2"),
    ("f(x)", "g(y)"),
    ("x++", "y++"),
    ("let a = f(x)", "let b = 2"),
    ("function f() {}", "function g() {}"),
    ("const s = `t${x}`", "if (!/^a/.test(s)) s.trim()"),
    ("type A = B | C", "export const d = 1"),
    ("x = y as const", "import('m')"),
    ("return x", "[a, b] = [b, a]"),
]
COMMENTS = [" // c", "// c", " /* c */", " /* c */ // d", " // c /* d", " /** c */"]


def _ts(first: str, second: str) -> str:
    if first.startswith("return"):
        return f"function h() {{\n  {first}\n  {second}\n}}\n"
    return f"{first}\n{second}\n"


@pytest.mark.parametrize("first,second", TS_LINES)
@pytest.mark.parametrize("comment", COMMENTS)
def test_typescript_comment_after_statement(first, second, comment):
    plain = _ts(first, second)
    assert accepts("typescript", "start", plain)
    assert accepts("typescript", "start", plain.replace(first + "\n", first + comment + "\n", 1))


@pytest.mark.parametrize(
    "text",
    [
        "class A {\n  x = 1 // c\n  y = 2\n}\n",
        "interface I {\n  a: number // c\n  b: string /* c */\n}\n",
        "function f() {\n  if (a) { b(); } // c\n  return 1;\n}\n",
        "let a = 1 /* c\n */\nlet b = 2\n",  # a block comment holding a line break ends the line
        "f(a, // c\n  /* d */\n  b)\n",  # where a newline is whitespace, so is the comment
        "x = { // c\n  a: 1, /* d */\n  b: `t`, // e\n  ...r // f\n}\n",
        "x = [\n  1, // c\n  /re/ // d\n]\n",
        "if (a) // c\n  return b\n",
        "class A\n  extends B // c\n  implements C {}\n",
        "x = a /// c\n  .b()\n",
    ],
)
def test_typescript_comments_accepted(text):
    assert accepts("typescript", "start", text)


@pytest.mark.parametrize(
    "text",
    [
        "let a = 1 /* c */ let b = 2\n",  # a comment without a line break does not end a statement
        "let a = 1 /* c */ /* d */ g()\n",
        "f(x) // c\n)\n",
    ],
)
def test_typescript_comments_rejected(text):
    assert not accepts("typescript", "start", text)


GO = "package p\n\nfunc f() {\n\tx := 1@\n\ty := 2@\n\tg(x)@\n\tif a { b() }@\n\treturn\n}@\n"


@pytest.mark.parametrize("comment", [" // c", " /* c */", " /* c\n\t */", "/* a */ // b"])
def test_go_comment_after_statement(comment):
    assert accepts("go", "start", GO.replace("@", comment))


def test_go_block_comment_without_line_break_is_a_space():
    assert not accepts("go", "start", "package p\n\nfunc f() {\n\tx := 1 /* c */ y := 2\n}\n")


PY_STATEMENTS = ["x = 1", "f(a)", "return x", "pass", "y = (a  # c\n     + b)", "if a: b"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PY_STATEMENTS), st.booleans()), min_size=1, max_size=5))
def test_python_inline_comments_keep_the_verdict(lines):
    body = "".join(f"    {s}{'  # c' if c else ''}\n" for s, c in lines)
    text = "def f():\n" + body
    assert accepts("python", "start", text) == _python_ok(text)


def _python_ok(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


@pytest.mark.parametrize(
    "language,text",
    [
        ("rust", "fn f() {\n    let a = 1; // c\n    g(a) /* c */\n} // c\nfn g() {} /* c */\n"),
        ("zig", "fn f() void {\n    const a = 1; // c\n    if (a) {} // c\n}\n"),
    ],
)
def test_other_grammars_comment_after_statement(language, text):
    assert accepts(language, "start", text)
