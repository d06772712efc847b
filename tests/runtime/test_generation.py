"""End-to-end generation on the real embedded model; every output checked independently of llguidance."""

from __future__ import annotations

import asyncio
import json
import re

import jsonschema
import lark
import pytest

from ananke import ConstraintError, RequestError
from ananke.runtime import GenerationResponse, StreamDelta

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def run(service, **request) -> GenerationResponse:
    request.setdefault("max_tokens", 40)
    request.setdefault("temperature", 0.0)
    return service.generate_sync(request)


def assert_provenance(resp: GenerationResponse) -> None:
    meta = resp.metadata
    assert resp.model_name == "SmolLM2-135M-Instruct"
    assert resp.tokens_generated > 0 and meta.prompt_tokens > 0
    assert meta.tokens_per_sec > 0 and meta.fingerprint and meta.request_id
    assert meta.mask_us_per_token > 0
    assert resp.finish_reason in ("stop", "length", "constraint_error")


def test_json_schema(service) -> None:
    resp = run(service, prompt="Give me a person as JSON.", constraint={"kind": "json_schema", "schema": PERSON})
    jsonschema.validate(json.loads(resp.generated_text), PERSON)
    assert resp.finish_reason == "stop" and resp.constraint_satisfied is True
    assert_provenance(resp)
    assert resp.metadata.constraint_kinds == ["json_schema"]
    # the same request again hits the cache
    again = run(service, prompt="Give me a person as JSON.", constraint={"kind": "json_schema", "schema": PERSON})
    assert again.metadata.cache_hit is True and again.metadata.fingerprint == resp.metadata.fingerprint
    assert again.generated_text == resp.generated_text  # greedy is deterministic


def test_regex(service) -> None:
    pattern = r"[0-9]{3}-[0-9]{3}-[0-9]{4}"
    resp = run(service, prompt="Write a US phone number.", constraint={"kind": "regex", "pattern": pattern})
    assert re.fullmatch(pattern, resp.generated_text), resp.generated_text
    assert resp.constraint_satisfied and resp.finish_reason == "stop"
    assert_provenance(resp)


def test_lark_grammar(service) -> None:
    grammar = 'start: "The answer is " NUM "."\nNUM: /[0-9]{1,3}/\n'
    resp = run(service, prompt="What is 6 times 7?", constraint={"kind": "grammar", "lark": grammar})
    lark.Lark(grammar, start="start").parse(resp.generated_text)  # raises when not derivable
    assert resp.constraint_satisfied and resp.finish_reason == "stop"


def test_token_mask(service, engine) -> None:
    digits = engine.loaded.tokenizer.convert_tokens_to_ids(list("0123456789"))
    resp = run(
        service,
        prompt="Count from one.",
        max_tokens=6,
        temperature=0.8,
        seed=7,
        constraint={"kind": "token_mask", "allowed_tokens": digits},
    )
    assert resp.tokens_generated >= 1
    assert re.fullmatch(r"[0-9]+", resp.generated_text), resp.generated_text
    assert resp.constraint_satisfied


def test_sequence_with_literals(service) -> None:
    constraint = {
        "kind": "composite",
        "op": "sequence",
        "parts": [
            {"kind": "literal", "text": "Answer: "},
            {"kind": "regex", "pattern": "(yes|no)"},
            {"kind": "literal", "text": "."},
        ],
    }
    resp = run(service, prompt="Is the sky blue? Answer yes or no.", constraint=constraint)
    assert re.fullmatch(r"Answer: (yes|no)\.", resp.generated_text), resp.generated_text
    assert resp.constraint_satisfied and resp.finish_reason == "stop"


def test_all_of_schema_and_forbidden_tokens(service, engine) -> None:
    tok = engine.loaded.tokenizer
    with_a = [i for i in range(len(tok)) if "a" in tok.decode([i]).lower()]
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 20}},
        "required": ["city"],
        "additionalProperties": False,
    }
    constraint = {
        "kind": "composite",
        "op": "all_of",
        "parts": [
            {"kind": "json_schema", "schema": schema},
            {"kind": "token_mask", "forbidden_tokens": with_a},
        ],
    }
    resp = run(service, prompt="Name a city in France as JSON.", constraint=constraint)
    jsonschema.validate(json.loads(resp.generated_text), schema)
    assert "a" not in resp.generated_text.lower()
    assert resp.constraint_satisfied and set(resp.metadata.constraint_kinds) >= {"json_schema", "token_mask"}


