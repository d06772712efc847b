"""Regressions found on real code: comments, division, select cases, raw strings, attributes.

llguidance's lexer takes the longest match without backtracking, so a terminal that can keep
going (a comment run, a whitespace suffix) must not swallow what a later token needs. Each case
here failed on a real corpus file or on a generated sample before it was fixed.
"""

from __future__ import annotations

import pytest

import ananke

ACCEPT = [
    # TypeScript: two line comments in a row inside brackets/objects; division after a space.
    ("typescript", "start", "f(a, // a\n  // b\n  b)\n"),
    ("typescript", "start", "const x = {\n  // a\n  // b\n  f: 1\n}\n"),
    ("typescript", "start", "x = (a >>> 0) / 4;\ny = a / 4;\n"),
    ("typescript", "start", "x\n  // c\n  .foo()\n"),
    ("typescript", "class_def", "class A {\n  get (key: K): V\n  set (k: K, v: V): void\n}\n"),
    # Go: `/*` inside a `//` comment must not open a block comment that runs to a later `*/`.
    (
        "go",
        "start",
        "package p\n\n// opening /* or // and closing */, and /*line\nfunc f() {\n\t/* c */\n\n\tif x {\n\t}\n}\n",
    ),
    (
        "go",
        "statement",
        "select {\ncase v := <-ch:\n\treturn v\ncase x, ok = <-ch:\ncase ch <- 1:\ncase <-done:\ndefault:\n}",
    ),
    # Rust: raw strings whose body holds `"` and `"#`, negative range start, real attributes.
    (
        "rust",
        "start",
        'fn f() {\n    let s = r##"a "b" c""##;\n    let v = br###"z"##"###;\n    let r = -2..i64::MAX;\n}\n',
    ),
    ("rust", "function_def", '#[cfg_attr(feature = "serde", derive(Serialize))]\n#[rustfmt::skip]\nfn f() {}\n'),
    # Runs of prefix operators are one lexeme each (one parser row per run, not per character).
    (
        "rust",
        "start",
        "fn f() {\n    let x = - -!*&&mut y + &raw const z - & mut w + --a - -1..n;\n    let r = - -1..n;\n}\n",
    ),
    # Rust literals and path heads are one terminal each; keywords among them still lex as keywords.
    (
        "rust",
        "start",
        'impl A {\n    fn f(&self) -> Self {\n        let t = (true, false, \'c\', b"x", r#"raw"#, 1_000u32, 2.5e3, trueish);\n        Self::new(self.x, super::y::z, crate::w, t)\n    }\n}\n',
    ),
    ("go", "statement", "x := - -^*p + <-<-ch - !!ok + &T{}"),
    ("typescript", "statement", "x = - -!~y + ++i - --j + !-+z;"),
]

REJECT = [
    ("typescript", "start", "x = a / ;\n"),
    ("go", "statement", "select {\ncase v := ch:\n}"),
    ("rust", "start", 'fn f() { let s = r##"a"## x"##; }\n'),
    ("rust", "function_def", '#["not a path"]\nfn f() {}\n'),  # attribute bodies start with a path
    ("rust", "statement", "let x = -mut y;"),  # `mut` only after a `&`
    ("rust", "statement", "let x = y-;"),
    ("go", "statement", "x := -"),
    ("typescript", "statement", "x = !;"),
    # Python entry rules end at the definition: no free-form comment lines after it.
    ("python", "function_def", "def f():\n    return 1\n\n# trailing prose\n# more\n"),
]


@pytest.mark.parametrize("language,start,text", ACCEPT)
def test_accepts(language, start, text):
    assert ananke.matches({"kind": "grammar", "builtin": language, "start": start}, text)


@pytest.mark.parametrize("language,start,text", REJECT)
def test_rejects(language, start, text):
    assert not ananke.matches({"kind": "grammar", "builtin": language, "start": start}, text)


def test_python_entry_allows_inline_comment_and_blank_lines_after():
    spec = {"kind": "grammar", "builtin": "python", "start": "function_def"}
    assert ananke.matches(spec, "def f():\n    return 1  # done\n\n")


@pytest.mark.parametrize(
    "start,text",
    [
        ("function_def", "def f(x):\n    return x + 1\n"),
        ("class_def", "class A:\n    x = 1\n"),
        ("expression", "a if b else c"),
    ],
)
def test_compiled_builtin_verifies_with_python_parser(start, text):
    compiled = ananke.compile({"kind": "grammar", "builtin": "python", "start": start})
    assert compiled.verify(text).satisfied
    assert not compiled.verify(text.replace("x", "(", 1) if "x" in text else text + ")").satisfied
