"""Benchmark (c): tokens/s constrained vs unconstrained on the embedded model.

    python benchmarks/tokens_per_sec.py [--max-tokens 64] [--repeats 2] [--temperatures 0 0.7]

Same model, same prompts, modes interleaved within every repeat so that machine load hits them
alike:

* ``unconstrained`` — no constraint;
* ``constrained, plain`` — masks computed on the critical path, every token sampled;
* ``constrained, overlap`` — next mask computed on a helper thread during the forward pass;
* ``constrained, default`` — the engine's defaults (forced tokens fed in one forward pass;
  overlap only on CUDA).

Decode tokens/s = Σ(tokens − 1) / Σ(generate time − prefill time) over all runs of a mode (the
first token comes from the prefill).  Target: constrained/unconstrained ≥ 0.97.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

WORKLOADS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "json: person",
        "Give me a person as JSON.",
        {
            "kind": "json_schema",
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "age", "email", "hobbies"],
                "properties": {
                    "name": {"type": "string"},
                    "age": {"type": "integer"},
                    "email": {"type": "string"},
                    "hobbies": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    ),
    (
        "json: product list",
        "List products as JSON.",
        {
            "kind": "json_schema",
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sku", "price", "category"],
                    "properties": {
                        "sku": {"type": "string"},
                        "price": {"type": "number"},
                        "category": {"enum": ["book", "toy", "food"]},
                    },
                },
            },
        },
    ),
    (
        "regex: csv rows",
        "Write rows of name,score.",
        {"kind": "regex", "pattern": "([A-Z][a-z]{1,12},[0-9]{1,3}\\n){1,20}"},
    ),
    (
        "lark: key=value lines",
        "Write a config file.",
        {
            "kind": "grammar",
            "lark": 'start: line line line line line*\nline: KEY " = " (NUM | WORD) "\\n"\n'
            "KEY: /[a-z_]{1,16}/\nWORD: /[a-z]{1,12}/\nNUM: /[0-9]{1,5}/\n",
        },
    ),
]

MODES = [
    ("unconstrained", None),
    ("constrained, plain", {"overlap": False, "fast_forward": False}),
    ("constrained, overlap", {"overlap": True, "fast_forward": False}),
    ("constrained, default", {}),
]


def decode_steps(out: Any) -> tuple[int, float]:
    """(decode tokens, decode seconds) of one run."""
    return len(out.token_ids) - 1, (out.timings["generate_ms"] - out.timings["prefill_ms"]) / 1000.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 0.7])
    parser.add_argument("--model", default=None, help="HF id or path (default: the embedded model)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's choice; 1 is robust on a shared box)",
    )
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    import ananke
    from ananke.runtime import GenerationParams, TransformersEngine

    engine = TransformersEngine(args.model)
    default_overlap, default_ff = engine.overlap, engine.fast_forward
    tok = engine.llg_tokenizer()
    compiled = {name: ananke.compile(src, tokenizer=tok) for name, _p, src in WORKLOADS}
    engine.generate_sync("warm up", None, GenerationParams(max_tokens=4, temperature=0.0))

    rows: dict[tuple[str, float], dict[str, list[float]]] = {}
    for temperature in args.temperatures:
        params = GenerationParams(max_tokens=args.max_tokens, temperature=temperature, seed=17)
        for _rep in range(args.repeats):
            for name, prompt, _src in WORKLOADS:
                for mode, settings in MODES:
                    engine.overlap = (settings or {}).get("overlap", default_overlap)
                    engine.fast_forward = (settings or {}).get("fast_forward", default_ff)
                    out = engine.generate_sync(prompt, compiled[name] if settings is not None else None, params)
                    if (
                        settings is not None
                        and not compiled[name].verify(out.text, out.token_ids).satisfied
                        and out.finish_reason == "stop"
                    ):
                        raise SystemExit(f"verification failed for {name}: {out.text!r}")
                    steps, seconds = decode_steps(out)
                    cell = rows.setdefault(
                        (mode, temperature), {"steps": [], "secs": [], "tokens": [], "passes": [], "mask": []}
                    )
                    cell["steps"].append(steps)
                    cell["secs"].append(seconds)
                    cell["tokens"].append(len(out.token_ids))
                    cell["passes"].append(out.timings["forward_passes"])
                    cell["mask"].append(out.mask_us_per_token)
    engine.overlap, engine.fast_forward = default_overlap, default_ff

    print(
        f"# tokens/s — {engine.model_name} on {engine.device}, torch threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} CPUs, max_tokens {args.max_tokens}, {args.repeats} repeats × {len(WORKLOADS)} "
        f"workloads, load average {load_before:.2f} → {os.getloadavg()[0]:.2f}\n"
    )
    print(
        "| mode | temperature | decode tok/s | ratio vs unconstrained | tokens (mean) | "
        "forward passes (mean) | mask µs/token (mean) |"
    )
    print("|---|---|---|---|---|---|---|")
    summary: dict[str, Any] = {}
    for temperature in args.temperatures:
        base_cell = rows[("unconstrained", temperature)]
        base = sum(base_cell["steps"]) / sum(base_cell["secs"])
        for mode, _settings in MODES:
            cell = rows.get((mode, temperature))
            if not cell:
                continue
            med = sum(cell["steps"]) / sum(cell["secs"])
            summary[f"{mode} @ T={temperature}"] = {
                "tps": med,
                "ratio": med / base,
                "tokens": statistics.mean(cell["tokens"]),
                "passes": statistics.mean(cell["passes"]),
                "mask_us": statistics.mean(cell["mask"]),
            }
            print(
                f"| {mode} | {temperature} | {med:.1f} | {med / base:.3f} | {statistics.mean(cell['tokens']):.1f} "
                f"| {statistics.mean(cell['passes']):.1f} | {statistics.mean(cell['mask']):.0f} |"
            )
    print("\ntarget: constrained/unconstrained ≥ 0.97")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
