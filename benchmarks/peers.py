"""Benchmark (d): Ananke vs Outlines vs XGrammar — compile time and constrained tokens/s, one run.

    scripts/peers_venv.sh        # .venv-peers: this repo + the pins of benchmarks/requirements-peers.txt
    .venv-peers/bin/python benchmarks/peers.py /work/shared/data/maskbench-dev.tar.xz \
        [--limit 80] [--timeout 10] [--max-tokens 64] [--repeats 2] [--threads N] [--json OUT]

Same model (the embedded SmolLM2-135M-Instruct GGUF, loaded by transformers), same tokenizer,
same schemas, compact JSON whitespace everywhere, side by side in one process tree:

* **compile** — per schema (hand-written ones + an even sample of MaskBench dev), every library
  in its own forked worker (so a hang or a memory blow-up is a counted timeout, not a dead run),
  the libraries' order rotated from schema to schema so that machine noise hits them alike.
  "compile" is the library's compile call; "ready" adds a matcher and the first full token mask
  (llguidance builds masks lazily, XGrammar and Outlines precompute at compile time):
    - Ananke: ``compile_with_matchers`` (strict; what the runtime calls: the compile's validating
      llguidance build is the matcher) → first mask;
    - raw llguidance (reference: the engine under Ananke): ``LLMatcher(grammar_from("json_schema"))``;
    - Ananke (lenient): the same with ``lenient=True`` (drops what it cannot enforce, with warnings,
      as the peers do silently);
    - XGrammar: ``GrammarCompiler(cache_enabled=False).compile_json_schema(any_whitespace=False,
      separators=(",", ":"))``;
    - Outlines: ``OutlinesCoreBackend.get_json_schema_logits_processor(schema, whitespace_pattern="")``
      (``build_regex_from_schema`` + outlines-core ``Index``, its default JSON backend).
* **tokens/s** — greedy, ``--max-tokens``, chat-templated prompts, modes interleaved within each
  repeat: Ananke's ``TransformersEngine`` (unconstrained, and with its defaults: forced tokens fed
  in one pass; ``--every-token`` adds a run with that off); and one minimal decode loop (also run
  unconstrained) shared by Ananke (llguidance matcher on the compiled grammar, mask applied the way
  Ananke's engine does), XGrammar (``GrammarMatcher`` + its own CPU bitmask kernel) and Outlines (its
  logits processor) over the same model object and KV-cache forward. Decode tokens/s =
  Σ(tokens − 1) / Σ(time after the prefill); outputs are checked with ``jsonschema``.
  On a shared 2-core machine pass ``--threads 1``: two OpenMP threads competing with other
  processes decode about 4× slower.

Prints markdown tables; ``--json`` writes every number.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import os
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from compile_latency import load_maskbench, percentiles

__all__ = ["HAND_SCHEMAS", "LIBRARIES", "main"]

LIBRARIES = ["Ananke", "Ananke (lenient)", "llguidance (raw)", "XGrammar", "Outlines"]
XGR_COMPACT = {"any_whitespace": False, "separators": (",", ":")}

HAND_SCHEMAS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "person",
        "Give me a person as JSON.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "age", "email", "hobbies"],
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer"},
                "email": {"type": "string"},
                "hobbies": {"type": "array", "items": {"type": "string"}},
            },
        },
    ),
    (
        "product list",
        "List products as JSON.",
        {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "price", "category"],
                "properties": {
                    "sku": {"type": "string"},
                    "price": {"type": "number"},
                    "category": {"enum": ["book", "toy", "food"]},
                },
            },
        },
    ),
    (
        "weather call",
        "Call the weather tool for Paris as JSON.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "arguments"],
            "properties": {
                "name": {"const": "get_weather"},
                "arguments": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["city", "unit", "days"],
                    "properties": {
                        "city": {"type": "string", "minLength": 1, "maxLength": 40},
                        "unit": {"enum": ["celsius", "fahrenheit"]},
                        "days": {"type": "integer", "minimum": 1, "maximum": 14},
                    },
                },
            },
        },
    ),
    (
        "order",
        "Write an order with an address as JSON.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "paid", "items", "ship_to"],
            "properties": {
                "id": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                "paid": {"type": "boolean"},
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 5,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["qty", "name"],
                        "properties": {"qty": {"type": "integer", "minimum": 1}, "name": {"type": "string"}},
                    },
                },
                "ship_to": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["street", "zip"],
                    "properties": {"street": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                },
            },
        },
    ),
    (
        "review",
        "Review a film as JSON.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["title", "rating", "tags", "spoilers"],
            "properties": {
                "title": {"type": "string"},
                "rating": {"type": "number", "minimum": 0, "maximum": 5},
                "tags": {"type": "array", "items": {"enum": ["drama", "comedy", "action", "horror"]}},
                "spoilers": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            },
        },
    ),
]


# --------------------------------------------------------------------------- setup

_T0 = time.perf_counter()


def _progress(message: str) -> None:
    print(f"[peers {time.perf_counter() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


class Setup:
    """Everything loaded once in the parent (before any fork): model, tokenizers, prompts."""

    def __init__(self, threads: int | None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        from ananke.runtime import TransformersEngine

        self.engine = TransformersEngine()
        self.model = self.engine.loaded.model
        self.hf_tok = self.engine.loaded.tokenizer
        self.llg_tok = self.engine.llg_tokenizer()
        self.vocab = self.engine.vocab_size
        self.eos = list(self.engine.eos_ids)


def _ananke_state(setup: Setup) -> dict[str, Any]:
    import llguidance.torch as lt

    return {"buf": lt.allocate_token_bitmask(1, setup.llg_tok.vocab_size)}


def _xgr_state(setup: Setup) -> dict[str, Any]:
    import xgrammar as xgr

    info = xgr.TokenizerInfo.from_huggingface(setup.hf_tok, vocab_size=setup.vocab, stop_token_ids=setup.eos)
    return {
        "info": info,
        "compiler": xgr.GrammarCompiler(info, cache_enabled=False),
        "buf": xgr.allocate_token_bitmask(1, info.vocab_size),
    }


def _outlines_state(setup: Setup) -> dict[str, Any]:
    import outlines
    import torch
    from outlines.backends.outlines_core import OutlinesCoreBackend

    model = outlines.from_transformers(setup.model, setup.hf_tok)
    return {
        "backend": OutlinesCoreBackend(model),
        "ids": torch.tensor([[setup.eos[0]]]),
        "logits": torch.zeros(1, setup.vocab),
    }


STATE_BUILDERS: dict[str, Callable[[Setup], dict[str, Any]]] = {
    "Ananke": _ananke_state,
    "Ananke (lenient)": _ananke_state,
    "llguidance (raw)": _ananke_state,
    "XGrammar": _xgr_state,
    "Outlines": _outlines_state,
}


# --------------------------------------------------------------------------- compile, one library


def _compile_ananke(setup: Setup, state: dict[str, Any], text: str, lenient: bool = False) -> tuple[float, float]:
    """As the runtime compiles: one llguidance build per grammar, which is also the validation."""
    import llguidance.torch as lt

    from ananke.core._compiler import compile_with_matchers

    t0 = time.perf_counter()
    _compiled, matchers = compile_with_matchers(
        {"kind": "json_schema", "schema": json.loads(text)}, tokenizer=setup.llg_tok, lenient=lenient
    )
    t1 = time.perf_counter()
    for matcher in matchers or []:
        lt.fill_next_token_bitmask(matcher, state["buf"])
    return t1 - t0, time.perf_counter() - t0


def _compile_raw(setup: Setup, state: dict[str, Any], text: str) -> tuple[float, float]:
    import llguidance as llg
    import llguidance.torch as lt

    t0 = time.perf_counter()
    matcher = llg.LLMatcher(setup.llg_tok, llg.grammar_from("json_schema", text), log_level=0)
    t1 = time.perf_counter()
    if matcher.is_error():
        raise ValueError(matcher.get_error())
    lt.fill_next_token_bitmask(matcher, state["buf"])
    return t1 - t0, time.perf_counter() - t0


def _compile_xgr(setup: Setup, state: dict[str, Any], text: str) -> tuple[float, float]:
    import xgrammar as xgr

    t0 = time.perf_counter()
    grammar = state["compiler"].compile_json_schema(text, **XGR_COMPACT)
    t1 = time.perf_counter()
    xgr.GrammarMatcher(grammar).fill_next_token_bitmask(state["buf"])
    return t1 - t0, time.perf_counter() - t0


def _compile_outlines(setup: Setup, state: dict[str, Any], text: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    processor = state["backend"].get_json_schema_logits_processor(text, "")
    t1 = time.perf_counter()
    processor(state["ids"], state["logits"].clone())
    return t1 - t0, time.perf_counter() - t0


COMPILERS: dict[str, Callable[[Setup, dict[str, Any], str], tuple[float, float]]] = {
    "Ananke": _compile_ananke,
    "Ananke (lenient)": functools.partial(_compile_ananke, lenient=True),
    "llguidance (raw)": _compile_raw,
    "XGrammar": _compile_xgr,
    "Outlines": _compile_outlines,
}

WARMUP_SCHEMA = json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})


def _worker(lib: str, setup: Setup, conn: Any) -> None:
    """Forked worker: build the library's per-tokenizer state, then compile schemas on request."""
    t0 = time.perf_counter()
    state = STATE_BUILDERS[lib](setup)
    setup_s = time.perf_counter() - t0
    with contextlib.suppress(Exception):
        COMPILERS[lib](setup, state, WARMUP_SCHEMA)
    conn.send(("ready", setup_s))
    while True:
        text = conn.recv()
        if text is None:
            return
        try:
            compile_s, ready_s = COMPILERS[lib](setup, state, text)
            conn.send(("ok", compile_s, ready_s))
        except Exception as exc:  # every library failure is a counted result
            conn.send(("error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"))


