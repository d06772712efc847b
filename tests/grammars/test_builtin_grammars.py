"""Built-in grammars: validity, entry rules, realistic snippets accepted, broken ones rejected."""

from __future__ import annotations

import shutil

import llguidance as llg
import pytest

from ananke.grammars import BUILTIN_LANGUAGES, entry_rules, grammar_text, verify_with_native_parser
from ananke.grammars._build import build

REQUIRED = {"start", "function_def", "statement", "expression"}
TYPE_RULES = {"class_def", "type_def", "struct_def"}

# language -> entry -> (accepted snippets, rejected snippets)
SNIPPETS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "go": {
        "start": (
            [
                'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc main() {\n\tfmt.Println(strings.ToUpper("hi"))\n}\n',
                "// Package p does things.\npackage p\n\ntype Pair[K comparable, V any] struct {\n\tKey K\n\tVal V\n}\n",
            ],
            [
                "package main\n\nfunc main() {\n\tx := 1 +\n}\n",
                'package main\nfunc main() { fmt.Println("a" }\n',
            ],
        ),
        "function_def": (
            [
                "func Sum(xs []int) (total int) {\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn\n}\n",
                "func (s *Server) Close() error {\n\tif s.ln == nil {\n\t\treturn nil\n\t}\n\treturn s.ln.Close()\n}",
                "func Map[T, U any](xs []T, f func(T) U) []U {\n\tout := make([]U, 0, len(xs))\n\tfor _, x := range xs {\n\t\tout = append(out, f(x))\n\t}\n\treturn out\n}\n",
            ],
            ["func f( {\n}\n", "func f() int {\n\treturn 1 1\n}\n"],
        ),
        "type_def": (
            [
                'type Point struct {\n\tX, Y float64 `json:"x"`\n}\n',
                "type Reader interface {\n\tRead(p []byte) (n int, err error)\n}\n",
            ],
            ["type Point struct {\n\tX float64,\n}\n"],
        ),
        "statement": (
            [
                "switch v := x.(type) {\ncase int:\n\treturn v\ndefault:\n\treturn 0\n}",
                "if err := f(); err != nil {\n\treturn err\n}",
            ],
            ["if x {\n\treturn\n} else if {\n}"],
        ),
        "expression": (["a[i] + f(b, c...) * 2", "func(x int) int { return x * x }(3)"], ["a +", "f(,)"]),
    },
    "rust": {
        "start": (
            [
                "use std::collections::HashMap;\n\n#[derive(Debug, Clone)]\npub struct Counter {\n    counts: HashMap<String, usize>,\n}\n\nimpl Counter {\n    pub fn add(&mut self, w: &str) {\n        *self.counts.entry(w.to_string()).or_insert(0) += 1;\n    }\n}\n",
                '//! Crate docs.\nmacro_rules! square {\n    ($x:expr) => { $x * $x };\n}\n\nfn main() {\n    println!("{}", square!(3));\n}\n',
            ],
            ["fn main() {\n    let x = ;\n}\n", "struct S { a: u8 b: u8 }\n"],
        ),
        "function_def": (
            [
                "pub fn largest<T: PartialOrd + Copy>(xs: &[T]) -> Option<T> {\n    let mut it = xs.iter();\n    let mut best = *it.next()?;\n    for &x in it {\n        if x > best {\n            best = x;\n        }\n    }\n    Some(best)\n}\n",
                'fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {\n    match s.trim() {\n        "" => Ok(0),\n        t => t.parse::<u32>(),\n    }\n}',
                "async fn fetch<'a>(c: &'a Client) -> Vec<u8> where Client: Send {\n    (0..10).map(|i| i as u8).collect()\n}\n",
            ],
            ["fn f( -> u8 { 1 }\n", "fn f() { let x = 1 let y = 2; }\n"],
        ),
        "struct_def": (
            [
                "#[derive(Debug)]\npub struct Config {\n    pub name: String,\n    retries: u32,\n}\n",
                "enum Shape {\n    Circle { r: f64 },\n    Rect(f64, f64),\n    Empty,\n}\n",
            ],
            ["struct Config {\n    name: String\n    retries: u32,\n}\n"],
        ),
        "statement": (
            ["let v: Vec<i32> = (1..=5).filter(|x| x % 2 == 1).collect();", "if let Some(x) = opt { x } else { 0 };"],
            ["let = 5;"],
        ),
        "expression": (["a.b().c[0] + (x as u64) * 2", "vec![1, 2, 3].iter().sum::<i32>()"], ["a + / b", "f(1,,2)"]),
    },
    "zig": {
        "start": (
            [
                'const std = @import("std");\n\npub fn main() !void {\n    const stdout = std.io.getStdOut().writer();\n    try stdout.print("{d}\\n", .{42});\n}\n',
                '//! A counter.\nconst Counter = @This();\n\ncount: u32 = 0,\n\npub fn inc(self: *Counter) void {\n    self.count += 1;\n}\n\ntest "inc" {\n    var c: Counter = .{};\n    c.inc();\n}\n',
            ],
            ["pub fn main() void {\n    const x = 1\n}\n", "const x = ;\n"],
        ),
        "function_def": (
            [
                "pub fn sum(xs: []const u32) u32 {\n    var total: u32 = 0;\n    for (xs) |x| total += x;\n    return total;\n}\n",
                "fn find(haystack: []const u8, needle: u8) ?usize {\n    for (haystack, 0..) |c, i| {\n        if (c == needle) return i;\n    }\n    return null;\n}",
            ],
            ["fn f() void {\n    return\n}\n", "fn f(x u8) void {}\n"],
        ),
        "type_def": (
            [
                "const Point = struct {\n    x: f32,\n    y: f32,\n\n    pub fn zero() Point {\n        return .{ .x = 0, .y = 0 };\n    }\n};\n",
                "pub const Color = enum(u8) { red, green, blue };",
            ],
            ["const Point = struct { x: f32 y: f32 };"],
        ),
        "statement": (
            [
                "const v = switch (k) {\n    .a => 1,\n    .b, .c => 2,\n    else => 3,\n};",
                "while (i < n) : (i += 1) {\n    sum += i;\n}",
            ],
            ["while (i < n) { i += 1 }"],
        ),
        "expression": (["a orelse b catch |e| return e", "@as(u32, @intCast(x)) + y.*"], ["a + ", "f(,)"]),
    },
    "typescript": {
        "start": (
            [
                'import { readFile } from "node:fs/promises";\n\nexport interface User {\n  id: number;\n  name?: string;\n}\n\nexport async function load(path: string): Promise<User[]> {\n  const text = await readFile(path, "utf8");\n  return JSON.parse(text) as User[];\n}\n',
                "const xs = [1, 2, 3]\nconst ys = xs\n  .map((x) => x * 2)\n  .filter((x) => x > 2)\nconsole.log(`got ${ys.length} items`)\n",
            ],
            ["const x = ;\n", "function f( {\n}\n"],
        ),
        "function_def": (
            [
                "export function groupBy<T, K extends string>(xs: T[], key: (x: T) => K): Record<K, T[]> {\n  const out = {} as Record<K, T[]>;\n  for (const x of xs) {\n    (out[key(x)] ??= []).push(x);\n  }\n  return out;\n}\n",
                "async function* ticks(n: number) {\n  for (let i = 0; i < n; i++) yield i\n}",
            ],
            ["function f(a: number {\n}\n", "function f() { return 1 2 }\n"],
        ),
        "class_def": (
            [
                "export class Stack<T> {\n  private items: T[] = [];\n  push(x: T): void {\n    this.items.push(x);\n  }\n  get size(): number {\n    return this.items.length;\n  }\n}\n",
            ],
            ["class A {\n  x: number = ;\n}\n"],
        ),
        "type_def": (
            [
                "type Result<T, E = Error> = { ok: true; value: T } | { ok: false; error: E };",
                "interface Options {\n  readonly verbose?: boolean\n  retries: number\n  [key: string]: unknown\n}",
            ],
            ["interface Options { verbose: }"],
        ),
        "statement": (
            [
                "for (const [k, v] of Object.entries(obj)) {\n  console.log(k, v);\n}",
                "try {\n  run();\n} catch (e) {\n  report(e);\n}",
            ],
            ["for (const x of) {}"],
        ),
        "expression": (["a?.b ?? (c as number) + f<T>(x)", "(x: number): number => x * 2"], ["a + ", "f(,)"]),
    },
}


