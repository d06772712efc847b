"""The strictness check: does llguidance compile this schema exactly (no unknown keyword/format)?"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import SchemaUnsupported
from ._walk import escape, iter_children

__all__ = ["enforce", "engine_error", "locate"]

_MAX_ROUNDS = 50


def engine_error(schema: Any) -> str | None:
    """llguidance's error for the standalone schema, or None when it compiles."""
    import llguidance as llg

    text = json.dumps(schema, ensure_ascii=False, allow_nan=False)
    is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(llg.grammar_from("json", text))
    if not is_error:
        return None
    return "; ".join(messages) or "llguidance rejected the schema"


def _keywords(message: str) -> tuple[list[str], str | None]:
    """(offending keywords, offending format) named by an llguidance message."""
    m = re.search(r"Unimplemented keys: \[([^\]]*)\]", message)
    if m:
        return re.findall(r'"([^"]+)"', m.group(1)), None
    m = re.search(r"Unknown format: (.+?)(?:\n|$)", message)
    if m:
        return ["format"], m.group(1).strip()
    if "oneOf constraints are not supported" in message:
        return ["oneOf"], None
    if "min/maxProperties" in message:
        return ["minProperties", "maxProperties"], None
    if "patternProperty regexes" in message:
        return ["patternProperties"], None
    return [], None


def _find(node: Any, ptr: str, keys: list[str], fmt: str | None, out: list) -> None:
    if not isinstance(node, dict):
        return
    for k in keys:
        if k in node and (fmt is None or node.get("format") == fmt):
            out.append((ptr, k))
    for rel, child in iter_children(node):
        _find(child, ptr + rel, keys, fmt, out)


def locate(schema: Any, message: str) -> list[tuple[str, str | None]]:
    """Every (pointer, keyword) in ``schema`` the llguidance ``message`` may be about (keyword None: unknown)."""
    keys, fmt = _keywords(message)
    found: list[tuple[str, str | None]] = []
    _find(schema, "", keys, fmt, found)
    if not found:
        m = re.search(r"json-schema:///#(/[^\s]*)", message)
        if m:
            found.append((m.group(1), keys[0] if keys else None))
    return found


def _remove(schema: Any, ptr: str, keyword: str) -> Any:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]

    def go(node, i):
        if i == len(parts):
            from ._rewrite import weaken

            return weaken(node, keyword) if isinstance(node, dict) else node
        key = parts[i]
        if isinstance(node, list):
            node = list(node)
            node[int(key)] = go(node[int(key)], i + 1)
            return node
        node = dict(node)
        node[key] = go(node[key], i + 1)
        return node

    return go(schema, 0)


def enforce(schema: Any, origin: dict[str, str], strict: bool) -> tuple[Any, list[str]]:
    """Check ``schema`` with llguidance; strict: raise on error; lenient: drop offending parts and retry."""
    from ._rewrite import original_pointer

    warnings: list[str] = []
    for _ in range(_MAX_ROUNDS):
        message = engine_error(schema)
        if message is None:
            return schema, warnings
        found = [(p, k) for p, k in locate(schema, message) if k]
        first = found[0] if found else ("", None)
        pointer = original_pointer(first[0], origin)
        if strict or not found:
            where = f" (at {pointer})" if found else ""
            raise SchemaUnsupported(
                pointer + (f"/{escape(first[1])}" if first[1] else ""),
                f"llguidance cannot enforce this exactly: {message.strip()}{where}",
                first[1],
            )
        for ptr, key in found:
            schema = _remove(schema, ptr, key)
            warnings.append(
                f"{original_pointer(ptr, origin) or '/'}/{escape(key)}: not enforced by the engine "
                f"({message.splitlines()[0]}); output is verified"
            )
    raise SchemaUnsupported("", "schema could not be reduced to an enforceable form", None)
