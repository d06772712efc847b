"""Python grammar: indentation is enforced, and what it accepts parses with ``ast``."""

from __future__ import annotations

import ast
import textwrap

import pytest

from ananke.grammars import verify_with_native_parser

FILE = textwrap.dedent('''\
    #!/usr/bin/env python3
    """Module docstring."""
    from __future__ import annotations

    import os, sys
    from .. import sibling
    from typing import (
        Any,  # comment inside brackets
        Iterable,
    )


    @dataclass(frozen=True)
    class Point:
        x: float = 0.0
        y: float = 0.0

        def norm(self) -> float:
            return (self.x ** 2 + self.y ** 2) ** 0.5


    async def main(argv: list[str] | None = None, *, verbose=False, **kw) -> int:
        total = 0
        for i, name in enumerate(argv or []):
            if i % 2 == 0 and name:
                total += len(name)
            elif name.startswith("-"):
                continue
            else:
                try:
                    total -= int(name, base=16)
                except (ValueError, TypeError) as exc:
                    print(f"bad {name!r}: {exc}", file=sys.stderr)
                finally:
                    pass
        while total > 100:
            total //= 2
        with open(os.devnull, "w") as fh, open(os.devnull) as fh2:
            fh.write(r"\\d+" """ implicit
        triple""" 'concat')
        data = {k: v for k, v in zip("ab", [1, 2]) if v}
        squares = [x * x for x in range(10)]
        fn = lambda a, b=2: a + b
        match total:
            case 0 | 1:
                return 0
            case [first, *rest]:
                return first
            case _:
                return (yield total) if verbose else await other(
                    total,
                    *rest,
                )
        return total  # trailing comment
    ''')

GOOD = {
    "start": [
        FILE,
        "",
        "x = 1",
        "x = 1\n",
        "# only a comment\n",
        "if x:\n    pass\nelse:\n    y = 2; z = 3\n",
        "def f():\n    if a:\n        if b:\n            if c:\n                return d\n    return e\n",
    ],
    "function_def": [
        "def f(x):\n    return x + 1\n",
        "@cache\n@wraps(g)\nasync def f(*args, **kw) -> None:\n    await g(*args)\n",
        "def f(a, /, b, *, c):\n    '''Doc.'''\n    return a, b, c",
    ],
    "class_def": ["class A(B, metaclass=M):\n    x = 1\n\n    def f(self):\n        return self.x\n"],
    "statement": ["for i in range(3):\n    print(i)\n", "x: int = 5", "del a[0], b.c"],
    "expression": ["a if b else c", "[x for x in y if x]", "f(*a, **k)[1:2, ::3]", "not a in b is not c"],
}

BAD = {
    "start": [
        "if x:\n        y = 1\n    z = 2\n",  # inconsistent dedent
        "if x:\ny = 1\n",  # missing indentation
        "if x:\n    a = 1\n      b = 2\n",  # unexpected indent
        "x = (1 +\n",  # unclosed bracket
        "return\n    x\n",  # indented continuation without bracket
        "x = 1 +\n2\n",  # newline outside brackets
        "for x in y\n    pass\n",  # missing colon
        "def = 3\n",  # keyword as name
    ],
    "function_def": ["def f(:\n    pass\n", "def f():\nreturn 1\n", "class A:\n    pass\n"],
    "class_def": ["class A\n    pass\n", "def f():\n    pass\n"],
    "statement": ["x = = 1", "import"],
    "expression": ["a +", "(a, b", "lambda: "],
}


@pytest.mark.parametrize("entry,text", [(e, t) for e, ts in GOOD.items() for t in ts])
def test_accepted_and_parsed_by_ast(grammar_accepts, entry, text):
    assert grammar_accepts("python", entry, text)
    assert verify_with_native_parser("python", entry, text) is True


# Valid Python that the grammar rejects on purpose: indentation is exactly 4 spaces per level.
STRICTER_THAN_PYTHON = ["def f():\n   return 1\n", "if x:\n\tpass\n", "if x:\n  pass\n"]


@pytest.mark.parametrize(
    "entry,text", [(e, t) for e, ts in BAD.items() for t in ts] + [("start", t) for t in STRICTER_THAN_PYTHON]
)
def test_rejected(grammar_accepts, entry, text):
    assert not grammar_accepts("python", entry, text)


def test_rejected_python_is_also_invalid_for_ast():
    for entry in ("start", "function_def", "class_def", "expression"):
        for text in BAD[entry]:
            assert verify_with_native_parser("python", entry, text) is False, text


def test_nested_blocks_up_to_the_depth_limit(grammar_accepts):
    from ananke.grammars._python_gen import MAX_DEPTH

    def nested(depth: int) -> str:
        lines = [f"{'    ' * k}if x{k}:" for k in range(depth)]
        return "\n".join([*lines, "    " * depth + "pass"]) + "\n"

    assert grammar_accepts("python", "start", nested(MAX_DEPTH))
    ast.parse(nested(MAX_DEPTH + 1))
    assert not grammar_accepts("python", "start", nested(MAX_DEPTH + 1))


def test_stdlib_module_accepted(grammar_accepts):
    import inspect
    import textwrap as module

    source = inspect.getsource(module)
    assert grammar_accepts("python", "start", source)
