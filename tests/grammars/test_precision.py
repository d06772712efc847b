"""Broken code the corpus benchmark's mutants got past the grammars, now rejected, next to valid neighbours.

Each case states whether the language accepts it; where the language's own parser is installed
here (Python's ``ast``, ``rustfmt``, ``gofmt``, ``zig fmt``) the case is checked against it too, so
the expectations are the parsers', not ours.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ananke.grammars import verify_with_native_parser

CASES = [
    # Rust: only the escapes the reference lists; a line may end in `\` inside a string.
    ("rust", "start", 'fn f() {\n    let s = b"\\x22\\ \\x23";\n}\n', False),
    ("rust", "start", "fn f() {\n    let c = '\\q';\n}\n", False),
    (
        "rust",
        "start",
        'fn f() {\n    let s = "a\\"b\\\\c\\n\\t\\r\\0\\\'\\x41\\u{1F600}\\\n        d";\n'
        "    let c = ['\\'', '\\\\', '\\u{7f}', b'\\x80'];\n}\n",
        True,
    ),
    # Rust: a macro statement delimited by () or [] needs its `;` unless it ends the block.
    ("rust", "start", "fn f() {\n    assert_eq!(a, )b;\n}\n", False),
    ("rust", "start", 'fn f() {\n    println!("a")\n    g();\n}\n', False),
    ("rust", "start", 'fn f() {\n    println!("a");\n    m! { x }\n    g();\n    vec![1]\n}\n', True),
    # Rust: `_` is not an identifier, but a pattern, a type, an expression and a few names.
    ("rust", "start", "fn f() {\n    let ::_ = g();\n}\n", False),
    ("rust", "start", "fn _() {}\n", False),
    (
        "rust",
        "start",
        "use std::fmt::Write as _;\nconst _: () = ();\n\nfn f(_: u8, g: fn(_: u8)) {\n"
        "    let _ = 1;\n    let v: Vec<_> = w.collect();\n    let (_, _x) = t;\n    _ = h();\n"
        "    m!(1u256 1.5f32 $_);\n}\n",
        True,
    ),
    # Python: bytes and str literals do not concatenate.
    ("python", "start", 'x = (b"abc\\x80" "abc\\ufffd", "strict")\n', False),
    ("python", "start", 'x = (b"abc" rb"\\x80", "a" f"{b}" r"\\c")\n', True),
    # Python: a parameter without default may not follow one with a default.
    ("python", "start", "def open(self, mode='r', args, **kwargs):\n    pass\n", False),
    ("python", "start", "def f(a, b=1, /, c=2, *args, d, e=3, **kw):\n    pass\n", True),
    ("python", "start", "def f(a, *, **kw):\n    pass\n", False),
    ("python", "start", "f = lambda a=1, b: a\n", False),
    # Go: parameter names are all present or all absent.
    ("go", "start", "package p\n\nfunc f(key *ecdsa.PrivateKey, asn1.ObjectIdentifier) ([]byte, error) {\n}\n", False),
    ("go", "start", "package p\n\nfunc IndexByte(b []bytec, byte) int {\n}\n", False),
    (
        "go",
        "start",
        "package p\n\nfunc f(a, b int, c ...string) (n int, err error) {\n}\n\n"
        "func g(int, []byte, p.T) (int, error) {\n}\n",
        True,
    ),
    # TypeScript: declarations are named unless they are `export default`.
    ("typescript", "start", "export declare function <T>(x: T): T;\n", False),
    ("typescript", "start", "export class {}\n", False),
    ("typescript", "start", "export default function <T>(x: T): T { return x }\nconst A = class {};\n", True),
    ("typescript", "start", "export default class {}\n", True),
    # TypeScript: an expression statement does not start with `function`, `class` or `{`.
    ("typescript", "start", "function () {}\n", False),
    ("typescript", "start", "{a: 1, b: 2}\n", False),
    ("typescript", "start", "(function () {})()\nx = class {}\n{\n  f()\n}\nasync () => 1\n", True),
    # Zig: a statement that starts with `switch` or a block ends there (no `;` after it).
    ("zig", "start", "fn f() void {\n    switch (x) {\n        else => {},\n    };\n}\n", False),
    ("zig", "start", "fn f() void {\n    {\n        g();\n    };\n}\n", False),
    (
        "zig",
        "start",
        "fn f() void {\n    switch (x) {\n        else => {},\n    }\n    x = switch (y) {\n"
        "        else => 1,\n    };\n    a, b = .{ 1, 2 };\n    foo().bar = 1;\n}\n",
        True,
    ),
    # Zig: assembly operands are named; clobbers come third; comment lines may sit inside a
    # multiline string.
    ("zig", "start", 'fn f() void {\n    asm volatile ("nop"\n        :\n        : [] "{r0}" (x),\n    );\n}\n', False),
    (
        "zig",
        "start",
        "fn f() usize {\n    return asm volatile (\n        \\\\ mov %[ret], 1\n"
        "        // a comment between the lines\n        \\\\ nop\n"
        '        : [ret] "=r" (-> usize),\n        : [x] "r" (x),\n        : .{ .memory = true });\n}\n',
        True,
    ),
]


@pytest.mark.parametrize(
    "language,entry,text,valid", CASES, ids=[f"{c[0]}-{'ok' if c[3] else 'bad'}{i}" for i, c in enumerate(CASES)]
)
def test_case(grammar_accepts, language, entry, text, valid):
    native = verify_with_native_parser(language, entry, text)
    assert native in (None, valid), f"the case is mislabelled: the native parser says {native}"
    assert grammar_accepts(language, entry, text) is valid


_DEF_PARAMS = ["a", "b=1", "/", "*", "*args", "**kw", "c: int", "d: int = 2"]
_LAMBDA_PARAMS = ["a", "b=1", "/", "*", "*args", "**kw"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.sampled_from(_DEF_PARAMS), max_size=6), trailing=st.booleans(), is_lambda=st.booleans())
def test_python_parameter_lists_agree_with_ast(grammar_accepts, params, trailing, is_lambda):
    if is_lambda:
        params = [p for p in params if ":" not in p]
    text = ", ".join(params) + ("," if trailing and params else "")
    source = f"f = lambda {text}: 0\n" if is_lambda else f"def f({text}):\n    pass\n"
    assert grammar_accepts("python", "start", source) is verify_with_native_parser("python", "start", source), source