class Worker:
    """One library's forked worker with a timeout and an RSS cap per request."""

    def __init__(self, lib: str, setup: Setup, mem_limit: int) -> None:
        self.lib, self.setup, self.mem_limit = lib, setup, mem_limit
        self.setup_s: float | None = None
        self.proc: Any = None
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(self.lib, self.setup, child), daemon=True)
        self.proc.start()
        msg = self._wait(300.0)
        if msg[0] != "ready":
            raise SystemExit(f"{self.lib} worker failed to start: {msg}")
        if self.setup_s is None:
            self.setup_s = msg[1]

    def _rss(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _wait(self, timeout: float) -> tuple[Any, ...]:
        deadline = time.monotonic() + timeout
        while True:
            if self.conn.poll(0.05):
                try:
                    return self.conn.recv()
                except EOFError:
                    return ("crash", "worker exited")
            if not self.proc.is_alive():
                return ("crash", f"worker exited with {self.proc.exitcode}")
            if self._rss() > self.mem_limit:
                return ("memory", f"RSS over {self.mem_limit >> 20} MiB")
            if time.monotonic() > deadline:
                return ("timeout", f"over {timeout:g} s")

    def compile(self, text: str, timeout: float) -> tuple[Any, ...]:
        self.conn.send(text)
        msg = self._wait(timeout)
        if msg[0] in ("timeout", "memory", "crash"):
            self.kill()
            self._start()
        return msg

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)

    def close(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(5)
        except (OSError, BrokenPipeError):
            pass
        self.kill()


def run_compile(
    setup: Setup, schemas: list[tuple[str, str]], timeout: float, mem_limit: int
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, float]]:
    """Every schema through every library (order rotated per schema); raw results per library."""
    workers = {lib: Worker(lib, setup, mem_limit) for lib in LIBRARIES}
    results: dict[str, list[tuple[Any, ...]]] = {lib: [] for lib in LIBRARIES}
    try:
        for i, (_name, text) in enumerate(schemas):
            order = LIBRARIES[i % len(LIBRARIES) :] + LIBRARIES[: i % len(LIBRARIES)]
            for lib in order:
                results[lib].append(workers[lib].compile(text, timeout))
            _progress(
                f"compile {i + 1}/{len(schemas)} {_name}: "
                + ", ".join(f"{lib} {results[lib][-1][0]}" for lib in LIBRARIES)
            )
    finally:
        setup_s = {lib: w.setup_s or 0.0 for lib, w in workers.items()}
        for w in workers.values():
            w.close()
    return results, setup_s


