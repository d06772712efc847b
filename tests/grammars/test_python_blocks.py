"""Python grammar: statement/line-break structure and the flattened expression level.

The generator attaches each line break to the statement it ends (``s<k>_<j>`` rules, see
``ananke/grammars/_python_gen.py``); these tests pin what that structure must accept and reject,
and compare the grammar with :mod:`ast` on random block layouts.
"""

from __future__ import annotations

import ast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ananke.grammars._python_gen import MAX_DEPTH

ACCEPT = [
    "x = 1;\n",
    "x = 1; y = 2\n",
    "x = 1;",
    "x = 1;  # c\n",
    "if x: a; b\nelse: c;\n",
    "x = - -1\n",
    "x = a--b\n",
    "x = -await f()\n",
    "x = ~~a ** -b // +c\n",
    "x = not not a\n",
    "x = a not in b is not c < d != e\n",
    "x = a if b else lambda: 0\n",
    "x = nothing + isinstance + notes\n",
    "a, *b = c,\n",
    "x = y = f(a, *b, c=1, **d)[1:2, ::3].e\n",
    "x: int = 5\n",
    "x += yield\n",
    "x = [i for i in y if i], {1: 2, **d}, {a, *b}, (), [], {}, (a,)\n",
    "def f(a, /, b=1, *c, d: int = 2, **e) -> x: pass\n",
    "try:\n    a\nexcept E as e:\n    b\nexcept F:\n    c\nelse:\n    d\nfinally:\n    e\n",
    "try:\n    a\nexcept* E:\n    b\n",
    "try:\n    a\nfinally:\n    b\n",
    "for i in x:\n    if i:\n        continue\n    else:\n        break\nelse:\n    pass\n",
    "while x:\n    pass\nelse:\n    y\n",
    "class A:\n    @d\n    def f(self):\n        match x:\n            case 1:\n                pass\n            case _:\n                return\n",
    "def f():\n    if a:\n        return 1",  # file ends inside nested blocks
    "def f():\n    return 1\n\n\n# trailing comment\n",
    "if a:\n    pass\nelif b:\n    pass\nelif c: pass\nelse: pass\n",
]

REJECT = [
    "x = 1;;\n",
    "x = a not b\n",
    "x = a ,, b\n",
    "else:\n    pass\n",
    "if x:\n    pass\nelse:\n    a\nelse:\n    b\n",
    "try:\n    a\nelse:\n    b\n",
    "try:\n    a\n",
    "if x:\n    a\n  b\n",
    "def f():\nreturn 1\n",
    "x = (a ,, b)\n",
    "for x in y:\n    pass\nelif z:\n    pass\n",
    "x = a.\n",
]


@pytest.mark.parametrize("text", ACCEPT)
def test_accepts_valid_python(grammar_accepts, text):
    ast.parse(text)
    assert grammar_accepts("python", "start", text)


@pytest.mark.parametrize("text", REJECT)
def test_rejects_invalid_python(grammar_accepts, text):
    with pytest.raises(SyntaxError):
        ast.parse(text)
    assert not grammar_accepts("python", "start", text)


SIMPLE = ("pass", "x = 1", "return y", "f(a,\n  b)", "a; b")
CLAUSES = {
    "if x:": ("elif y:", "else:"),
    "while x:": ("else:",),
    "for i in x:": ("else:",),
    "with x:": (),
    "def f():": (),
    "class A:": (),
    "try:": ("except E:", "finally:"),
}


def _block(draw, level: int, budget: list[int]) -> list[tuple[int, str]]:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        if budget[0] <= 0 or level >= MAX_DEPTH or draw(st.booleans()):
            lines.append((level, draw(st.sampled_from(SIMPLE))))
            continue
        budget[0] -= 1
        header = draw(st.sampled_from(sorted(CLAUSES)))
        lines += [(level, header), *_block(draw, level + 1, budget)]
        follows = CLAUSES[header]
        if header == "try:" or (follows and draw(st.booleans())):
            clause = draw(st.sampled_from(follows))
            lines += [(level, clause), *_block(draw, level + 1, budget)]
    return lines


@st.composite
def layouts(draw):
    """A nested block layout, valid unless one simple statement is dedented by four spaces.

    (Moving a header, or indenting a line further, often gives valid Python with a block indented
    by eight spaces, which the grammar rejects on purpose.)
    """
    lines = _block(draw, 0, [draw(st.integers(0, 8))])
    simple = [i for i, (_, text) in enumerate(lines) if text in SIMPLE]
    if draw(st.booleans()):
        i = draw(st.sampled_from(simple))
        lines[i] = (max(0, lines[i][0] - 1), lines[i][1])
    lead = draw(st.sampled_from(("", "# c\n", "\n\n")))
    end = draw(st.sampled_from(("", "\n", "\n  \n", "\n# end")))
    return lead + "\n".join("    " * k + t for k, t in lines) + end


def _python_accepts(text: str) -> bool:
    try:
        compile(text, "<layout>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        return True
    except SyntaxError:
        return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layouts())
def test_block_layouts_agree_with_ast(grammar_accepts, text):
    # ONLY_AST: `return` outside a function is an error of the compiler, not of the parser.
    assert grammar_accepts("python", "start", text) == _python_accepts(text), text
