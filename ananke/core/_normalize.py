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

__all__ = [
    "PROVENANCE_FIELDS",
    "TEXT_KINDS",
    "constraint_provenance",
    "is_unconstrained",
    "load_constraint",
    "load_with_pointer",
    "maze_struct_to_schema",
    "normalize_object",
    "parse_text",
]

TEXT_KINDS = ("json_schema", "lark", "gbnf", "regex", "ir")
IR_FIELDS = ("ir_version", "name", "constraint", "metadata")
SEED_FIELDS = ("json_schema", "grammar", "regex_patterns", "token_mask")
# Braid's provenance: carried into the IR's metadata and the response's ``metadata.provenance``, never enforced.
PROVENANCE_FIELDS = ("feasibility_score", "is_feasible", "rich_context")
BRAID_META_FIELDS = ("name", "priority", "description", "source", "id", "version", "metadata", *PROVENANCE_FIELDS)
BRAID_FIELDS = ("json_schema", "grammar", "regex_patterns", "token_masks", *BRAID_META_FIELDS)
BRAID_GRAMMAR_FIELDS = ("start_symbol", "rules", "terminals", "start")
GUIDANCE_FIELDS = ("type", "version", "json_schema", "grammar", "patterns", "token_masks", *BRAID_META_FIELDS)
MAZE_SCHEMA_FIELDS = {
    "schema_type": "type",
    "properties": "properties",
    "required": "required",
    "additional_properties": "additionalProperties",
}
JSON_SCHEMA_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
SCHEMA_KEYWORDS = frozenset(
    {
        "properties",
        "items",
        "prefixItems",
        "required",
        "additionalProperties",
        "enum",
        "const",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "anyOf",
        "oneOf",
        "allOf",
        "$defs",
        "definitions",
        "$ref",
        "title",
        "description",
    }
)
# Top-level keys that belong to the other accepted formats: a document with one of them is not a plain schema.
OTHER_FORMAT_KEYS = frozenset(
    {
        "kind",
        "ir_version",
        "constraint",
        "constraint_ir",
        "constraints",
        "json_schema",
        "grammar",
        "regex_patterns",
        "token_mask",
        "token_masks",
        "patterns",
        "schema",
    }
)
BRAID_TOKEN_FIELDS = ("allowed_tokens", "forbidden_tokens")
BRAID_REGEX_FLAGS = {"i": "i", "m": "m", "s": "s", "x": "x", "g": "", "u": ""}
FORMATS = (
    "IR v1 document {ir_version, constraint}",
    "bare node {kind, ...}",
    "seed constraints {json_schema, grammar, regex_patterns, token_mask}",
    "Braid ConstraintIR {json_schema, grammar{rules,start_symbol}, regex_patterns, token_masks}",
    "Braid export {language, constraint_ir}",
    "Braid LLGuidance export {type: guidance, version, patterns, ...}",
    "Maze {type: object, properties, constraints: [...]}",
    "{type: json|grammar|regex, ...}",
    "plain JSON Schema {$schema, ...} or {type: object|array|string|..., ...}",
)
KIND_HINT = "; for a plain JSON Schema, Lark, GBNF or regex give --kind (CLI) or `kind` (Python, HTTP)"


def load_constraint(source: Any, *, kind: str | None = None, host: PluginHost | None = None) -> ConstraintIR:
    """Normalize any accepted input (object, JSON text, grammar text, path) to ConstraintIR v1."""
    return load_with_pointer(source, kind=kind, host=host)[0]


def load_with_pointer(
    source: Any, *, kind: str | None = None, host: PluginHost | None = None
) -> tuple[ConstraintIR, str]:
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
            raise ConstraintError(
                Diagnostic(
                    f"malformed JSON: {exc.msg}",
                    line=exc.lineno,
                    column=exc.colno,
                    snippet=caret_snippet(text, exc.lineno, exc.colno),
                )
            ) from exc
        if kind == "json_schema":
            return _wrap_kind(data, kind, host), ""
        return normalize_object(data, host=host)
    grammar_kind = "gbnf" if "::=" in text else "lark"
    return _ir({"kind": "grammar", grammar_kind: text}, host), ""