def compile_summary(names: list[str], results: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    common = [i for i in range(len(names)) if all(results[lib][i][0] == "ok" for lib in LIBRARIES)]
    summary: dict[str, Any] = {"common": len(common)}
    for lib in LIBRARIES:
        rows = results[lib]
        ok = [r for r in rows if r[0] == "ok"]
        errors: dict[str, int] = {}
        for r in rows:
            if r[0] != "ok":
                key = r[0] if r[0] != "error" else r[1].split(":")[0]
                errors[key] = errors.get(key, 0) + 1
        summary[lib] = {
            "ok": len(ok),
            "failed": len(rows) - len(ok),
            "timeouts": sum(r[0] in ("timeout", "memory") for r in rows),
            "failures": errors,
            "compile": percentiles([r[1] for r in ok]),
            "ready": percentiles([r[2] for r in ok]),
            "compile_common": percentiles([rows[i][1] for i in common]),
            "ready_common": percentiles([rows[i][2] for i in common]),
            "messages": {names[i]: r[1] for i, r in enumerate(rows) if r[0] != "ok"},
        }
    return summary


# --------------------------------------------------------------------------- tokens/s


def _forward_fn(model: Any) -> Callable[[list[int]], Any]:
    """``forward(ids) -> last logits`` with a KV cache: the same shape as Ananke's engine uses."""
    import torch
    from transformers import DynamicCache

    past = DynamicCache(config=model.config)
    device = next(model.parameters()).device

    def forward(ids: list[int]) -> Any:
        out = model(
            input_ids=torch.tensor([ids], dtype=torch.long, device=device),
            past_key_values=past,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[0, -1].float().cpu()

    return forward


class Masker:
    """A per-request constraint for the shared loop: ``mask(logits, ids)`` in place, ``advance(token)``.

    ``fill_s`` adds up the time spent computing the token mask alone (without applying it to the
    logits), where the library exposes the two steps separately.
    """

    fill_s: float = float("nan")

    def mask(self, logits: Any, ids: list[int]) -> None:
        raise NotImplementedError

    def advance(self, token: int) -> bool:
        return True

    def done(self) -> bool:
        return False


class LlgMasker(Masker):
    """llguidance's matcher; its bitmask (same layout as XGrammar's: int32 words, bit ``i`` = token
    ``i``) is applied by XGrammar's CPU kernel, so the Ananke and XGrammar loops differ only in the
    matcher. (``llguidance.torch.apply_token_bitmask_inplace`` is a ``torch.compile`` kernel whose
    first calls on CPU spend minutes in Inductor.)
    """

    def __init__(self, setup: Setup, grammar_text: str) -> None:
        import llguidance as llg
        import torch
        import xgrammar as xgr

        self.apply = xgr.apply_token_bitmask_inplace
        self.m = llg.LLMatcher(setup.llg_tok, llg.grammar_from("lark", grammar_text), log_level=0)
        self.buf = torch.full((1, (setup.llg_tok.vocab_size + 31) // 32), -1, dtype=torch.int32)
        self.nbytes = self.buf.numel() * 4
        self.fill_s = 0.0

    def mask(self, logits: Any, ids: list[int]) -> None:
        t0 = time.perf_counter()
        self.m.unsafe_compute_mask_ptr(self.buf.data_ptr(), self.nbytes)
        self.fill_s += time.perf_counter() - t0
        self.apply(logits, self.buf)

    def advance(self, token: int) -> bool:
        return self.m.consume_token(token)

    def done(self) -> bool:
        return self.m.is_stopped()


class XgrMasker(Masker):
    def __init__(self, xgr: Any, grammar: Any, vocab: int) -> None:
        self.xgr = xgr
        self.m = xgr.GrammarMatcher(grammar)
        self.buf = xgr.allocate_token_bitmask(1, vocab)
        self.fill_s = 0.0

    def mask(self, logits: Any, ids: list[int]) -> None:
        t0 = time.perf_counter()
        self.m.fill_next_token_bitmask(self.buf)
        self.fill_s += time.perf_counter() - t0
        self.xgr.apply_token_bitmask_inplace(logits, self.buf)

    def advance(self, token: int) -> bool:
        return self.m.accept_token(token)

    def done(self) -> bool:
        return self.m.is_terminated()


class OutlinesMasker(Masker):
    def __init__(self, processor: Any) -> None:
        import torch

        self.torch = torch
        self.p = processor
        self.p.reset()

    def mask(self, logits: Any, ids: list[int]) -> None:
        self.p(self.torch.tensor([ids]), logits)


def decode(
    setup: Setup, prompt_ids: list[int], masker: Masker | None, max_tokens: int
) -> tuple[list[int], float, float]:
    """Greedy loop; (generated ids without EOS, seconds after the prefill, seconds in the masker)."""
    import torch

    forward = _forward_fn(setup.model)
    eos = set(setup.eos)
    ids = list(prompt_ids)
    out: list[int] = []
    clock = time.perf_counter
    in_mask = 0.0
    with torch.inference_mode():
        logits = forward(ids)
        started = clock()
        while len(out) < max_tokens:
            row = logits.unsqueeze(0)
            if masker is not None:
                t0 = clock()
                masker.mask(row, ids)
                in_mask += clock() - t0
            token = int(torch.argmax(row[0]))
            if token in eos:
                break
            if masker is not None:
                t0 = clock()
                ok = masker.advance(token)
                finished = masker.done()
                in_mask += clock() - t0
                if not ok:
                    break
            out.append(token)
            ids.append(token)
            if len(out) >= max_tokens or (masker is not None and finished):
                break
            logits = forward([token])
        return out, clock() - started, in_mask


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _valid(schema: Any, text: str) -> bool:
    import jsonschema

    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


MODES = [
    "unconstrained (loop)",
    "unconstrained (engine)",
    "Ananke engine (defaults)",
    "Ananke (loop)",
    "XGrammar (loop)",
    "Outlines (loop)",
]
EVERY_TOKEN_MODE = "Ananke engine (every token sampled)"  # opt-in: --every-token


def run_tokens(setup: Setup, max_tokens: int, repeats: int, every_token: bool = False) -> dict[str, dict[str, Any]]:
    import xgrammar as xgr

    import ananke
    from ananke.runtime import GenerationParams

    state_x, state_o = _xgr_state(setup), _outlines_state(setup)
    prepared = []
    for name, prompt, schema in HAND_SCHEMAS:
        text = json.dumps(schema)
        prepared.append(
            {
                "name": name,
                "schema": schema,
                "ids": setup.engine.encode_prompt(prompt),
                "prompt": prompt,
                "ananke": ananke.compile({"kind": "json_schema", "schema": schema}, tokenizer=setup.llg_tok),
                "xgr": state_x["compiler"].compile_json_schema(text, **XGR_COMPACT),
                "outlines": state_o["backend"].get_json_schema_logits_processor(text, ""),
            }
        )
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0)
    modes = [*MODES, EVERY_TOKEN_MODE] if every_token else MODES
    engine, default_ff = setup.engine, setup.engine.fast_forward
    acc: dict[str, dict[str, Any]] = {
        m: {
            "steps": 0,
            "secs": 0.0,
            "runs": 0,
            "valid": 0,
            "json": 0,
            "tokens": 0,
            "mask_s": 0.0,
            "fill_s": 0.0,
            "samples": {},
            "by_repeat": [[0, 0.0] for _ in range(repeats)],
        }
        for m in modes
    }
    # Round -1 warms every mode up (one-off costs such as first-call allocations) and is not counted.
    for rep in range(-1, repeats):
        for k, item in enumerate(prepared if rep >= 0 else prepared[:1]):
            shift = (rep * len(prepared) + k) % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                if mode.endswith("(engine)") or mode.startswith("Ananke engine"):
                    engine.fast_forward = mode != EVERY_TOKEN_MODE
                    constraint = None if mode.startswith("unconstrained") else item["ananke"]
                    out = engine.generate_sync(item["prompt"], constraint, params)
                    ids, secs = list(out.token_ids), (out.timings["generate_ms"] - out.timings["prefill_ms"]) / 1e3
                    ids = [t for t in ids if t not in setup.eos]
                    mask_s = (out.mask_us_per_token or 0.0) * max(len(out.token_ids), 1) / 1e6
                    fill_s = mask_s  # the engine times the mask computation alone
                else:
                    masker: Masker | None = {
                        "unconstrained (loop)": lambda: None,
                        "Ananke (loop)": lambda: LlgMasker(setup, item["ananke"].grammars[0]),
                        "XGrammar (loop)": lambda: XgrMasker(xgr, item["xgr"], setup.vocab),
                        "Outlines (loop)": lambda: OutlinesMasker(item["outlines"]),
                    }[mode]()
                    ids, secs, mask_s = decode(setup, item["ids"], masker, max_tokens if rep >= 0 else 8)
                    fill_s = masker.fill_s if masker is not None else 0.0
                _progress(f"tokens rep {rep} {item['name']} {mode}: {len(ids)} tokens in {secs:.2f} s")
                if rep < 0:
                    continue
                cell = acc[mode]
                cell["steps"] += max(len(ids) - 1, 0)
                cell["secs"] += secs
                cell["by_repeat"][rep][0] += max(len(ids) - 1, 0)
                cell["by_repeat"][rep][1] += secs
                cell["mask_s"] += mask_s
                cell["fill_s"] += fill_s
                cell["runs"] += 1
                cell["tokens"] += len(ids)
                text = setup.hf_tok.decode(ids, skip_special_tokens=True)
                cell["valid"] += _valid(item["schema"], text)
                cell["json"] += _parses(text)
                cell["samples"].setdefault(item["name"], text)
    engine.fast_forward = default_ff
    for cell in acc.values():
        cell["tps"] = cell["steps"] / cell["secs"] if cell["secs"] else float("nan")
        cell["tps_by_repeat"] = [n / t if t else float("nan") for n, t in cell.pop("by_repeat")]
        cell["mask_us_per_token"] = cell["mask_s"] / max(cell["tokens"], 1) * 1e6
        cell["fill_us_per_token"] = cell["fill_s"] / max(cell["tokens"], 1) * 1e6
        cell["decode_s_per_output"] = cell["secs"] / max(cell["runs"], 1)
    for mode, cell in acc.items():
        base = acc["unconstrained (engine)" if "engine" in mode else "unconstrained (loop)"]["tps"]
        cell["ratio"] = cell["tps"] / base
    return acc


# --------------------------------------------------------------------------- report


def _us(value: float) -> str:
    return "n/a" if value != value else f"{value:.0f}"  # NaN: the library does not split the steps


def _ms(s: dict[str, float]) -> str:
    return " | ".join(f"{s[k] * 1e3:.2f}" for k in ("p50", "p90", "p99", "mean"))


def print_report(
    summary: dict[str, Any],
    setup_s: dict[str, float],
    n: int,
    tokens: dict[str, Any],
    args: argparse.Namespace,
    header: str,
) -> None:
    print(header + "\n")
    print(
        f"## Compile ({n} schemas: {len(HAND_SCHEMAS)} hand-written + MaskBench dev sample; "
        f"timeout {args.timeout:g} s)\n"
    )
    print(
        "| library | compiled | failed (timeouts) | compile p50 | p90 | p99 | mean (ms) | "
        "ready p50 | p90 | p99 | mean (ms) | tokenizer setup (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for lib in LIBRARIES:
        s = summary[lib]
        print(
            f"| {lib} | {s['ok']} | {s['failed']} ({s['timeouts']}) | {_ms(s['compile'])} | {_ms(s['ready'])} "
            f"| {setup_s[lib]:.2f} |"
        )
    print(f"\nOn the {summary['common']} schemas every library compiled:\n")
    print("| library | compile p50 | p90 | p99 | mean (ms) | ready p50 | p90 | p99 | mean (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lib in LIBRARIES:
        s = summary[lib]
        print(f"| {lib} | {_ms(s['compile_common'])} | {_ms(s['ready_common'])} |")
    print("\nFailures by kind:\n")
    for lib in LIBRARIES:
        print(f"* {lib}: {json.dumps(summary[lib]['failures'], sort_keys=True)}")
    print(
        f"\n## Tokens/s ({len(HAND_SCHEMAS)} hand-written schemas × {args.repeats} repeats, greedy, "
        f"max_tokens {args.max_tokens})\n"
    )
    print(
        "| mode | decode tok/s | ratio vs unconstrained (same harness) | tokens (mean) | decode s/output "
        "(mean) | constraint µs/token | of which mask computation | complete JSON | complete and schema-valid "
        "| tok/s by repeat |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for mode, c in tokens.items():
        print(
            f"| {mode} | {c['tps']:.1f} | {c['ratio']:.3f} | {c['tokens'] / c['runs']:.1f} | "
            f"{c['decode_s_per_output']:.2f} | {c['mask_us_per_token']:.0f} | {_us(c['fill_us_per_token'])} | {c['json']}/{c['runs']} | {c['valid']}/{c['runs']} | "
            + " / ".join(f"{v:.1f}" for v in c["tps_by_repeat"])
            + " |"
        )


def _maskbench_dir(path: str) -> str:
    """A dev/ directory; an archive is extracted once under /tmp (never into the repo)."""
    root = Path(path)
    if root.is_dir():
        return str(root / "dev" if (root / "dev").is_dir() else root)
    target = Path("/tmp/ananke-peers-maskbench")
    if not (target / "dev").is_dir():
        with tarfile.open(root) as tar:
            tar.extractall(target, filter="data")
    return str(target / "dev")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("ananke", "llguidance", "xgrammar", "outlines", "outlines_core", "torch", "transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "?"
    import ananke

    out["ananke"] += f" ({Path(ananke.__file__).parent.parent})"  # which tree: PYTHONPATH may pin a snapshot
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maskbench", help="MaskBench dev/ directory or maskbench-dev.tar.xz")
    parser.add_argument("--limit", type=int, default=80, help="MaskBench schemas to sample (default 80)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per compile before it counts as a timeout")
    parser.add_argument("--mem-limit-mb", type=int, default=6144, help="RSS cap per compile worker")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--skip-tokens", action="store_true", help="compile benchmark only")
    parser.add_argument(
        "--every-token", action="store_true", help="also time Ananke's engine with forced-token fast-forward off"
    )
    parser.add_argument("--json", help="also write every number to this JSON file")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    setup = Setup(args.threads)
    docs = load_maskbench(_maskbench_dir(args.maskbench), args.limit)
    schemas = [(f"hand:{name}", json.dumps(schema)) for name, _p, schema in HAND_SCHEMAS]
    schemas += [(name, json.dumps(doc["schema"])) for name, doc in docs]
    results, setup_s = run_compile(setup, schemas, args.timeout, args.mem_limit_mb << 20)
    summary = compile_summary([n for n, _ in schemas], results)
    import torch

    tokens = {} if args.skip_tokens else run_tokens(setup, args.max_tokens, args.repeats, args.every_token)
    header = (
        f"# Peers — {setup.engine.model_name}, torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} → {os.getloadavg()[0]:.2f}, "
        f"{time.perf_counter() - started:.0f} s\n\nversions: " + ", ".join(f"{k} {v}" for k, v in _versions().items())
    )
    per_schema = {name: {lib: list(results[lib][i]) for lib in LIBRARIES} for i, (name, _t) in enumerate(schemas)}
    report = {
        "versions": _versions(),
        "compile": summary,
        "per_schema": per_schema,
        "tokenizer_setup_s": setup_s,
        "tokens": tokens,
        "schemas": [n for n, _ in schemas],
        "args": vars(args),
        "header": header,
    }
    if args.json:  # before printing, so that a report bug loses no measurement
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    print_report(summary, setup_s, len(schemas), tokens, args, header)
    return report


if __name__ == "__main__":
    main()
