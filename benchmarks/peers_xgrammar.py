"""Benchmark (d): XGrammar as a peer — compile time and tokens/s on the same model and schemas.

    pip install --no-deps --target /tmp/xgr xgrammar apache-tvm-ffi    # kept out of the project venv
    PYTHONPATH=/tmp/xgr python benchmarks/peers_xgrammar.py /work/shared/data/maskbench-dev.tar.xz

Side by side in one run:

* compile: raw llguidance, ours (cold: compile + ready matchers) and XGrammar
  (``GrammarCompiler.compile_json_schema``, its cache disabled) on MaskBench dev schemas; plus
  "time to first mask" (compile + the first full token mask), since llguidance builds lazily
  and XGrammar precomputes masks at compile time;
* tokens/s: the embedded model, the JSON workloads of ``tokens_per_sec.py``, greedy: ours (engine
  defaults and with every token sampled) vs a decode loop driven by an XGrammar ``GrammarMatcher``
  over the very same forward function, vs unconstrained.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_latency import load_maskbench, percentiles, table
from tokens_per_sec import WORKLOADS


def _compile_rows(docs: list, engine: Any, xgr: Any, tok_info: Any) -> dict[str, dict[str, float]]:
    import llguidance as llg
    import llguidance.torch as lt

    import ananke
    from ananke.runtime import ConstraintCache, ConstraintState, build_matchers

    tok = engine.llg_tokenizer()
    compiler = xgr.GrammarCompiler(tok_info, cache_enabled=False)
    xbuf = xgr.allocate_token_bitmask(1, tok_info.vocab_size)
    lbuf = lt.allocate_token_bitmask(1, tok.vocab_size)
    times: dict[str, list[float]] = {k: [] for k in ("raw", "ours", "xgr", "raw1", "ours1", "xgr1")}
    for _name, doc in docs:
        text = json.dumps(doc["schema"])
        try:
            t0 = time.perf_counter()
            raw = llg.LLMatcher(tok, llg.grammar_from("json_schema", text), log_level=0)
            t1 = time.perf_counter()
            lt.fill_next_token_bitmask(raw, lbuf)
            t2 = time.perf_counter()
            if raw.is_error():
                continue
            cache = ConstraintCache(maxsize=2)
            t3 = time.perf_counter()
            compiled, _ = cache.get_compiled({"kind": "json_schema", "schema": doc["schema"]}, tokenizer=tok)
            matchers, _ = cache.get_matchers(compiled, tok, lambda c=compiled: build_matchers(c, tok))
            t4 = time.perf_counter()
            ConstraintState.for_request(compiled, matchers, engine.mask_vocab, engine.eos_ids).compute_mask()
            t5 = time.perf_counter()
            grammar = compiler.compile_json_schema(text, any_whitespace=False)
            t6 = time.perf_counter()
            xgr.GrammarMatcher(grammar).fill_next_token_bitmask(xbuf)
            t7 = time.perf_counter()
        except (ananke.ConstraintError, RuntimeError, ValueError):
            continue
        for key, value in (
            ("raw", t1 - t0),
            ("raw1", t2 - t0),
            ("ours", t4 - t3),
            ("ours1", t5 - t3),
            ("xgr", t6 - t5),
            ("xgr1", t7 - t5),
        ):
            times[key].append(value)
    names = {
        "raw": "raw llguidance: compile",
        "ours": "ours: compile + matchers",
        "xgr": "XGrammar: compile",
        "raw1": "raw llguidance: to first mask",
        "ours1": "ours: to first mask",
        "xgr1": "XGrammar: to first mask",
    }
    return {names[k]: percentiles(v) for k, v in times.items()}


def _xgr_generate(engine: Any, xgr: Any, compiled_grammar: Any, prompt: str, max_tokens: int) -> tuple[int, float]:
    import torch

    matcher = xgr.GrammarMatcher(compiled_grammar)
    bitmask = xgr.allocate_token_bitmask(1, engine.mask_vocab)
    forward = engine._forward_fn()
    ids = engine.encode_prompt(prompt)
    eos = set(engine.eos_ids)
    with torch.inference_mode():
        logits = forward(ids)
        first = time.perf_counter()
        tokens = 0
        while tokens < max_tokens:
            matcher.fill_next_token_bitmask(bitmask)
            logits = logits.unsqueeze(0)
            xgr.apply_token_bitmask_inplace(logits, bitmask)
            token = int(torch.argmax(logits[0]))
            if token in eos or not matcher.accept_token(token):
                break
            tokens += 1
            if matcher.is_terminated():
                break
            logits = forward([token])
        done = time.perf_counter()
    return tokens, done - first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maskbench", help="MaskBench dev/ directory or maskbench-dev.tar.xz")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    import xgrammar as xgr

    import ananke
    from ananke.runtime import GenerationParams, TransformersEngine

    engine = TransformersEngine()
    tok_info = xgr.TokenizerInfo.from_huggingface(
        engine.loaded.tokenizer, vocab_size=engine.mask_vocab, stop_token_ids=engine.eos_ids
    )
    docs = load_maskbench(args.maskbench, args.limit)
    rows = _compile_rows(docs, engine, xgr, tok_info)
    print(f"# XGrammar vs ours vs raw llguidance — {len(docs)} MaskBench dev schemas\n")
    print(table(list(rows.items()), "ms", 1e3))

    compiler = xgr.GrammarCompiler(tok_info)
    json_workloads = [w for w in WORKLOADS if w[2]["kind"] == "json_schema"]
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)
    acc: dict[str, list[tuple[int, float]]] = {}
    for _rep in range(args.repeats):
        for _name, prompt, src in json_workloads:
            compiled = ananke.compile(src, tokenizer=engine.llg_tokenizer())
            xg = compiler.compile_json_schema(json.dumps(src["schema"]), any_whitespace=False)
            for mode in ("unconstrained", "ours (defaults)", "ours (every token sampled)", "XGrammar"):
                if mode == "XGrammar":
                    steps, secs = _xgr_generate(engine, xgr, xg, prompt, args.max_tokens)
                    steps -= 1
                else:
                    engine.fast_forward = mode != "ours (every token sampled)"
                    out = engine.generate_sync(prompt, None if mode == "unconstrained" else compiled, params)
                    steps = len(out.token_ids) - 1
                    secs = (out.timings["generate_ms"] - out.timings["prefill_ms"]) / 1000.0
                acc.setdefault(mode, []).append((steps, secs))
    engine.fast_forward = True
    base = sum(s for s, _ in acc["unconstrained"]) / sum(t for _, t in acc["unconstrained"])
    print("\n| mode | decode tok/s | ratio vs unconstrained |\n|---|---|---|")
    for mode, runs in acc.items():
        tps = sum(s for s, _ in runs) / sum(t for _, t in runs)
        print(f"| {mode} | {tps:.1f} | {tps / base:.3f} |")


if __name__ == "__main__":
    main()
