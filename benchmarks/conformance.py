#!/usr/bin/env python
"""JSON Schema conformance: raw llguidance vs Ananke's prepared schemas, side by side in one run.

For every schema group (JSON Schema Test Suite draft 2020-12 file entries, MaskBench dev files) both
modes report: compiled or not, valid instances accepted, invalid instances accepted. Matching is
byte-level (tokenizer-independent): ``json.dumps(instance)`` with compact separators is fed to an
``LLMatcher`` over a 256-byte vocabulary.

    python benchmarks/conformance.py \\
        --suite ../shared/data/json-schema-test-suite/tests/draft2020-12 \\
        --maskbench /tmp/maskbench/dev --out docs/results/conformance.md

Modes: ``raw`` = ``llguidance.grammar_from("json", schema)``; ``ours`` = ``prepare_schema`` (strict)
then the same; ``--via-ananke`` adds ``ananke`` = ``ananke.compile``/``ananke.matches`` on a
``json_schema`` node (the plugin path users take).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import fnmatch
import glob
import itertools
import json
import multiprocessing as mp
import os
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

MODES = ("raw", "ours")
_SPLIT_RE = re.compile(r"^(.*?)(?:---.*|_\d+)$")


# ---------------------------------------------------------------- loading


def load_suite(path: str, limit: int | None) -> list[dict]:
    cases = []
    for f in sorted(glob.glob(os.path.join(path, "*.json"))):
        name = os.path.basename(f)[:-5]
        with open(f, encoding="utf-8") as fh:
            for i, group in enumerate(json.load(fh)):
                cases.append(
                    {
                        "id": f"suite:{name}#{i}",
                        "source": "suite",
                        "split": name,
                        "schema": group["schema"],
                        "tests": [(t["data"], t["valid"]) for t in group["tests"]],
                    }
                )
    return cases[:limit] if limit else cases


def maskbench_split(filename: str) -> str:
    stem = os.path.basename(filename)[:-5]
    m = _SPLIT_RE.match(stem)
    split = m.group(1) if m else stem
    return "BFCL" if split.startswith("BFCL_") else split


def load_maskbench(path: str, limit: int | None) -> list[dict]:
    cases = []
    files = sorted(glob.glob(os.path.join(path, "*.json")))
    for f in files[:limit] if limit else files:
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        cases.append(
            {
                "id": "maskbench:" + os.path.basename(f),
                "source": "maskbench",
                "split": maskbench_split(f),
                "schema": doc["schema"],
                "tests": [(t["data"], t["valid"]) for t in doc["tests"]],
            }
        )
    return cases


def select(cases: list[dict], globs: list[str] | None, ids_file: str | None) -> list[dict]:
    """The cases whose id matches one of ``globs`` or is listed in ``ids_file`` (all when neither)."""
    if not globs and not ids_file:
        return cases
    ids = set()
    if ids_file:
        with open(ids_file, encoding="utf-8") as fh:
            ids = {line.strip() for line in fh if line.strip()}
    return [c for c in cases if c["id"] in ids or any(fnmatch.fnmatchcase(c["id"], g) for g in globs or ())]


def load_remotes(path: str | None) -> dict[str, Any]:
    """The suite's ``remotes/`` directory served (virtually) at http://localhost:1234/."""
    out: dict[str, Any] = {}
    if not path or not os.path.isdir(path):
        return out
    for f in glob.glob(os.path.join(path, "**", "*.json"), recursive=True):
        rel = os.path.relpath(f, path).replace(os.sep, "/")
        with open(f, encoding="utf-8") as fh:
            out["http://localhost:1234/" + rel] = json.load(fh)
    return out


# ---------------------------------------------------------------- matching (runs in workers)


def _tokenizer():
    from ananke.core._llg import byte_tokenizer  # one token per byte: tokenizer-independent matching

    return byte_tokenizer()


