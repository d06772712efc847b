"""The decoding core on the real tokenizer: AND-ed masks, EOS rules, static sets, sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.runtime import ConstraintState, GenerationParams, build_matchers, llg_tokenizer_for, sample_token
from ananke.runtime._decode import static_bitmask


def allowed_ids(state: ConstraintState) -> set[int]:
    bits = np.unpackbits(state.mask.view(np.uint8), bitorder="little", count=state.vocab_size)
    return set(np.flatnonzero(bits).tolist())


def state_for(engine, source) -> ConstraintState:
    compiled = ananke.compile(source, tokenizer=engine.llg_tokenizer())
    matchers = build_matchers(compiled, engine.llg_tokenizer()) if compiled.grammars else None
    return ConstraintState.for_request(compiled, matchers, engine.vocab_size, engine.eos_ids)


def ids(engine, text: str) -> list[int]:
    return engine.loaded.tokenizer.encode(text, add_special_tokens=False)


def test_masks_are_anded_and_eos_needs_every_matcher(engine) -> None:
    # two grammars intersected by hand: digits, and exactly two characters
    digits = ananke.compile({"kind": "regex", "pattern": "[0-9]+"})
    two = ananke.compile({"kind": "regex", "pattern": ".{2}"})
    tok = engine.llg_tokenizer()
    matchers = build_matchers(digits, tok).templates + build_matchers(two, tok).templates
    state = ConstraintState(matchers, None, engine.vocab_size)
    eos = engine.eos_ids[0]
    one, letter = ids(engine, "1")[0], ids(engine, "x")[0]
    allowed = allowed_ids(state) if state.compute_mask() is not None else set()
    assert one in allowed and letter not in allowed and eos not in allowed
    assert state.consume(one) is None
    state.compute_mask()
    allowed = allowed_ids(state)
    assert eos not in allowed  # "1" satisfies [0-9]+ but not .{2}
    assert state.consume(one) is None
    state.compute_mask()
    assert allowed_ids(state) <= set(engine.eos_ids) and eos in allowed_ids(state)
    assert state.accepting() and state.stopped()


def test_all_model_eos_ids_are_honoured(engine) -> None:
    hf = engine.loaded.tokenizer
    extra_eos = hf.convert_tokens_to_ids("<|endoftext|>")
    tok = llg_tokenizer_for(hf, eos_ids=[engine.eos_ids[0], extra_eos])
    compiled = ananke.compile({"kind": "literal", "text": "ok"})
    state = ConstraintState(build_matchers(compiled, tok).templates, None, engine.vocab_size)
    for token in ids(engine, "ok"):
        assert state.consume(token) is None
    state.compute_mask()
    assert {engine.eos_ids[0], extra_eos} <= allowed_ids(state)


def test_static_set_keeps_eos_unless_forbidden(engine) -> None:
    eos = engine.eos_ids
    allowed = static_bitmask(ananke.TokenMask(allowed=[5, 6]), engine.vocab_size, eos)
    bits = set(np.flatnonzero(np.unpackbits(allowed.view(np.uint8), bitorder="little")).tolist())
    assert bits == {5, 6, *eos}
    forbid = static_bitmask(ananke.TokenMask(allowed=[5, eos[0]], forbidden=[eos[0]]), engine.vocab_size, eos)
    bits = set(np.flatnonzero(np.unpackbits(forbid.view(np.uint8), bitorder="little")).tolist())
    assert bits == {5}
    assert static_bitmask(None, engine.vocab_size, eos) is None


def test_static_set_and_grammar_combine(engine) -> None:
    three = ids(engine, "3")[0]
    source = {
        "kind": "composite",
        "op": "all_of",
        "parts": [{"kind": "regex", "pattern": "[0-9]+"}, {"kind": "token_mask", "forbidden_tokens": [three]}],
    }
    state = state_for(engine, source)
    state.compute_mask()
    allowed = allowed_ids(state)
    assert three not in allowed and ids(engine, "4")[0] in allowed
    assert all(engine.loaded.tokenizer.decode([t]).isdigit() for t in allowed)


def test_forced_tokens_come_from_the_grammar(engine) -> None:
    state = state_for(engine, {"kind": "literal", "text": "hello world"})
    forced = state.forced_tokens(budget=50)
    assert engine.loaded.tokenizer.decode(forced) == "hello world"
    assert state.forced_tokens(budget=1) == forced[:1]


def test_sample_token_greedy_and_masked() -> None:
    logits = torch.tensor([0.0, 5.0, 1.0, 4.0] + [-1.0] * 60)
    greedy = GenerationParams(temperature=0.0)
    assert sample_token(logits, greedy) == 1
    mask = np.zeros(2, dtype=np.int32)
    mask[0] = (1 << 2) | (1 << 3)
    assert sample_token(logits, greedy, mask=mask) == 3
    assert sample_token(logits, greedy, mask=np.zeros(2, dtype=np.int32)) is None
    params = GenerationParams(temperature=1.5, top_p=1.0, top_k=0)
    gen = torch.Generator().manual_seed(0)
    draws = {sample_token(logits, params, gen, mask=mask) for _ in range(200)}
    assert draws == {2, 3}


@pytest.mark.parametrize(("top_k", "top_p", "expected"), [(1, 1.0, {1}), (2, 1.0, {1, 3}), (0, 0.5, {1})])
def test_sample_token_top_k_top_p(top_k, top_p, expected) -> None:
    logits = torch.tensor([0.0, 5.0, 1.0, 4.8])
    params = GenerationParams(temperature=1.0, top_k=top_k, top_p=top_p)
    gen = torch.Generator().manual_seed(1)
    assert {sample_token(logits, params, gen) for _ in range(300)} == expected


@pytest.mark.parametrize("masked", [False, True])
def test_sampling_follows_the_softmax(masked) -> None:
    logits = torch.tensor([0.0, 1.0, 2.0, 9.0])
    mask = np.array([0b0111], dtype=np.int32) if masked else None  # token 3 excluded when masked
    params = GenerationParams(temperature=1.0, top_k=0, top_p=1.0)
    gen = torch.Generator().manual_seed(3)
    counts = np.bincount([sample_token(logits, params, gen, mask=mask) for _ in range(4000)], minlength=4) / 4000
    expected = torch.softmax(logits[:3] if masked else logits, 0).numpy()
    assert np.allclose(counts[: len(expected)], expected, atol=0.03)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(-20, 20), min_size=40, max_size=40),
    st.lists(st.integers(0, 39), max_size=8),
    st.floats(0.0, 2.0),
    st.floats(0.05, 1.0),
    st.integers(0, 45),
    st.integers(0, 2**31),
)
def test_sampled_tokens_are_always_allowed(values, allowed, temperature, top_p, top_k, seed) -> None:
    mask = np.zeros(2, dtype=np.int32)
    for token in allowed:
        mask.view(np.uint32)[token >> 5] |= np.uint32(1 << (token & 31))
    params = GenerationParams(temperature=temperature, top_p=top_p, top_k=top_k)
    token = sample_token(torch.tensor(values), params, torch.Generator().manual_seed(seed), mask=mask)
    assert token is None if not allowed else token in set(allowed)


def test_decode_loop_stops_when_cancelled(engine) -> None:
    import threading

    from ananke.runtime import DecodeLoop

    cancel = threading.Event()
    cancel.set()
    loop = DecodeLoop(
        engine._forward_fn(),
        engine.llg_tokenizer(),
        engine.eos_ids,
        None,
        GenerationParams(max_tokens=50, temperature=0.0),
        cancel=cancel,
    )
    with torch.inference_mode():
        out = loop.run(engine.encode_prompt("Tell me a story."))
    assert out.finish_reason == "stop" and out.error == "cancelled" and out.token_ids == []
