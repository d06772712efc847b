"""vLLM on CPU, side by side: unconstrained, Ananke, vLLM's own guidance and xgrammar backends.

    .venv-vllm/bin/python benchmarks/vllm_cpu.py --rounds 3 --out docs/results/vllm_cpu.md \\
        --plot docs/results/vllm_cpu.png          # the plot needs matplotlib in .venv-vllm

Runs in ``.venv-vllm`` (``make test-vllm`` builds it: vllm-cpu 0.32.0) on the embedded
SmolLM2-135M-Instruct. Two vLLM engines live side by side: Ananke's ``VllmEngine`` (guidance
backend plus Ananke's all_of logits processor) and a plain ``AsyncLLM`` with the ``xgrammar``
backend. Four configurations take turns within every round (the order rotates each round) on
the same prompts and JSON schemas, at concurrency 1 and 16:

* ``unconstrained`` — the guidance engine, no constraint (runs to ``max_tokens``);
* ``unconstrained-matched`` — no constraint, each request made exactly as long as Ananke's output
  for the same request and seed (``ignore_eos``, ``max_tokens`` = its tokens, the EOS step included);
* ``ananke`` — ``GenerationService.stream`` (compile cached, validation cached, vLLM, replay,
  independent verification): what ``ananke serve`` runs per request;
* ``vllm-guidance-grammar`` — the same engine given the grammar Ananke compiled for the schema,
  raw (``StructuredOutputsParams(grammar=…)``) and with the same sampling parameters: the same
  outputs as ``ananke``, without Ananke's layer;
* ``vllm-guidance`` — the same engine given the raw schema (``StructuredOutputsParams(json=…)``),
  no Ananke in the path;
* ``vllm-xgrammar`` — the xgrammar engine given the raw schema.

Every configuration is driven the same way: ``AsyncLLM.generate`` in this process with
``RequestOutputKind.DELTA`` outputs, streamed (``ananke`` through ``GenerationService.stream``).
Per request: time to first token, decode tokens/s ((tokens − 1) / (last − first token)), and
whether the output satisfies the schema (jsonschema). Aggregate tokens/s = all tokens (the EOS
step included, in every configuration) / wall time of the batch. Per configuration: CPU seconds per generated token of this (the API) process, and of
the vLLM engine processes. The per-request decode rate of a batch rises as its requests finish and
the batch drains, so rates are compared between configurations whose outputs have the same
lengths (``ananke`` against ``vllm-guidance-grammar`` and ``unconstrained-matched``).
Then ``ananke serve`` itself at 16-way over HTTP (``/generate_api``): the vLLM
engine (``.venv-vllm``) against the transformers engine (``.venv``, the default install), each a
server process of its own, taking turns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

SCHEMAS: list[tuple[str, dict[str, Any]]] = [
    (
        "person",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "age", "email"],
            "properties": {
                "name": {"type": "string", "maxLength": 24},
                "age": {"type": "integer", "minimum": 0, "maximum": 120},
                "email": {"type": "string", "maxLength": 40},
            },
        },
    ),
    (
        "products",
        {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "price", "category"],
                "properties": {
                    "sku": {"type": "string", "maxLength": 12},
                    "price": {"type": "number"},
                    "category": {"enum": ["book", "toy", "food"]},
                },
            },
        },
    ),
    (
        "event",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["title", "day", "tags"],
            "properties": {
                "title": {"type": "string", "maxLength": 30},
                "day": {"enum": ["mon", "tue", "wed", "thu", "fri"]},
                "tags": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 10}},
            },
        },
    ),
    (
        "point",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["x", "y", "label"],
            "properties": {
                "x": {"type": "integer"},
                "y": {"type": "integer"},
                "label": {"type": "string", "maxLength": 16},
            },
        },
    ),
]
PROMPTS = {
    "person": "Describe a person as JSON.",
    "products": "List a few products as JSON.",
    "event": "Describe a meeting as JSON.",
    "point": "Give a labelled point as JSON.",
}
CONFIGS = (
    "unconstrained",
    "unconstrained-matched",
    "ananke",
    "vllm-guidance-grammar",
    "vllm-guidance",
    "vllm-xgrammar",
)


def _requests(n: int, seed0: int, first: int = 0) -> list[tuple[str, dict[str, Any], int]]:
    """``n`` requests: the schemas in turn from schema ``first``, seeds ``seed0``, ``seed0 + 1``, …"""
    return [
        (SCHEMAS[(first + i) % len(SCHEMAS)][0], SCHEMAS[(first + i) % len(SCHEMAS)][1], seed0 + i) for i in range(n)
    ]


def _cpu_s(procs: list[Any]) -> tuple[float, float]:
    """CPU seconds so far of this process (every thread) and of ``procs`` (vLLM's engine processes)."""
    engine = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except Exception:  # a process that has exited counts no further
            continue
        engine += times.user + times.system
    return time.process_time(), engine


def _satisfies(text: str, schema: dict[str, Any]) -> bool:
    import jsonschema

    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


async def timed_stream(service: Any, request: dict[str, Any]) -> tuple[dict[str, float], Any]:
    """``GenerationService.stream`` timed: time to first token, decode seconds, tokens; and the response."""
    from ananke.runtime import GenerationResponse

    submitted = time.perf_counter()
    first = last = final = None
    async for item in service.stream(request):
        now = time.perf_counter()
        if isinstance(item, GenerationResponse):
            final = item
        else:
            first = first or now
            last = now
    return {"ttft": first - submitted, "tokens": final.tokens_generated, "decode_s": last - first}, final


class Bench:
    """The two engines, the Ananke service over the first, and the per-config request runners."""

    def __init__(self, max_tokens: int, eager: bool) -> None:
        from vllm import AsyncEngineArgs
        from vllm.config import StructuredOutputsConfig
        from vllm.v1.engine.async_llm import AsyncLLM

        from ananke.runtime import ConstraintCache, GenerationService
        from ananke.runtime._model import resolve_model
        from ananke.runtime.engines._vllm import VllmEngine, VllmSettings

        self.max_tokens = max_tokens
        settings = VllmSettings(enforce_eager=eager, kv_cache_gib=1.0, max_model_len=2048, max_num_seqs=32)
        cache = ConstraintCache(maxsize=64)
        started = time.perf_counter()
        self.engine = VllmEngine(settings, cache=cache)
        self.start_s = {"guidance engine (Ananke)": time.perf_counter() - started}
        self.service = GenerationService(self.engine, cache=cache)
        _, path, _ = resolve_model(None)
        started = time.perf_counter()
        self.xgr = AsyncLLM.from_engine_args(
            AsyncEngineArgs(
                **settings.engine_kwargs(path, on_cpu=True),
                structured_outputs_config=StructuredOutputsConfig(backend="xgrammar"),
            )
        )
        self.start_s["xgrammar engine"] = time.perf_counter() - started
        self._n = 0
        #: (concurrency, seed) → tokens of Ananke's output plus its EOS step (``unconstrained-matched``)
        self.lengths: dict[tuple[int, int], int] = {}
        import psutil  # a vLLM dependency

        self.engine_procs = psutil.Process().children(recursive=True)

    def _params(self, schema: dict[str, Any] | None, seed: int, *, grammar: str | None = None, length: int = 0) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        structured = None
        if grammar is not None:
            structured = StructuredOutputsParams(grammar=grammar)
        elif schema:
            structured = StructuredOutputsParams(json=schema)
        return SamplingParams(
            max_tokens=length or self.max_tokens,
            ignore_eos=bool(length),
            temperature=0.7,
            top_p=0.95,
            top_k=0,
            seed=seed,
            structured_outputs=structured,
            output_kind=RequestOutputKind.DELTA,
            skip_special_tokens=True,
        )

    async def _raw(
        self,
        llm: Any,
        name: str,
        schema: dict[str, Any] | None,
        seed: int,
        *,
        grammar: str | None = None,
        length: int = 0,
    ) -> dict[str, Any]:
        from ananke.runtime.engines._vllm import prompt_token_ids, render_prompt

        tok = self.engine._tokenizer
        ids = prompt_token_ids(tok, PROMPTS[name])
        self._n += 1
        params = self._params(schema, seed, grammar=grammar, length=length)
        submitted = time.perf_counter()
        first = last = None
        tokens, text, finish = 0, [], None
        async for out in llm.generate(render_prompt(llm, ids), params, f"b{self._n}"):
            now = time.perf_counter()
            got = len(out.outputs[0].token_ids)
            if got:
                first = first or now
                last = now
            tokens += got
            text.append(out.outputs[0].text)
            finish = out.outputs[0].finish_reason
        cut = finish == "length" and not length
        return {
            "ttft": first - submitted,
            "tokens": tokens,
            "decode_s": last - first,
            "cut": cut,
            "ok": _satisfies("".join(text), schema) if schema and not cut and not length else None,
        }

    async def _ananke(self, name: str, schema: dict[str, Any], seed: int) -> dict[str, Any]:
        request = {
            "prompt": PROMPTS[name],
            "constraint": {"kind": "json_schema", "schema": schema},
            "max_tokens": self.max_tokens,
            "temperature": 0.7,
            "top_p": 0.95,
            "top_k": 0,
            "seed": seed,
        }
        row, final = await timed_stream(self.service, request)
        cut = final.finish_reason == "length"
        return {
            **row,
            # the EOS step counts as a generated token, as the raw configurations count it
            "tokens": row["tokens"] + (final.finish_reason == "stop"),
            "decode_tokens": row["tokens"],
            "cut": cut,
            "ok": None if cut else final.constraint_satisfied and _satisfies(final.generated_text, schema),
        }

    def one(self, config: str, name: str, schema: dict[str, Any], seed: int, concurrency: int) -> Any:
        llm = self.engine._llm
        if config == "unconstrained":
            return self._raw(llm, name, None, seed)
        if config == "unconstrained-matched":
            return self._raw(llm, name, None, seed, length=self.lengths[(concurrency, seed)])
        if config == "ananke":
            return self._ananke(name, schema, seed)
        if config == "vllm-guidance-grammar":
            compiled, _ = self.service.compile({"kind": "json_schema", "schema": schema})
            return self._raw(llm, name, schema, seed, grammar=compiled.grammars[0])
        if config == "vllm-guidance":
            return self._raw(llm, name, schema, seed)
        return self._raw(self.xgr, name, schema, seed)

    async def batch(self, config: str, concurrency: int, seed0: int, first: int = 0) -> dict[str, Any]:
        requests = _requests(concurrency, seed0, first)
        api0, engine0 = _cpu_s(self.engine_procs)
        started = time.perf_counter()
        rows = await asyncio.gather(*(self.one(config, n, s, seed, concurrency) for n, s, seed in requests))
        wall = time.perf_counter() - started
        api1, engine1 = _cpu_s(self.engine_procs)
        if config == "ananke":
            for (_, _, seed), row in zip(requests, rows, strict=True):
                self.lengths[(concurrency, seed)] = row["tokens"]
        return {"wall_s": wall, "rows": rows, "api_cpu_s": api1 - api0, "engine_cpu_s": engine1 - engine0}


#: the all_of workload: two grammars the compiler cannot merge (words, and words of the letters a-m)
WORDS = {"kind": "grammar", "lark": 'start: WORD (" " WORD){2,12} "."\nWORD: /[a-z]{1,10}/'}
LETTERS = {"kind": "grammar", "lark": 'start: /[a-m ]+/ "."'}
ALL_OF = {"kind": "composite", "op": "all_of", "parts": [WORDS, LETTERS]}


async def all_of_batch(bench: Bench, constraint: dict[str, Any], concurrency: int, seed0: int) -> dict[str, Any]:
    """Ananke on the guidance engine with one grammar, or with a second through the logits processor."""

    async def one(seed: int) -> dict[str, Any]:
        row, final = await timed_stream(
            bench.service,
            {
                "prompt": "Write a short sentence.",
                "constraint": constraint,
                "max_tokens": bench.max_tokens,
                "temperature": 0.7,
                "seed": seed,
            },
        )
        cut = final.finish_reason == "length"
        return {**row, "cut": cut, "ok": None if cut else final.constraint_satisfied}

    started = time.perf_counter()
    rows = await asyncio.gather(*(one(seed0 + i) for i in range(concurrency)))
    return {"wall_s": time.perf_counter() - started, "rows": rows}


async def run_all_of(bench: Bench, rounds: int) -> dict[str, dict[str, dict[str, float]]]:
    variants = {"one grammar": WORDS, "all_of (+ logits processor)": ALL_OF}
    results: dict[str, dict[str, list[dict[str, Any]]]] = {v: {"1": [], "16": []} for v in variants}
    for variant in variants.values():
        await all_of_batch(bench, variant, 2, 999)
    for r in range(rounds):
        for concurrency in (1, 16):
            for name in list(variants) if r % 2 == 0 else list(reversed(variants)):
                for k in range(4 if concurrency == 1 else 1):
                    results[name][str(concurrency)].append(
                        await all_of_batch(bench, variants[name], concurrency, 100 * r + 10 * k)
                    )
    return {name: {c: _summary(b) for c, b in per.items()} for name, per in results.items()}


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _summary(batches: list[dict[str, Any]]) -> dict[str, float]:
    rows = [r for b in batches for r in b["rows"]]
    decode = [
        (r.get("decode_tokens", r["tokens"]) - 1) / r["decode_s"]
        for r in rows
        if r.get("decode_tokens", r["tokens"]) > 1 and r["decode_s"] > 0
    ]
    oks = [r["ok"] for r in rows if r["ok"] is not None]
    tokens = sum(r["tokens"] for r in rows)
    return {
        "requests": len(rows),
        "tokens": tokens,
        "tokens_per_request": tokens / len(rows),
        "api_cpu_ms_per_token": 1e3 * sum(b.get("api_cpu_s", 0.0) for b in batches) / tokens,
        "engine_cpu_ms_per_token": 1e3 * sum(b.get("engine_cpu_s", 0.0) for b in batches) / tokens,
        "cut": sum(r["cut"] for r in rows),
        "aggregate_tps": sum(r["tokens"] for r in rows) / sum(b["wall_s"] for b in batches),
        "decode_tps": statistics.median(decode),
        "ttft_ms": statistics.median(r["ttft"] for r in rows) * 1e3,
        "satisfied": _share(oks),
    }


async def run_engines(bench: Bench, rounds: int) -> dict[str, dict[int, dict[str, float]]]:
    results: dict[str, dict[int, list[dict[str, Any]]]] = {c: {1: [], 16: []} for c in CONFIGS}
    for concurrency in (1, 16):  # warm-up: every schema compiled and cached
        for config in ("ananke", "vllm-guidance-grammar", "vllm-guidance", "vllm-xgrammar"):
            await bench.batch(config, concurrency, 999)

    def plan(r: int, concurrency: int) -> list[tuple[int, int]]:
        """(seed0, first schema) of the batches of round ``r``: concurrency 1 runs the four schemas in turn."""
        return [(100 * r + k, k) for k in range(4)] if concurrency == 1 else [(100 * r, 0)]

    for r in range(rounds):  # Ananke's output lengths per request, for unconstrained-matched
        for concurrency in (1, 16):
            for seed0, first in plan(r, concurrency):
                await bench.batch("ananke", concurrency, seed0, first)
    for r in range(rounds):
        order = CONFIGS[r % len(CONFIGS) :] + CONFIGS[: r % len(CONFIGS)]
        for concurrency in (1, 16):
            for config in order:
                for seed0, first in plan(r, concurrency):
                    results[config][concurrency].append(await bench.batch(config, concurrency, seed0, first))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    return {c: {n: _summary(b) for n, b in per.items()} for c, per in results.items()}


def _start_server(python_bin: Path, engine: str, port: int, log: Path) -> Any:
    """``ananke serve --engine ENGINE`` as users run it: its own process, its own virtualenv."""
    env = {
        **os.environ,
        "ANANKE_ENFORCE_EAGER": "1",
        "ANANKE_KV_CACHE_GIB": "1",
        "ANANKE_MAX_MODEL_LEN": "2048",
        "ANANKE_LOG_LEVEL": "WARNING",
    }
    ananke = python_bin.with_name("ananke")
    return subprocess.Popen(
        [str(ananke), "serve", "--engine", engine, "--port", str(port)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


async def _wait_healthy(url: str, timeout: float = 600.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url + "/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{url} did not become healthy")


async def run_serve(rounds: int, max_tokens: int, main_python: Path) -> dict[str, dict[str, float]]:
    """``ananke serve`` at 16-way over HTTP: the vLLM engine (this venv) vs the transformers engine
    (``main_python``'s venv, the default install), each a server process of its own, taking turns."""
    import httpx

    servers = {"vllm": (Path(sys.executable), 18431), "transformers": (main_python, 18432)}
    procs = {
        name: _start_server(py, name, port, Path(f"/tmp/ananke-bench-{name}.log"))
        for name, (py, port) in servers.items()
    }
    urls = {name: f"http://127.0.0.1:{port}" for name, (_, port) in servers.items()}
    out: dict[str, list[tuple[float, list[Any]]]] = {"vllm": [], "transformers": []}
    try:
        for url in urls.values():
            await _wait_healthy(url)
        async with httpx.AsyncClient(timeout=900) as client:

            async def one(url: str, i: int) -> Any:
                name, schema = SCHEMAS[i % len(SCHEMAS)]
                started = time.perf_counter()
                resp = await client.post(
                    url + "/generate_api",
                    json={
                        "prompt": PROMPTS[name],
                        "constraints": {"json_schema": schema},
                        "max_tokens": max_tokens,
                        "temperature": 0.7,
                        "seed": i,
                    },
                )
                body = resp.json()
                ok = None if body["finish_reason"] == "length" else body["constraint_satisfied"]
                return body["tokens_generated"], time.perf_counter() - started, ok

            for r in range(rounds + 1):
                for engine in ("vllm", "transformers") if r % 2 else ("transformers", "vllm"):
                    started = time.perf_counter()
                    rows = await asyncio.gather(*(one(urls[engine], 16 * r + i) for i in range(16)))
                    if r:  # round 0 warms both up (every schema compiled and cached)
                        out[engine].append((time.perf_counter() - started, rows))
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=60)
    summary = {}
    for engine, batches in out.items():
        rows = [row for _, rs in batches for row in rs]
        summary[engine] = {
            "aggregate_tps": sum(t for t, _, _ in rows) / sum(w for w, _ in batches),
            "p50_latency_s": statistics.median(s for _, s, _ in rows),
            "cut": sum(ok is None for _, _, ok in rows),
            "satisfied": _share([ok for _, _, ok in rows if ok is not None]),
            "requests": len(rows),
        }
    return summary


def _load() -> str:
    """The load averages (1, 5, 15 min) as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def _machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.SubprocessError):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


#: the ratios each concurrency's table shows: Ananke's layer (same grammar, same outputs), the
#: constraint's cost at equal lengths, and the raw-schema backends as users would call them
RATIOS = (
    ("ananke", "vllm-guidance-grammar"),
    ("ananke", "unconstrained-matched"),
    ("vllm-guidance-grammar", "unconstrained-matched"),
    ("ananke", "vllm-guidance"),
    ("vllm-guidance", "unconstrained"),
    ("vllm-xgrammar", "unconstrained"),
)


def render(report: dict[str, Any]) -> str:
    from importlib.metadata import version

    eng = report["engines"]
    lines = [
        "# vLLM on CPU: Ananke vs vLLM's own backends (`benchmarks/vllm_cpu.py`)",
        "",
        f"Machine: {report['machine']}. vllm-cpu {version('vllm-cpu')}, torch {version('torch')}, "
        f"llguidance {version('llguidance')}, xgrammar {version('xgrammar')}; embedded SmolLM2-135M-Instruct, "
        f"enforce_eager={report['eager']}, max_tokens={report['max_tokens']}, temperature 0.7, "
        f"{report['rounds']} rounds taking turns (order rotated each round).",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Load (uptime) at start: {report['load_start']}; at end: {report['load_end']} — the machine is shared.",
        "",
        "Engine start (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report["start_s"].items()),
        "",
    ]
    for concurrency in ("1", "16"):
        lines += [
            f"## Concurrency {concurrency}",
            "",
            "| config | requests | tokens per request | aggregate tok/s | decode tok/s (median per request) "
            "| TTFT p50 ms | API process CPU ms/token | engine processes CPU ms/token | cut off at max_tokens "
            "| satisfied (of the rest) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for config in CONFIGS:
            row = eng[config][concurrency]
            ok = "—" if row["satisfied"] != row["satisfied"] else f"{row['satisfied']:.0%}"
            lines.append(
                f"| {config} | {row['requests']} | {row['tokens_per_request']:.1f} | {row['aggregate_tps']:.1f} | "
                f"{row['decode_tps']:.1f} | {row['ttft_ms']:.1f} | {row['api_cpu_ms_per_token']:.2f} | "
                f"{row['engine_cpu_ms_per_token']:.2f} | {row['cut']} | {ok} |"
            )
        lines += [
            "",
            "| ratio | tokens per request | decode tok/s ratio | aggregate tok/s ratio |",
            "|---|---|---:|---:|",
        ]
        for a, b in RATIOS:
            ra, rb = eng[a][concurrency], eng[b][concurrency]
            lines.append(
                f"| {a} / {b} | {ra['tokens_per_request']:.1f} / {rb['tokens_per_request']:.1f} | "
                f"{ra['decode_tps'] / rb['decode_tps']:.3f} | {ra['aggregate_tps'] / rb['aggregate_tps']:.3f} |"
            )
        lines.append("")
    lines += [
        "## all_of across two grammars: the logits processor's cost",
        "",
        "Ananke on the guidance engine: one Lark grammar, against the same grammar AND a second one "
        "(enforced by Ananke's logits processor inside vLLM's worker).",
        "",
        "| variant | concurrency | requests | decode tok/s (median per request) | ratio | TTFT p50 ms "
        "| cut off | satisfied (of the rest) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in ("1", "16"):
        base = report["all_of"]["one grammar"][concurrency]["decode_tps"]
        for variant, per in report["all_of"].items():
            row = per[concurrency]
            lines.append(
                f"| {variant} | {concurrency} | {row['requests']} | {row['decode_tps']:.1f} | "
                f"{row['decode_tps'] / base:.3f} | {row['ttft_ms']:.1f} | {row['cut']} | "
                f"{row['satisfied']:.0%} |"
            )
    lines.append("")
    serve = report["serve"]
    lines += [
        "## `ananke serve` at 16-way over HTTP (`/generate_api`, JSON schemas)",
        "",
        "| engine | requests | aggregate tok/s | p50 latency s | cut off | satisfied (of the rest) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for engine, row in serve.items():
        lines.append(
            f"| {engine} | {row['requests']} | {row['aggregate_tps']:.1f} | {row['p50_latency_s']:.2f} | "
            f"{row['cut']} | {row['satisfied']:.0%} |"
        )
    ratio = serve["vllm"]["aggregate_tps"] / serve["transformers"]["aggregate_tps"]
    lines += ["", f"vLLM engine / transformers engine, aggregate at 16-way: **{ratio:.2f}×**", ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, concurrency in zip(axes[:2], ("1", "16"), strict=False):
        values = [report["engines"][c][concurrency]["decode_tps"] for c in CONFIGS]
        ax.bar(CONFIGS, values, color=["#999", "#bbb", "#2a7", "#8c8", "#47c", "#c74"])
        ax.set_title(f"decode tok/s per request, concurrency {concurrency}")
        ax.tick_params(axis="x", rotation=30, labelsize=7)
    serve = report["serve"]
    axes[2].bar(list(serve), [serve[e]["aggregate_tps"] for e in serve], color=["#2a7", "#999"])
    axes[2].set_title("ananke serve, 16-way: aggregate tok/s")
    fig.suptitle(f"vLLM CPU backend, SmolLM2-135M — {report['machine']}")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


HAND_WRITTEN = "## Reading the figures"


def _hand_written_tail(out: Path) -> str:
    """The hand-written reading of an earlier run, kept below the regenerated tables."""
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    at = old.find(HAND_WRITTEN)
    return "\n" + old[at:] if at >= 0 else ""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--compile", action="store_true", help="torch.compile (default: enforce_eager)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--json", type=Path, help="raw figures as JSON")
    parser.add_argument(
        "--main-python",
        type=Path,
        default=Path(".venv/bin/python"),
        help="python of the default install (.venv), whose `ananke serve` runs the transformers engine",
    )
    args = parser.parse_args(argv)
    load_start = _load()

    async def run() -> dict[str, Any]:
        bench = Bench(args.max_tokens, eager=not args.compile)
        try:
            engines = await run_engines(bench, args.rounds)
            all_of = await run_all_of(bench, args.rounds)
        finally:
            bench.xgr.shutdown()
            bench.engine.shutdown()
        serve = await run_serve(args.rounds, args.max_tokens, args.main_python)
        return {
            "engines": {c: {str(k): v for k, v in per.items()} for c, per in engines.items()},
            "serve": serve,
            "all_of": all_of,
            "start_s": bench.start_s,
        }

    report = asyncio.run(run())
    report.update(
        machine=_machine(),
        eager=not args.compile,
        max_tokens=args.max_tokens,
        rounds=args.rounds,
        load_start=load_start,
        load_end=_load(),
        command="python benchmarks/vllm_cpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    text = render(report)
    print(text)
    if args.out:
        args.out.write_text(text + "\n" + _hand_written_tail(args.out), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.plot:
        plot(report, args.plot)
    return report


if __name__ == "__main__":
    main()
