"""``format``: the formats llguidance does not know, as (conservative) regexes, bounds or annotations.

* ``FORMATS_NATIVE``: enforced by llguidance 1.9 itself.
* ``FORMAT_REGEXES``: standard formats rewritten to a regex that accepts a subset of what the
  format's RFC allows, so ``format: F`` → ``pattern: REGEX`` never accepts an instance F rejects.
* ``STANDARD_FORMATS``: every format JSON Schema defines (draft-04 .. 2020-12); one of these that
  has no exact form here (``regex``, ``idn-email``, ``idn-hostname``) stays a strict-mode error,
  since a validator that knows it asserts it.
* Any other format is unknown: an annotation that asserts nothing (2019-09/2020-12 say so; drafts
  04-07 make format assertion optional and tell validators to pass formats they do not know), so
  dropping it is exact. It is dropped with a note naming it, except the OpenAPI Format Registry's
  formats with an exact definition (``OPENAPI_REGEXES``: ``byte`` = base64; ``INT_RANGES``:
  ``int8``/``int16``/``int32``, ``uint8`` .. ``uint64``; not ``int64``, see below), which are enforced — stricter than the annotation, as an OpenAPI user
  expects — unless the schema uses ``not``, ``if``, ``oneOf`` or ``contains`` anywhere (their
  rewrites negate subschemas, and a negated stricter subschema would accept more); there they
  stay annotations.
"""

from __future__ import annotations

from ._algebra import types_of
from ._errors import SchemaUnsupported

__all__ = ["FORMATS_NATIVE", "FORMAT_REGEXES", "INT_RANGES", "OPENAPI_REGEXES", "STANDARD_FORMATS", "rewrite_format"]

FORMATS_NATIVE = frozenset(
    {"date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uri", "uuid", "unknown"}
)

_HEX = "[0-9A-Fa-f]"
_PCT = f"%{_HEX}{_HEX}"
_UCS = "\\u00A0-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF"


def _uri_reference(extra: str = "") -> tuple[str, str]:
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


STANDARD_FORMATS = frozenset(
    {
        "date-time",
        "date",
        "time",
        "duration",
        "email",
        "idn-email",
        "hostname",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "uri",
        "uri-reference",
        "iri",
        "iri-reference",
        "uuid",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    }
)

OPENAPI_REGEXES = {"byte": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}
# int64 is left out: llguidance 1.9.1 cannot build its number regex for a lower bound of -2**63
# ("Failed to generate regex for integer range"), so int64 stays an annotation (warned about).
INT_RANGES = {
    f"{u}int{bits}": ((0, 2**bits - 1) if u else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    for bits in (8, 16, 32, 64)
    for u in ("", "u")
    if (u, bits) != ("", 64)
}


def _without_format(node: dict) -> dict:
    return {k: v for k, v in node.items() if k != "format"}


def _with_pattern(node: dict, regex: str) -> dict:
    out = _without_format(node)
    if "pattern" in out:
        out["allOf"] = [*list(out.get("allOf", [])), {"pattern": regex}]
    else:
        out["pattern"] = regex
    return out


def _with_range(node: dict, low: int, high: int) -> dict:
    """``node`` with its numbers bounded to [low, high] (bounds only constrain numbers)."""
    out = _without_format(node)
    lo, hi = out.get("minimum"), out.get("maximum")
    out["minimum"] = max(lo, low) if isinstance(lo, (int, float)) and not isinstance(lo, bool) else low
    out["maximum"] = min(hi, high) if isinstance(hi, (int, float)) and not isinstance(hi, bool) else high
    return out


def _annotation(node: dict, fmt: str, ctx, ptr: str) -> dict:
    ctx.notes.append(
        (
            ptr,
            f"/format: format {fmt!r} is not a JSON Schema format; an unknown format is an "
            "annotation that asserts nothing, so it is not enforced",
        )
    )
    return _without_format(node)


def rewrite_format(node: dict, ctx, ptr: str) -> dict:
    fmt = node.get("format")
    if not isinstance(fmt, str) or fmt in FORMATS_NATIVE:
        return node
    positive = ctx.assertive_formats
    if fmt in INT_RANGES and positive:
        return _with_range(node, *INT_RANGES[fmt])
    if "string" not in types_of(node, ctx):  # ``format`` only constrains strings
        return _without_format(node) if fmt in STANDARD_FORMATS else _annotation(node, fmt, ctx, ptr)
    regex = FORMAT_REGEXES.get(fmt) or (OPENAPI_REGEXES.get(fmt) if positive else None)
    if regex is not None:
        return _with_pattern(node, regex)
    if fmt in STANDARD_FORMATS:
        raise SchemaUnsupported(ptr + "/format", f"format {fmt!r} cannot be enforced", "format")
    return _annotation(node, fmt, ctx, ptr)
