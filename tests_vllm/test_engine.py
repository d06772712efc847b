"""VllmEngine end to end on vLLM's CPU backend: the embedded model, every constraint kind, verified.

One engine for the whole session (``served`` in conftest.py). Every assertion on a generated
text rests on the plugins' independent verification (``constraint_satisfied``) plus a direct
check of the text where one is cheap.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest

import ananke

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}

# (id, constraint, prompt, max_tokens): each one finishes well inside max_tokens at temperature 0
KINDS = [
    ("json_schema", {"kind": "json_schema", "schema": PERSON}, "A person as JSON.", 48),
    ("regex", {"kind": "regex", "pattern": r"v[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}"}, "Give a version.", 16),
    (
        "lark",
        {"kind": "grammar", "lark": 'start: "(" NUM (" + " NUM)* ")"\nNUM: /[0-9]{1,3}/'},
        "Write a sum of two small numbers in parentheses.",
        24,
    ),
    ("gbnf", {"kind": "grammar", "gbnf": 'root ::= "yes" | "no" | "maybe"'}, "Is the sky blue?", 8),
    (
        "builtin_python_expression",
        {"kind": "grammar", "builtin": "python", "start": "expression"},
        "Write a Python expression that adds 2 and 3.",
        24,
    ),
    (
        "choice",
        {
            "kind": "composite",
            "op": "choice",
            "parts": [
                {"kind": "literal", "text": "red"},
                {"kind": "literal", "text": "green"},
                {"kind": "literal", "text": "blue"},
            ],
        },
        "Name a colour.",
        8,
    ),
    (
        "sequence",
        {
            "kind": "composite",
            "op": "sequence",
            "parts": [
                {"kind": "literal", "text": "def "},
                {"kind": "regex", "pattern": "[a-z_]{1,12}"},
                {"kind": "literal", "text": "():"},
            ],
        },
        "Name a Python function.",
        16,
    ),
]


@pytest.mark.parametrize(("constraint", "prompt", "max_tokens"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_every_constraint_kind_is_enforced_and_verified(
    served: Any, constraint: dict, prompt: str, max_tokens: int
) -> None:
    resp = served.generate({"prompt": prompt, "constraint": constraint, "max_tokens": max_tokens, "temperature": 0.0})
    assert resp.finish_reason == "stop", resp
    assert resp.constraint_satisfied, resp.metadata.verification_errors
    assert resp.metadata.engine == "vllm" and resp.metadata.error is None
    assert ananke.matches(ananke.compile(constraint), resp.generated_text)


def test_builtin_grammar_entry_rule_on_vllm(served: Any) -> None:
    constraint = {"kind": "grammar", "builtin": "python", "start": "function_def"}
    resp = served.generate(
        {
            "prompt": "Write a Python function add(a, b) that returns a + b.",
            "constraint": constraint,
            "max_tokens": 96,
            "temperature": 0.0,
        }
    )
    assert resp.finish_reason in ("stop", "length") and resp.metadata.error is None
    assert resp.generated_text.lstrip().startswith(("def ", "@", "async def "))
    if resp.finish_reason == "stop":
        assert resp.constraint_satisfied, resp.metadata.verification_errors


def test_token_mask_is_enforced(served: Any) -> None:
    tok = served.engine._tokenizer
    digits = sorted({tok.convert_tokens_to_ids(str(d)) for d in range(10)})
    constraint = {"kind": "token_mask", "allowed_tokens": digits}
    resp = served.generate(
        {"prompt": "Count from one to five.", "constraint": constraint, "max_tokens": 12, "temperature": 0.8, "seed": 3}
    )
    assert set(resp.generated_text) <= set("0123456789") and resp.generated_text
    assert all(t in digits for t in tok.encode(resp.generated_text, add_special_tokens=False))
    assert resp.constraint_satisfied


def test_all_of_across_grammars_is_intersected_by_the_logits_processor(served: Any) -> None:
    """Two grammars the compiler cannot merge: the second only reaches vLLM through the processor."""
    constraint = {
        "kind": "composite",
        "op": "all_of",
        "parts": [
            {"kind": "grammar", "lark": 'start: /[a-z]{1,10}/ "!"'},
            {"kind": "grammar", "lark": 'start: "zq" /[a-z!]*/'},
        ],
    }
    assert len(ananke.compile(constraint).grammars) == 2
    for seed in (1, 2, 3):
        resp = served.generate(
            {"prompt": "Shout a word.", "constraint": constraint, "max_tokens": 16, "temperature": 1.0, "seed": seed}
        )
        assert resp.finish_reason == "stop", resp
        assert re.fullmatch(r"zq[a-z]{0,8}!", resp.generated_text), resp.generated_text
        assert resp.constraint_satisfied


def test_cache_hit_skips_validation_and_compile(served: Any) -> None:
    request = {
        "prompt": "A person as JSON.",
        "constraint": {"kind": "json_schema", "schema": PERSON, "whitespace": "compact"},
        "max_tokens": 40,
        "temperature": 0.0,
    }
    first = served.generate(request)
    matchers_before = served.engine.cache.matchers.stats().misses
    second = served.generate(request)
    assert second.metadata.cache_hit and second.metadata.fingerprint == first.metadata.fingerprint
    assert served.engine.cache.matchers.stats().misses == matchers_before  # validated once, not per request
    assert second.constraint_satisfied


def test_sixteen_concurrent_requests_share_one_batch(served: Any) -> None:
    """All 16 are inside vLLM at once (its unfinished-request count reaches 16) and overlap in time."""

    async def run() -> tuple[list[Any], list[tuple[float, float]], int]:
        peak = 0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, served.engine.running_requests())
                await asyncio.sleep(0.005)

        async def one(i: int) -> tuple[Any, tuple[float, float]]:
            started = time.perf_counter()
            resp = await served.service.generate(
                {
                    "prompt": f"Describe person number {i} as JSON.",
                    "max_tokens": 40,
                    "temperature": 0.7,
                    "seed": i,
                    "constraint": {"kind": "json_schema", "schema": PERSON},
                }
            )
            return resp, (started, time.perf_counter())

        watcher = asyncio.create_task(watch())
        results = await asyncio.gather(*(one(i) for i in range(16)))
        done.set()
        await watcher
        return [r for r, _ in results], [span for _, span in results], peak

    responses, spans, peak = served.loop.run(run())
    assert peak == 16
    last_start, first_end = max(s for s, _ in spans), min(e for _, e in spans)
    assert last_start < first_end  # every request was in flight at the same moment
    for resp in responses:
        assert resp.finish_reason in ("stop", "length") and resp.metadata.error is None
        if resp.finish_reason == "stop":
            assert resp.constraint_satisfied
    assert served.engine.running_requests() == 0


def test_a_grammar_the_served_tokenizer_rejects_is_refused_before_submission(served: Any) -> None:
    """Compiled without the tokenizer it passes; the engine validates against the served one first."""
    compiled = ananke.compile({"kind": "grammar", "lark": "start: <|no_such_special_token|> /[a-z]+/"})
    params = ananke.runtime.GenerationParams(max_tokens=4)
    with pytest.raises(ananke.ConstraintError, match="rejected for the served tokenizer"):
        served.loop.run(served.engine.generate("hi", compiled, params))
    assert served.engine.running_requests() == 0


def test_a_grammar_vllm_failed_to_apply_never_passes_as_a_stop(served: Any) -> None:
    """What vLLM itself does with a grammar its matcher cannot build: it logs a warning and ends the
    request with a plain ``stop`` (EOS, empty text). Ananke's replay of the same output turns that
    into ``constraint_error``; vLLM's own ``error``/``abort`` finishes are mapped, never to ``stop``."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    from ananke.runtime.engines._vllm import map_finish_reason, render_prompt

    engine = served.engine
    llm = engine._llm
    params = SamplingParams(
        max_tokens=4, structured_outputs=StructuredOutputsParams(grammar="start: <|no_such_special_token|> /[a-z]+/")
    )

    async def raw() -> Any:
        final = None
        async for out in llm.generate(render_prompt(llm, [1, 2, 3]), params, "raw-broken-grammar"):
            final = out
        return final.outputs[0]

    completion = served.loop.run(raw())
    assert completion.finish_reason == "stop" and completion.text == ""  # vLLM's silent failure
    compiled = ananke.compile({"kind": "grammar", "lark": "start: /[a-z]+/"}, tokenizer=engine.llg_tokenizer())
    out = engine._finish(
        compiled,
        engine._matcher_set(compiled),
        completion.text,
        list(completion.token_ids),
        completion.finish_reason,
        completion.stop_reason,
        3,
        {},
    )
    assert out.finish_reason == "constraint_error" and "stopped before the grammar was complete" in out.error
    assert map_finish_reason("error", constrained=True)[0] == "constraint_error"
    assert map_finish_reason("length", constrained=True) == ("length", None)
    with pytest.raises(ananke.EngineError, match="aborted"):
        map_finish_reason("abort", constrained=False)
    with pytest.raises(ananke.EngineError):
        map_finish_reason("error", constrained=False)