def test_lenient_dropped_part_is_verified_after_the_fact(service) -> None:
    # uniqueItems over integer items can't be enforced token by token; >= 2 items that can only be 1
    # always repeat, so the dropped part is certainly violated and verification must say so.
    schema = {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 1},
        "minItems": 2,
        "maxItems": 3,
        "uniqueItems": True,
    }
    with pytest.raises(ConstraintError):
        run(service, prompt="List.", constraint={"kind": "json_schema", "schema": schema})
    resp = run(service, prompt="List.", constraint={"kind": "json_schema", "schema": schema}, lenient=True)
    data = json.loads(resp.generated_text)
    assert len(data) >= 2 and set(data) == {1}
    assert resp.metadata.warnings
    assert resp.constraint_satisfied is False and resp.metadata.verification_errors


def test_truncated_output_is_not_satisfied(service) -> None:
    resp = run(
        service, prompt="Give me a person as JSON.", max_tokens=3, constraint={"kind": "json_schema", "schema": PERSON}
    )
    assert resp.finish_reason == "length" and resp.tokens_generated == 3
    assert resp.constraint_satisfied is False


def test_seeded_sampling_is_reproducible(service) -> None:
    request = dict(
        prompt="Write a word.",
        constraint={"kind": "regex", "pattern": "[a-z]{3,10}"},
        temperature=1.2,
        top_p=0.9,
        top_k=40,
        seed=1234,
        max_tokens=8,
    )
    first, second = run(service, **request), run(service, **request)
    assert first.generated_text == second.generated_text
    assert re.fullmatch("[a-z]{3,10}", first.generated_text)


def test_stop_sequence(service) -> None:
    resp = run(
        service,
        prompt="List three fruits separated by commas.",
        stop_sequences=[","],
        max_tokens=20,
        constraint={"kind": "regex", "pattern": "[A-Za-z ,]+"},
    )
    assert "," not in resp.generated_text and resp.finish_reason == "stop"
    assert resp.generated_text


def test_context_is_composed_into_the_prompt(service, engine) -> None:
    with_ctx = run(service, prompt="What is my name?", context="My name is Zed.", max_tokens=2)
    without = run(service, prompt="What is my name?", max_tokens=2)
    assert with_ctx.metadata.prompt_tokens > without.metadata.prompt_tokens
    assert with_ctx.metadata.fingerprint is None and with_ctx.constraint_satisfied


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tokens", 0),
        ("max_tokens", 10**6),
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("top_k", -1),
    ],
)
def test_request_limits(service, field, value) -> None:
    with pytest.raises(RequestError) as info:
        service.generate_sync({"prompt": "hi", field: value})
    assert info.value.field == field and field in str(info.value)


def test_prompt_length_limit_and_one_constraint(service) -> None:
    with pytest.raises(RequestError, match="tokens"):
        service.generate_sync({"prompt": "word " * 9000, "max_tokens": 1})
    with pytest.raises(RequestError, match="at most one"):
        service.generate_sync(
            {"prompt": "hi", "constraint": {"kind": "regex", "pattern": "a"}, "constraints": {"regex_patterns": ["b"]}}
        )


def test_concurrent_requests_and_streaming(service) -> None:
    pattern = "[0-9]{2}"

    async def main():
        requests = [
            {
                "prompt": f"Pick a number near {i}0.",
                "constraint": {"kind": "regex", "pattern": pattern},
                "max_tokens": 4,
                "temperature": 0.0,
            }
            for i in range(3)
        ]
        responses = await asyncio.gather(*(service.generate(r) for r in requests))
        pieces, final = [], None
        async for item in service.stream(
            {
                "prompt": "Write a word.",
                "max_tokens": 8,
                "temperature": 0.0,
                "constraint": {"kind": "regex", "pattern": "[a-z]{2,8}"},
            }
        ):
            if isinstance(item, StreamDelta):
                pieces.append(item.text)
            else:
                final = item
        return responses, pieces, final

    responses, pieces, final = asyncio.run(main())
    assert all(re.fullmatch(pattern, r.generated_text) and r.constraint_satisfied for r in responses)
    assert len({r.metadata.request_id for r in responses}) == 3
    assert max(r.metadata.queue_ms for r in responses) > 0  # served one after another by one worker
    assert isinstance(final, GenerationResponse) and final.constraint_satisfied
    assert "".join(pieces) == final.generated_text and len(pieces) >= 1


