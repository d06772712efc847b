#!/usr/bin/env python
"""Does the embedded model write ``\\uXXXX`` escapes in JSON strings, and does allowing them matter?

Generates JSON under one schema with llguidance's ``json_allow_general_unicode_escapes`` off (Ananke's
default) and on, same prompts and seeds, and reports per setting: outputs containing a ``\\u`` escape,
outputs that parse as JSON and are valid under the schema (``jsonschema``), non-ASCII characters
written raw, and finish reasons.

    python benchmarks/json_escapes.py --samples 12 --max-tokens 80
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40}, "greeting": {"type": "string", "maxLength": 60}},
    "required": ["city", "greeting"],
    "additionalProperties": False,
}
PROMPTS = [
    "Give a JSON object with a city in France that has an accent in its name (e.g. Orléans) and a greeting in French.",
    "Return JSON: a Japanese city and a greeting written in Japanese characters.",
    "Reply in JSON with a German city with an umlaut (like München) and a German greeting.",
    "Write JSON with a Spanish city (with ñ or an accent) and a greeting in Spanish, including ¡.",
]


def _constraint(allow: bool) -> dict:
    schema = {**SCHEMA, "x-guidance": {"whitespace_flexible": False, "json_allow_general_unicode_escapes": allow}}
    return {"kind": "grammar", "lark": "start: %json " + json.dumps(schema)}


def run(samples: int, max_tokens: int) -> dict[str, collections.Counter]:
    import jsonschema

    from ananke.runtime import GenerationService

    svc = GenerationService.from_model()
    results = {}
    for allow in (False, True):
        c = collections.Counter()
        for i in range(samples):
            r = svc.generate_sync(
                {
                    "prompt": PROMPTS[i % len(PROMPTS)],
                    "chat": True,
                    "max_tokens": max_tokens,
                    "temperature": 0.8,
                    "seed": i,
                    "constraint": _constraint(allow),
                }
            )
            text = r.generated_text
            print(
                json.dumps({"allow": allow, "seed": i, "text": text, "finish": r.finish_reason}),
                file=sys.stderr,
                flush=True,
            )
            c["samples"] += 1
            c["with \\u escape"] += bool(re.search(r"\\u[0-9a-fA-F]{4}", text))
            c["raw non-ASCII"] += any(ord(ch) > 127 for ch in text)
            c[f"finish {r.finish_reason}"] += 1
            with contextlib.suppress(json.JSONDecodeError):
                c["valid under the schema"] += jsonschema.Draft202012Validator(SCHEMA).is_valid(json.loads(text))
        results["escapes allowed" if allow else "escapes refused (default)"] = c
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--max-tokens", type=int, default=80)
    args = ap.parse_args()
    results = run(args.samples, args.max_tokens)
    keys = sorted({k for c in results.values() for k in c})
    print("| setting | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, c in results.items():
        print(f"| {name} | " + " | ".join(str(c[k]) for k in keys) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