def _text(data: Any) -> bytes:
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _schema_matcher(schema: Any):
    """A fresh matcher for ``schema`` or an error message."""
    import llguidance as llg

    try:
        grammar = llg.grammar_from("json", json.dumps(schema, allow_nan=False))
    except Exception as exc:
        return None, str(exc)
    is_error, msgs = llg.LLMatcher.validate_grammar_with_warnings(grammar)
    if is_error:
        return None, "; ".join(msgs)
    m = llg.LLMatcher(_tokenizer(), grammar, log_level=0)
    return (None, m.get_error()) if m.is_error() else (m, None)


def _accepts(matcher, data: Any) -> bool:
    m = matcher.deep_copy()
    return bool(m.consume_tokens(list(_text(data))) and m.is_accepting())


def _run_mode(mode: str, case: dict, remotes: dict) -> dict:
    t0 = time.perf_counter()
    res = {"compiled": False, "error": None, "keyword": None, "valid_ok": 0, "invalid_ok": 0}
    if mode == "ananke":
        return _run_ananke(case, res, t0)
    schema = case["schema"]
    if mode == "ours":
        from ananke.plugins._schema import SchemaUnsupported, prepare_schema

        try:
            schema = prepare_schema(schema, strict=True, remotes=remotes if case["source"] == "suite" else None).schema
        except SchemaUnsupported as exc:
            res.update(error=exc.message, keyword=exc.keyword)
            return _done(res, t0)
        except Exception as exc:  # a crash is a failure to compile, reported
            res.update(error=f"{type(exc).__name__}: {exc}", keyword="crash")
            return _done(res, t0)
    if schema is False or schema is True:
        schema = {"not": {}} if schema is False else {}
    matcher, err = _schema_matcher(schema)
    if matcher is None:
        res.update(error=err, keyword=_raw_keyword(err))
        return _done(res, t0)
    res["compiled"] = True
    _score(res, case, lambda data: _accepts(matcher, data), matcher)
    return _done(res, t0)


ORDER_BUDGET = 5000  # steps of the key re-ordering search per rejected valid instance


def _score(res: dict, case: dict, accepts, matcher=None) -> None:
    """Count accepted instances; list the indices of wrong verdicts (for --json).

    ``valid_ordered`` counts valid instances accepted as written or, searched with ``matcher``, with
    their objects' keys re-ordered (the declared order llguidance emits).
    """
    res["valid_rejected"], res["invalid_accepted"], res["valid_ordered"] = [], [], 0
    for i, (data, valid) in enumerate(case["tests"]):
        ok = accepts(data)
        if ok:
            res["valid_ok" if valid else "invalid_ok"] += 1
        if ok != valid:
            res["invalid_accepted" if ok else "valid_rejected"].append(i)
        if valid and (ok or (matcher is not None and KeyOrderSearch(ORDER_BUDGET).run(matcher, data))):
            res["valid_ordered"] += 1


def _run_ananke(case: dict, res: dict, t0: float) -> dict:
    import ananke

    node = {"kind": "json_schema", "schema": case["schema"]}
    try:
        compiled = ananke.compile(node)
    except Exception as exc:
        res.update(error=str(exc)[:300], keyword="error")
        return _done(res, t0)
    res["compiled"] = True
    matcher = _lark_matcher(compiled.grammars[0]) if len(compiled.grammars) == 1 else None
    _score(res, case, lambda data: ananke.matches(compiled, _text(data).decode("utf-8")), matcher)
    return _done(res, t0)


def _lark_matcher(grammar: str):
    import llguidance as llg

    m = llg.LLMatcher(_tokenizer(), llg.grammar_from("lark", grammar), log_level=0)
    return None if m.is_error() else m