def test_empty_completion_prompt_starts_from_bos(service) -> None:
    resp = run(service, prompt="", chat=False, max_tokens=4, constraint={"kind": "regex", "pattern": "[a-z]{1,6}"})
    assert re.fullmatch("[a-z]{1,6}", resp.generated_text) and resp.constraint_satisfied


def test_cancelled_generation_frees_the_worker(engine) -> None:
    """A cancelled non-streaming request (timeout, shutdown) stops decoding at its next token."""
    import ananke
    from ananke.runtime import GenerationParams

    long_run = ananke.compile({"kind": "regex", "pattern": "[a-z]{4000}"})  # ~1000 tokens, no early EOS
    quick = ananke.compile({"kind": "regex", "pattern": "[a-z]{2}"})

    async def main():
        first = asyncio.create_task(
            engine.generate("Write letters.", long_run, GenerationParams(max_tokens=1000, temperature=0.0))
        )
        await asyncio.sleep(1.0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await engine.generate("Two letters.", quick, GenerationParams(max_tokens=4, temperature=0.0))

    second = asyncio.run(main())
    assert re.fullmatch("[a-z]{2}", second.text)
    # Uncancelled, the first request would hold the single worker for its remaining ~1000 tokens (tens of
    # seconds on CPU); cancelled, it lets go after the token in flight.
    assert second.timings["queue_ms"] < 5000, second.timings


def _big_schema(n: int) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [f"f{i}" for i in range(0, n, 3)],
        "properties": {
            f"f{i}": {
                "anyOf": [
                    {"type": "string", "pattern": f"^[a-z]{{{i % 7 + 1}}}-[0-9]+$"},
                    {"type": "integer", "minimum": i, "maximum": i * 10 + 5},
                    {"type": "array", "items": {"enum": [f"v{i}", f"w{i}"]}},
                ]
            }
            for i in range(n)
        },
    }


def test_a_cached_constraint_is_served_without_a_thread_hop(engine) -> None:
    """The first compile runs on a worker thread; a repeat is a cache hit answered on the loop."""
    import threading

    from ananke.runtime import GenerationService

    service = GenerationService(engine)
    threads: list[int] = []
    compile_on_thread = service.compile

    def recording(source, **kw):
        threads.append(threading.get_ident())
        return compile_on_thread(source, **kw)

    service.compile = recording  # type: ignore[method-assign]
    source = {"kind": "json_schema", "schema": _big_schema(3)}

    async def twice():
        first = await service.compile_off_loop(source)
        return threading.get_ident(), first, await service.compile_off_loop(dict(source))

    loop_thread, (first, hit1), (second, hit2) = asyncio.run(twice())
    assert len(threads) == 1 and threads[0] != loop_thread  # compiled once, off the loop
    assert (hit1, hit2) == (False, True) and second is first


def test_compile_runs_off_the_event_loop_within_the_time_limit(engine) -> None:
    """A cold compile does not stall the loop (a ticker keeps ticking), and one over the limit fails
    with a located ConstraintLimitError instead of holding the request."""
    import asyncio

    from ananke.errors import ConstraintLimitError
    from ananke.runtime import GenerationService, ServiceLimits

    service = GenerationService(engine)

    async def compile_while_ticking() -> tuple[float, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        started = asyncio.get_running_loop().time()
        await service.compile_off_loop({"kind": "json_schema", "schema": _big_schema(120)})
        elapsed = asyncio.get_running_loop().time() - started
        stop.set()
        await task
        return elapsed, ticks

    elapsed, ticks = asyncio.run(compile_while_ticking())
    assert ticks >= max(3, int(elapsed / 0.001 * 0.2))  # the loop ran throughout the compile
    strict = GenerationService(engine, limits=ServiceLimits(compile_timeout_s=0.0005))
    with pytest.raises(ConstraintLimitError, match="compile_timeout_s") as info:
        asyncio.run(strict.compile_off_loop({"kind": "json_schema", "schema": _big_schema(121)}))
    assert info.value.to_dict()["errors"][0]["pointer"] == "/constraint"
