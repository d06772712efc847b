"""Formats llguidance does not know, written as (conservative) regexes.

Each regex accepts a subset of what the format's RFC allows, so rewriting ``format: F`` to
``pattern: REGEX`` never accepts an instance the format rejects. ``FORMATS_NATIVE`` lists the formats
llguidance 1.9 enforces itself; anything else stays an error in strict mode.
"""

from __future__ import annotations

from ._algebra import types_of
from ._errors import SchemaUnsupported

__all__ = ["FORMAT_REGEXES", "FORMATS_NATIVE", "rewrite_format"]

FORMATS_NATIVE = frozenset({"date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uri",
                            "uuid", "unknown"})

_HEX = "[0-9A-Fa-f]"
_PCT = f"%{_HEX}{_HEX}"
_UCS = "\\u00A0-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF"


def _uri_reference(extra: str = "") -> str:
    unres = f"A-Za-z0-9\\-._~{extra}"
    sub = "!$&'()*+,;="
    pchar = f"(?:[{unres}{sub}:@]|{_PCT})"
    nc = f"(?:[{unres}{sub}@]|{_PCT})"
    qf = f"(?:{pchar}|[/?])*"
    host = f"(?:\\[[0-9A-Fa-f:.]+\\]|(?:[{unres}{sub}]|{_PCT})*)"
    auth = f"(?:(?:[{unres}{sub}:]|{_PCT})*@)?{host}(?::[0-9]*)?"
    abempty = f"(?:/{pchar}*)*"
    absolute = f"/(?:{pchar}+{abempty})?"
    rootless = f"{pchar}+{abempty}"
    hier = f"(?://{auth}{abempty}|{absolute}|{rootless})?"
    rel = f"(?://{auth}{abempty}|{absolute}|{nc}+{abempty})?"
    tail = f"(?:\\?{qf})?(?:#{qf})?"
    return f"^(?:[A-Za-z][A-Za-z0-9+\\-.]*:{hier}{tail}|{rel}{tail})$", f"^[A-Za-z][A-Za-z0-9+\\-.]*:{hier}{tail}$"


_URI_REF, _URI = _uri_reference()
_IRI_REF, _IRI = _uri_reference(_UCS)
_VARCHAR = f"(?:[A-Za-z0-9_]|{_PCT})"
_VARSPEC = f"{_VARCHAR}(?:\\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\\*)?"
_LITERAL = f"(?:[!#$&\\u0028-\\u003B=\\u003F-\\u005B\\]_a-z~{_UCS}]|{_PCT})"

FORMAT_REGEXES = {
    "uri-reference": _URI_REF,
    "iri": _IRI,
    "iri-reference": _IRI_REF,
    "uri-template": f"^(?:{_LITERAL}|\\{{[+#./;?&=,!@|]?{_VARSPEC}(?:,{_VARSPEC})*\\}})*$",
    "json-pointer": "^(?:/(?:[^~/]|~[01])*)*$",
    "relative-json-pointer": "^(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~[01])*)*)$",
}


def rewrite_format(node: dict, ctx, ptr: str) -> dict:
    fmt = node.get("format")
    if not isinstance(fmt, str) or fmt in FORMATS_NATIVE:
        return node
    if "string" not in types_of(node, ctx):  # ``format`` only constrains strings (e.g. OpenAPI's int32)
        return {k: v for k, v in node.items() if k != "format"}
    regex = FORMAT_REGEXES.get(fmt)
    if regex is None:
        raise SchemaUnsupported(ptr + "/format", f"format {fmt!r} cannot be enforced", "format")
    out = dict(node)
    del out["format"]
    if "pattern" in out:
        out["allOf"] = list(out.get("allOf", [])) + [{"pattern": regex}]
    else:
        out["pattern"] = regex
    return out
