"""``ananke generate``, ``ananke serve`` and ``ananke config`` (added to the CLI by :func:`add_commands`).

Exit codes: 0 success; 1 bad constraint (diagnostics on stderr) or failed generation / unreachable
server; 2 usage (bad arguments, unreadable files, request out of bounds, bad configuration);
4 (``generate``) the output was produced but its verification says it does not satisfy the
constraint (for example cut off by ``--max-tokens``); the warning names the limit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ananke.errors import UsageError

__all__ = ["add_commands", "cmd_config", "cmd_generate", "cmd_serve", "service_factory"]

KINDS = ("json_schema", "lark", "gbnf", "regex", "ir")
EXIT_UNSATISFIED = 4


def _err(message: str) -> None:
    print(f"ananke: error: {message}", file=sys.stderr)


def _print_diagnostics(exc: Any) -> None:
    for diagnostic in getattr(exc, "diagnostics", []):
        print(diagnostic.render(), file=sys.stderr)


def _load_config(args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    from ananke._config import load_config

    return load_config(getattr(args, "config", None), overrides=overrides)  # ConfigError is a UsageError


# -- generate -------------------------------------------------------------------------------------


def _read_prompt(prompt: str | None) -> str:
    if prompt is None:
        raise UsageError("generate needs a PROMPT (or - to read it from stdin)")
    return sys.stdin.read() if prompt == "-" else prompt


def _read_constraint(path: str | None, kind: str | None) -> dict[str, Any] | None:
    """The constraint file as ConstraintIR v1 JSON (recognized by content whatever its extension)."""
    if path is None:
        if kind is not None:
            raise UsageError("--kind needs --constraint FILE")
        return None
    import ananke

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    ir = ananke.load_constraint(text, kind=kind)  # ConstraintError → exit 1, before any model loads
    ananke.compile(ir)  # grammar syntax, schema features, limits: fail fast with diagnostics
    return ir.to_json()


def _request_fields(args: argparse.Namespace, config: Any, constraint: dict[str, Any] | None) -> dict[str, Any]:
    gen = config.generation_defaults()
    return {
        "constraint": constraint,
        "max_tokens": gen["max_tokens"] if args.max_tokens is None else args.max_tokens,
        "temperature": gen["temperature"] if args.temperature is None else args.temperature,
        "top_p": gen["top_p"] if args.top_p is None else args.top_p,
        "top_k": gen["top_k"] if args.top_k is None else args.top_k,
        "seed": args.seed,
        "stop_sequences": args.stop or None,
        "context": args.context,
        "lenient": args.lenient,
        "chat": not args.raw,
    }


def _limits(config: Any) -> Any:
    from ananke.runtime import ServiceLimits

    return ServiceLimits(
        max_tokens_cap=config["limits.max_tokens_cap"],
        max_prompt_chars=config["limits.max_prompt_chars"],
        compile_timeout_s=config["limits.compile_timeout_s"],
    )


def service_factory(config: Any) -> Any:
    """A zero-argument callable that builds the generation service over the configured engine.

    The engine is looked up in the ``ananke.engines`` registry now (an unknown name is a
    :class:`~ananke.errors.RegistryError`, a usage error that lists the registered engines);
    the callable starts it.
    """
    from ananke.runtime.engines import engine_factory

    factory = engine_factory(config["engine"])

    def build() -> Any:
        from ananke.runtime import ConstraintCache, GenerationService

        cache = ConstraintCache(maxsize=config["cache.size"])
        return GenerationService(factory(config, cache), cache=cache, limits=_limits(config))

    return build


class _EngineNames:
    """``--engine`` choices: the registered engines, looked up only when the option is used."""

    def __contains__(self, name: object) -> bool:
        return name in tuple(self)

    def __iter__(self) -> Any:
        from ananke.runtime.engines import engine_names

        return iter(engine_names())


def _generate_remote(args: argparse.Namespace, prompt: str, fields: dict[str, Any]) -> Any:
    from ananke.client import AnankeClient

    with AnankeClient(args.url, api_key=args.api_key, timeout=args.timeout) as client:
        return client.generate(prompt, **fields)


def _generate_local(config: Any, prompt: str, fields: dict[str, Any]) -> Any:
    import asyncio

    print(f"ananke: loading {config['model'] or 'the embedded model'} ...", file=sys.stderr)
    service = service_factory(config)()

    async def run() -> Any:
        try:
            return await service.generate({"prompt": prompt, **fields})
        finally:
            await service.aclose()

    return asyncio.run(run())


def _cut_off_by(resp: Any, fields: dict[str, Any]) -> str:
    """Which limit ended the generation, in the words of the flag that sets it."""
    meta = resp.metadata
    if resp.finish_reason == "length":
        return (
            f"cut off by --max-tokens {fields.get('max_tokens')} after {resp.tokens_generated} tokens"
            if resp.tokens_generated >= (fields.get("max_tokens") or 0)
            else f"cut off by the model's context length after {resp.tokens_generated} tokens"
        )
    if resp.finish_reason == "constraint_error":
        return f"stopped: {meta.error or 'the constraint allowed no token'}"
    if resp.finish_reason == "stop" and fields.get("stop_sequences"):
        return "stopped at a --stop sequence or the end of sequence"
    return f"finish_reason={resp.finish_reason}"


def _print_result(resp: Any, as_json: bool, fields: dict[str, Any]) -> None:
    if as_json:
        json.dump(resp.model_dump(mode="json"), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(resp.generated_text)
        sys.stdout.write("\n")
    meta = resp.metadata
    if resp.finish_reason == "constraint_error":
        print(
            f"ananke: warning: generation stopped: {meta.error or 'the constraint allowed no token'}", file=sys.stderr
        )
    if not resp.constraint_satisfied:
        why = "; ".join([_cut_off_by(resp, fields), *meta.verification_errors])
        print(
            f"ananke: warning: the output does not satisfy the constraint ({why}); exit code {EXIT_UNSATISFIED}",
            file=sys.stderr,
        )
    elif meta.constraint_kinds:
        print(
            f"ananke: verified: output satisfies the constraint ({', '.join(meta.constraint_kinds)}; "
            f"{resp.tokens_generated} tokens, {resp.finish_reason})",
            file=sys.stderr,
        )


def cmd_generate(args: argparse.Namespace) -> int:
    import ananke

    try:
        config = _load_config(args, {"model": args.model, "device": args.device, "engine": args.engine})
        prompt = _read_prompt(args.prompt)
        constraint = _read_constraint(args.constraint, args.kind)
        fields = _request_fields(args, config, constraint)
        resp = _generate_remote(args, prompt, fields) if args.url else _generate_local(config, prompt, fields)
    except UsageError as exc:
        _err(str(exc))
        return 2
    except ananke.ConstraintError as exc:
        _print_diagnostics(exc)
        _err("invalid constraint")
        return 1
    except ananke.RequestError as exc:
        _err(str(exc))
        return 2
    except ananke.AnankeError as exc:
        _err(str(exc))
        return 1
    _print_result(resp, args.json, fields)
    return 0 if resp.constraint_satisfied else EXIT_UNSATISFIED


# -- serve ----------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        config = _load_config(
            args,
            {
                "server.host": args.host,
                "server.port": args.port,
                "model": args.model,
                "engine": args.engine,
                "device": args.device,
                "logging.level": args.log_level,
            },
        )
        from ananke.server import configure_logging, create_app
        from ananke.server._serve import serve

        configure_logging(config["logging.level"], config["logging.json"])
        app = create_app(service_factory(config), config)
    except (UsageError, ValueError) as exc:
        _err(str(exc))
        return 2
    try:
        serve(
            app,
            config["server.host"],
            config["server.port"],
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(config["limits.shutdown_grace_s"]) + 1,
            log_level=config["logging.level"].lower(),
        )
    except OSError as exc:  # address in use, permission denied
        _err(f"cannot listen on {config['server.host']}:{config['server.port']}: {exc}")
        return 1
    return 0


# -- config ---------------------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace) -> int:
    try:
        config = _load_config(args, {})
    except UsageError as exc:
        _err(str(exc))
        return 2
    if args.json:
        json.dump(
            {"file": str(config.file) if config.file else None, "settings": config.to_dict()}, sys.stdout, indent=2
        )
        sys.stdout.write("\n")
    else:
        print(config.render())
    return 0


# -- parser ---------------------------------------------------------------------------------------


def _add_generate(sub: Any) -> None:
    cmd = sub.add_parser(
        "generate",
        help="generate text that follows a constraint (locally or via --url)",
        description="Generate with the embedded model (or --model), or on a server with --url.",
    )
    cmd.add_argument("prompt", metavar="PROMPT", nargs="?", help="the prompt, or - to read it from stdin")
    cmd.add_argument(
        "--constraint",
        "--constraints",
        dest="constraint",
        metavar="FILE",
        help="constraint file in any accepted format (recognized by content), or - for stdin",
    )
    cmd.add_argument("--kind", choices=KINDS, help="how to read FILE when it is not self-describing")
    cmd.add_argument("--json", action="store_true", help="print the whole response as JSON")
    cmd.add_argument("--model", help="HF model id or local path (default: embedded SmolLM2-135M-Instruct)")
    cmd.add_argument("--engine", choices=_EngineNames(), help="a registered engine (default: engine, transformers)")
    cmd.add_argument("--device", help="cpu | cuda (default: auto)")
    cmd.add_argument("--max-tokens", type=int, help="default: generation.max_tokens (2048)")
    cmd.add_argument("--temperature", type=float, help="default: generation.temperature (0.7); 0 is greedy")
    cmd.add_argument("--top-p", type=float)
    cmd.add_argument("--top-k", type=int)
    cmd.add_argument("--seed", type=int, help="sampling seed (reproducible)")
    cmd.add_argument("--stop", action="append", metavar="TEXT", help="stop sequence (repeatable)")
    cmd.add_argument("--context", help="text put before the prompt (with a blank line)")
    cmd.add_argument("--lenient", action="store_true", help="degrade unenforceable features to warnings")
    cmd.add_argument("--raw", action="store_true", help="do not wrap the prompt in the chat template")
    cmd.add_argument("--url", "--inference-url", dest="url", metavar="URL", help="generate on an Ananke server")
    cmd.add_argument("--api-key", help="bearer token for --url (default: $ANANKE_API_KEY)")
    cmd.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for --url (default 600)")
    cmd.add_argument("--config", metavar="FILE", help="YAML configuration file")
    cmd.set_defaults(func=cmd_generate)


def _add_serve(sub: Any) -> None:
    cmd = sub.add_parser("serve", help="serve the HTTP API (seed, Maze, OpenAI, constraints)")
    cmd.add_argument("--host", help="default: server.host (127.0.0.1)")
    cmd.add_argument("--port", type=int, help="default: server.port (8000)")
    cmd.add_argument("--model", help="HF model id or local path (default: embedded SmolLM2-135M-Instruct)")
    cmd.add_argument("--engine", choices=_EngineNames(), help="a registered engine (default: engine, transformers)")
    cmd.add_argument("--device", help="cpu | cuda (default: auto)")
    cmd.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    cmd.add_argument("--config", metavar="FILE", help="YAML configuration file")
    cmd.set_defaults(func=cmd_serve)


def _add_config(sub: Any) -> None:
    cmd = sub.add_parser("config", help="print the effective configuration and where each value came from")
    cmd.add_argument("--config", metavar="FILE", help="YAML configuration file")
    cmd.add_argument("--json", action="store_true")
    cmd.set_defaults(func=cmd_config)


def add_commands(sub: Any) -> None:
    """Add ``generate``, ``serve`` and ``config`` to the ``ananke`` subcommand parser."""
    _add_generate(sub)
    _add_serve(sub)
    _add_config(sub)