def test_finish_reasons_stop_length_and_stop_string(served: Any) -> None:
    stop = served.generate(
        {
            "prompt": "Say yes or no.",
            "constraint": {"kind": "regex", "pattern": "(yes|no)"},
            "max_tokens": 8,
            "temperature": 0.0,
        }
    )
    assert (stop.finish_reason, stop.constraint_satisfied) == ("stop", True)
    cut = served.generate(
        {
            "prompt": "A person as JSON.",
            "constraint": {"kind": "json_schema", "schema": PERSON},
            "max_tokens": 3,
            "temperature": 0.0,
        }
    )
    assert cut.finish_reason == "length" and not cut.constraint_satisfied and cut.tokens_generated == 3
    assert cut.metadata.error is None  # cut off, not a grammar failure
    stopped = served.generate(
        {
            "prompt": "Count: 1, 2, 3, 4, 5, 6, 7",
            "max_tokens": 40,
            "temperature": 0.0,
            "stop_sequences": [","],
            "chat": False,
        }
    )
    assert stopped.finish_reason == "stop" and "," not in stopped.generated_text


def test_special_tokens_never_leak_into_text(served: Any) -> None:
    tok = served.engine._tokenizer
    specials = [t for t in tok.all_special_tokens if t]
    special_ids = sorted({tok.convert_tokens_to_ids(t) for t in specials} - {None})
    allowed = [*special_ids, tok.convert_tokens_to_ids("a"), tok.convert_tokens_to_ids("b")]
    resp = served.generate(
        {
            "prompt": "Say a and b.",
            "max_tokens": 16,
            "temperature": 1.0,
            "seed": 5,
            "constraint": {"kind": "token_mask", "allowed_tokens": allowed},
        }
    )
    free = served.generate({"prompt": "Say hello.", "max_tokens": 24, "temperature": 0.0})
    for text in (resp.generated_text, free.generated_text):
        assert not any(s in text for s in specials), (text, specials)