class KeyOrderSearch:
    """Is some recursive re-ordering of the instance's object keys accepted? (None: budget exhausted)

    llguidance emits an object's keys in the schema's declared order, so a valid instance counts as
    accepted *up to key order* when it is accepted as written or with its keys re-ordered.
    """

    def __init__(self, budget: int):
        self.left = budget

    def run(self, matcher, data) -> bool | None:
        for end in self._value(matcher, data):
            if end.is_accepting():
                return True
        return None if self.left <= 0 else False

    def _feed(self, m, text: bytes):
        m = m.deep_copy()
        return m if m.consume_tokens(list(text)) else None

    def _value(self, m, v) -> Iterator:
        self.left -= 1
        if self.left <= 0:
            return
        if isinstance(v, dict):
            m = self._feed(m, b"{")
            if m is not None:
                yield from self._members(m, list(v.items()), True)
        elif isinstance(v, list):
            m = self._feed(m, b"[")
            if m is not None:
                yield from self._items(m, v, 0)
        else:
            m = self._feed(m, _text(v))
            if m is not None:
                yield m

    def _items(self, m, v: list, i: int) -> Iterator:
        if i == len(v):
            end = self._feed(m, b"]")
            if end is not None:
                yield end
            return
        if i:
            m = self._feed(m, b",")
            if m is None:
                return
        for after in self._value(m, v[i]):
            yield from self._items(after, v, i + 1)

    def _members(self, m, items: list, first: bool) -> Iterator:
        if not items:
            end = self._feed(m, b"}")
            if end is not None:
                yield end
            return
        tried = []
        for idx, (key, value) in enumerate(items):
            head = self._feed(m, (b"" if first else b",") + _text(key) + b":")
            if head is None:
                continue
            rest = items[:idx] + items[idx + 1 :]
            ends = self._value(head, value)
            after = next(ends, None)
            if after is not None:  # rank: the choice that leaves most of the other keys on offer first
                score = sum(self._offers(after, k) for k, _ in rest)
                tried.append((-score, idx, after, ends, rest))
        for _, _, after, ends, rest in sorted(tried, key=lambda t: t[:2]):
            for end in itertools.chain([after], ends):
                yield from self._members(end, rest, False)

    @staticmethod
    def _offers(m, key: str) -> bool:
        text = b"," + _text(key) + b":"
        return m.validate_tokens(list(text)) == len(text)


def _done(res: dict, t0: float) -> dict:
    res["seconds"] = round(time.perf_counter() - t0, 4)
    return res


def _raw_keyword(message: str | None) -> str:
    message = message or ""
    m = re.search(r'Unimplemented keys: \["([^"]+)"', message)
    if m:
        return m.group(1)
    if "Unknown format" in message:
        return "format"
    if "oneOf" in message:
        return "oneOf"
    if "not present in a registry" in message:
        return "$ref"
    return "other"


def _worker(conn, modes, remotes):
    while True:
        case = conn.recv()
        if case is None:
            return
        out = {}
        for mode in modes:
            try:
                out[mode] = _run_mode(mode, case, remotes)
            except Exception as exc:
                out[mode] = {
                    "compiled": False,
                    "error": f"crash: {exc}",
                    "keyword": "crash",
                    "valid_ok": 0,
                    "invalid_ok": 0,
                    "seconds": 0,
                }
        conn.send(out)


# ---------------------------------------------------------------- pool with per-case timeouts


class _Pool:
    def __init__(self, n: int, modes, remotes, timeout: float):
        self.modes, self.remotes, self.timeout = modes, remotes, timeout
        self.ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
        self.slots = [self._spawn() for _ in range(n)]

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.modes, self.remotes), daemon=True)
        proc.start()
        return {"proc": proc, "conn": parent, "case": None, "since": 0.0}

    def run(self, cases, on_result):
        pending = list(reversed(cases))
        busy = 0
        while pending or busy:
            for slot in self.slots:
                if slot["case"] is None and pending:
                    slot["case"], slot["since"] = pending.pop(), time.monotonic()
                    slot["conn"].send(slot["case"])
                    busy += 1
            for i, slot in enumerate(self.slots):
                if slot["case"] is None:
                    continue
                if slot["conn"].poll(0.005):
                    on_result(slot["case"], slot["conn"].recv())
                    slot["case"] = None
                    busy -= 1
                elif time.monotonic() - slot["since"] > self.timeout:
                    slot["proc"].kill()
                    slot["proc"].join()
                    on_result(
                        slot["case"],
                        {
                            m: {
                                "compiled": False,
                                "error": "timeout",
                                "keyword": "timeout",
                                "valid_ok": 0,
                                "invalid_ok": 0,
                                "seconds": self.timeout,
                            }
                            for m in self.modes
                        },
                    )
                    self.slots[i] = self._spawn()
                    busy -= 1

    def close(self):
        for slot in self.slots:
            with contextlib.suppress(BrokenPipeError, OSError):
                slot["conn"].send(None)
            slot["proc"].join(timeout=2)


