"""Benchmark (b): token-mask time per token, ours vs raw llguidance on the same states.

    python benchmarks/mask_overhead.py /work/shared/data/maskbench-dev.tar.xz [--limit 60]

For each MaskBench dev schema with a valid test instance, the instance is serialized compactly,
tokenized with the embedded model's tokenizer, and walked token by token.  At every state both
sides compute the full next-token mask for the same grammar (the Lark text our compiler
produced), side by side, alternating which goes first:

* raw llguidance — one ``LLMatcher`` and ``llguidance.torch.fill_next_token_bitmask``;
* ours — ``ConstraintState.compute_mask`` (the decoding core's per-token path: matcher masks
  AND-ed, the static token set, timing).

A second pair of rows adds a static token set (``all_of`` with ``forbidden_tokens``) to show
the cost of the extra AND.  Target: ours ≤ 1.1× raw.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_latency import embedded_llg_tokenizer, load_maskbench, percentiles, table


def _valid_instance(doc: dict[str, Any]) -> Any:
    for test in doc.get("tests", []):
        if test.get("valid"):
            return test.get("data")
    return None


def _walk(
    llg: Any, lt: Any, tok: Any, hf: Any, compiled: Any, text: str, vocab: int, flip: bool
) -> tuple[list[float], list[float]]:
    from ananke.core._llg import engine_grammars
    from ananke.runtime import ConstraintState, build_matchers

    raw = llg.LLMatcher(tok, next(engine_grammars(compiled.grammars[0])), log_level=0)  # the very same grammar
    ours = ConstraintState.for_request(compiled, build_matchers(compiled, tok), vocab, [hf.eos_token_id])
    buf = lt.allocate_token_bitmask(1, vocab)
    raw_t, ours_t = [], []
    for token in hf.encode(text, add_special_tokens=False):
        pair = []
        for side in (1, 0) if flip else (0, 1):
            started = time.perf_counter_ns()
            if side == 0:
                lt.fill_next_token_bitmask(raw, buf)
            else:
                ours.compute_mask()
            pair.append((side, time.perf_counter_ns() - started))
        for side, ns in pair:
            (raw_t if side == 0 else ours_t).append(ns / 1e9)
        flip = not flip
        if not (raw.consume_token(token) and ours.consume(token) is None):
            break
    return raw_t, ours_t


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maskbench", help="MaskBench dev/ directory or maskbench-dev.tar.xz")
    parser.add_argument("--limit", type=int, default=60, help="number of schemas (default 60)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    import llguidance as llg
    import llguidance.torch as lt

    import ananke

    hf, tok = embedded_llg_tokenizer()
    vocab = tok.vocab_size
    forbidden = [i for i in range(vocab) if "~" in hf.decode([i])]  # a static set that doesn't touch JSON
    docs = load_maskbench(args.maskbench, args.limit * 3)
    results: dict[str, list[float]] = {"raw": [], "ours": [], "raw+set": [], "ours+set": []}
    per_schema: list[float] = []
    used = skipped = 0
    for index, (_name, doc) in enumerate(docs):
        if used >= args.limit:
            break
        data = _valid_instance(doc)
        if data is None:
            skipped += 1
            continue
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        try:
            plain = ananke.compile({"kind": "json_schema", "schema": doc["schema"]}, tokenizer=tok)
            with_set = ananke.compile(
                {
                    "kind": "composite",
                    "op": "all_of",
                    "parts": [
                        {"kind": "json_schema", "schema": doc["schema"]},
                        {"kind": "token_mask", "forbidden_tokens": forbidden},
                    ],
                },
                tokenizer=tok,
            )
        except ananke.ConstraintError:
            skipped += 1
            continue
        if len(plain.grammars) != 1:
            skipped += 1
            continue
        raw_t, ours_t = _walk(llg, lt, tok, hf, plain, text, vocab, bool(index % 2))
        raw_s, ours_s = _walk(llg, lt, tok, hf, with_set, text, vocab, not index % 2)
        if len(raw_t) < 2:
            skipped += 1
            continue
        used += 1
        results["raw"] += raw_t
        results["ours"] += ours_t
        results["raw+set"] += raw_s
        results["ours+set"] += ours_s
        per_schema.append(sum(ours_t) / sum(raw_t))

    stats = {
        "raw llguidance": percentiles(results["raw"]),
        "ours (decode core)": percentiles(results["ours"]),
        "raw llguidance, grammar of all_of(schema, token set)": percentiles(results["raw+set"]),
        "ours, all_of(schema, token set) incl. static AND": percentiles(results["ours+set"]),
    }
    ratio = stats["ours (decode core)"]["mean"] / stats["raw llguidance"]["mean"]
    ratio50 = stats["ours (decode core)"]["p50"] / stats["raw llguidance"]["p50"]
    ratio_set = (
        stats["ours, all_of(schema, token set) incl. static AND"]["mean"]
        / stats["raw llguidance, grammar of all_of(schema, token set)"]["mean"]
    )
    print(
        f"# mask time per token — {used} MaskBench dev schemas ({skipped} skipped), "
        f"{len(results['raw'])} states, vocab {vocab}\n"
    )
    print(table(list(stats.items()), "µs", 1e6))
    print()
    print(
        f"ours/raw: mean {ratio:.3f}×, p50 {ratio50:.3f}×, per-schema p50 {percentiles(per_schema)['p50']:.3f}× "
        f"(target ≤ 1.1×); with the static token set {ratio_set:.3f}×"
    )
    result = {
        "schemas": used,
        "skipped": skipped,
        "stats_s": stats,
        "ours_over_raw_mean": ratio,
        "ours_over_raw_p50": ratio50,
        "with_static_set_over_raw_mean": ratio_set,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