@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_grammar_validates_with_llguidance(language):
    is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(llg.grammar_from("lark", grammar_text(language)))
    assert not is_error, messages


@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_committed_grammar_matches_its_source(language):
    assert grammar_text(language) == build(language), "run: python -m ananke.grammars._build"


@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_entry_rules_are_listed_and_defined(language):
    rules = entry_rules(language)
    assert set(rules) >= REQUIRED and TYPE_RULES & set(rules)
    text = grammar_text(language)
    for name, description in rules.items():
        assert f"\n{name}:" in "\n" + text, name
        assert description and "\n" not in description


def test_unknown_language_lists_allowed_names():
    with pytest.raises(ValueError, match="python, typescript, rust, go, zig"):
        grammar_text("cobol")
    with pytest.raises(ValueError, match="allowed"):
        entry_rules("cobol")


def test_grammars_are_self_contained():
    for language in BUILTIN_LANGUAGES:
        assert "%import" not in grammar_text(language)


CASES = [
    (lang, entry, text, ok)
    for lang, entries in SNIPPETS.items()
    for entry, (good, bad) in entries.items()
    for ok, texts in ((True, good), (False, bad))
    for text in texts
]


@pytest.mark.parametrize(
    "language,entry,text,expected",
    CASES,
    ids=[f"{c[0]}-{c[1]}-{'ok' if c[3] else 'bad'}{i}" for i, c in enumerate(CASES)],
)
def test_snippet(grammar_accepts, language, entry, text, expected):
    assert grammar_accepts(language, entry, text) is expected


@pytest.mark.skipif(shutil.which("gofmt") is None, reason="gofmt not installed")
def test_go_snippets_agree_with_gofmt(grammar_accepts):
    for entry in ("start", "function_def", "statement", "expression"):
        good, bad = SNIPPETS["go"][entry]
        for text in good:
            assert verify_with_native_parser("go", entry, text) is True, text
        for text in bad:
            assert verify_with_native_parser("go", entry, text) is False, text


@pytest.mark.skipif(shutil.which("rustfmt") is None, reason="rustfmt not installed")
def test_rust_snippets_agree_with_rustfmt():
    for entry in ("start", "function_def", "struct_def"):
        good, bad = SNIPPETS["rust"][entry]
        assert all(verify_with_native_parser("rust", entry, t) is True for t in good)
        assert all(verify_with_native_parser("rust", entry, t) is False for t in bad)


def test_typescript_has_no_native_check_here():
    assert verify_with_native_parser("typescript", "start", "let x = 1") is None