# ---------------------------------------------------------------- aggregation and reporting


def _blank():
    return {
        "schemas": 0,
        "valid": 0,
        "invalid": 0,
        **{
            f"{m}_{k}": 0
            for m in ("raw", "ours", "ananke")
            for k in ("compiled", "valid_ok", "valid_ordered", "invalid_ok", "valid_seen", "invalid_seen")
        },
    }


def _add(row: dict, case: dict, out: dict) -> None:
    row["schemas"] += 1
    nv = sum(1 for _, v in case["tests"] if v)
    ni = len(case["tests"]) - nv
    row["valid"] += nv
    row["invalid"] += ni
    for mode, r in out.items():
        if r["compiled"]:
            row[f"{mode}_compiled"] += 1
            row[f"{mode}_valid_ok"] += r["valid_ok"]
            row[f"{mode}_valid_ordered"] += r.get("valid_ordered", r["valid_ok"])
            row[f"{mode}_invalid_ok"] += r["invalid_ok"]
            row[f"{mode}_valid_seen"] += nv
            row[f"{mode}_invalid_seen"] += ni


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "–"


def _table(title: str, rows: dict, modes, first_col: str) -> list[str]:
    head = [first_col, "schemas"]
    for m in modes:
        head += [f"{m} compiled", f"{m} valid acc.", f"{m} valid acc. up to key order", f"{m} invalid acc."]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        cells = [name, str(r["schemas"])]
        for m in modes:
            cells += [
                f"{r[f'{m}_compiled']} ({_pct(r[f'{m}_compiled'], r['schemas'])})",
                f"{r[f'{m}_valid_ok']}/{r[f'{m}_valid_seen']} ({_pct(r[f'{m}_valid_ok'], r[f'{m}_valid_seen'])})",
                f"{r[f'{m}_valid_ordered']} ({_pct(r[f'{m}_valid_ordered'], r[f'{m}_valid_seen'])})",
                f"{r[f'{m}_invalid_ok']}/{r[f'{m}_invalid_seen']}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _keyword_table(title: str, gains: dict, modes) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "Schemas raw llguidance refuses, by the keyword it names, and how many of them the other modes compile.",
        "",
        "| keyword (raw error) | raw refused | " + " | ".join(f"{m} compiles" for m in modes if m != "raw") + " |",
        "|---|---|" + "---|" * (len(modes) - 1),
    ]
    for kw, r in sorted(gains.items(), key=lambda kv: -kv[1]["n"]):
        lines.append(f"| `{kw}` | {r['n']} | " + " | ".join(str(r.get(m, 0)) for m in modes if m != "raw") + " |")
    return [*lines, ""]


