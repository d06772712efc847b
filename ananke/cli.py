"""The ``ananke`` command line.

Exit codes (contract): ``validate`` 0 valid / 1 invalid / 2 usage or I/O error;
``match`` 0 accepted / 1 rejected / 3 invalid constraint; other commands 0 / 1 / 2.
Heavy imports (torch, transformers, the server) happen only in the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ananke._version import __version__
from ananke.errors import UsageError

__all__ = ["UsageError", "main"]

KIND_CHOICES = ("json_schema", "lark", "gbnf", "regex", "ir")


def _read_source(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _report_errors(exc: Exception) -> None:
    from ananke.errors import ConstraintError

    if isinstance(exc, ConstraintError):
        for diagnostic in exc.diagnostics:
            print(diagnostic.render(), file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)


# -- commands ---------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    import ananke

    report = ananke.validate(_read_source(args.file), kind=args.kind, lenient=args.lenient)
    if args.json:
        _print_json(report.model_dump())
    else:
        from ananke.errors import Diagnostic

        for error in report.errors:
            print(
                Diagnostic(**{**error, "allowed": tuple(error["allowed"]) if error.get("allowed") else None}).render(),
                file=sys.stderr,
            )
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if report.valid:
            print(f"valid ({', '.join(report.kinds)}; fingerprint {report.fingerprint})")
    return 0 if report.valid else 1


def cmd_compile(args: argparse.Namespace) -> int:
    import ananke

    try:
        compiled = ananke.compile(_read_source(args.file), kind=args.kind, lenient=args.lenient)
    except ananke.ConstraintError as exc:
        _report_errors(exc)
        return 1
    _print_json(compiled.to_json())
    return 0


def _match_one(constraint: Any, texts: list[str], kind: str | None) -> dict[str, Any]:
    import ananke

    try:
        compiled = ananke.compile(constraint, kind=kind)
    except ananke.ConstraintError as exc:
        return {"valid": False, "errors": [d.to_dict() for d in exc.diagnostics], "accepted": []}
    return {"valid": True, "errors": [], "accepted": [ananke.matches(compiled, text) for text in texts]}


def cmd_match(args: argparse.Namespace) -> int:
    if args.batch:
        return _match_batch(args.batch)
    if args.file is None or (args.text is None) == (args.text_file is None):
        raise UsageError("match needs FILE and exactly one of --text / --text-file (or --batch FILE.jsonl)")
    text = args.text if args.text is not None else _read_source(args.text_file)
    result = _match_one(_read_source(args.file), [text], args.kind)
    if not result["valid"]:
        from ananke.errors import Diagnostic

        for error in result["errors"]:
            print(Diagnostic(**{**error, "allowed": None}).render(), file=sys.stderr)
        return 3
    accepted = result["accepted"][0]
    if not args.quiet:
        print("accepted" if accepted else "rejected")
    return 0 if accepted else 1


def _match_batch(path: str) -> int:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
                result = _match_one(case["constraint"], list(case.get("texts", [])), case.get("kind"))
                result = {"id": case.get("id"), **result}
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                result = {
                    "id": None,
                    "valid": False,
                    "accepted": [],
                    "errors": [{"message": f"line {number}: bad batch case: {exc}", "pointer": ""}],
                }
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from ananke.core import get_host

    plugins = [p.to_dict() for p in get_host().plugins()]
    if args.json:
        _print_json(plugins)
        return 0
    width = max(len(p["name"]) for p in plugins)
    for plugin in plugins:
        print(f"{plugin['name']:<{width}}  kinds: {', '.join(plugin['kinds']) or '-'}  ({plugin['origin']})")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from ananke.core._schema_doc import ir_json_schema

    _print_json(ir_json_schema())
    return 0


def cmd_grammars(args: argparse.Namespace) -> int:
    from ananke import grammars

    listing = {name: grammars.entry_rules(name) for name in grammars.BUILTIN_LANGUAGES}
    if args.json:
        _print_json(listing)
        return 0
    for name, entries in listing.items():
        print(name)
        for entry, description in entries.items():
            print(f"  {entry:<18} {description}")
    return 0


# -- parser -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ananke", description="Constraint compiler and inference service.")
    parser.add_argument("--version", action="version", version=f"ananke {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def constraint_command(name: str, help_text: str, func) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(
            "file",
            metavar="FILE",
            nargs="?" if name == "match" else None,
            help="constraint file in any accepted format, or - for stdin",
        )
        cmd.add_argument("--kind", choices=KIND_CHOICES, help="how to read FILE when it is not self-describing")
        cmd.add_argument("--lenient", action="store_true", help="degrade unsupported features to warnings")
        cmd.set_defaults(func=func)
        return cmd

    validate = constraint_command("validate", "check a constraint without generating", cmd_validate)
    validate.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    constraint_command("compile", "print the compiled constraint as JSON", cmd_compile)
    match = constraint_command("match", "does the constraint accept exactly this text?", cmd_match)
    match.add_argument("--text", help="the text to check")
    match.add_argument("--text-file", help="read the text to check from a file")
    match.add_argument("--batch", metavar="FILE.jsonl", help='lines of {"id", "constraint", "texts"}')
    match.add_argument("-q", "--quiet", action="store_true", help="only set the exit code")

    plugins = sub.add_parser("plugins", help="list loaded constraint plugins")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)
    schema = sub.add_parser("schema", help="print the JSON Schema of ConstraintIR v1")
    schema.set_defaults(func=cmd_schema)
    grammars = sub.add_parser("grammars", help="list built-in language grammars and their entry rules")
    grammars.add_argument("--json", action="store_true")
    grammars.set_defaults(func=cmd_grammars)
    _add_runtime_commands(sub)
    return parser


def _add_runtime_commands(sub: Any) -> None:
    try:
        from ananke import _cli_runtime
    except ImportError:
        return
    _cli_runtime.add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"ananke: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
