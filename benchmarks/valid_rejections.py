#!/usr/bin/env python
"""Why does `ours` reject valid MaskBench instances? One cause per rejected instance.

Reads the per-case JSON lines of ``conformance.py --json`` (which list the rejected valid instances) and
re-checks each rejected instance:

* ``schema rejects``: ``jsonschema`` rejects it under the prepared schema (a rewrite too strict: a bug);
* ``key order (ours)``: llguidance on a weakened original (keywords it lacks dropped, ``oneOf`` as ``anyOf``)
  accepts it as is, so our rewriting changed the property order (a bug);
* ``key order (instance)``: accepted after re-ordering object keys (bounded search): the instance's keys are
  not in the declared order, which llguidance (and the rewrite, which keeps it) emits;
* ``number spelling`` (``+ key order``): accepted once integral floats are written as integers (``2.0`` →
  ``2``; and keys re-ordered) — llguidance takes ``2.0`` for neither ``integer`` nor ``multipleOf: 0.25``;
* ``undetermined``: the re-ordering search ran out of budget; ``other``: none of the above.

    python benchmarks/valid_rejections.py --json /tmp/full.jsonl --maskbench /tmp/maskbench/dev
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conformance as C

_ENGINE_LACKS = {
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "format",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
}
_DATA = {"enum", "const", "required", "examples", "default"}
_MAPS = {"properties", "$defs", "definitions"}


def weakened(node: Any) -> Any:
    """``node`` without the keywords llguidance lacks (accepts more; property order untouched)."""
    if isinstance(node, list):
        return [weakened(x) for x in node]
    if not isinstance(node, dict):
        return node
    if "patternProperties" in node:  # dropped with additionalProperties, which it would otherwise narrow
        node = {k: v for k, v in node.items() if k not in ("patternProperties", "additionalProperties")}
    out = {}
    for key, value in node.items():
        if key in _ENGINE_LACKS:
            continue
        if key in _MAPS and isinstance(value, dict):
            out[key] = {k: weakened(v) for k, v in value.items()}
        else:
            out[key] = value if key in _DATA else weakened(value)
    return out


def _matcher(schema: Any, options: dict | None = None):
    if isinstance(schema, bool):
        schema = {} if schema else {"not": {}}
    if options and isinstance(schema, dict):
        schema = {**schema, "x-guidance": options}
    return C._schema_matcher(schema)[0]


_Search = C.KeyOrderSearch


def _respelled(data: Any) -> Any:
    if isinstance(data, float) and data.is_integer() and abs(data) < 2**53:
        return int(data)
    if isinstance(data, list):
        return [_respelled(x) for x in data]
    if isinstance(data, dict):
        return {k: _respelled(v) for k, v in data.items()}
    return data


def cause(schema: Any, prepared: Any, data: Any, budget: int) -> str:
    import jsonschema

    ours = _matcher(prepared)
    try:
        if not jsonschema.Draft202012Validator(prepared).is_valid(data):
            return "schema rejects"
    except jsonschema.exceptions.SchemaError:
        pass
    weak = _matcher(weakened(schema), {"coerce_one_of": True, "lenient": True, "whitespace_flexible": False})
    if weak is not None and prepared is not schema and C._accepts(weak, data):
        return "key order (ours)"
    found = _Search(budget).run(ours, data)
    if found:
        return "key order (instance)"
    respelled = _respelled(data)
    if C._text(respelled) != C._text(data):
        if C._accepts(ours, respelled):
            return "number spelling"
        if _Search(budget).run(ours, respelled):
            return "number spelling + key order"
    return "undetermined" if found is None else "other"


def main(argv: list[str] | None = None) -> int:
    from ananke.plugins._schema import prepare_schema

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, help="per-case output of conformance.py --json")
    ap.add_argument("--maskbench", required=True, help="extracted MaskBench dev directory")
    ap.add_argument("--budget", type=int, default=5000, help="re-ordering search steps per instance")
    ap.add_argument("--out", help="write the markdown table here")
    args = ap.parse_args(argv)
    table: collections.Counter = collections.Counter()
    with open(args.json, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    for row in rows:
        ours = row.get("ours", {})
        if not row["id"].startswith("maskbench:") or not ours.get("compiled") or not ours.get("valid_rejected"):
            continue
        with open(os.path.join(args.maskbench, row["id"].split(":", 1)[1]), encoding="utf-8") as fh:
            doc = json.load(fh)
        prepared = prepare_schema(doc["schema"]).schema
        path = "passed through" if prepared is doc["schema"] else "rewritten"
        for i in ours["valid_rejected"]:
            why = cause(doc["schema"], prepared, doc["tests"][i]["data"], args.budget)
            table[(path, why)] += 1
            print(f"{row['id']} #{i}: {path}, {why}", file=sys.stderr)
    lines = ["| schema reaches llguidance | cause | valid instances rejected |", "|---|---|---|"]
    lines += [f"| {p} | {w} | {n} |" for (p, w), n in sorted(table.items(), key=lambda kv: (kv[0][0], -kv[1]))]
    lines.append(f"| all | | {sum(table.values())} |")
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