def _ours_failures(failures: collections.Counter) -> list[str]:
    lines = ["### Why Ananke (strict) still refuses", "", "| source | keyword | schemas |", "|---|---|---|"]
    for (src, kw), n in failures.most_common(25):
        lines.append(f"| {src} | `{kw}` | {n} |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", help="JSON Schema Test Suite tests/draft2020-12 directory")
    ap.add_argument("--remotes", help="the suite's remotes/ directory (default: <suite>/../../remotes)")
    ap.add_argument("--maskbench", help="extracted MaskBench dev directory (the `dev/` folder)")
    ap.add_argument("--limit", type=int, help="at most this many schema groups per source")
    ap.add_argument(
        "--only",
        action="append",
        metavar="GLOB",
        help="only cases whose id (e.g. maskbench:Github_easy---o1.json) matches; repeatable",
    )
    ap.add_argument("--only-from", metavar="FILE", help="only the case ids listed in FILE, one a line")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per schema group (all modes)")
    ap.add_argument("--via-ananke", action="store_true", help="also measure ananke.compile/ananke.matches")
    ap.add_argument("--out", help="write the markdown report here")
    ap.add_argument("--json", help="write per-case results (JSON lines) here")
    args = ap.parse_args(argv)
    if not args.suite and not args.maskbench:
        ap.error("give --suite and/or --maskbench")
    modes = MODES + (("ananke",) if args.via_ananke else ())
    remotes_dir = args.remotes or (os.path.join(args.suite, "..", "..", "remotes") if args.suite else None)
    remotes = load_remotes(remotes_dir)
    cases = (load_suite(args.suite, args.limit) if args.suite else []) + (
        load_maskbench(args.maskbench, args.limit) if args.maskbench else []
    )
    cases = select(cases, args.only, args.only_from)

    by_split: dict[str, dict[str, dict]] = collections.defaultdict(lambda: collections.defaultdict(_blank))
    totals: dict[str, dict] = collections.defaultdict(_blank)
    gains: dict[str, dict[str, dict]] = collections.defaultdict(lambda: collections.defaultdict(lambda: {"n": 0}))
    failures: collections.Counter = collections.Counter()
    outside_format = collections.Counter()
    jsonl = open(args.json, "w", encoding="utf-8") if args.json else None  # noqa: SIM115 (closed after the run)
    done = [0]
    t0 = time.time()

    def on_result(case, out):
        src = case["source"]
        _add(by_split[src][case["split"]], case, out)
        _add(totals[src], case, out)
        raw = out["raw"]
        if not raw["compiled"]:
            g = gains[src][raw.get("keyword") or "other"]
            g["n"] += 1
            for m in modes[1:]:
                g[m] = g.get(m, 0) + int(out[m]["compiled"])
        if not out["ours"]["compiled"]:
            failures[(src, out["ours"].get("keyword") or "other")] += 1
        if src == "suite" and "format" not in json.dumps(case["schema"]):
            outside_format["ours"] += out["ours"]["invalid_ok"]
            outside_format["raw"] += raw["invalid_ok"]
        if jsonl:
            jsonl.write(
                json.dumps(
                    {
                        "id": case["id"],
                        "split": case["split"],
                        **{m: {k: v for k, v in r.items()} for m, r in out.items()},
                    }
                )
                + "\n"
            )
        done[0] += 1
        if done[0] % 500 == 0:
            print(f"... {done[0]}/{len(cases)} in {time.time() - t0:.0f}s", file=sys.stderr)

    pool = _Pool(max(1, args.workers), modes, remotes, args.timeout)
    try:
        pool.run(cases, on_result)
    finally:
        pool.close()
        if jsonl:
            jsonl.close()
    elapsed = time.time() - t0

    lines = [
        "# JSON Schema conformance: raw llguidance vs Ananke",
        "",
        f"Command: `python benchmarks/conformance.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        f"{len(cases)} schema groups in {elapsed:.0f} s. *valid acc.* = valid test instances accepted "
        "(of those whose schema compiled); *up to key order*: also those accepted once their objects' keys are "
        "re-ordered (searched, at most 5000 steps each: llguidance fixes the declared key order); "
        "*invalid acc.* = invalid instances accepted as written (must be 0). "
        "`ours` = `ananke.plugins._schema.prepare_schema(strict=True)` then the same byte-level matcher.",
        "",
    ]
    names = {"suite": "JSON Schema Test Suite (draft 2020-12)", "maskbench": "MaskBench dev"}
    lines += _table("Totals", {names[s]: totals[s] for s in totals}, modes, "source")
    for src in by_split:
        lines += _table(
            f"{names[src]} per {'file' if src == 'suite' else 'split'}",
            dict(sorted(by_split[src].items())),
            modes,
            "split",
        )
        lines += _keyword_table(f"{names[src]}: per-keyword gains", gains[src], modes)
    if "suite" in totals:
        lines += [
            f"Suite invalid instances accepted outside schemas using `format`: raw {outside_format['raw']}, "
            f"ours {outside_format['ours']}.",
            "",
        ]
    lines += _ours_failures(failures)
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
