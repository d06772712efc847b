"""Every accepted input format, normalized to ConstraintIR v1.

Formats: IR v1 document, bare node, the seed service's ``constraints`` object, Braid's
ConstraintIR JSON and its export-spec wrapper, Maze's ``constraints`` and the
``{"type": "json"|"grammar"|"regex", ...}`` form; plus raw text (JSON, Lark, GBNF, regex)
with an explicit or detected kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ananke.core._host import PluginHost, get_host, translate_validation_error
from ananke.core._ir import ConstraintIR, NodeModel
from ananke.errors import AnankeError, ConstraintError, Diagnostic, UnknownKindError, caret_snippet

__all__ = ["TEXT_KINDS", "load_constraint", "load_with_pointer", "parse_text", "normalize_object"]

TEXT_KINDS = ("json_schema", "lark", "gbnf", "regex", "ir")
IR_FIELDS = ("ir_version", "name", "constraint", "metadata")
SEED_FIELDS = ("json_schema", "grammar", "regex_patterns", "token_mask")
BRAID_FIELDS = ("json_schema", "grammar", "regex_patterns", "token_masks", "priority", "name", "description", "source", "id", "version", "metadata")
BRAID_TOKEN_FIELDS = ("allowed_tokens", "forbidden_tokens")
BRAID_REGEX_FLAGS = {"i": "i", "m": "m", "s": "s", "x": "x", "g": "", "u": ""}
FORMATS = (
    "IR v1 document {ir_version, constraint}",
    "bare node {kind, ...}",
    "seed constraints {json_schema, grammar, regex_patterns, token_mask}",
    "Braid ConstraintIR {json_schema, grammar{rules,start_symbol}, regex_patterns, token_masks}",
    "Braid export {language, constraint_ir}",
    "Maze {type: object, properties, constraints: [...]}",
    "{type: json|grammar|regex, ...}",
)


def load_constraint(source: Any, *, kind: str | None = None, host: PluginHost | None = None) -> ConstraintIR:
    """Normalize any accepted input (object, JSON text, grammar text, path) to ConstraintIR v1."""
    return load_with_pointer(source, kind=kind, host=host)[0]


def load_with_pointer(source: Any, *, kind: str | None = None,
                      host: PluginHost | None = None) -> tuple[ConstraintIR, str]:
    """Like :func:`load_constraint`, also returning the JSON Pointer of the root node in the input."""
    host = host or get_host()
    if isinstance(source, ConstraintIR):
        return source, "/constraint"
    if isinstance(source, NodeModel):
        return ConstraintIR(constraint=source), ""
    if isinstance(source, Path):
        source = _read_path(source)
    if isinstance(source, (str, bytes)):
        text = source.decode("utf-8") if isinstance(source, bytes) else source
        return parse_text(text, kind=kind, host=host)
    if kind not in (None, "ir"):
        return _wrap_kind(source, kind, host), ""
    return normalize_object(source, host=host)


def _read_path(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnankeError(f"cannot read {path}: {exc}") from exc


def parse_text(text: str, *, kind: str | None = None, host: PluginHost) -> tuple[ConstraintIR, str]:
    """Parse constraint text: JSON in any accepted format, or Lark/GBNF/regex text."""
    if kind in ("lark", "gbnf"):
        return _ir({"kind": "grammar", kind: text}, host), ""
    if kind == "regex":
        return _ir({"kind": "regex", "pattern": text.rstrip("\r\n")}, host), ""
    stripped = text.lstrip()
    looks_json = stripped[:1] in ("{", "[") or kind in ("json_schema", "ir")
    if looks_json or stripped in ("true", "false"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConstraintError(Diagnostic(
                f"malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno,
                snippet=caret_snippet(text, exc.lineno, exc.colno),
            )) from exc
        if kind == "json_schema":
            return _wrap_kind(data, kind, host), ""
        return normalize_object(data, host=host)
    grammar_kind = "gbnf" if "::=" in text else "lark"
    return _ir({"kind": "grammar", grammar_kind: text}, host), ""


def _wrap_kind(data: Any, kind: str, host: PluginHost) -> ConstraintIR:
    if kind == "json_schema":
        return _ir({"kind": "json_schema", "schema": data}, host)
    raise ConstraintError(Diagnostic(f"--kind {kind} needs text input", allowed=TEXT_KINDS))


def _ir(node: dict[str, Any], host: PluginHost, pointer: str = "", **extra: Any) -> ConstraintIR:
    return ConstraintIR(constraint=host.parse_node(node, pointer), **extra)


def normalize_object(data: Any, *, host: PluginHost | None = None) -> tuple[ConstraintIR, str]:
    host = host or get_host()
    if not isinstance(data, dict):
        raise ConstraintError(f"a constraint must be a JSON object, got {type(data).__name__}")
    if "ir_version" in data:
        return _ir_document(data, host), "/constraint"
    if "kind" in data:
        return _ir(data, host), ""
    foreign = host.normalize_foreign(data, "")
    if foreign is not None:
        return _ir(foreign, host), ""
    node, meta = _foreign_node(data)
    return ConstraintIR(constraint=host.parse_node(node, ""), metadata=meta), ""


def _ir_document(data: dict[str, Any], host: PluginHost) -> ConstraintIR:
    _check_fields(data, IR_FIELDS, "")
    if data.get("ir_version") != "1":
        raise ConstraintError(Diagnostic(f"unsupported ir_version {data.get('ir_version')!r}", pointer="/ir_version", allowed=("1",)))
    if "constraint" not in data:
        raise ConstraintError("missing required field 'constraint'", pointer="/constraint")
    node = host.parse_node(data["constraint"], "/constraint")
    try:
        return ConstraintIR.model_validate({**data, "constraint": node})
    except ValidationError as exc:
        raise ConstraintError(translate_validation_error(exc, "", ConstraintIR)) from exc


def _check_fields(data: dict[str, Any], allowed: tuple[str, ...], pointer: str) -> None:
    unknown = [key for key in data if key not in allowed]
    if unknown:
        raise ConstraintError([
            Diagnostic(f"unknown field {key!r}", pointer=f"{pointer}/{key}", allowed=tuple(allowed)) for key in unknown
        ])


# -- foreign formats ----------------------------------------------------------------
def _foreign_node(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if "constraint_ir" in data:
        inner = data["constraint_ir"]
        if not isinstance(inner, dict):
            raise ConstraintError("constraint_ir must be an object", pointer="/constraint_ir")
        meta = {key: value for key, value in data.items() if key != "constraint_ir"}
        node, inner_meta = _braid_node(inner, "/constraint_ir")
        return node, {**inner_meta, **meta, "format": "braid-export"}
    if isinstance(data.get("constraints"), list):
        return _maze_node(data), {"format": "maze"}
    if data.get("type") in ("json", "grammar", "regex"):
        return _typed_node(data), {"format": "typed"}
    braid_only = set(data) - set(SEED_FIELDS)
    if (braid_only and braid_only <= set(BRAID_FIELDS)) or isinstance(data.get("grammar"), dict) or any(
        isinstance(p, dict) for p in data.get("regex_patterns") or []
    ):
        return _braid_node(data, "")
    if any(key in data for key in SEED_FIELDS):
        return _seed_node(data), {"format": "seed"}
    raise UnknownKindError(Diagnostic("unrecognized constraint format", allowed=FORMATS))


def _all_of(parts: list[dict[str, Any]], pointer: str) -> dict[str, Any]:
    if not parts:
        raise ConstraintError("the constraint object sets no constraint", pointer=pointer or "/")
    return parts[0] if len(parts) == 1 else {"kind": "composite", "op": "all_of", "parts": parts}


def _choice(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"kind": "composite", "op": "choice", "parts": parts}


def _grammar_text_node(text: Any, pointer: str, start: str | None = None) -> dict[str, Any]:
    if not isinstance(text, str):
        raise ConstraintError("grammar must be a string of Lark or GBNF text", pointer=pointer)
    node = {"kind": "grammar", ("gbnf" if "::=" in text else "lark"): text}
    if start:
        node["start"] = start
    return node


def _json_schema_node(schema: Any, pointer: str) -> dict[str, Any]:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise ConstraintError(f"json_schema string is not JSON: {exc.msg}", pointer=pointer) from exc
    return {"kind": "json_schema", "schema": schema}


def _seed_node(data: dict[str, Any]) -> dict[str, Any]:
    _check_fields(data, SEED_FIELDS, "")
    parts = []
    if data.get("json_schema") is not None:
        parts.append(_json_schema_node(data["json_schema"], "/json_schema"))
    if data.get("grammar") is not None:
        parts.append(_grammar_text_node(data["grammar"], "/grammar"))
    if data.get("regex_patterns"):
        patterns = data["regex_patterns"]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ConstraintError("regex_patterns must be a list of strings", pointer="/regex_patterns")
        parts.append(_choice([{"kind": "regex", "pattern": p} for p in patterns]))
    if data.get("token_mask") is not None:
        parts.append(_token_mask_node(data["token_mask"], "/token_mask", BRAID_TOKEN_FIELDS))
    return _all_of(parts, "")


def _token_mask_node(mask: Any, pointer: str, fields: tuple[str, ...], rename: dict[str, str] | None = None) -> dict[str, Any]:
    if not isinstance(mask, dict):
        raise ConstraintError("token mask must be an object", pointer=pointer)
    _check_fields(mask, fields, pointer)
    node: dict[str, Any] = {"kind": "token_mask"}
    for key, value in mask.items():
        if value is not None:
            node[(rename or {}).get(key, key)] = value
    return node


def _braid_regex(item: Any, pointer: str) -> dict[str, Any]:
    if isinstance(item, str):
        return {"kind": "regex", "pattern": item}
    if not isinstance(item, dict) or "pattern" not in item:
        raise ConstraintError("a regex pattern must be a string or {pattern, flags}", pointer=pointer)
    _check_fields(item, ("pattern", "flags"), pointer)
    flags = item.get("flags") or ""
    bad = [flag for flag in flags if flag not in BRAID_REGEX_FLAGS]
    if bad:
        raise ConstraintError(Diagnostic(f"unsupported regex flag {bad[0]!r}", pointer=f"{pointer}/flags",
                                         allowed=tuple(BRAID_REGEX_FLAGS)))
    inline = "".join(sorted({BRAID_REGEX_FLAGS[f] for f in flags if BRAID_REGEX_FLAGS[f]}))
    return {"kind": "regex", "pattern": (f"(?{inline})" if inline else "") + item["pattern"]}


def _braid_node(data: dict[str, Any], pointer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    _check_fields(data, BRAID_FIELDS, pointer)
    parts = []
    if data.get("json_schema") is not None:
        parts.append(_json_schema_node(data["json_schema"], f"{pointer}/json_schema"))
    grammar = data.get("grammar")
    if isinstance(grammar, dict):
        _check_fields(grammar, ("start_symbol", "rules", "terminals", "start"), f"{pointer}/grammar")
        parts.append({"kind": "grammar", **grammar})
    elif grammar is not None:
        parts.append(_grammar_text_node(grammar, f"{pointer}/grammar"))
    patterns = data.get("regex_patterns") or []
    if patterns:
        parts.append(_choice([_braid_regex(p, f"{pointer}/regex_patterns/{i}") for i, p in enumerate(patterns)]))
    if data.get("token_masks") is not None:
        parts.append(_token_mask_node(data["token_masks"], f"{pointer}/token_masks", BRAID_TOKEN_FIELDS))
    meta = {key: data[key] for key in ("name", "priority", "description", "source", "id", "version", "metadata") if key in data}
    return _all_of(parts, pointer), {**meta, "format": "braid"}


_MAZE_CONTAINER = ({"type": "object"}, {"type": "object", "properties": {}})


def _maze_node(data: dict[str, Any]) -> dict[str, Any]:
    schema = {key: value for key, value in data.items() if key != "constraints"}
    parts = [] if schema in _MAZE_CONTAINER or not schema else [_json_schema_node(schema, "")]
    for i, item in enumerate(data["constraints"]):
        parts.append(_maze_constraint(item, f"/constraints/{i}"))
    return _all_of(parts, "")


def _maze_constraint(item: Any, pointer: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConstraintError("each Maze constraint must be an object", pointer=pointer)
    kind = item.get("type")
    if kind == "grammar":
        _check_fields(item, ("type", "rules", "start", "grammar"), pointer)
        rules = item.get("rules", item.get("grammar"))
        if isinstance(rules, list):
            return {"kind": "grammar", "rules": rules, "start_symbol": item.get("start") or "start"}
        return _grammar_text_node(rules, f"{pointer}/rules", item.get("start"))
    if kind == "regex":
        _check_fields(item, ("type", "pattern", "flags"), pointer)
        return _braid_regex({k: v for k, v in item.items() if k != "type"}, pointer)
    if kind == "token_mask":
        return _token_mask_node({k: v for k, v in item.items() if k != "type"}, pointer, ("allowed", "forbidden"),
                                {"allowed": "allowed_tokens", "forbidden": "forbidden_tokens"})
    if kind in ("json", "json_schema"):
        _check_fields(item, ("type", "schema"), pointer)
        return _json_schema_node(item.get("schema"), f"{pointer}/schema")
    raise UnknownKindError(Diagnostic(f"unknown Maze constraint type {kind!r}", pointer=f"{pointer}/type",
                                      allowed=("grammar", "regex", "token_mask", "json")))


def _typed_node(data: dict[str, Any]) -> dict[str, Any]:
    kind = data["type"]
    if kind == "json":
        _check_fields(data, ("type", "schema"), "")
        return _json_schema_node(data.get("schema", {}), "/schema")
    if kind == "grammar":
        _check_fields(data, ("type", "grammar", "start"), "")
        return _grammar_text_node(data.get("grammar"), "/grammar", data.get("start"))
    _check_fields(data, ("type", "patterns", "pattern"), "")
    patterns = data.get("patterns") or ([data["pattern"]] if "pattern" in data else [])
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise ConstraintError("patterns must be a non-empty list of strings", pointer="/patterns")
    return _choice([{"kind": "regex", "pattern": p} for p in patterns])