def test_streaming_pieces_add_up_to_the_verified_text(served: Any) -> None:
    async def run() -> tuple[list[str], Any]:
        pieces: list[str] = []
        final = None
        async for item in served.service.stream(
            {
                "prompt": "A person as JSON.",
                "max_tokens": 48,
                "temperature": 0.0,
                "constraint": {"kind": "json_schema", "schema": PERSON},
            }
        ):
            if isinstance(item, ananke.runtime.GenerationResponse):
                final = item
            else:
                pieces.append(item.text)
        return pieces, final

    pieces, final = served.loop.run(run())
    assert len(pieces) > 3 and "".join(pieces) == final.generated_text
    assert final.constraint_satisfied and json.loads(final.generated_text)["age"] >= 0


def test_the_replay_runs_once_per_request_after_generation_off_the_loop(served: Any, monkeypatch: Any) -> None:
    """Streaming or not, the generated tokens go through llguidance once, at the end, on a worker
    thread: the event loop that carries every other stream never walks a whole output."""
    import threading

    from ananke.runtime.engines import _vllm

    calls: list[tuple[int, int]] = []
    original = _vllm.replay_tokens

    def recording(matchers: Any, token_ids: list[int], *, ended: bool) -> Any:
        calls.append((threading.get_ident(), len(token_ids)))
        return original(matchers, token_ids, ended=ended)

    monkeypatch.setattr(_vllm, "replay_tokens", recording)
    request = {
        "prompt": "A person as JSON.",
        "max_tokens": 48,
        "temperature": 0.0,
        "constraint": {"kind": "json_schema", "schema": PERSON},
    }

    async def run() -> tuple[int, Any, Any]:
        streamed = [item async for item in served.service.stream(request)]
        return threading.get_ident(), await served.service.generate(request), streamed[-1]

    loop_thread, generated, streamed = served.loop.run(run())
    assert [n for _, n in calls] == [streamed.tokens_generated, generated.tokens_generated]
    assert all(thread != loop_thread for thread, _ in calls)
    assert generated.constraint_satisfied and streamed.constraint_satisfied