def _wrap_kind(data: Any, kind: str, host: PluginHost) -> ConstraintIR:
    if kind == "json_schema":
        return _ir({"kind": "json_schema", "schema": data}, host, metadata={"format": "json_schema"})
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
        raise ConstraintError(
            Diagnostic(f"unsupported ir_version {data.get('ir_version')!r}", pointer="/ir_version", allowed=("1",))
        )
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
        raise ConstraintError(
            [
                Diagnostic(f"unknown field {key!r}", pointer=f"{pointer}/{key}", allowed=tuple(allowed))
                for key in unknown
            ]
        )


# -- foreign formats ----------------------------------------------------------------
def _foreign_node(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if "constraint_ir" in data:
        inner = data["constraint_ir"]
        if not isinstance(inner, dict):
            raise ConstraintError("constraint_ir must be an object", pointer="/constraint_ir")
        meta = {key: value for key, value in data.items() if key != "constraint_ir"}
        node, inner_meta = _braid_node(inner, "/constraint_ir", _builtin_language(data.get("language")))
        return node, {**inner_meta, **meta, "format": "braid-export"}
    if isinstance(data.get("constraints"), list):
        return _maze_node(data)
    if data.get("type") in ("json", "grammar", "regex"):
        return _typed_node(data), {"format": "typed"}
    if data.get("type") == "guidance":
        return _guidance_node(data)
    if _looks_like_json_schema(data):
        return _json_schema_node(data, ""), {"format": "json_schema"}
    braid_only = set(data) - set(SEED_FIELDS)
    if (
        (braid_only and braid_only <= set(BRAID_FIELDS))
        or isinstance(data.get("grammar"), dict)
        or any(isinstance(p, dict) for p in data.get("regex_patterns") or [])
    ):
        return _braid_node(data, "")
    if any(key in data for key in SEED_FIELDS):
        return _seed_node(data), {"format": "seed"}
    raise UnknownKindError(Diagnostic("unrecognized constraint format" + KIND_HINT, allowed=FORMATS))


def _is_json_schema_type(value: Any) -> bool:
    if isinstance(value, list):
        return any(item in JSON_SCHEMA_TYPES for item in value)
    return value in JSON_SCHEMA_TYPES


def _claims_schema_type(data: dict[str, Any]) -> bool:
    """A JSON Schema ``type`` — or a misspelled one next to other JSON Schema keywords (then found invalid)."""
    kind = data.get("type")
    if _is_json_schema_type(kind):
        return True
    spelled = isinstance(kind, str) or (isinstance(kind, list) and all(isinstance(k, str) for k in kind))
    return spelled and bool(SCHEMA_KEYWORDS & set(data))


def _looks_like_json_schema(data: dict[str, Any]) -> bool:
    """A plain JSON Schema: ``$schema``, or a JSON Schema ``type``, and no key of another format.

    A document with both (``{"type": "string", "grammar": ...}``) is ambiguous and refused.
    """
    if "$schema" not in data and not _claims_schema_type(data):
        return False
    clashing = sorted(OTHER_FORMAT_KEYS & set(data))
    if clashing:
        raise UnknownKindError(
            Diagnostic(
                f"ambiguous constraint: it looks like a JSON Schema but also has {', '.join(map(repr, clashing))}"
                + KIND_HINT,
                pointer=f"/{clashing[0]}",
                allowed=FORMATS,
            )
        )
    return True


def _builtin_language(language: Any) -> str | None:
    """``language`` when Ananke has a built-in grammar for it (Braid's rules may then use its rule names)."""
    from ananke.grammars import BUILTIN_LANGUAGES

    return language.lower() if isinstance(language, str) and language.lower() in BUILTIN_LANGUAGES else None


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


def _token_mask_node(
    mask: Any, pointer: str, fields: tuple[str, ...], rename: dict[str, str] | None = None
) -> dict[str, Any]:
    if not isinstance(mask, dict):
        raise ConstraintError("token mask must be an object", pointer=pointer)
    _check_fields(mask, fields, pointer)
    node: dict[str, Any] = {"kind": "token_mask"}
    for key, value in mask.items():
        if value is not None:
            node[(rename or {}).get(key) or key] = value
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
        raise ConstraintError(
            Diagnostic(
                f"unsupported regex flag {bad[0]!r}", pointer=f"{pointer}/flags", allowed=tuple(BRAID_REGEX_FLAGS)
            )
        )
    inline = "".join(sorted({BRAID_REGEX_FLAGS[f] for f in flags if BRAID_REGEX_FLAGS[f]}))
    return {"kind": "regex", "pattern": (f"(?{inline})" if inline else "") + item["pattern"]}


def _braid_node(
    data: dict[str, Any], pointer: str, language: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    _check_fields(data, BRAID_FIELDS, pointer)
    parts = _braid_parts(data, pointer, "regex_patterns", language)
    return _all_of(parts, pointer), {**_braid_meta(data, pointer), "format": "braid"}


def _guidance_node(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Braid's LLGuidance export: Braid's IR with ``patterns`` (regex strings) for ``regex_patterns``."""
    _check_fields(data, GUIDANCE_FIELDS, "")
    parts = _braid_parts(data, "", "patterns", None)
    meta = {**_braid_meta(data, ""), "format": "braid-guidance"}
    return _all_of(parts, ""), meta


def _braid_parts(data: dict[str, Any], pointer: str, patterns_key: str, language: str | None) -> list[dict[str, Any]]:
    parts = []
    if data.get("json_schema") is not None:
        parts.append(_json_schema_node(data["json_schema"], f"{pointer}/json_schema"))
    grammar = data.get("grammar")
    if isinstance(grammar, dict):
        parts.append(_braid_grammar_node(grammar, f"{pointer}/grammar", language))
    elif grammar is not None:
        parts.append(_grammar_text_node(grammar, f"{pointer}/grammar"))
    patterns = data.get(patterns_key) or []
    if not isinstance(patterns, list):
        raise ConstraintError(f"{patterns_key} must be a list", pointer=f"{pointer}/{patterns_key}")
    if patterns:
        parts.append(_choice([_braid_regex(p, f"{pointer}/{patterns_key}/{i}") for i, p in enumerate(patterns)]))
    mask = data.get("token_masks")
    if mask is not None and not _is_empty_mask(mask):
        parts.append(_token_mask_node(mask, f"{pointer}/token_masks", BRAID_TOKEN_FIELDS))
    return parts


def _is_empty_mask(mask: Any) -> bool:
    """Braid writes ``token_masks: {}`` (or every list null) when it has no mask."""
    return isinstance(mask, dict) and all(value is None for value in mask.values())


def _braid_meta(data: dict[str, Any], pointer: str) -> dict[str, Any]:
    _check_provenance(data, pointer)
    return {key: data[key] for key in BRAID_META_FIELDS if key in data}


def _check_provenance(data: dict[str, Any], pointer: str) -> None:
    checks = (
        ("feasibility_score", (int, float), "a number"),
        ("is_feasible", (bool,), "a boolean"),
        ("rich_context", (dict,), "an object"),
    )
    for key, types, what in checks:
        value = data.get(key)
        bad_number = key == "feasibility_score" and isinstance(value, bool)
        if value is not None and (bad_number or not isinstance(value, types)):
            raise ConstraintError(
                f"{key} must be {what} or null, got {type(value).__name__}", pointer=f"{pointer}/{key}"
            )


def _braid_grammar_node(grammar: dict[str, Any], pointer: str, language: str | None) -> dict[str, Any]:
    _check_fields(grammar, BRAID_GRAMMAR_FIELDS, pointer)
    node = {"kind": "grammar", **grammar}
    if isinstance(grammar.get("rules"), list):
        node["rules"] = _split_alternative_lists(grammar["rules"])
        if language is not None:
            node["language"] = language
    return node


def _split_alternative_lists(rules: list[Any]) -> list[Any]:
    """Braid writes its ``statement`` rule's alternatives as one ``rhs`` list: one rule per alternative.

    Only that rule, and only when every symbol names a rule (lowercase, unquoted): a sequence of
    statements would be spelled through ``statement_list``, never as ``statement``'s right-hand side.
    """
    out: list[Any] = []
    for rule in rules:
        rhs = rule.get("rhs") if isinstance(rule, dict) else None
        if (
            isinstance(rule, dict)
            and rule.get("lhs") == "statement"
            and isinstance(rhs, list)
            and len(rhs) > 1
            and all(isinstance(sym, str) and sym[:1].islower() for sym in rhs)
        ):
            out.extend({**rule, "rhs": [symbol]} for symbol in rhs)
        else:
            out.append(rule)
    return out


def _maze_node(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = {key: value for key, value in data.items() if key != "constraints"}
    names: list[str] = []
    if _has_maze_structs(schema):
        parts = _maze_named_schemas(schema, names)
    else:
        parts = [] if _is_empty_container(schema) else [_json_schema_node(schema, "")]
    for i, item in enumerate(data["constraints"]):
        parts.append(_maze_constraint(item, f"/constraints/{i}", names))
    if not parts:
        raise ConstraintError(
            "Maze's empty skeleton {type: object, properties: {}, constraints: []} sets no constraint: "
            "in a generation request it means unconstrained generation; on its own there is nothing to compile",
            pointer="/constraints",
        )
    meta: dict[str, Any] = {"format": "maze"}
    if names:
        meta["names"] = names
    return _all_of(parts, ""), meta


def _is_empty_container(schema: dict[str, Any]) -> bool:
    return not schema or schema in ({"type": "object"}, {"type": "object", "properties": {}})


def _has_maze_structs(schema: dict[str, Any]) -> bool:
    properties = schema.get("properties")
    return isinstance(properties, dict) and any(_is_maze_struct(v) for v in properties.values())


def _is_maze_struct(value: Any) -> bool:
    """Maze's ``JsonSchema`` struct, serialized by serde: ``schema_type`` is its one required field."""
    return isinstance(value, dict) and "schema_type" in value


def _maze_named_schemas(schema: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Maze puts each Braid constraint's JSON Schema under ``properties[<name>]``: each holds for the output."""
    _check_fields(schema, ("type", "properties"), "")
    parts = []
    for name, struct in schema["properties"].items():
        pointer = f"/properties/{_escape(name)}"
        if not _is_maze_struct(struct):
            raise ConstraintError(
                "Maze's properties hold JsonSchema structs ({schema_type, properties, required, "
                "additional_properties}); this entry is not one",
                pointer=pointer,
            )
        parts.append({"kind": "json_schema", "schema": maze_struct_to_schema(struct, pointer)})
        names.append(name)
    return parts


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def maze_struct_to_schema(struct: dict[str, Any], pointer: str = "") -> dict[str, Any]:
    """Maze's serde ``JsonSchema`` struct as a JSON Schema (nested structs in ``properties`` too).

    serde's defaults apply to absent fields: no properties, nothing required, ``additional_properties: false``.
    """
    _check_fields(struct, tuple(MAZE_SCHEMA_FIELDS), pointer)
    kind = struct.get("schema_type")
    if not isinstance(kind, str) or kind not in JSON_SCHEMA_TYPES:
        raise ConstraintError(
            Diagnostic(
                f"schema_type must be a JSON Schema type, got {kind!r}",
                pointer=f"{pointer}/schema_type",
                allowed=JSON_SCHEMA_TYPES,
            )
        )
    properties = struct.get("properties") or {}
    required = struct.get("required") or []
    extra = struct.get("additional_properties", False)
    if not isinstance(properties, dict):
        raise ConstraintError("properties must be an object", pointer=f"{pointer}/properties")
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        raise ConstraintError("required must be a list of strings", pointer=f"{pointer}/required")
    if not isinstance(extra, bool):
        raise ConstraintError("additional_properties must be a boolean", pointer=f"{pointer}/additional_properties")
    schema: dict[str, Any] = {"type": kind}
    if kind == "object" or properties or required:
        schema["properties"] = {
            name: maze_struct_to_schema(value, f"{pointer}/properties/{_escape(name)}")
            if _is_maze_struct(value)
            else value
            for name, value in properties.items()
        }
        schema["required"] = list(required)
        schema["additionalProperties"] = extra
    return schema


def _maze_constraint(item: Any, pointer: str, names: list[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConstraintError("each Maze constraint must be an object", pointer=pointer)
    if isinstance(item.get("name"), str):
        names.append(item["name"])
    kind = item.get("type")
    if kind == "grammar":
        _check_fields(item, ("type", "name", "rules", "start", "grammar"), pointer)
        rules = item.get("rules", item.get("grammar"))
        if isinstance(rules, list):
            return {
                "kind": "grammar",
                "rules": _split_alternative_lists(rules),
                "start_symbol": item.get("start") or "start",
            }
        return _grammar_text_node(rules, f"{pointer}/rules", item.get("start"))
    if kind == "regex":
        _check_fields(item, ("type", "name", "pattern", "flags"), pointer)
        return _braid_regex({k: v for k, v in item.items() if k not in ("type", "name")}, pointer)
    if kind == "token_mask":
        return _token_mask_node(
            {k: v for k, v in item.items() if k not in ("type", "name")},
            pointer,
            ("allowed", "forbidden"),
            {"allowed": "allowed_tokens", "forbidden": "forbidden_tokens"},
        )
    if kind in ("json", "json_schema"):
        _check_fields(item, ("type", "name", "schema"), pointer)
        return _json_schema_node(item.get("schema"), f"{pointer}/schema")
    raise UnknownKindError(
        Diagnostic(
            f"unknown Maze constraint type {kind!r}",
            pointer=f"{pointer}/type",
            allowed=("grammar", "regex", "token_mask", "json"),
        )
    )


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


# -- unconstrained requests and provenance ----------------------------------------------
def is_unconstrained(source: Any) -> bool:
    """True for what a generation request sends to mean "no constraint".

    ``None``, ``{}`` and Maze's skeleton ``{"type": "object", "properties": {}, "constraints": []}``
    (its Rust client sends that when it has nothing to enforce).
    """
    if source is None or source == {}:
        return True
    if not isinstance(source, dict) or source.get("constraints") != []:
        return False
    return _is_empty_container({key: value for key, value in source.items() if key != "constraints"})


def constraint_provenance(source: Any) -> dict[str, Any]:
    """Braid's ``rich_context``, ``feasibility_score`` and ``is_feasible`` found in a constraint input.

    Looked up in the document, its ``constraint_ir`` (export wrapper) and its ``metadata`` (IR v1), without
    normalizing it again: the service reports them in the response's provenance.
    """
    if isinstance(source, (str, bytes)):
        text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
        if not any(field in text for field in PROVENANCE_FIELDS):
            return {}
        try:
            source = json.loads(text)
        except ValueError:
            return {}
    if isinstance(source, ConstraintIR):
        source = {"metadata": source.metadata}
    if not isinstance(source, dict):
        return {}
    found: dict[str, Any] = {}
    for holder in (source.get("metadata"), source.get("constraint_ir"), source):
        if isinstance(holder, dict):
            found.update({key: holder[key] for key in PROVENANCE_FIELDS if key in holder})
    return found
